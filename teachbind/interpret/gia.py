"""Global Importance Analysis (Koo et al. 2021): a trained model as the laboratory for population-level questions.

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
- :func:`global_importance` (``(model, background, intervention, *, batch_size, device)``), which returns every
  sequence's effect, and :func:`summarize`, which gives their mean and its confidence interval.

:func:`experiment` runs many named interventions on one background and returns one row each, which is all most
experiments need; :func:`kmer_scan` is the one experiment too large for that (every k-mer at one position) and
batches it directly.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import torch
from scipy import stats

from teachbind import seq
from teachbind.train import pick_device, predict, retain_freed_memory

Intervention = Callable[[torch.Tensor], torch.Tensor]


def profile_background(x: torch.Tensor, n: int, *, seed: int) -> torch.Tensor:
    """``n`` sequences ``(n, 4, L)`` whose letters are drawn independently at each position from the letter
    frequencies of the one-hot sequences ``x`` ``(N, 4, L)`` at that position (the paper's "profile" background).

    Positions where some sequences of ``x`` hold no letter (the zero padding of short RNAcompete probes) stay empty
    in the same proportion, so the background keeps the real sequences' length distribution.
    """
    if x.ndim != 3 or x.shape[1] != 4:
        raise ValueError(f"profile_background expects one-hot sequences of shape (N, 4, L), got {tuple(x.shape)}")
    frequencies = x.float().mean(dim=0)
    empty = (1 - frequencies.sum(dim=0)).clamp(min=0)
    choices = torch.cat([frequencies, empty[None]]).T
    letters = torch.multinomial(choices, n, replacement=True, generator=torch.Generator().manual_seed(seed)).T
    return torch.nn.functional.one_hot(letters, 5)[..., :4].permute(0, 2, 1).float()


def shuffled_background(seqs: list[str], *, kind: str = "dinucleotide", seed: int, alphabet: str = "RNA"
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


def embed(x: torch.Tensor, pattern: str, position: int, alphabet: str = "RNA") -> torch.Tensor:
    """A copy of one-hot ``x`` ``(N, 4, L)`` with ``pattern`` written over positions ``[position, position + k)``
    of every sequence (``N`` in the pattern writes 0.25 in every channel)."""
    k = len(pattern)
    if position < 0 or position + k > x.shape[-1]:
        raise ValueError(f"a pattern of {k} letters at position {position} does not fit in {x.shape[-1]} positions")
    out = x.clone()
    out[:, :, position:position + k] = seq.one_hot(pattern, alphabet=alphabet).to(x.dtype)
    return out


def embedding(*placements: tuple[str, int], alphabet: str = "RNA") -> Intervention:
    """The intervention that writes each ``(pattern, position)`` of ``placements`` into every sequence, in order
    (a later pattern overwrites an earlier one where they overlap): ``embedding(("UGCAUG", 10), ("UGCAUG", 22))``
    places two copies 6 nt apart."""
    if not placements:
        raise ValueError("embedding needs at least one (pattern, position) pair")

    def intervene(x: torch.Tensor) -> torch.Tensor:
        for pattern, position in placements:
            x = embed(x, pattern, position, alphabet)
        return x

    return intervene


def copies_at(pattern: str, position: int, copies: int, spacing: int) -> list[tuple[str, int]]:
    """Placements for :func:`embedding`: ``copies`` copies of ``pattern``, the first at ``position``, each next one
    ``spacing`` nt after the end of the previous one."""
    return [(pattern, position + i * (len(pattern) + spacing)) for i in range(copies)]


def single_mutants(pattern: str, alphabet: str = "RNA") -> list[str]:
    """The ``3 * len(pattern)`` patterns that differ from ``pattern`` at exactly one position, position by position
    in alphabet order."""
    letters = seq.get_alphabet(alphabet).letters
    return [pattern[:i] + letter + pattern[i + 1:] for i in range(len(pattern)) for letter in letters
            if letter != pattern[i]]


def global_importance(model: torch.nn.Module, background: torch.Tensor, intervention: Intervention, *,
                      batch_size: int = 1024, device: str | torch.device = "auto") -> torch.Tensor:
    """Each background sequence's effect ``model(intervention(background)) - model(background)``: ``(N,)``, or
    ``(N, T)`` for a model with ``T`` outputs. Its mean over sequences is the global importance."""
    before = predict(model, background, batch_size=batch_size, device=device, amp=False)
    after = predict(model, intervention(background), batch_size=batch_size, device=device, amp=False)
    if after.shape != before.shape:
        raise ValueError(f"the intervention changed the batch: {tuple(background.shape)} -> {tuple(after.shape)}")
    effects = after - before
    return effects.squeeze(-1) if effects.ndim == 2 and effects.shape[1] == 1 else effects


def summarize(effects: torch.Tensor, confidence: float = 0.95) -> pd.Series:
    """The global importance of ``effects`` ``(N,)``: their ``mean``, the ``low`` and ``high`` ends of its
    ``confidence`` interval (Student's t), and ``n``."""
    values = np.asarray(effects, dtype=np.float64).ravel()
    half = stats.sem(values) * stats.t.ppf((1 + confidence) / 2, len(values) - 1)
    mean = float(values.mean())
    return pd.Series({"mean": mean, "low": mean - half, "high": mean + half, "n": len(values)})


def experiment(model: torch.nn.Module, background: torch.Tensor, interventions: dict[str, Intervention], *,
               batch_size: int = 1024, device: str | torch.device = "auto", confidence: float = 0.95
               ) -> pd.DataFrame:
    """One row per named intervention, in order: the :func:`summarize` of a single-output model's effects on
    ``background`` ``(N, 4, L)`` (columns ``mean``, ``low``, ``high``, ``n``). The background is predicted once."""
    before = predict(model, background, batch_size=batch_size, device=device, amp=False).reshape(len(background))
    rows = {}
    for name, intervention in interventions.items():
        after = predict(model, intervention(background), batch_size=batch_size, device=device, amp=False)
        rows[name] = summarize(after.reshape(len(background)) - before, confidence)
    return pd.DataFrame(rows).T.astype({"n": int})


def kmer_scan(model: torch.nn.Module, background: torch.Tensor, k: int, position: int, *, alphabet: str = "RNA",
              batch_size: int = 4096, device: str | torch.device = "auto") -> pd.Series:
    """Global importance of every one of the ``4**k`` k-mers written at ``position`` of every background
    sequence ``(N, 4, L)``: a Series indexed by k-mer (alphabet order), in the model's output units. The
    ``4**k * N`` sequences are built on ``device`` a chunk of k-mers at a time and scored in batches of about
    ``batch_size``; the whole scan never sits in memory at once."""
    if position < 0 or position + k > background.shape[-1]:
        raise ValueError(f"a {k}-mer at position {position} does not fit in {background.shape[-1]} positions")
    device = pick_device(device)
    if device.type == "cpu":
        retain_freed_memory()
    model = model.to(device).eval()
    names = seq.kmers(k, alphabet=alphabet)
    patterns = seq.one_hot(names, alphabet=alphabet).to(device)
    x = background.to(device).float()
    chunk = max(1, batch_size // len(x))
    means = []
    with torch.inference_mode():
        base = model(x).float().reshape(len(x)).mean()
        for start in range(0, len(names), chunk):
            block = x.repeat(min(chunk, len(names) - start), 1, 1)
            block[:, :, position:position + k] = patterns[start:start + chunk].repeat_interleave(len(x), dim=0)
            means.append(model(block).float().reshape(-1, len(x)).mean(1) - base)
    return pd.Series(torch.cat(means).cpu().numpy(), index=names, name=f"global importance at {position}")
