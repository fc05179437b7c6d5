"""The iONMF CLIP-seq benchmark (Stražar et al. 2016) as iDeep used it (Pan & Shen 2017), Chapter 4
(``nbs/04_ideep.ipynb``).

31 experiments on 19 RBPs, each a 101-nt window around a CLIP cross-link (positive) or around a position in an
expressed gene with no cross-link (negative), 5,000 training windows (1,000 positive) and 1,000 test windows (200
positive). Every window comes with five modalities, one file each, rows in the same order:

========== ======================== =====================================================================
modality   file                     shape per window
========== ======================== =====================================================================
sequence   ``sequences.fa.gz``      101 nt (DNA letters, transcript strand)
region     ``matrix_RegionType``    ``(5, 101)`` 0/1: intron, ORF (CDS), 5'UTR, 3'UTR, exon at each position
cobinding  ``matrix_Cobinding``     ``(30, 101)`` 0/1: a cross-link of each of the other 30 experiments
structure  ``matrix_RNAfold``       ``(101,)`` in [0, 1]: iONMF's RNAfold score that the position is paired
motif      ``motif_fea.gz``         ``(102,)`` >= 0: Cluster-Buster scores of the 102 CISBP-RNA motifs
========== ======================== =====================================================================

plus the label (``matrix_Response``, repeated in the FASTA headers) and the cross-link position
(``positions.bedGraph.gz``, whose value is the label signed by the strand: ``-1`` and ``-0`` on the minus strand).
:func:`load_ionmf` reads them all and checks that every file describes the same windows in the same order.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd
import torch

from teachbind.data.registry import fetch, registered
from teachbind.models.ideep import MODALITIES, Modalities
from teachbind.seq import one_hot

FOLDER = "ionmf_clip_ideep5000"
SPLITS = {"train": "training_sample_0", "test": "test_sample_0"}
REGION_TYPES = ("intron", "ORF", "5UTR", "3UTR", "exon")
WINDOW = 101
_HEADER = re.compile(r"^>\s*(\w+),([+-]),(\d+),(\d+); class:([01])$")
PROTEINS = {
    "AGO1234": "AGO1-4", "AGO2MNASE": "AGO2", "Ago2": "AGO2", "AGO2": "AGO2", "eIF4AIII": "EIF4A3",
    "ELAVL1": "ELAVL1", "ELAVL1MNASE": "ELAVL1", "ELAVL1A": "ELAVL1", "EWSR1": "EWSR1", "FUS": "FUS",
    "FUS_mut": "FUS", "IGF2BP123": "IGF2BP1-3", "hnRNPC": "HNRNPC", "HNRNPC": "HNRNPC", "hnRNPL": "HNRNPL",
    "hnRNPlike": "HNRNPLL", "MOV10": "MOV10", "NSUN2": "NSUN2", "PUM2": "PUM2", "QKI": "QKI", "SFRS1": "SRSF1",
    "TAF15": "TAF15", "TDP43": "TARDBP", "TIA1": "TIA1", "TIAL1": "TIAL1", "U2AF65": "U2AF2",
}
"""Gene symbol of the protein behind each experiment's name token (``23_PARCLIP_PUM2_hg19`` → PUM2)."""


def ionmf_experiments() -> list[str]:
    """The 31 experiment folders, in the benchmark's order (``1_PARCLIP_AGO1234_hg19`` ... ``31_...``)."""
    names = {p.split("/")[1] for p in registered() if p.startswith(FOLDER + "/")}
    return sorted(names, key=lambda name: int(name.split("_")[0]))


def experiment_key(experiment: str) -> str:
    """The experiment's name without its number: the name the other experiments' co-binding headers use."""
    return experiment.split("_", 1)[1]


