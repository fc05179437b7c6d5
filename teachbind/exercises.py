"""Checks for the book's exercises: run a student's function on generated cases and say exactly what is wrong.

Each ``check_*`` function takes the student's function, compares it with the package's reference on a set of
cases, prints a line when every case passes, and otherwise raises :class:`ExerciseFailed` naming the input, the
expected and the actual output, and a hint.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from teachbind import motifs, seq
from teachbind.interpret import ism
from teachbind.models import DeepBind


class ExerciseFailed(AssertionError):
    """A student's answer gave a wrong result; the message says on which input and why."""


def _as_array(value) -> np.ndarray:
    if torch.is_tensor(value):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


def _call(fn: Callable, description: str, *args):
    try:
        return fn(*args)
    except NotImplementedError:
        raise ExerciseFailed(f"{fn.__name__} is not written yet (it raised NotImplementedError)") from None
    except Exception as err:
        raise ExerciseFailed(f"{fn.__name__}({description}) raised {type(err).__name__}: {err}") from None


def _passed(name: str, n: int) -> None:
    print(f"✓ {name}: all {n} checks passed")


def check_one_hot(fn: Callable[[str], object]) -> None:
    """Check ``fn(sequence) -> array (4, L)``: channels A, C, G, T; N is 0.25 everywhere; lowercase accepted."""
    cases = ["A", "ACGT", "TTGCA", "acgt", "ACNGT", "GATTACA" * 3]
    for case in cases:
        got = _as_array(_call(fn, repr(case), case))
        expected = seq.one_hot(case).numpy()
        if got.shape != expected.shape:
            hint = " Channels come first: transpose to (4, L)." if got.shape == expected.shape[::-1] else ""
            raise ExerciseFailed(f"one_hot({case!r}) has shape {got.shape}, expected {expected.shape}.{hint}")
        if not np.allclose(got, expected):
            column = int(np.flatnonzero(~np.isclose(got, expected).all(axis=0))[0])
            hint = ""
            if case[column] == "N":
                hint = " N means 'any base': put 0.25 in each of the four channels."
            elif case[column].islower():
                hint = " Lowercase letters (soft-masked repeats) are the same bases: upper-case first."
            raise ExerciseFailed(
                f"one_hot({case!r}) is wrong at position {column} (letter {case[column]!r}): expected column "
                f"{expected[:, column].tolist()}, got {got[:, column].tolist()}.{hint}"
            )
    _passed("one_hot", len(cases))


def check_dinucleotide_shuffle(fn: Callable[[str, np.random.Generator], str]) -> None:
    """Check ``fn(sequence, rng) -> str``: same length and dinucleotide counts, and actually random."""
    rng = np.random.default_rng(0)
    cases = ["AAAAAAAA", "ACGTACGTAC"] + ["".join(rng.choice(list("ACGT"), n)) for n in (20, 60, 101)]
    for case in cases:
        got = _call(fn, f"{case!r}, rng", case, np.random.default_rng(1))
        if not isinstance(got, str):
            raise ExerciseFailed(f"the shuffle of {case!r} should be a str, got {type(got).__name__}")
        if len(got) != len(case):
            raise ExerciseFailed(f"the shuffle of {case!r} ({len(case)} nt) has {len(got)} nt")
        want, have = seq.kmer_counts(case, 2)[0], seq.kmer_counts(got, 2)[0]
        if (want != have).any():
            k = int(np.flatnonzero(want != have)[0])
            raise ExerciseFailed(
                f"the shuffle {got!r} of {case!r} has {have[k]} copies of {seq.kmers(2)[k]!r}, the original "
                f"{want[k]}. A dinucleotide shuffle must keep every count of adjacent pairs: walk an Eulerian path "
                f"through the graph whose edges are the original's dinucleotides."
            )
    long = cases[-1]
    outputs = {_call(fn, "a 101-nt sequence, rng", long, np.random.default_rng(s)) for s in range(5)}
    if len(outputs) == 1 and long in outputs:
        raise ExerciseFailed("the shuffle returned the sequence unchanged: it keeps the counts but shuffles nothing")
    if len(outputs) == 1:
        raise ExerciseFailed("five different random generators gave the same shuffle: use the rng you are given")
    _passed("dinucleotide_shuffle", len(cases) + 1)


