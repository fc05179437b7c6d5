"""Synthetic sequences with planted motifs: data whose right answer is known before any model is trained."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

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


@dataclass
class Compendium:
    """A simulated multi-task accessibility compendium with a known rule (see :func:`simulate_compendium`).

    ``seqs``: ``N`` DNA strings; ``labels`` ``(N, T)`` 0/1, one column per cell type; ``openers`` a ``(T, M)``
    boolean DataFrame (cell types × motif names): a site of motif ``m`` opens chromatin in cell type ``t`` when
    ``openers.loc[t, m]``; ``sites`` one row per planted site (``sequence``, ``motif``, ``start``, ``strand``);
    ``motifs`` the ``M`` planted motifs; ``roles`` each motif's role (``"ubiquitous"``, ``"lineage"``, ``"state"``);
    ``penetrance`` and ``leak`` the label noise.
    """

    seqs: list[str]
    labels: np.ndarray
    openers: pd.DataFrame
    sites: pd.DataFrame
    motifs: list[Motif]
    roles: dict[str, str]
    penetrance: float
    leak: float

    @property
    def tasks(self) -> list[str]:
        return list(self.openers.index)

    def carried(self) -> np.ndarray:
        """``(N, M)`` boolean: which motifs each sequence carries at least one site of."""
        names = list(self.openers.columns)
        out = np.zeros((len(self.seqs), len(names)), dtype=bool)
        out[self.sites["sequence"].to_numpy(), [names.index(m) for m in self.sites["motif"]]] = True
        return out

    def oracle(self) -> np.ndarray:
        """``(N, T)``: the probability of each label under the rule that made it, the best score any model can
        give; its AUROC is the ceiling for a model's."""
        opened = (self.carried().astype(np.int32) @ self.openers.to_numpy().T.astype(np.int32)) > 0
        return np.where(opened, self.penetrance, self.leak)


def simulate_compendium(ubiquitous: Motif, lineages: Sequence[Motif], states: Sequence[Motif], n: int,
                        length: int = 600, *, sites_per_sequence: Sequence[float] = (0.3, 0.35, 0.25, 0.1),
                        centre: int | None = None, penetrance: float = 0.95, leak: float = 0.02, gc: float = 0.42,
                        seed: int = 0) -> Compendium:
    """Simulate accessibility in ``len(lineages) × len(states)`` cell types, each opened by its own combination
    of real motifs: the rule behind Chapter 3's synthetic Basset data.

    Cell type ``"<lineage>|<state>"`` is opened by a site of the ``ubiquitous`` motif (open everywhere, as CTCF
    sites often are), of its lineage's motif (shared by the cell types of one lineage), or of its state's motif
    (shared by the cell types in one state across lineages, as a stimulus response is). Each of the ``n``
    sequences of ``length`` bp (independent letters, GC content ``gc``) carries ``k`` sites with probability
    ``sites_per_sequence[k]``, of distinct motifs chosen uniformly, sampled from their PWMs on a random strand,
    at non-overlapping random positions within the central ``centre`` bp (the whole sequence if ``None``; DHSs
    are centred on their summit, where the factors that open them bind). A cell type's label is 1 with
    probability ``penetrance`` when the sequence carries one of its openers, and ``leak`` otherwise.
    """
    motifs = [ubiquitous, *lineages, *states]
    names = [m.name for m in motifs]
    if len(set(names)) != len(names):
        raise ValueError(f"the planted motifs need distinct names, got {names}")
    probs = np.asarray(sites_per_sequence, dtype=np.float64)
    if (probs < 0).any() or abs(probs.sum() - 1) > 1e-6:
        raise ValueError("sites_per_sequence must be probabilities that sum to 1")
    if len(probs) - 1 > len(motifs):
        raise ValueError(f"up to {len(probs) - 1} sites per sequence, but only {len(motifs)} motifs")
    slot = max(m.width for m in motifs)
    region = length if centre is None else min(centre, length)
    if (len(probs) - 1) * slot > region:
        raise ValueError(f"{len(probs) - 1} sites of up to {slot} bp do not fit in {region} bp")
    offset = (length - region) // 2
    rng = np.random.default_rng(seed)
    background = np.array([1 - gc, gc, gc, 1 - gc]) / 2
    codes = rng.choice(4, size=(n, length), p=background).astype(np.uint8)
    counts = rng.choice(len(probs), size=n, p=probs)
    cumulative = [np.cumsum(m.probs, axis=0) for m in motifs]
    rows = []
    for i in np.flatnonzero(counts):
        chosen = rng.choice(len(motifs), size=counts[i], replace=False)
        slots = np.sort(rng.choice(region // slot, size=counts[i], replace=False))
        for j, s in zip(chosen, slots):
            width = motifs[j].width
            site = (rng.random(width)[None, :] > cumulative[j]).sum(axis=0).clip(max=3).astype(np.uint8)
            strand = "-" if rng.random() < 0.5 else "+"
            if strand == "-":
                site = 3 - site[::-1]
            start = int(offset + s * slot + rng.integers(0, slot - width + 1))
            codes[i, start:start + width] = site
            rows.append((int(i), names[j], start, strand))
    sites = pd.DataFrame(rows, columns=["sequence", "motif", "start", "strand"])
    tasks = [f"{lineage.name}|{state.name}" for lineage in lineages for state in states]
    openers = pd.DataFrame(False, index=tasks, columns=names)
    openers[ubiquitous.name] = True
    for lineage in lineages:
        for state in states:
            openers.loc[f"{lineage.name}|{state.name}", [lineage.name, state.name]] = True
    roles = {ubiquitous.name: "ubiquitous", **{m.name: "lineage" for m in lineages},
             **{m.name: "state" for m in states}}
    compendium = Compendium(decode_codes(codes), np.zeros((n, len(tasks)), np.float32), openers, sites, motifs,
                            roles, penetrance, leak)
    compendium.labels = (rng.random((n, len(tasks))) < compendium.oracle()).astype(np.float32)
    return compendium
