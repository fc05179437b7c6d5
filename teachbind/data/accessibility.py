"""Chromatin accessibility data for Chapter 3 (Basset): a real two-cell-type DNase set and two format examples.

- :func:`load_dhs_k562_hepg2`: ENCODE DHSs specific to K562 or to HepG2 (Meuleman et al. 2020 DHS Index, 200 bp,
  hg38, curated by DaSilva et al. 2024), with its chromosome split (test chr1, validation chr2).
- :func:`load_basset_targets`: the names of Basset's 164 DNase-seq cell types (Kelley et al. 2016).
- :func:`load_aitac_sample`: 100 mouse ATAC-seq peaks × 81 immune cell types from AI-TAC (Maslova et al. 2020).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from teachbind.data.registry import fetch, open_text

DHS_FOLDER = "dhs_index_k562_hepg2"
DHS_FILES = {"K562": "K562_ENCLB843GMH.txt.gz", "HepG2": "HepG2_ENCLB029COU.txt.gz"}
DHS_COLUMNS = ["dhs_id", "chr", "start", "end", "summit", "sequence", "data_label"]
SPLITS = ("training", "validation", "test")
AITAC_CHANNELS = "ATGC"


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
