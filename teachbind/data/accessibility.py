"""Chromatin accessibility data for Chapter 4 (Basset): a real two-cell-type DNase set, two format examples, and a
reader for accessibility data of your own.

- :func:`load_accessibility`: sequences and their 0/1 accessibility per cell type, from the book's DHS set, a table,
  or a FASTA file with Basset's activity table; the input of :func:`teachbind.protocols.basset.train_accessibility`.
- :func:`load_dhs_k562_hepg2`: ENCODE DHSs specific to K562 or to HepG2 (Meuleman et al. 2020 DHS Index, 200 bp,
  hg38, curated by DaSilva et al. 2024), with its chromosome split (test chr1, validation chr2).
- :func:`load_basset_targets`: the names of Basset's 164 DNase-seq cell types (Kelley et al. 2016).
- :func:`load_aitac_sample`: 100 mouse ATAC-seq peaks × 81 immune cell types from AI-TAC (Maslova et al. 2020).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from teachbind.data.registry import fetch, open_text

DHS_FOLDER = "dhs_index_k562_hepg2"
DHS_FILES = {"K562": "K562_ENCLB843GMH.txt.gz", "HepG2": "HepG2_ENCLB029COU.txt.gz"}
DHS_COLUMNS = ["dhs_id", "chr", "start", "end", "summit", "sequence", "data_label"]
SPLITS = ("training", "validation", "test")
AITAC_CHANNELS = "ATGC"
DHS_SET = "dhs_index_k562_hepg2"
DHS_TASKS = ("K562", "HepG2")
SPLIT_NAMES = {"training": "training", "train": "training", "validation": "validation", "valid": "validation",
               "val": "validation", "test": "test"}
FASTA_SUFFIXES = (".fa", ".fasta", ".fa.gz", ".fasta.gz")


@dataclass
class AccessibilitySet:
    """Sequences and whether each is accessible in each of ``T`` cell types.

    ``seqs``: ``N`` DNA sequences of one length (uppercase; ``N`` allowed); ``labels``: ``(N, T)`` float32, 1 where
    sequence ``i`` is accessible in cell type ``t``; ``tasks``: the ``T`` cell-type names; ``ids``: ``N`` names;
    ``split``: ``(N,)`` array of ``"training"``, ``"validation"`` or ``"test"``, or ``None`` when the data do not
    say (:func:`teachbind.protocols.basset.train_accessibility` then splits at random); ``source``: where they
    were read from.
    """

    seqs: list[str]
    labels: np.ndarray
    tasks: list[str]
    ids: list[str]
    split: np.ndarray | None
    source: str

    def __len__(self) -> int:
        return len(self.seqs)

    def rows(self, part: str) -> np.ndarray:
        """Indices of the sequences in split ``part`` (``"training"``, ``"validation"`` or ``"test"``)."""
        if self.split is None:
            raise ValueError(f"{self.source} has no split column")
        return np.flatnonzero(self.split == part)


def load_accessibility(experiment: str | Path = DHS_SET, activity: str | Path | None = None, *,
                       tasks: Sequence[str] | None = None, split: str = "split") -> AccessibilitySet:
    """Accessibility data for Basset (:class:`AccessibilitySet`), from one of three sources:

    - ``"dhs_index_k562_hepg2"``: the book's DHSs (:func:`load_dhs_k562_hepg2`): tasks K562 and HepG2, with their
      chromosome split.
    - The path of a table with a header line, tab- or comma-separated, plain or gzip: a ``sequence`` column, one
      column of 0/1 per cell type, and optionally a column ``split`` (values ``training``/``train``,
      ``validation``/``valid``, ``test``; another name with ``split=``) and an ``id`` column. ``tasks`` names the
      cell-type columns; by default every other column whose values are all 0 or 1.
    - The path of a FASTA file (``.fa``, ``.fasta``, optionally gzipped) and Basset's activity table for it
      (``activity``; by default ``<name>_act.txt`` beside it), as Basset's ``preprocess_features.py`` writes them:
      a header of cell-type names after an empty first field, then one line per sequence, its FASTA id and a 0 or 1
      per cell type. ``tasks`` picks columns. There is no split: the protocol draws one.

    Every sequence must have the same length and only the letters A, C, G, T and N, and every cell type at least
    one accessible and one inaccessible sequence; a file that breaks a rule raises ``ValueError`` naming the file,
    the line and what was expected.
    """
    if str(experiment) == DHS_SET and activity is None:
        return _dhs_set(tasks)
    path = Path(experiment)
    if not path.is_file():
        raise FileNotFoundError(f"{experiment!s} is neither {DHS_SET!r} nor a file")
    if path.name.lower().endswith(FASTA_SUFFIXES):
        data = _fasta_and_activity(path, activity, tasks)
    else:
        data = _table(path, tasks, split)
    for t, task in enumerate(data.tasks):
        if len(np.unique(data.labels[:, t])) < 2:
            raise ValueError(f"{data.source}: cell type {task!r} has only {int(data.labels[0, t])}s; each cell type "
                             f"needs accessible (1) and inaccessible (0) sequences (leave it out with tasks=[...])")
    return data


def _dhs_set(tasks: Sequence[str] | None) -> AccessibilitySet:
    table = load_dhs_k562_hepg2()
    tasks = list(tasks or DHS_TASKS)
    unknown = [t for t in tasks if t not in DHS_TASKS]
    if unknown:
        raise KeyError(f"{DHS_SET} has cell types {', '.join(DHS_TASKS)}, not {', '.join(unknown)}")
    labels = np.stack([(table.cell == t).to_numpy() for t in tasks], axis=1).astype(np.float32)
    return AccessibilitySet(list(table.sequence), labels, tasks, list(table.dhs_id), table.split.to_numpy(), DHS_SET)


def _table(path: Path, tasks: Sequence[str] | None, split: str) -> AccessibilitySet:
    with open_text(path) as handle:
        separator = "\t" if "\t" in handle.readline() else ","
    with open_text(path) as handle:
        table = pd.read_csv(handle, sep=separator, dtype=str, keep_default_na=False)
    if "sequence" not in table.columns:
        raise ValueError(f"{path}: no 'sequence' column in the header ({', '.join(table.columns)})")
    metadata = {"sequence", split, "id"}
    if tasks is None:
        tasks = [c for c in table.columns if c not in metadata and table[c].isin(["0", "1"]).all()]
        if not tasks:
            raise ValueError(f"{path}: no column of 0s and 1s besides {', '.join(sorted(metadata))}; name the "
                             f"cell-type columns with tasks=[...]")
    missing = [t for t in tasks if t not in table.columns]
    if missing:
        raise ValueError(f"{path}: no column {missing[0]!r} in the header ({', '.join(table.columns)})")
    labels = np.stack([_zeros_and_ones(table[t], path, t) for t in tasks], axis=1)
    seqs = _checked_sequences(list(table["sequence"]), path)
    ids = list(table["id"]) if "id" in table.columns else [f"{path.name}:{i + 2}" for i in range(len(table))]
    parts = None
    if split in table.columns:
        named = table[split].str.lower().map(SPLIT_NAMES)
        if named.isna().any():
            i = int(np.flatnonzero(named.isna())[0])
            raise ValueError(f"{path}, line {i + 2}: {split} is {table[split][i]!r}; expected one of "
                             f"{', '.join(SPLIT_NAMES)}")
        parts = named.to_numpy()
    return AccessibilitySet(seqs, labels, list(tasks), ids, parts, str(path))


def _fasta_and_activity(path: Path, activity: str | Path | None, tasks: Sequence[str] | None) -> AccessibilitySet:
    ids, seqs, lines = read_fasta(path)
    stem = path.name[:path.name.lower().rindex(".f")]
    activity = Path(activity) if activity is not None else path.with_name(f"{stem}_act.txt")
    if not activity.is_file():
        raise FileNotFoundError(f"no activity table for {path}: expected {activity} (pass activity=PATH)")
    with open_text(activity) as handle:
        table = pd.read_csv(handle, sep="\t", dtype=str, index_col=0, keep_default_na=False)
    repeated = table.index[table.index.duplicated()]
    if len(repeated):
        raise ValueError(f"{activity}: sequence {repeated[0]!r} has two rows")
    tasks = list(tasks) if tasks is not None else list(table.columns)
    missing = [t for t in tasks if t not in table.columns]
    if missing:
        raise ValueError(f"{activity}: no cell type {missing[0]!r} in the header ({', '.join(table.columns)})")
    line_of = {name: i + 2 for i, name in enumerate(table.index)}
    absent = [i for i in ids if i not in line_of]
    if absent:
        raise ValueError(f"{activity}: no row for sequence {absent[0]!r} of {path} ({len(absent)} of {len(ids)} "
                         f"sequences have none)")
    rows = table.loc[ids]
    labels = np.stack([_zeros_and_ones(rows[t], activity, t, lines=[line_of[i] for i in ids]) for t in tasks],
                      axis=1)
    return AccessibilitySet(_checked_sequences(seqs, path, lines=lines), labels, tasks, ids, None, str(path))


def read_fasta(path: str | Path) -> tuple[list[str], list[str], list[int]]:
    """Ids (the first word of each ``>`` header), sequences (uppercase) and the line of each header, from a FASTA
    file (plain or gzip); a sequence line before the first header, a record without letters or an id seen twice
    raise ``ValueError`` naming the file and line."""
    ids, seqs, lines, seen = [], [], [], {}
    with open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            line = line.strip()
            if line.startswith(">"):
                if seqs and not seqs[-1]:
                    raise ValueError(f"{path}, line {lines[-1]}: record {ids[-1]!r} has no sequence")
                name = line[1:].split()[0] if line[1:].split() else ""
                if name in seen:
                    raise ValueError(f"{path}, line {number}: id {name!r} was already used on line {seen[name]}")
                seen[name] = number
                ids.append(name), seqs.append(""), lines.append(number)
            elif line and not seqs:
                raise ValueError(f"{path}, line {number}: sequence before the first '>' header")
            elif line:
                seqs[-1] += line.upper()
    if not seqs or not seqs[-1]:
        raise ValueError(f"{path}: no FASTA records" if not seqs else
                         f"{path}, line {lines[-1]}: record {ids[-1]!r} has no sequence")
    return ids, seqs, lines


def _zeros_and_ones(column: pd.Series, path: Path, name: str, *, lines: list[int] | None = None) -> np.ndarray:
    values = column.to_numpy()
    bad = np.flatnonzero(~np.isin(values, ["0", "1"]))
    if len(bad):
        line = lines[bad[0]] if lines is not None else bad[0] + 2
        raise ValueError(f"{path}, line {line}: {name} is {values[bad[0]]!r}; accessibility must be 0 or 1")
    return (values == "1").astype(np.float32)


def _checked_sequences(seqs: list[str], path: Path, *, lines: list[int] | None = None) -> list[str]:
    seqs = [s.upper() for s in seqs]
    for i, s in enumerate(seqs):
        line = lines[i] if lines is not None else i + 2
        bad = next((j for j, letter in enumerate(s) if letter not in "ACGTN"), None)
        if bad is not None:
            raise ValueError(f"{path}, line {line}: letter {s[bad]!r} at position {bad} of sequence {i}; "
                             f"expected A, C, G, T or N")
        if len(s) != len(seqs[0]):
            raise ValueError(f"{path}, line {line}: sequence {i} has {len(s)} nt where sequence 0 has "
                             f"{len(seqs[0])}; Basset reads sequences of one length")
    return seqs


def load_dhs_k562_hepg2() -> pd.DataFrame:
    """Cell-type-specific DHSs of K562 and HepG2, one row each (23,936 rows).

    Columns: ``dhs_id``, ``chr``, ``start``, ``end``, ``summit``, ``sequence`` (200 nt, uppercase, centred on the
    summit), ``cell`` (``"K562"`` or ``"HepG2"``: the only one of the two where this DHS is accessible) and
    ``split`` (``"training"``, ``"validation"`` = chr2, ``"test"`` = chr1, as the files label them).
    """
    tables = []
    for cell, name in DHS_FILES.items():
        path = fetch(f"{DHS_FOLDER}/{name}")
        with open_text(path) as handle:
            table = pd.read_csv(handle, sep="\t")
        missing = [c for c in DHS_COLUMNS if c not in table.columns]
        if missing:
            raise ValueError(f"{path}: expected columns {missing} in the header")
        unknown = sorted(set(table["data_label"]) - set(SPLITS))
        if unknown:
            raise ValueError(f"{path}: data_label has values {unknown}; expected {SPLITS}")
        tables.append(table[DHS_COLUMNS].rename(columns={"data_label": "split"}).assign(cell=cell))
    table = pd.concat(tables, ignore_index=True)
    table["sequence"] = table["sequence"].str.upper()
    lengths = table["sequence"].str.len()
    if (lengths != 200).any():
        i = int(np.flatnonzero(lengths != 200)[0])
        raise ValueError(f"DHS {table.dhs_id[i]} has a sequence of {lengths[i]} nt; expected 200")
    return table


def load_basset_targets() -> pd.DataFrame:
    """Basset's 164 targets in output order: ``name`` (cell type or tissue), ``peak_file`` and ``source``
    (``"ENCODE"`` for the 125 ENCODE samples, ``"Roadmap"`` for the 39 Roadmap Epigenomics ones)."""
    path = fetch("basset_metadata/targets.txt")
    table = pd.read_csv(path, sep="\t", header=None, names=["name", "peak_file"])
    table["source"] = np.where(table["peak_file"].str.startswith("roadmap/"), "Roadmap", "ENCODE")
    return table


@dataclass
class AitacSample:
    """AI-TAC's sample: ``x`` one-hot ``(100, 4, 251)`` in teachbind's channel order A, C, G, T (AI-TAC stores
    A, T, G, C); ``heights`` ``(100, 81)`` normalised ATAC-seq peak heights; ``cell_types`` a DataFrame
    (``task``, ``cell_type``, ``lineage``) of the 81 columns (the file gives no lineage for one cell type, a
    macrophage population: ``"unassigned"`` here); ``peaks`` the 100 peak names."""

    x: torch.Tensor
    heights: np.ndarray
    cell_types: pd.DataFrame
    peaks: list[str]


def load_aitac_sample() -> AitacSample:
    """Read AI-TAC's 100-peak sample (a format example: far too small to train on)."""
    folder = "aitac_sample"
    one_hot = np.load(fetch(f"{folder}/one_hot_seqs.npy"))
    order = [AITAC_CHANNELS.index(letter) for letter in "ACGT"]
    names = np.load(fetch(f"{folder}/cell_type_names.npy"), allow_pickle=True)
    return AitacSample(
        x=torch.from_numpy(one_hot[:, order, :].astype(np.float32)),
        heights=np.load(fetch(f"{folder}/cell_type_array.npy")),
        cell_types=pd.DataFrame(names, columns=["task", "cell_type", "lineage"]).fillna({"lineage": "unassigned"}),
        peaks=[p.decode() for p in np.load(fetch(f"{folder}/peak_names.npy"))],
    )
