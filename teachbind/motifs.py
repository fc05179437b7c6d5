"""Position weight matrices: building them, measuring them, scanning sequences with them, and naming them.

Chapter 1 (``nbs/01_sequences.ipynb``) introduces each function. A PWM is a float array of shape ``(4, w)``
holding letter probabilities, channels in alphabet order, columns summing to 1: the same layout as a one-hot
sequence, so that scanning a sequence is a 1-D convolution.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from teachbind.metrics import auroc_columns
from teachbind.predict import BATCH_SIZE, pick_device
from teachbind.seq import get_alphabet

IUPAC = {
    "A": "A", "C": "C", "G": "G", "T": "T", "U": "T",
    "R": "AG", "Y": "CT", "S": "CG", "W": "AT", "K": "GT", "M": "AC",
    "B": "CGT", "D": "AGT", "H": "ACT", "V": "ACG", "N": "ACGT",
}


@dataclass
class Motif:
    """A named PWM: ``probs`` has shape ``(4, w)``, channels A, C, G, T (or U for RNA motifs); ``sites`` is the
    number of aligned sites it was counted from, where known."""

    id: str
    name: str
    probs: np.ndarray
    alphabet: str = "DNA"
    sites: int | None = None

    @property
    def width(self) -> int:
        return self.probs.shape[1]

    @property
    def consensus(self) -> str:
        letters = get_alphabet(self.alphabet).letters
        return "".join(letters[i] for i in self.probs.argmax(axis=0))

    def __repr__(self) -> str:
        return f"Motif({self.id!r}, {self.name!r}, width={self.width}, consensus={self.consensus!r})"


def _check_matrix(m: np.ndarray, what: str) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] != 4:
        raise ValueError(f"{what} must have shape (4, width), got {m.shape}")
    if m.shape[1] == 0:
        raise ValueError(f"{what} has width 0")
    if (m < 0).any() or not np.isfinite(m).all():
        raise ValueError(f"{what} must hold finite non-negative numbers")
    return m


def pwm_from_counts(counts: np.ndarray, pseudocount: float = 0.0) -> np.ndarray:
    """Letter probabilities ``(4, w)`` from letter counts ``(4, w)`` plus ``pseudocount`` per letter."""
    counts = _check_matrix(counts, "counts") + pseudocount
    totals = counts.sum(axis=0)
    if (totals == 0).any():
        raise ValueError(f"column {int(np.argmin(totals))} has no counts; add a pseudocount")
    return counts / totals


def pwm_from_probabilities(probs: np.ndarray, tolerance: float = 0.02) -> np.ndarray:
    """Check that each column of ``probs`` ``(4, w)`` sums to 1 (within ``tolerance``) and renormalise it."""
    probs = _check_matrix(probs, "probabilities")
    totals = probs.sum(axis=0)
    off = np.flatnonzero(np.abs(totals - 1) > tolerance)
    if off.size:
        raise ValueError(f"column {int(off[0])} of the probabilities sums to {totals[off[0]]:.3f}, not 1")
    return probs / totals


def pwm_from_iupac(consensus: str) -> np.ndarray:
    """PWM ``(4, w)`` of an IUPAC consensus such as ``"CACGTG"`` or ``"TGASTCA"``: ambiguous letters share evenly."""
    if not consensus:
        raise ValueError("empty consensus")
    probs = np.zeros((4, len(consensus)))
    for j, letter in enumerate(consensus.upper()):
        if letter not in IUPAC:
            raise ValueError(f"invalid IUPAC letter {letter!r} at position {j} of {consensus!r}")
        for base in IUPAC[letter]:
            probs["ACGT".index(base), j] = 1 / len(IUPAC[letter])
    return probs


def information_content(probs: np.ndarray, background: Sequence[float] = (0.25,) * 4) -> np.ndarray:
    """Information content of each column, in bits: ``sum_b p_b log2(p_b / q_b)``. Shape ``(w,)``, each 0..2."""
    probs = _check_matrix(probs, "probabilities")
    q = np.asarray(background, dtype=np.float64)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(probs > 0, probs * np.log2(probs / q), 0.0)
    return terms.sum(axis=0)


def log_odds(probs: np.ndarray, background: Sequence[float] = (0.25,) * 4, pseudocount: float = 0.01
             ) -> np.ndarray:
    """Log-odds weights in bits, ``log2((p + pc) / (1 + 4 pc) / q)``, shape ``(4, w)``.

    Scoring a sequence window is summing, column by column, the weight of the letter it holds; the
    ``pseudocount`` keeps a letter never seen in the motif from scoring minus infinity.
    """
    probs = _check_matrix(probs, "probabilities")
    q = np.asarray(background, dtype=np.float64)[:, None]
    with np.errstate(divide="ignore"):
        return np.log2((probs + pseudocount) / (1 + 4 * pseudocount) / q)


def _stack_weights(weights: Sequence[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    widths = torch.tensor([w.shape[1] for w in weights])
    stacked = torch.zeros(len(weights), 4, int(widths.max()))
    for i, w in enumerate(weights):
        stacked[i, :, : w.shape[1]] = torch.as_tensor(w, dtype=torch.float32)
    return stacked, widths


def _as_weight_list(weights) -> tuple[list[np.ndarray], bool]:
    single = isinstance(weights, np.ndarray) or torch.is_tensor(weights)
    return ([np.asarray(weights)] if single else [np.asarray(w) for w in weights]), single


def _scan_batches(x: torch.Tensor, weights: list[np.ndarray], both_strands: bool, batch_size: int, device):
    """Yield the ``(B, M, L)`` window scores of successive batches of ``x`` (see :func:`scan`), on the CPU."""
    device = pick_device(device)
    kernel, widths = _stack_weights(weights)
    x = torch.as_tensor(x, dtype=torch.float32)
    length = x.shape[-1]
    if int(widths.max()) > length:
        raise ValueError(f"a motif of width {int(widths.max())} is longer than the sequences ({length} nt)")
    if both_strands:
        rc = torch.zeros_like(kernel)
        for i, w in enumerate(widths.tolist()):
            rc[i, :, :w] = kernel[i, :, :w].flip(dims=(0, 1))
        kernel = torch.cat([kernel, rc])
    pad = int(widths.max()) - 1
    kernel = kernel.to(device)
    outside = (torch.arange(length)[None, :] > (length - widths)[:, None]).to(device)
    for a in range(0, x.shape[0], batch_size):
        out = F.conv1d(F.pad(x[a:a + batch_size].to(device), (0, pad)), kernel)
        if both_strands:
            out = torch.maximum(out[:, : len(weights)], out[:, len(weights):])
        yield out.masked_fill(outside, -math.inf).cpu()


def scan(x: torch.Tensor, weights: np.ndarray | Sequence[np.ndarray], *, both_strands: bool = True,
         batch_size: int = BATCH_SIZE, device: str | torch.device = "auto") -> torch.Tensor:
    """Score every window of every sequence with one or more weight matrices.

    ``x``: one-hot ``(N, 4, L)``; ``weights``: one ``(4, w)`` matrix or a list of them (any widths), usually
    :func:`log_odds`. Returns ``(N, M, L)``: entry ``[n, m, p]`` is the score of motif ``m`` on the window of
    sequence ``n`` starting at ``p``; with ``both_strands``, the larger of that window's forward score and its
    reverse-complement score. Windows that run past the sequence end are ``-inf``. The convolutions run on
    ``device`` (``"auto"``: see :func:`teachbind.predict.pick_device`); the result is on the CPU.
    """
    weights, _ = _as_weight_list(weights)
    return torch.cat(list(_scan_batches(x, weights, both_strands, batch_size, device)))


def best_scores(x: torch.Tensor, weights, *, both_strands: bool = True, batch_size: int = BATCH_SIZE,
                device: str | torch.device = "auto") -> torch.Tensor:
    """Best window score of each sequence for each motif: :func:`scan` maximised over positions.

    Returns ``(N,)`` for one weight matrix, ``(N, M)`` for a list of ``M``.
    """
    weights, single = _as_weight_list(weights)
    batches = _scan_batches(x, weights, both_strands, batch_size, device)
    scores = torch.cat([s.amax(dim=-1) for s in batches])
    return scores[:, 0] if single else scores


def read_meme(path: str | Path) -> list[Motif]:
    """Read a MEME minimal-format motif file into a list of :class:`Motif` (probabilities ``(4, w)``).

    The alphabet comes from the file's ``ALPHABET`` line (``ACGU`` → RNA). A malformed matrix raises
    ``ValueError`` naming the file, the line number and the motif.
    """
    path = Path(path)
    motifs: list[Motif] = []
    alphabet = "DNA"
    motif_id = name = None
    rows: list[list[float]] = []
    width = 0
    with open(path) as handle:
        for number, line in enumerate(handle, start=1):
            fields = line.split()
            if not fields:
                continue
            if fields[0].startswith("ALPHABET"):
                alphabet = "RNA" if "U" in line.split("=", 1)[-1] else "DNA"
            elif fields[0] == "MOTIF":
                motif_id = fields[1]
                name = " ".join(fields[2:]) or fields[1]
            elif fields[0] == "letter-probability":
                width = int(line.split("w=")[1].split()[0])
                rows = []
            elif motif_id is not None and len(rows) < width:
                try:
                    row = [float(v) for v in fields]
                except ValueError:
                    raise ValueError(f"{path}:{number}: motif {motif_id}: expected 4 probabilities, got {line.strip()!r}"
                                     ) from None
                if len(row) != 4:
                    raise ValueError(f"{path}:{number}: motif {motif_id}: expected 4 probabilities, got {len(row)}")
                rows.append(row)
                if len(rows) == width:
                    motifs.append(Motif(motif_id, name, np.array(rows).T, alphabet))
                    motif_id = None
    if motif_id is not None:
        raise ValueError(f"{path}: motif {motif_id} ends after {len(rows)} of its {width} rows")
    return motifs


def jaspar_motifs(release: str = "JASPAR2024", collection: str = "CORE", tax_group: str = "vertebrates"
                  ) -> list[Motif]:
    """The latest version of each JASPAR matrix in ``collection`` and ``tax_group``, read offline with pyjaspar.

    JASPAR 2024 CORE vertebrates gives 879 motifs, as in ``motifs/JASPAR2024_CORE_vertebrates_non-redundant.meme``.
    """
    from pyjaspar import jaspardb

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        db = jaspardb(release=release)
        found = db.fetch_motifs(collection=collection, tax_group=[tax_group], all_versions=False)
    motifs = []
    for m in found:
        counts = np.array([m.counts[b] for b in "ACGT"], dtype=np.float64)
        motifs.append(Motif(m.matrix_id, m.name, pwm_from_counts(counts)))
    return motifs


def trim(motif: Motif, min_information: float = 0.2) -> Motif | None:
    """``motif`` without its uninformative ends: leading and trailing columns below ``min_information`` bits are
    cut (Basset's ``basset_motifs.py -t``, threshold 0.2 bits). Returns ``None`` when fewer than two informative
    columns remain: a flat matrix says nothing worth comparing with a database."""
    information = information_content(motif.probs)
    keep = np.flatnonzero(information >= min_information)
    if len(keep) < 2:
        return None
    probs = motif.probs[:, keep[0]: keep[-1] + 1]
    return Motif(motif.id, motif.name, probs, motif.alphabet, motif.sites)


DISTANCES = ("euclidean", "pearson")


def pearson_columns(probs: np.ndarray) -> np.ndarray:
    """Each column centred on 0.25 and scaled to unit length, shape ``(4, w)``: between two such columns the
    squared Euclidean distance is ``2 - 2r``, with ``r`` the Pearson correlation of the original columns. A flat
    column (no correlation with anything) becomes one vector, equally far (1) from every scaled column. Every
    value carries +1, which changes no distance and keeps memelite from refusing an all-zero matrix."""
    centred = np.asarray(probs, dtype=np.float64) - 0.25
    length = np.linalg.norm(centred, axis=0, keepdims=True)
    return np.divide(centred, length, out=np.zeros_like(centred), where=length > 1e-9) + 1.0


TOMTOM_COLUMNS = ["query", "target_id", "target_name", "p_value", "q_value", "offset", "overlap", "strand"]


def tomtom(queries: Sequence[Motif | np.ndarray], targets: Sequence[Motif], *, n_nearest: int | None = None,
           reverse_complement: bool = True, distance: str = "euclidean") -> pd.DataFrame:
    """Compare query PWMs with a database of target motifs using TomTom (Gupta et al. 2007, via memelite).

    Returns one row per (query, target) pair, best first within each query: ``query`` (index into
    ``queries``), ``target_id``, ``target_name``, ``p_value``, ``q_value`` (Benjamini-Hochberg over each
    query's targets), ``offset``, ``overlap`` and ``strand``. Give a whole database as ``targets``: TomTom's
    p-values use the target columns as their background.

    ``distance`` compares two columns. ``"euclidean"`` (memelite's own, the default) scores the distance between
    their letter probabilities; a flat column then sits close to every weak column of the database, and a flat
    19-column matrix "matches" long motifs such as CTCF's with q < 1e-10, so weak matrices must be kept out.
    ``"pearson"`` (``tomtom -dist pearson``, as Basset's and iDeep's scripts ran it; Chapter 4) scores their
    correlation, so a flat column resembles nothing. memelite implements only the Euclidean distance; the
    Pearson one is that distance between :func:`pearson_columns`.
    """
    from memelite import tomtom as _tomtom
    from scipy import stats

    if distance not in DISTANCES:
        raise ValueError(f"distance must be one of {DISTANCES}, got {distance!r}")
    prepare = pearson_columns if distance == "pearson" else (lambda probs: np.asarray(probs, dtype=np.float64))
    q = [prepare(m.probs if isinstance(m, Motif) else m) for m in queries]
    t = [prepare(m.probs) for m in targets]
    if not q:
        return pd.DataFrame(columns=TOMTOM_COLUMNS)
    p, _, offsets, overlaps, strands = _tomtom(q, t, reverse_complement=reverse_complement)[:5]
    order = np.argsort(p, axis=1, kind="stable")[:, :n_nearest]
    target = order.ravel()

    def ranked(values: np.ndarray) -> np.ndarray:
        return np.take_along_axis(np.asarray(values), order, axis=1).ravel()

    return pd.DataFrame({
        "query": np.repeat(np.arange(len(q)), order.shape[1]),
        "target_id": np.array([m.id for m in targets], dtype=object)[target],
        "target_name": np.array([m.name for m in targets], dtype=object)[target],
        "p_value": ranked(p).astype(np.float64),
        "q_value": ranked(stats.false_discovery_control(p, method="bh", axis=1)),
        "offset": ranked(offsets).astype(np.int64),
        "overlap": ranked(overlaps).astype(np.int64),
        "strand": np.array(["+", "-"], dtype=object)[ranked(strands).astype(np.int64)],
    }, columns=TOMTOM_COLUMNS)


def choose_motif(x: torch.Tensor, labels, candidates: Sequence[Motif], *, both_strands: bool = True,
                 batch_size: int = BATCH_SIZE, device: str | torch.device = "auto") -> tuple[Motif, np.ndarray]:
    """The PWM baseline of Chapter 1: the candidate whose best log-odds scan score separates ``labels`` best.

    ``x``: one-hot ``(N, 4, L)`` training sequences, ``labels`` ``(N,)``. Returns the chosen motif and every
    candidate's training AUROC ``(M,)``.
    """
    weights = [log_odds(m.probs) for m in candidates]
    scores = best_scores(x, weights, both_strands=both_strands, batch_size=batch_size, device=device)
    aurocs = auroc_columns(labels, scores)
    return candidates[int(np.argmax(aurocs))], aurocs


def motifs_from_activations(x: torch.Tensor, activations: torch.Tensor, width: int, *, threshold: float = 0.5,
                            windows: str = "best", pseudocount: float = 0.1, alphabet: str = "DNA") -> list[Motif]:
    """Turn convolutional filters into PWMs by aligning the windows that activate them.

    ``x``: the one-hot input the filters scanned, ``(N, 4, L)`` (already padded if the model pads);
    ``activations``: their outputs ``(N, F, L - width + 1)``, position ``p`` covering ``x[:, :, p:p + width]``.
    A window counts when its activation exceeds ``threshold`` times the filter's highest activation over all
    sequences and positions. ``windows="best"``: each sequence contributes at most its best window (DeepBind's
    alignment); ``"all"``: every window above the threshold counts (Basset's ``basset_motifs.py``). The aligned
    windows' letter counts plus ``pseudocount`` become the probabilities. Returns one :class:`Motif` per filter,
    id ``filter<k>``, with its number of ``sites``; a filter that never activates has 0 sites and a uniform PWM:
    leave such filters out of motif comparisons, where a flat matrix matches anything.
    """
    if activations.shape[0] != x.shape[0] or activations.shape[-1] != x.shape[-1] - width + 1:
        raise ValueError(f"activations {tuple(activations.shape)} do not match inputs {tuple(x.shape)} "
                         f"scanned with width {width}")
    if windows not in ("best", "all"):
        raise ValueError(f"windows must be 'best' or 'all', got {windows!r}")
    best, where = activations.max(dim=-1)
    unfolded = x.unfold(2, width, 1)
    found = []
    for k in range(activations.shape[1]):
        ceiling = float(best[:, k].max())
        if windows == "best":
            rows = torch.nonzero((best[:, k] > threshold * ceiling) & (best[:, k] > 0)).squeeze(1)
            positions = where[rows, k]
        else:
            rows, positions = torch.nonzero((activations[:, k] > threshold * ceiling) & (activations[:, k] > 0),
                                            as_tuple=True)
        counts = unfolded[rows, :, positions].double().sum(dim=0).numpy() + pseudocount
        probs = counts / counts.sum(axis=0) if len(rows) else np.full((4, width), 0.25)
        found.append(Motif(f"filter{k}", f"filter{k}", probs, alphabet, sites=len(rows)))
    return found
