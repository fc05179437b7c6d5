"""RNA secondary structure as model input: per-position unpaired probabilities from ViennaRNA (Lorenz et al. 2011).
Introduced in Chapter 5 (``nbs/05_ideep.ipynb``) and used again in Chapter 6.

An RBP often reads its motif only where the RNA is single-stranded. ``RNAplfold -u 1`` gives, for each position, the
probability that it is unpaired, averaged over the Boltzmann ensemble of structures. ResidualBind's "with structure"
variant and iDeep feed such profiles to the network beside the one-hot sequence.

- :func:`fold`: the minimum free energy structure of one sequence, in dot-bracket notation;
- :func:`unpaired_probabilities`: the profiles, computed in parallel across processes and cached on disk by
  content hash, so each set of sequences is folded once;
- :func:`paired_unpaired`: channels ``(N, 2, L)`` (paired, unpaired) aligned with
  :func:`teachbind.seq.one_hot_padded`;
- :class:`FoldingModel`: wraps a model of sequence and structure as a model of sequence alone, folding whatever it
  is given; Global Importance Analysis then works unchanged.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

from pathlib import Path

import numpy as np
import torch
from torch import nn

from teachbind.data.registry import cache_dir
from teachbind.seq import decode_codes

CHUNK = 2000


def _fold_chunk(args: tuple[list[str], int | None]) -> list[np.ndarray]:
    import RNA

    seqs, window = args
    out = []
    for s in seqs:
        w = window or len(s)
        up = RNA.pfl_fold_up(s, 1, w, w)
        out.append(np.array([up[i][1] for i in range(1, len(s) + 1)], dtype=np.float32))
    return out


def fold(sequence: str) -> tuple[str, float]:
    """The minimum free energy secondary structure of one RNA ``sequence`` (ViennaRNA ``RNAfold``): its
    dot-bracket string (``(`` and ``)`` paired with each other, ``.`` unpaired) and its free energy in kcal/mol."""
    import RNA

    structure, energy = RNA.fold(sequence.upper().replace("T", "U"))
    return structure, float(energy)


def _cache_file(seqs: Sequence[str], window: int | None) -> os.PathLike:
    digest = hashlib.sha256(f"pfl_fold_up u=1 W={window}\n".encode())
    for s in seqs:
        digest.update(s.encode())
        digest.update(b"\n")
    return cache_dir() / "structure" / f"{digest.hexdigest()}.npz"


def unpaired_probabilities(seqs: Sequence[str], *, window: int | None = None, processes: int | None = None,
                           cache: bool = True) -> list[np.ndarray]:
    """For each RNA sequence, the probability ``(len(s),)`` that each position is unpaired (RNAplfold ``-u 1``
    with window and maximum base-pair span ``window``, default the sequence's own length, as the released
    ResidualBind code ran it on RNAcompete probes).

    Sequences are folded in ``processes`` worker processes (default: ``torch.get_num_threads()``, every core unless
    ``OMP_NUM_THREADS`` or the book runner says fewer) in chunks of 2,000. With ``cache``, the result is stored under
    the teachbind cache folder (``$TEACHBIND_CACHE_DIR``) in a file named by the sha256 of the sequences and settings
    (when that folder can be written), and read from there the next time.
    """
    seqs = [s.upper().replace("T", "U") for s in seqs]
    bad = next(((i, j, c) for i, s in enumerate(seqs) for j, c in enumerate(s) if c not in "ACGUN"), None)
    if bad:
        raise ValueError(f"sequence {bad[0]} has invalid letter {bad[2]!r} at position {bad[1]}: fold RNA or DNA "
                         f"letters only")
    file = _cache_file(seqs, window)
    if cache and file.is_file():
        stored = np.load(file)
        return np.split(stored["values"], np.cumsum(stored["lengths"])[:-1])
    chunks = [(seqs[i:i + CHUNK], window) for i in range(0, len(seqs), CHUNK)]
    workers = min(processes or torch.get_num_threads(), len(chunks))
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            results = [p for part in pool.map(_fold_chunk, chunks) for p in part]
    else:
        results = [p for chunk in chunks for p in _fold_chunk(chunk)]
    if cache and os.access(_writable_ancestor(file.parent), os.W_OK):
        file.parent.mkdir(parents=True, exist_ok=True)
        partial = file.with_name(f"{file.stem}.{os.getpid()}.tmp.npz")
        np.savez(partial, values=np.concatenate(results) if results else np.zeros(0, np.float32),
                 lengths=np.array([len(s) for s in seqs]))
        os.replace(partial, file)
    return results


def _writable_ancestor(folder: Path) -> Path:
    """``folder``, or its nearest existing ancestor (where creating it would start)."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def paired_unpaired(seqs: Sequence[str], length: int, **kwargs) -> torch.Tensor:
    """``(N, 2, length)``: channel 0 the probability that a position is paired, channel 1 that it is unpaired,
    each sequence centred and zero-padded exactly as :func:`teachbind.seq.one_hot_padded` places its letters.
    ``kwargs`` go to :func:`unpaired_probabilities`."""
    profiles = unpaired_probabilities(seqs, **kwargs)
    out = torch.zeros(len(profiles), 2, length)
    for i, up in enumerate(profiles):
        if len(up) > length:
            raise ValueError(f"sequence {i} has {len(up)} nt, more than length={length}")
        left = (length - len(up)) // 2
        out[i, 1, left:left + len(up)] = torch.from_numpy(up)
        out[i, 0, left:left + len(up)] = 1 - out[i, 1, left:left + len(up)]
    return out


class FoldingModel(nn.Module):
    """A model of one-hot RNA ``(N, 4, L)`` made from ``model``, a model of one-hot RNA plus structure
    ``(N, 6, L)``: it reads each sequence's letters (empty padding columns skipped), folds them
    (:func:`unpaired_probabilities`, cached), writes the paired and unpaired probabilities at the letters'
    positions and calls ``model`` on both. Interventions written into the sequence are
    thereby folded too, which is what GIA on a structure-aware model needs."""

    def __init__(self, model: nn.Module, *, cache: bool = False):
        super().__init__()
        self.model, self.cache = model, cache

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        present = x.sum(1) > 0
        codes = x.argmax(1).to(torch.uint8).cpu().numpy()
        mask = present.cpu().numpy()
        seqs = decode_codes(codes[mask], mask.sum(1), alphabet="RNA")
        unpaired = torch.from_numpy(np.concatenate(unpaired_probabilities(seqs, cache=self.cache)))
        structure = torch.zeros(len(x), 2, x.shape[-1])
        structure[:, 1][torch.from_numpy(mask)] = unpaired
        structure[:, 0][torch.from_numpy(mask)] = 1 - unpaired
        return self.model(torch.cat([x, structure.to(x.device, x.dtype)], dim=1))
