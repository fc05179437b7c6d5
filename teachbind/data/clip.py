"""The iONMF CLIP-seq benchmark (Stražar et al. 2016) as iDeep used it (Pan & Shen 2017), Chapter 5
(``nbs/05_ideep.ipynb``).

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

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from teachbind.data.registry import fetch, open_text, registered
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
    """One split of one experiment, every file read and aligned: ``N`` windows of ``L`` nt (101 in iONMF).

    - ``sequences``: N strings (DNA letters, may contain N); ``labels``: ``(N,)`` 0/1.
    - ``region``: ``(N, 5, L)`` 0/1, channels in :data:`REGION_TYPES` order.
    - ``cobinding``: ``(N, C, L)`` 0/1, one channel per other experiment, in ``cobinding_experiments`` order. For
      the registered benchmark that is the benchmark's order, whatever order the file's header had, ``C = 30``;
      iONMF withholds the experiments on the same protein (an AGO experiment sees no other AGO experiment): their
      channels, listed in ``cobinding_withheld``, are all zero. For a folder of your own it is the header's order.
    - ``structure``: ``(N, L)`` iONMF's RNAfold paired score, all zero for most windows outside processed
      transcripts (93% of PUM2's intronic training windows), so its presence reveals the region type;
      ``motif``: ``(N, M)`` (``M = 102``), in ``motif_names`` order.
    - ``windows``: chromosome, strand, start, end (0-based, end exclusive as in the FASTA header + 1) and the
      cross-link position (the window's centre when there is no ``positions.bedGraph.gz``).

    A modality whose file the split folder lacks is ``None``; ``available`` names those present.
    """

    experiment: str
    split: str
    sequences: list[str]
    labels: np.ndarray
    region: np.ndarray | None
    cobinding: np.ndarray | None
    cobinding_experiments: list[str]
    cobinding_withheld: list[str]
    structure: np.ndarray | None
    motif: np.ndarray | None
    motif_names: list[str]
    windows: pd.DataFrame = field(repr=False)
    folder: Path | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.sequences)

    @property
    def available(self) -> tuple[str, ...]:
        """The modalities this split has, in :data:`MODALITIES` order (always ``"sequence"``)."""
        return tuple(name for name in MODALITIES if name == "sequence" or getattr(self, name) is not None)

    def modalities(self, *names: str, structure: np.ndarray | None = None) -> Modalities:
        """The model inputs (:func:`as_modalities`), every available one unless ``names`` picks some.
        ``structure`` ``(N, L)`` replaces the provided RNAfold scores (e.g. by ``1 -
        structure.unpaired_probabilities(...)``), and may stand in for a missing ``matrix_RNAfold`` file."""
        expected = (len(self), len(self.sequences[0]))
        if structure is not None and np.shape(structure) != expected:
            raise ValueError(f"structure has shape {np.shape(structure)}, expected {expected}")
        arrays = {name: getattr(self, name) for name in MODALITIES[1:] if getattr(self, name) is not None}
        if structure is not None:
            arrays["structure"] = structure
        names = names or tuple(name for name in MODALITIES if name == "sequence" or name in arrays)
        missing = [name for name in names if name != "sequence" and name not in arrays and name in FILES]
        if missing:
            where = self.folder or f"the {self.experiment} {self.split} split"
            raise KeyError(f"{where} has no {missing[0]} modality: {FILES[missing[0]]} is missing")
        return as_modalities(self.sequences, arrays, names)


def as_modalities(sequences: list[str], arrays: dict[str, np.ndarray], names: tuple[str, ...] = MODALITIES
                  ) -> Modalities:
    """Float32 model inputs from windows of equal length ``L``: ``sequence`` one-hot ``(N, 4, L)`` from
    ``sequences``, every other name from ``arrays`` (``region`` ``(N, 5, L)``, ``cobinding`` ``(N, C, L)``,
    ``structure`` ``(N, L)``, ``motif`` ``(N, M)``)."""
    tensors = {}
    for name in names:
        if name == "sequence":
            tensors[name] = one_hot(sequences)
        elif name in arrays:
            tensors[name] = torch.as_tensor(np.asarray(arrays[name], dtype=np.float32))
        else:
            raise KeyError(f"unknown modality {name!r}; iDeep's are {', '.join(MODALITIES)}")
    return Modalities(**tensors)


FILES = {"sequence": "sequences.fa.gz", "label": "matrix_Response.tab.gz", "positions": "positions.bedGraph.gz",
         "region": "matrix_RegionType.tab.gz", "cobinding": "matrix_Cobinding.tab.gz",
         "structure": "matrix_RNAfold.tab.gz", "motif": "motif_fea.gz"}
"""The file of each part of a split folder (gzip; a file of your own may also be plain text, without ``.gz``)."""


def _read_table(path: Path, dtype) -> tuple[list[str], np.ndarray]:
    with open_text(path) as handle:
        header = handle.readline().rstrip("\n").split("\t")
        try:
            values = pd.read_csv(handle, sep="\t", header=None, dtype=dtype, engine="c").to_numpy()
        except (ValueError, pd.errors.ParserError) as error:
            raise ValueError(f"{path}: not a tab-separated table of {np.dtype(dtype).name} values after its "
                             f"header: {error}") from None
    if values.shape[1] != len(header):
        raise ValueError(f"{path}: {values.shape[1]} columns but {len(header)} header fields")
    return header, values


def _read_fasta(path: Path) -> tuple[list[str], pd.DataFrame]:
    seqs, rows = [], []
    with open_text(path) as handle:
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
            elif line and not seqs:
                raise ValueError(f"{path}, line {number}: sequence before the first '>' header")
            elif line:
                seqs[-1] += line.upper()
    if not seqs:
        raise ValueError(f"{path}: no FASTA records")
    length = len(seqs[0])
    for i, s in enumerate(seqs):
        if len(s) != length:
            raise ValueError(f"{path}: sequence {i} ({rows[i][0]}:{rows[i][2]}) has {len(s)} nt, where sequence 0 "
                             f"has {length}; every window must have the same length")
    return seqs, pd.DataFrame(rows, columns=["chrom", "strand", "start", "end", "label"])


def _check_rows(path: Path, what: str, expected: np.ndarray, found: np.ndarray) -> None:
    if len(found) != len(expected):
        raise ValueError(f"{path}: {len(found)} rows, but sequences.fa.gz has {len(expected)}")
    expected, found = np.asarray(expected), np.asarray(found)
    wrong = np.flatnonzero(expected != found)
    if len(wrong):
        i = int(wrong[0])
        raise ValueError(f"{path}: row {i} has {what} {found[i].item()!r} where sequences.fa.gz has "
                         f"{expected[i].item()!r} "
                         f"({len(wrong)} rows differ); the files do not describe the same windows in the same order")


def _blocks(header: list[str], values: np.ndarray, order: list[str] | None, length: int, path: Path) -> np.ndarray:
    """Reshape ``(N, B * length)`` columns headed by block names into ``(N, len(order), length)`` in ``order``
    (``None``: the header's order); a name of ``order`` that has no block in the file gets a block of zeros."""
    names = header[::length]
    if header != [name for name in names for _ in range(length)]:
        raise ValueError(f"{path}: the header is not blocks of {length} equal names (one per window position)")
    order = names if order is None else order
    unknown = sorted(set(names) - set(order))
    if unknown or len(set(names)) != len(names):
        raise ValueError(f"{path}: header blocks {unknown or names} are not distinct names among {order}")
    blocks = np.zeros((len(values), len(order), length), dtype=values.dtype)
    blocks[:, [order.index(name) for name in names]] = values.reshape(len(values), len(names), length)
    return blocks


def _split_files(experiment: str | Path, split: str) -> tuple[str, dict[str, Path], Path | None]:
    """The experiment's name and the local path of each file its split has: from the registry for a benchmark
    experiment, else from the folder ``experiment``/``training_sample_0`` (or ``test_sample_0``)."""
    if split not in SPLITS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    experiments = ionmf_experiments()
    if str(experiment) in experiments:
        return str(experiment), {part: fetch(f"{FOLDER}/{experiment}/{SPLITS[split]}/{name}")
                                 for part, name in FILES.items()}, None
    folder = Path(experiment).expanduser()
    if not folder.is_dir():
        if isinstance(experiment, str) and "/" not in experiment:
            close = [e for e in experiments if experiment.lower() in e.lower()]
            hint = f"; did you mean {', '.join(close)}?" if close else "; see data.ionmf_experiments()"
            raise KeyError(f"unknown iONMF experiment {experiment!r}{hint} (or give the path of a folder of your own)")
        raise FileNotFoundError(f"{experiment!s} is neither a registered iONMF experiment nor a folder")
    split_folder = folder / SPLITS[split]
    if not split_folder.is_dir():
        raise FileNotFoundError(f"{folder}: expected the iONMF layout {SPLITS['train']}/ and {SPLITS['test']}/, "
                                f"but there is no {split_folder.name}/")
    found = {}
    for part, name in FILES.items():
        for candidate in (split_folder / name, split_folder / name.removesuffix(".gz")):
            if candidate.is_file():
                found[part] = candidate
                break
    if "sequence" not in found:
        raise FileNotFoundError(f"{split_folder}: no {FILES['sequence']} (the windows, in FASTA with headers "
                                f"'> chrom,strand,start,end; class:0|1'); the other files are optional")
    return folder.name, found, split_folder


def load_ionmf(experiment: str | Path, split: str = "train") -> ClipSplit:
    """Every file of one split (``"train"``, ``"test"``) of one experiment in iONMF's format, read, reshaped and
    checked for alignment.

    ``experiment``: a registered benchmark experiment (:func:`ionmf_experiments`; 5,000 training and 1,000 test
    windows, all five modalities), or the path of a folder of your own laid out as iONMF's, ``<folder>/
    training_sample_0/`` and ``<folder>/test_sample_0/``, each holding ``sequences.fa.gz`` and whichever of the
    other :data:`FILES` you have (a missing modality is ``None`` in the result; windows of any one length).

    Labels must agree between the FASTA headers, ``matrix_Response`` and ``positions.bedGraph``; coordinates
    between the FASTA headers, ``motif_fea`` and the cross-link positions (window start + half the window). A
    mismatch raises ``ValueError`` naming the file and the first row that differs.
    """
    name, paths, folder = _split_files(experiment, split)
    seqs, windows = _read_fasta(paths["sequence"])
    length = len(seqs[0])
    labels = windows["label"].to_numpy().copy()
    windows["crosslink"] = (windows["start"] + length // 2).to_numpy()

    if "label" in paths:
        _, response = _read_table(paths["label"], np.int64)
        _check_rows(paths["label"], "label", labels, response[:, 0])
    if "positions" in paths:
        with open_text(paths["positions"]) as handle:
            positions = pd.read_csv(handle, sep="\t", skiprows=1, header=None,
                                    names=["chrom", "start", "end", "value"], dtype={"value": str})
        signed = positions["value"].str
        _check_rows(paths["positions"], "label", labels, signed.lstrip("-").astype(int).to_numpy())
        _check_rows(paths["positions"], "strand (the value's sign)", windows["strand"].to_numpy(),
                    np.where(signed.startswith("-"), "-", "+"))
        _check_rows(paths["positions"], "cross-link", windows["crosslink"].to_numpy(), positions["start"].to_numpy())

    motif, motif_names = None, []
    if "motif" in paths:
        with open_text(paths["motif"]) as handle:
            motif_table = pd.read_csv(handle, sep="\t", index_col=0, engine="c")
        where = (windows["chrom"] + ":" + windows["start"].astype(str) + "-" + (windows["end"] - 1).astype(str))
        _check_rows(paths["motif"], "window", where.to_numpy(), motif_table.index.to_numpy())
        motif, motif_names = motif_table.to_numpy(np.float32), [m.removesuffix(".cb") for m in motif_table.columns]

    def table(part, dtype):
        if part not in paths:
            return None, None
        header, values = _read_table(paths[part], dtype)
        if len(values) != len(seqs):
            raise ValueError(f"{paths[part]}: {len(values)} rows, but {paths['sequence'].name} has {len(seqs)}")
        return header, values

    region_header, region = table("region", np.uint8)
    if region is not None:
        region = _blocks(region_header, region, list(REGION_TYPES), length, paths["region"])
    cobinding_header, cobinding = table("cobinding", np.uint8)
    if folder is None:
        others = [e for e in ionmf_experiments() if e != name]
        withheld = [e for e in others if experiment_key(e) not in cobinding_header]
        order = [experiment_key(e) for e in others]
    else:
        others = list(dict.fromkeys(cobinding_header or []))
        withheld, order = [], None
    if cobinding is not None:
        cobinding = _blocks(cobinding_header, cobinding, order, length, paths["cobinding"])
    _, structure = table("structure", np.float32)
    if structure is not None and structure.shape[1] != length:
        raise ValueError(f"{paths['structure']}: {structure.shape[1]} columns, expected one per position ({length})")
    return ClipSplit(experiment=name, split=split, sequences=seqs, labels=labels, region=region,
                     cobinding=cobinding, cobinding_experiments=others, cobinding_withheld=withheld,
                     structure=structure, motif=motif, motif_names=motif_names, windows=windows, folder=folder)

