"""Motifs from attribution maps with TF-MoDISco (Shrikumar et al. 2018), through modisco-lite: introduced in
Chapter 7 (``nbs/07_attribution.ipynb``).

TF-MoDISco cuts the stretches of high attribution out of many sequences (seqlets), clusters them by the similarity
of their attribution patterns, and aligns each cluster into a motif. It reads hypothetical attributions, the share
each letter would have had at each position (:func:`teachbind.interpret.attribution.deep_lift_shap` with
``hypothetical=True``), so two seqlets that differ by a letter still compare well.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from teachbind.motifs import Motif
from teachbind.seq import check_one_hot


@dataclass
class Pattern:
    """One TF-MoDISco motif: ``motif``, the letter frequencies of its aligned seqlets as a
    :class:`~teachbind.motifs.Motif` (``sites`` = their number); ``cwm`` ``(4, w)``, the mean attribution of those
    letters, the contribution weight matrix."""

    motif: Motif
    cwm: np.ndarray


def modisco_patterns(x: torch.Tensor, hypothetical: torch.Tensor, *, window: int = 20, flank: int = 5,
                     min_seqlets: int = 100, max_seqlets: int = 2000, fdr: float = 0.05, leiden_runs: int = 2,
                     name: str = "pattern") -> list[Pattern]:
    """The motifs that raise the output: modisco-lite's ``TFMoDISco`` on one-hot ``x`` ``(N, 4, L)`` and its
    ``hypothetical`` attributions ``(N, 4, L)``, positive patterns only, most seqlets first, named ``name0``,
    ``name1``, ...

    Seqlets are windows of ``window`` letters (plus ``flank`` on each side) whose summed attribution passes a
    threshold set for a false discovery rate ``fdr`` against a null of the attributions' own noise; clustering
    starts when there are more than ``min_seqlets`` of them (at most ``max_seqlets`` are used); ``leiden_runs``
    Leiden clusterings are kept best-of (modisco-lite's default is 50). An empty list when too few seqlets pass.
    A seqlet whose window, with the flanks modisco-lite adds while aligning (about ``window / 2 + flank + 10``
    letters on each side of its centre), would run past an end of its sequence is left out, so sites near the ends
    of short sequences do not count.
    """
    from modiscolite.tfmodisco import TFMoDISco

    check_one_hot(x, "modisco_patterns")
    if hypothetical.shape != x.shape:
        raise ValueError(f"hypothetical attributions {tuple(hypothetical.shape)} must match x {tuple(x.shape)}")
    positive, _ = TFMoDISco(one_hot=x.float().numpy().transpose(0, 2, 1).copy(),
                            hypothetical_contribs=hypothetical.float().numpy().transpose(0, 2, 1).copy(),
                            sliding_window_size=window, flank_size=flank, min_metacluster_size=min_seqlets,
                            max_seqlets_per_metacluster=max_seqlets, target_seqlet_fdr=fdr,
                            n_leiden_runs=leiden_runs)
    patterns = sorted(positive or [], key=lambda p: -len(p.seqlets))
    found = []
    for i, pattern in enumerate(patterns):
        frequencies = np.asarray(pattern.sequence, dtype=np.float64).T
        frequencies = frequencies / frequencies.sum(axis=0, keepdims=True)
        found.append(Pattern(Motif(f"{name}{i}", f"{name}{i}", frequencies, sites=len(pattern.seqlets)),
                             np.asarray(pattern.contrib_scores, dtype=np.float64).T))
    return found