def check_pwm_scan(fn: Callable[[str, np.ndarray], float]) -> None:
    """Check ``fn(sequence, weights (4, w)) -> float``: the best log-odds window score over both strands."""
    rng = np.random.default_rng(2)
    cases = []
    for width, length in ((3, 3), (4, 12), (6, 30), (8, 101)):
        weights = rng.normal(size=(4, width))
        cases.append(("".join(rng.choice(list("ACGT"), length)), weights))
    weights = motifs.log_odds(motifs.pwm_from_iupac("GATA"))
    cases.append(("CCCCTATCCCC", weights))
    for sequence, weights in cases:
        got = float(_call(fn, f"{sequence!r}, weights of width {weights.shape[1]}", sequence, weights))
        expected = float(motifs.best_scores(seq.one_hot([sequence]), weights)[0])
        if not np.isclose(got, expected, atol=1e-4):
            forward = float(motifs.best_scores(seq.one_hot([sequence]), weights, both_strands=False)[0])
            hint = ""
            if np.isclose(got, forward, atol=1e-4):
                hint = " That is the forward strand's best: the factor binds double-stranded DNA, so also score the " \
                       "reverse complement and keep the larger."
            raise ExerciseFailed(
                f"best score of {sequence!r} with weights of width {weights.shape[1]}: expected {expected:.4f}, "
                f"got {got:.4f}.{hint}"
            )
    _passed("pwm_scan", len(cases))


def _small_deepbind(seed: int):
    torch.manual_seed(seed)
    return DeepBind(n_motifs=4, motif_width=6, hidden=0, dropout=0.0, conv_init_scale=1.0,
                    dense_init_scale=1.0).eval()


def check_both_strands(fn: Callable[[Callable, torch.Tensor], torch.Tensor]) -> None:
    """Check ``fn(strand_score, x) -> (N,)``: a double-stranded score, the larger of ``strand_score`` on the
    one-hot sequences ``x`` ``(N, 4, L)`` and on their reverse complements."""
    rng = np.random.default_rng(3)
    cases = 0
    for seed, length in ((0, 12), (1, 30), (2, 101)):
        model = _small_deepbind(seed)
        x = seq.one_hot(["".join(rng.choice(list("ACGT"), length)) for _ in range(8)])
        with torch.no_grad():
            got = _as_array(_call(fn, f"model.strand_score, x of shape {tuple(x.shape)}", model.strand_score, x))
            expected = model(x).numpy()
            forward = model.strand_score(x).numpy()
            reverse_only = model.strand_score(x.flip(2)).numpy()
            mean = (forward + model.strand_score(x.flip(1, 2)).numpy()) / 2
        cases += 1
        if got.shape != expected.shape:
            raise ExerciseFailed(f"for x of shape {tuple(x.shape)} the result has shape {got.shape}, expected "
                                 f"{expected.shape}: one score per sequence")
        if not np.allclose(got, expected, atol=1e-5):
            hint = ""
            if np.allclose(got, forward, atol=1e-5):
                hint = " That is the forward strand alone: also score the reverse complement."
            elif np.allclose(got, np.maximum(forward, reverse_only), atol=1e-5):
                hint = (" You reversed the positions but did not complement the letters: with channels A, C, G, T, "
                        "flip dimension 1 (channels) as well as dimension 2 (positions).")
            elif np.allclose(got, mean, atol=1e-5):
                hint = " That is the mean of the strands: DeepBind keeps the larger (torch.maximum)."
            raise ExerciseFailed(f"scores for {length}-nt sequences: expected {np.round(expected[:3], 4).tolist()}..., "
                                 f"got {np.round(got[:3], 4).tolist()}....{hint}")
    _passed("both_strands", cases)


def check_mutation_map(fn: Callable[[torch.nn.Module, torch.Tensor], torch.Tensor]) -> None:
    """Check ``fn(model, x) -> (4, L)``: for one one-hot sequence ``x`` ``(4, L)``, the change of the model's
    output when each position is changed to each letter (0 at the sequence's own letters)."""
    rng = np.random.default_rng(4)
    for seed, length in ((0, 10), (1, 25)):
        model = _small_deepbind(seed)
        sequence = "".join(rng.choice(list("ACGT"), length))
        x = seq.one_hot(sequence)
        with torch.no_grad():
            got = _as_array(_call(fn, f"model, one_hot({sequence!r})", model, x))
        expected = ism(model, x[None], device="cpu")[0].numpy()
        if got.shape != expected.shape:
            raise ExerciseFailed(f"the map of a {length}-nt sequence has shape {got.shape}, expected {expected.shape}")
        if not np.allclose(got, expected, atol=1e-4):
            if np.allclose(got, -expected, atol=1e-4):
                hint = " The signs are flipped: record mutant minus wild type."
            elif not np.allclose(got[x.numpy() == 1], 0, atol=1e-6):
                hint = " At the sequence's own letter nothing changes: that entry must be 0."
            else:
                b, i = np.unravel_index(np.abs(got - expected).argmax(), got.shape)
                hint = f" The first big difference: letter {'ACGT'[b]} at position {i}."
            raise ExerciseFailed(f"the mutation map of {sequence!r} is wrong.{hint}")
    _passed("mutation_map", 2)
