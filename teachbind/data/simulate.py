"""Synthetic sequences with planted motifs: data whose right answer is known before any model is trained."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from teachbind.motifs import Motif
from teachbind.seq import decode_codes


@dataclass
class PlantedMotifs:
    """Simulated sequences: ``seqs`` (list of ``N``), ``labels`` ``(N,)`` (1 = a motif instance was planted),
    ``starts`` ``(N,)`` (0-based start of the planted site, -1 where none), ``strands`` ``(N,)`` (``'+'``, ``'-'``
    or ``''``) and the planted ``motif``."""

    seqs: list[str]
    labels: np.ndarray
    starts: np.ndarray
    strands: np.ndarray
    motif: Motif


def plant_motif(motif: Motif, n: int, length: int = 101, *, fraction_bound: float = 0.5, gc: float = 0.5,
                both_strands: bool = True, seed: int = 0) -> PlantedMotifs:
    """Simulate ``n`` sequences of ``length`` nt; a ``fraction_bound`` of them carry one sampled motif instance.

    Background letters are independent with GC content ``gc``. Each bound sequence gets one instance drawn
    column by column from the motif's probabilities, at a uniformly random position, on a random strand when
    ``both_strands``. The unbound sequences are pure background, so an ideal classifier reaches AUROC near 1.
    """
    width = motif.width
    if width > length:
        raise ValueError(f"motif {motif.name} ({width} nt) does not fit in sequences of {length} nt")
    if not 0 <= fraction_bound <= 1 or not 0 < gc < 1:
        raise ValueError("fraction_bound must lie in [0, 1] and gc in (0, 1)")
    rng = np.random.default_rng(seed)
    background = np.array([1 - gc, gc, gc, 1 - gc]) / 2
    codes = rng.choice(4, size=(n, length), p=background).astype(np.uint8)
    labels = (rng.permutation(n) < round(fraction_bound * n)).astype(np.float32)
    starts = np.full(n, -1)
    strands = np.full(n, "", dtype="<U1")
    cumulative = np.cumsum(motif.probs, axis=0)
    for i in np.flatnonzero(labels):
        site = (rng.random(width)[None, :] > cumulative).sum(axis=0).clip(max=3).astype(np.uint8)
        strand = "-" if both_strands and rng.random() < 0.5 else "+"
        if strand == "-":
            site = 3 - site[::-1]
        start = int(rng.integers(0, length - width + 1))
        codes[i, start:start + width] = site
        starts[i], strands[i] = start, strand
    return PlantedMotifs(decode_codes(codes), labels, starts, strands, motif)