def protein_of(experiment: str) -> str:
    """Gene symbol of the experiment's RBP, e.g. ``"ELAVL1"`` for ``"9_PARCLIP_ELAVL1MNASE_hg19"``."""
    key = experiment_key(experiment)
    for token in sorted(PROTEINS, key=len, reverse=True):
        if re.search(rf"(^|[_-]){re.escape(token)}($|[_-])", key):
            return PROTEINS[token]
    raise KeyError(f"no protein is known for experiment {experiment!r}")


CISBP_RNA_NAMES = {"ELAVL1": ("HuR",), "HNRNPLL": ("HNRPLL",), "IGF2BP1-3": ("IGF2BP2", "IGF2BP3")}
"""Names that ``motifs/Ray2013_rbp_RNA.meme`` gives a protein when they differ from its gene symbol."""


def cisbp_rna_names(experiment: str) -> tuple[str, ...]:
    """The motif names under which the CISBP-RNA database (Ray et al. 2013) may hold the experiment's protein."""
    protein = protein_of(experiment)
    return CISBP_RNA_NAMES.get(protein, (protein,))


def short_name(experiment: str) -> str:
    """A label for tables and plots: number, protein and method, e.g. ``"23 PUM2 PAR"``."""
    number, key = experiment.split("_", 1)
    method = next((m for m in ("PARCLIP", "HITSCLIP", "ICLIP", "CLIPSEQ", "CLIP-seq") if key.startswith(m)), "")
    tag = {"PARCLIP": "PAR", "HITSCLIP": "HITS", "ICLIP": "iCLIP", "CLIPSEQ": "CLIP", "CLIP-seq": "CLIP"}.get(method, "")
    extra = " MNase" if "MNASE" in key else " mut" if "FUS_mut" in key else " kd" if "ctrl+kd" in key else ""
    return f"{number} {protein_of(experiment)}{extra} {tag}".strip()


@dataclass
class ClipSplit:
    """One split of one experiment, every file read and aligned. ``N`` windows of 101 nt.

    - ``sequences``: N strings (DNA letters, may contain N); ``labels``: ``(N,)`` 0/1.
    - ``region``: ``(N, 5, 101)`` 0/1, channels in :data:`REGION_TYPES` order.
    - ``cobinding``: ``(N, 30, 101)`` 0/1, one channel per other experiment, in ``cobinding_experiments`` order
      (the benchmark's order, whatever order the file's header had). iONMF withholds the experiments on the same
      protein (an AGO experiment sees no other AGO experiment): their channels, listed in ``cobinding_withheld``,
      are all zero.
    - ``structure``: ``(N, 101)`` iONMF's RNAfold paired score, all zero for most windows outside processed
      transcripts (93% of PUM2's intronic training windows), so its presence reveals the region type;
      ``motif``: ``(N, 102)``, in ``motif_names`` order.
    - ``windows``: chromosome, strand, start, end (0-based, end exclusive as in the FASTA header + 1) and the
      cross-link position.
    """

    experiment: str
    split: str
    sequences: list[str]
    labels: np.ndarray
    region: np.ndarray
    cobinding: np.ndarray
    cobinding_experiments: list[str]
    cobinding_withheld: list[str]
    structure: np.ndarray
    motif: np.ndarray
    motif_names: list[str]
    windows: pd.DataFrame = field(repr=False)

    def __len__(self) -> int:
        return len(self.sequences)

    def modalities(self, *names: str, structure: np.ndarray | None = None) -> Modalities:
        """The model inputs (:func:`as_modalities`), all five unless ``names`` picks some. ``structure``
        ``(N, 101)`` replaces the provided RNAfold scores (e.g. by ``1 - structure.unpaired_probabilities(...)``)."""
        if structure is not None and np.shape(structure) != self.structure.shape:
            raise ValueError(f"structure has shape {np.shape(structure)}, expected {self.structure.shape}")
        arrays = {"region": self.region, "cobinding": self.cobinding, "motif": self.motif,
                  "structure": self.structure if structure is None else structure}
        return as_modalities(self.sequences, arrays, names or MODALITIES)


