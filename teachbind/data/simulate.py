"""Synthetic sequences with planted motifs: data whose right answer is known before any model is trained.
Introduced in Chapter 1 (``nbs/01_sequences.ipynb``, one planted motif); Chapter 4 adds the compendium of cell
types and Chapter 5 the multimodal CLIP windows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from teachbind.data.clip import MODALITIES, as_modalities
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

    def site_mask(self) -> np.ndarray:
        """``(N, L)`` boolean: the positions of each sequence covered by its planted site (Chapter 7)."""
        mask = np.zeros((len(self.seqs), len(self.seqs[0])), dtype=bool)
        for i in np.flatnonzero(self.starts >= 0):
            mask[i, self.starts[i]:self.starts[i] + self.motif.width] = True
        return mask


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

    def site_mask(self) -> np.ndarray:
        """``(N, L)`` boolean: the positions of each sequence covered by a planted site (Chapter 7)."""
        widths = {m.name: m.width for m in self.motifs}
        mask = np.zeros((len(self.seqs), len(self.seqs[0])), dtype=bool)
        for i, motif, start in self.sites[["sequence", "motif", "start"]].itertuples(index=False):
            mask[i, start:start + widths[motif]] = True
        return mask

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
    of real motifs: the rule behind Chapter 4's synthetic Basset data.

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


@dataclass
class MultimodalSet:
    """Simulated CLIP windows with iDeep's five modalities (shapes as :class:`teachbind.data.clip.ClipSplit`)
    and labels drawn from a known rule (:func:`simulate_multimodal`). ``sequences`` (N strings), ``labels``
    ``(N,)``; ``region`` ``(N, 5, 101)``, ``cobinding`` ``(N, 30, 101)``, ``structure`` ``(N, 101)`` (paired
    probability), ``motif`` ``(N, 102)``; ``truth``: one row per window with the hidden causes (``motif_start``,
    -1 where none; ``region_type``; ``partner_crosslink``; ``unpaired_centre``) and the ``logit`` they add up to."""

    sequences: list[str]
    labels: np.ndarray
    region: np.ndarray
    cobinding: np.ndarray
    structure: np.ndarray
    motif: np.ndarray
    truth: pd.DataFrame

    def __len__(self) -> int:
        return len(self.sequences)

    def modalities(self, *names: str):
        """Model inputs as :class:`teachbind.models.ideep.Modalities` (all five unless ``names`` picks some)."""
        arrays = {"region": self.region, "cobinding": self.cobinding, "structure": self.structure,
                  "motif": self.motif}
        return as_modalities(self.sequences, arrays, names or MODALITIES)


SIMULATED_EFFECTS = {"motif": 3.0, "region": 2.0, "partner": 3.0, "unpaired": 2.0}
"""Log-odds of binding that each hidden cause adds in :func:`simulate_multimodal`."""


def simulate_multimodal(n: int, *, motif: str = "TGCATG", region_type: int = 3, partner: int = 0,
                        effects: dict[str, float] | None = None, bias: float = -6.0, seed: int = 0
                        ) -> MultimodalSet:
    """``n`` windows of 101 nt whose binding has one cause in each of four modalities.

    - sequence: half the windows carry ``motif`` (default UGCAUG, in DNA letters) within 5 nt of the centre, as
      CLIP windows are centred on the cross-link;
    - region: ``region_type`` (default 3, the 3'UTR of ``REGION_TYPES``) covers 40% of the windows, each other
      type 15%;
    - co-binding: 20% of the windows have a cross-link of experiment ``partner`` within 10 nt of the centre (the
      other channels hold background cross-links at 0.2% of positions);
    - structure: a smoothed random paired probability, low (0.1) over the central 21 nt in 30% of the windows.

    The log-odds of binding is ``bias`` plus the :data:`SIMULATED_EFFECTS` of the causes a window has (``effects``
    overrides them); the label is drawn from it. The 102 motif scores are noise except score 0, which rises with
    the motif (as Cluster-Buster's score of a matching PWM would), so it repeats the sequence's evidence.
    """
    effects = {**SIMULATED_EFFECTS, **(effects or {})}
    length, width, centre = 101, len(motif), 50
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, size=(n, length)).astype(np.uint8)
    has_motif = rng.random(n) < 0.5
    starts = np.where(has_motif, centre - width // 2 + rng.integers(-5, 6, n), -1)
    motif_codes = np.array(["ACGT".index(c) for c in motif.upper()], dtype=np.uint8)
    for i in np.flatnonzero(has_motif):
        codes[i, starts[i]:starts[i] + width] = motif_codes
    weights = np.full(5, 0.15)
    weights[region_type] = 0.4
    regions = rng.choice(5, size=n, p=weights)
    region = np.zeros((n, 5, length), dtype=np.float32)
    region[np.arange(n), regions, :] = 1.0
    structure = np.stack([np.convolve(rng.random(length + 8), np.ones(9) / 9, mode="valid") for _ in range(n)])
    unpaired = rng.random(n) < 0.3
    structure[unpaired, centre - 10:centre + 11] = 0.1
    cobinding = (rng.random((n, 30, length)) < 0.002).astype(np.float32)
    crosslinked = rng.random(n) < 0.2
    cobinding[np.flatnonzero(crosslinked), partner, centre + rng.integers(-10, 11, crosslinked.sum())] = 1.0
    motif_scores = rng.gamma(0.5, 1.0, size=(n, 102)).astype(np.float32)
    motif_scores[:, 0] = has_motif * rng.gamma(4.0, 1.0, n) + rng.gamma(0.5, 1.0, n)
    logit = (bias + effects["motif"] * has_motif + effects["region"] * (regions == region_type)
             + effects["partner"] * crosslinked + effects["unpaired"] * unpaired)
    labels = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    truth = pd.DataFrame({"motif_start": starts, "region_type": regions, "partner_crosslink": crosslinked,
                          "unpaired_centre": unpaired, "logit": logit})
    return MultimodalSet(decode_codes(codes), labels, region, cobinding, structure.astype(np.float32),
                         motif_scores, truth)
