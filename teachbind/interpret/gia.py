"""Global Importance Analysis (Koo et al. 2021): a trained model as the laboratory for population-level questions.
Introduced in Chapter 6 (``nbs/06_residualbind.ipynb``).

Attribution maps explain one sequence at a time. GIA asks instead: across a population of background sequences
that carry no particular signal, how much does the prediction change when a hypothesis is written into every one
of them (a motif at a position, two copies at a spacing, GC-rich flanks)? The global importance of the
intervention is the mean over backgrounds of ``f(intervened) - f(background)``.

An experiment is three pieces, each a plain function:

- a background, ``(N, 4, L)`` one-hot: :func:`profile_background` (letters drawn position by position from a set
  of real sequences, the paper's default), :func:`shuffled_background` (each real sequence shuffled, keeping its
  letter or dinucleotide counts);
- an intervention, a function ``(N, 4, L) -> (N, 4, L)``: :func:`embedding` writes patterns at positions (one
  motif, copies (:func:`copies_at`), a motif with its flanks, a hairpin), or write one by hand;
- :func:`global_importance` (``(model, background, intervention, *, target, batch_size, device)``, the calling
  shape of every operation on a model, :mod:`teachbind.predict`), which returns every sequence's effect, and
  :func:`summarize`, which gives their mean and its confidence interval.

Every experiment is :func:`global_importance`: :func:`experiment` runs many named interventions on one background
and returns one summary row each, and :func:`kmer_scan` is the experiment with one intervention per k-mer.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import torch
from scipy import stats

from teachbind import seq
from teachbind.predict import BATCH_SIZE, Target, predict

Intervention = Callable[[torch.Tensor], torch.Tensor]


def profile_background(x: torch.Tensor, n: int, *, seed: int) -> torch.Tensor:
    """``n`` sequences ``(n, 4, L)`` whose letters are drawn independently at each position from the letter
    frequencies of the one-hot sequences ``x`` ``(N, 4, L)`` at that position (the paper's "profile" background).

    Positions where some sequences of ``x`` hold no letter (the zero padding of short RNAcompete probes) stay empty
    in the same proportion, so the background keeps the real sequences' length distribution.
    """
    seq.check_one_hot(x, "profile_background")
    frequencies = x.float().mean(dim=0)
    empty = (1 - frequencies.sum(dim=0)).clamp(min=0)
    choices = torch.cat([frequencies, empty[None]]).T
    letters = torch.multinomial(choices, n, replacement=True, generator=torch.Generator().manual_seed(seed)).T
    return torch.nn.functional.one_hot(letters, 5)[..., :4].permute(0, 2, 1).float()


def shuffled_background(seqs: list[str], *, kind: str = "dinucleotide", seed: int, alphabet: str = "DNA"
                        ) -> torch.Tensor:
    """One-hot ``(N, 4, L)`` shuffles of the equal-length sequences ``seqs``: ``kind="dinucleotide"`` keeps each
    sequence's dinucleotide counts (:func:`teachbind.seq.dinucleotide_shuffle`), ``"mononucleotide"`` only its
    letter counts."""
    if kind == "dinucleotide":
        shuffled = seq.dinucleotide_shuffle(seqs, seed=seed, alphabet=alphabet)
    elif kind == "mononucleotide":
        rng = np.random.default_rng(seed)
        shuffled = ["".join(rng.permutation(list(s))) for s in seqs]
    else:
        raise ValueError(f"kind must be 'dinucleotide' or 'mononucleotide', got {kind!r}")
    return seq.one_hot(shuffled, alphabet=alphabet)


def embed(x: torch.Tensor, pattern: str, position: int, *, alphabet: str = "DNA") -> torch.Tensor:
    """A copy of one-hot ``x`` ``(N, 4, L)`` with ``pattern`` written over positions ``[position, position + k)``
    of every sequence (``N`` in the pattern writes 0.25 in every channel)."""
    k = len(pattern)
    if position < 0 or position + k > x.shape[-1]:
        raise ValueError(f"a pattern of {k} letters at position {position} does not fit in {x.shape[-1]} positions")
    out = x.clone()
    out[:, :, position:position + k] = seq.one_hot(pattern, alphabet=alphabet).to(x.dtype)
    return out


def embedding(*placements: tuple[str, int], alphabet: str = "DNA") -> Intervention:
    """The intervention that writes each ``(pattern, position)`` of ``placements`` into every sequence, in order
    (a later pattern overwrites an earlier one where they overlap): ``embedding(("UGCAUG", 10), ("UGCAUG", 22))``
    places two copies 6 nt apart."""
    if not placements:
        raise ValueError("embedding needs at least one (pattern, position) pair")

    def intervene(x: torch.Tensor) -> torch.Tensor:
        for pattern, position in placements:
            x = embed(x, pattern, position, alphabet=alphabet)
        return x

    return intervene


def copies_at(pattern: str, position: int, copies: int, spacing: int) -> list[tuple[str, int]]:
    """Placements for :func:`embedding`: ``copies`` copies of ``pattern``, the first at ``position``, each next one
    ``spacing`` nt after the end of the previous one."""
    return [(pattern, position + i * (len(pattern) + spacing)) for i in range(copies)]


def single_mutants(pattern: str, *, alphabet: str = "DNA") -> list[str]:
    """The ``3 * len(pattern)`` patterns that differ from ``pattern`` at exactly one position, position by position
    in alphabet order."""
    letters = seq.get_alphabet(alphabet).letters
    return [pattern[:i] + letter + pattern[i + 1:] for i in range(len(pattern)) for letter in letters
            if letter != pattern[i]]


def global_importance(model: torch.nn.Module, background: torch.Tensor,
                      intervention: Intervention | dict[str, Intervention], *, target: Target = None,
                      batch_size: int = BATCH_SIZE, device: str | torch.device = "auto"
                      ) -> torch.Tensor | dict[str, torch.Tensor]:
    """Each background sequence's effect ``model(intervention(background)) - model(background)``: ``(N,)``, or
    ``(N, T)`` for a model with ``T`` outputs (``target`` selects among them; a trailing output axis of size 1 is
    dropped). Its mean over sequences is the global importance.

    ``intervention`` may be a dict of named interventions: the background is then predicted once, the intervened
    copies of several interventions share a forward pass of about ``batch_size`` sequences, and the result is a
    dict of effects with the same keys, in the same order.
    """
    seq.check_one_hot(background, "global_importance")
    named = intervention if isinstance(intervention, dict) else {"": intervention}
    options = dict(target=target, batch_size=batch_size, device=device, amp=False)
    before = predict(model, background, **options)
    names, n = list(named), len(background)
    per_pass = max(1, batch_size // n)
    effects = {}
    for start in range(0, len(names), per_pass):
        group = names[start:start + per_pass]
        after = [named[name](background) for name in group]
        for changed in after:
            if changed.shape != background.shape:
                raise ValueError(f"the intervention changed the batch: {tuple(background.shape)} -> "
                                 f"{tuple(changed.shape)}")
        for name, scores in zip(group, predict(model, torch.cat(after), **options).split(n)):
            change = scores - before
            effects[name] = change.squeeze(-1) if change.ndim == 2 and change.shape[1] == 1 else change
    return effects if isinstance(intervention, dict) else effects[""]


def summarize(effects: torch.Tensor, confidence: float = 0.95) -> pd.Series:
    """The global importance of ``effects`` ``(N,)``: their ``mean``, the ``low`` and ``high`` ends of its
    ``confidence`` interval (Student's t), and ``n``."""
    values = np.asarray(effects, dtype=np.float64).ravel()
    half = stats.sem(values) * stats.t.ppf((1 + confidence) / 2, len(values) - 1)
    mean = float(values.mean())
    return pd.Series({"mean": mean, "low": mean - half, "high": mean + half, "n": len(values)})


def experiment(model: torch.nn.Module, background: torch.Tensor, interventions: dict[str, Intervention], *,
               target: Target = None, batch_size: int = BATCH_SIZE, device: str | torch.device = "auto",
               confidence: float = 0.95) -> pd.DataFrame:
    """One row per named intervention, in order: the :func:`summarize` of the effects on ``background``
    ``(N, 4, L)`` that :func:`global_importance` measures (columns ``mean``, ``low``, ``high``, ``n``) for a
    single-output model, or for the one output ``target`` selects."""
    effects = global_importance(model, background, interventions, target=target, batch_size=batch_size,
                                device=device)
    rows = {name: summarize(change.reshape(len(background)), confidence) for name, change in effects.items()}
    return pd.DataFrame(rows).T.astype({"n": int})


def kmer_scan(model: torch.nn.Module, background: torch.Tensor, k: int, position: int, *, target: Target = None,
              batch_size: int = BATCH_SIZE, device: str | torch.device = "auto", alphabet: str = "DNA"
              ) -> pd.Series:
    """Global importance of every one of the ``4**k`` k-mers written at ``position`` of every background
    sequence ``(N, 4, L)``: a Series indexed by k-mer (alphabet order), in the model's output units (one output,
    or the one ``target`` selects). It is :func:`global_importance` with one :func:`embedding` per k-mer; the
    ``4**k * N`` sequences are built and scored about ``batch_size`` at a time, never all at once."""
    if position < 0 or position + k > background.shape[-1]:
        raise ValueError(f"a {k}-mer at position {position} does not fit in {background.shape[-1]} positions")
    names = seq.kmers(k, alphabet=alphabet)
    interventions = {name: embedding((name, position), alphabet=alphabet) for name in names}
    effects = global_importance(model, background, interventions, target=target, batch_size=batch_size,
                                device=device)
    means = [float(effects[name].reshape(len(background)).double().mean()) for name in names]
    return pd.Series(means, index=names, name=f"global importance at {position}", dtype=np.float32)