def as_modalities(sequences: list[str], arrays: dict[str, np.ndarray], names: tuple[str, ...] = MODALITIES
                  ) -> Modalities:
    """Float32 model inputs from windows of equal length ``L``: ``sequence`` one-hot ``(N, 4, L)`` from
    ``sequences``, every other name from ``arrays`` (``region`` ``(N, 5, L)``, ``cobinding`` ``(N, 30, L)``,
    ``structure`` ``(N, L)``, ``motif`` ``(N, 102)``)."""
    tensors = {}
    for name in names:
        if name == "sequence":
            tensors[name] = one_hot(sequences)
        elif name in arrays:
            tensors[name] = torch.as_tensor(np.asarray(arrays[name], dtype=np.float32))
        else:
            raise KeyError(f"unknown modality {name!r}; iDeep's are {', '.join(MODALITIES)}")
    return Modalities(**tensors)


def _path(experiment: str, split: str, name: str) -> str:
    return f"{FOLDER}/{experiment}/{SPLITS[split]}/{name}"


def _read_table(path: str, dtype) -> tuple[list[str], np.ndarray]:
    file = fetch(path)
    with gzip.open(file, "rt") as handle:
        header = handle.readline().rstrip("\n").split("\t")
        values = pd.read_csv(handle, sep="\t", header=None, dtype=dtype, engine="c").to_numpy()
    if values.shape[1] != len(header):
        raise ValueError(f"{path}: {values.shape[1]} columns but {len(header)} header fields")
    return header, values


def _read_fasta(path: str) -> tuple[list[str], pd.DataFrame]:
    seqs, rows = [], []
    with gzip.open(fetch(path), "rt") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.strip()
            if line.startswith(">"):
                match = _HEADER.match(line)
                if match is None:
                    raise ValueError(f"{path}, line {number}: header {line!r} is not '> chrom,strand,start,end; "
                                     f"class:0|1'")
                chrom, strand, start, end, label = match.groups()
                rows.append((chrom, strand, int(start), int(end) + 1, int(label)))
                seqs.append("")
            elif line:
                seqs[-1] += line.upper()
    for i, s in enumerate(seqs):
        if len(s) != WINDOW:
            raise ValueError(f"{path}: sequence {i} ({rows[i][0]}:{rows[i][2]}) has {len(s)} nt, expected {WINDOW}")
    return seqs, pd.DataFrame(rows, columns=["chrom", "strand", "start", "end", "label"])


def _check_rows(path: str, what: str, expected: np.ndarray, found: np.ndarray) -> None:
    if len(found) != len(expected):
        raise ValueError(f"{path}: {len(found)} rows, but sequences.fa.gz has {len(expected)}")
    expected, found = np.asarray(expected), np.asarray(found)
    wrong = np.flatnonzero(expected != found)
    if len(wrong):
        i = int(wrong[0])
        raise ValueError(f"{path}: row {i} has {what} {found[i].item()!r} where sequences.fa.gz has "
                         f"{expected[i].item()!r} "
                         f"({len(wrong)} rows differ); the files do not describe the same windows in the same order")


def _blocks(header: list[str], values: np.ndarray, order: list[str], path: str) -> np.ndarray:
    """Reshape ``(N, B * 101)`` columns headed by block names into ``(N, len(order), 101)`` in ``order``; a name
    of ``order`` that has no block in the file gets a block of zeros."""
    names = header[::WINDOW]
    if header != [name for name in names for _ in range(WINDOW)]:
        raise ValueError(f"{path}: the header is not blocks of {WINDOW} equal names")
    unknown = sorted(set(names) - set(order))
    if unknown or len(set(names)) != len(names):
        raise ValueError(f"{path}: header blocks {unknown or names} are not distinct names among {order}")
    blocks = np.zeros((len(values), len(order), WINDOW), dtype=values.dtype)
    blocks[:, [order.index(name) for name in names]] = values.reshape(len(values), len(names), WINDOW)
    return blocks


def load_ionmf(experiment: str, split: str = "train") -> ClipSplit:
    """Every file of one split (``"train"``: 5,000 windows, ``"test"``: 1,000) of one iONMF experiment, read,
    reshaped and checked for alignment: labels agree between the FASTA headers, ``matrix_Response`` and
    ``positions.bedGraph``; coordinates agree between the FASTA headers, ``motif_fea`` and the cross-link
    positions (window start + 50). A mismatch raises ``ValueError`` naming the file and the first row that differs.
    """
    experiments = ionmf_experiments()
    if experiment not in experiments:
        close = [e for e in experiments if experiment.lower() in e.lower()]
        hint = f"; did you mean {', '.join(close)}?" if close else "; see data.ionmf_experiments()"
        raise KeyError(f"unknown iONMF experiment {experiment!r}{hint}")
    if split not in SPLITS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    path = partial(_path, experiment, split)
    seqs, windows = _read_fasta(path("sequences.fa.gz"))
    labels = windows["label"].to_numpy().copy()

    _, response = _read_table(path("matrix_Response.tab.gz"), np.int64)
    _check_rows(path("matrix_Response.tab.gz"), "label", labels, response[:, 0])
    with gzip.open(fetch(path("positions.bedGraph.gz")), "rt") as handle:
        positions = pd.read_csv(handle, sep="\t", skiprows=1, header=None, names=["chrom", "start", "end", "value"],
                                dtype={"value": str})
    signed = positions["value"].str
    _check_rows(path("positions.bedGraph.gz"), "label", labels, signed.lstrip("-").astype(int).to_numpy())
    _check_rows(path("positions.bedGraph.gz"), "strand (the value's sign)", windows["strand"].to_numpy(),
                np.where(signed.startswith("-"), "-", "+"))
    _check_rows(path("positions.bedGraph.gz"), "cross-link", (windows["start"] + WINDOW // 2).to_numpy(),
                positions["start"].to_numpy())
    windows["crosslink"] = positions["start"].to_numpy()

    with gzip.open(fetch(path("motif_fea.gz")), "rt") as handle:
        motif_table = pd.read_csv(handle, sep="\t", index_col=0, engine="c")
    where = (windows["chrom"] + ":" + windows["start"].astype(str) + "-" + (windows["end"] - 1).astype(str))
    _check_rows(path("motif_fea.gz"), "window", where.to_numpy(), motif_table.index.to_numpy())
    motif_names = [name.removesuffix(".cb") for name in motif_table.columns]

    region_header, region = _read_table(path("matrix_RegionType.tab.gz"), np.uint8)
    others = [experiment_key(e) for e in experiments if e != experiment]
    cobinding_header, cobinding = _read_table(path("matrix_Cobinding.tab.gz"), np.uint8)
    _, structure = _read_table(path("matrix_RNAfold.tab.gz"), np.float32)
    for name, values in (("matrix_RegionType.tab.gz", region), ("matrix_Cobinding.tab.gz", cobinding),
                         ("matrix_RNAfold.tab.gz", structure)):
        if len(values) != len(seqs):
            raise ValueError(f"{path(name)}: {len(values)} rows, but sequences.fa.gz has {len(seqs)}")
    return ClipSplit(
        experiment=experiment, split=split, sequences=seqs, labels=labels,
        region=_blocks(region_header, region, list(REGION_TYPES), path("matrix_RegionType.tab.gz")),
        cobinding=_blocks(cobinding_header, cobinding, others, path("matrix_Cobinding.tab.gz")),
        cobinding_experiments=[e for e in experiments if e != experiment],
        cobinding_withheld=[e for e in experiments if e != experiment and experiment_key(e) not in cobinding_header],
        structure=structure, motif=motif_table.to_numpy(np.float32), motif_names=motif_names, windows=windows,
    )
