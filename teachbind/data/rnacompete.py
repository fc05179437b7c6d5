"""RNAcompete (Ray et al. 2009, 2013): in vitro binding intensities of short RNA probes.
Introduced in Chapter 3 (``nbs/03_deepbind.ipynb``) and used again in Chapter 6.

The registered files are RNAcompete 2009 for 9 RBPs in RNAcontext's form. Each RBP has two probe sets designed
independently, Set A (training) and Set B (testing). The ``"weak"`` design holds the weakly structured (de Bruijn)
probes only; the ``"full"`` design (8 RBPs) adds the stem-loop probes, Set A and Set B in one file. Each line is
``score<TAB>sequence`` with the sequence in the DNA alphabet (T for U), 29–39 nt long.

:func:`read_probes` also reads RNAcompete 2013 probe files (``sequence score`` or ``score sequence`` separated by
a tab or a space, RNA or DNA letters, plain or gzip), so that a reader with those files can use them the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from teachbind.data.registry import fetch, open_text, registered

FOLDER = "rnacompete2009_rnacontext/weak"
FULL_FOLDER = "rnacompete2009_rnacontext/full"
FULL_LAST_A = {"Fusip": 51032, "HuR": 59634, "PTB": 62146, "SF2": 65804, "SLM2": 62804, "U1A": 17680,
               "VTS1": 41317, "YB1": 79610}
"""0-based line of the last Set A probe in each ``full`` file (inferred by matching the weak sets' sequences:
every Set A probe lies at or before it, every Set B probe after it)."""
PROTEIN_NAMES = {"Fusip": "FUSIP1 (SRSF10)", "HuR": "ELAVL1", "PTB": "PTBP1", "RBM4": "RBM4", "SF2": "SRSF1 (ASF/SF2)",
                 "SLM2": "KHDRBS3", "U1A": "SNRPA", "VTS1": "Vts1p (yeast)", "YB1": "YBX1"}


def rnacompete_proteins() -> list[str]:
    """The RBPs with registered weak-structure probe sets: ``['Fusip', 'HuR', ...]``."""
    suffix = "_data_bruijn_A.txt.gz"
    return sorted(p[len(FOLDER) + 1: -len(suffix)] for p in registered()
                  if p.startswith(FOLDER + "/") and p.endswith(suffix))


def load_rnacompete(protein: str, probe_set: str = "A", design: str = "weak") -> tuple[list[str], np.ndarray]:
    """Probe sequences (RNA alphabet, A/C/G/U) and binding intensities ``(N,)`` of one RBP's Set ``"A"`` or
    ``"B"``: the weakly structured probes (``design="weak"``, 9 RBPs) or all probes including the stem-loop
    designs (``"full"``, the 8 RBPs of :data:`FULL_LAST_A`). For files of your own, see :func:`read_probes` (one
    file) and :func:`load_probe_sets` (Set A and Set B)."""
    if protein not in rnacompete_proteins():
        raise KeyError(f"unknown RNAcompete protein {protein!r}; known: {', '.join(rnacompete_proteins())}")
    if probe_set not in ("A", "B"):
        raise ValueError(f"probe_set must be 'A' (training) or 'B' (test), got {probe_set!r}")
    if design == "weak":
        return read_probes(fetch(f"{FOLDER}/{protein}_data_bruijn_{probe_set}.txt.gz"))
    if design != "full":
        raise ValueError(f"design must be 'weak' or 'full', got {design!r}")
    if protein not in FULL_LAST_A:
        raise KeyError(f"RNAcompete 2009 has no full probe file for {protein!r} (the source's RBM4 file is "
                       f"truncated); full designs exist for {', '.join(FULL_LAST_A)}")
    seqs, scores = read_probes(fetch(f"{FULL_FOLDER}/{protein}_data_full_AB.txt.gz"))
    a = slice(0, FULL_LAST_A[protein] + 1) if probe_set == "A" else slice(FULL_LAST_A[protein] + 1, None)
    return seqs[a], scores[a]


@dataclass
class ProbeSets:
    """One RBP's RNAcompete experiment: Set A (``train_seqs``, ``train_intensity`` ``(N_A,)``) and Set B
    (``test_seqs``, ``test_intensity`` ``(N_B,)``), sequences in the RNA alphabet, intensities as measured (NaN
    where RNAcompete flagged a probe)."""

    name: str
    train_seqs: list[str]
    train_intensity: np.ndarray
    test_seqs: list[str]
    test_intensity: np.ndarray


def load_probe_sets(experiment: str | Path, test: str | Path | None = None, *, design: str = "weak") -> ProbeSets:
    """Both probe sets of one experiment: a registered protein (:func:`rnacompete_proteins`, Set A and Set B of
    ``design``) or the path of a Set A file of your own (any format :func:`read_probes` reads). Its Set B is
    ``test``, by default the file beside it named with ``_B`` for ``_A`` (``X_A.txt.gz`` → ``X_B.txt.gz``)."""
    if str(experiment) in rnacompete_proteins() and test is None:
        name = str(experiment)
        (a_seqs, a_y), (b_seqs, b_y) = (load_rnacompete(name, s, design=design) for s in ("A", "B"))
        return ProbeSets(name, a_seqs, a_y, b_seqs, b_y)
    train_path = Path(experiment).expanduser()
    if not train_path.is_file():
        raise FileNotFoundError(f"{experiment!s} is neither a registered RNAcompete protein nor a file; "
                                f"registered: {', '.join(rnacompete_proteins())}")
    stem, _, suffix = train_path.name.rpartition("_A.")
    if test is not None:
        test_path = Path(test).expanduser()
    elif stem:
        test_path = train_path.with_name(f"{stem}_B.{suffix}")
    else:
        raise FileNotFoundError(f"{train_path}: no _A in the file name to find its Set B by; pass test=PATH")
    if test_path == train_path or not test_path.is_file():
        raise FileNotFoundError(f"no Set B file for {train_path}: expected {test_path} (pass test=PATH)")
    return ProbeSets(stem or train_path.name.split(".")[0], *read_probes(train_path), *read_probes(test_path))


def read_probes(path) -> tuple[list[str], np.ndarray]:
    """Probe sequences (RNA alphabet) and intensities ``(N,)`` from a file with one probe per line: a score and a
    sequence in either order, separated by a tab or spaces; T is read as U; plain text or gzip. ``NaN`` scores
    (probes RNAcompete 2013 flagged) are kept as NaN. Raises ``ValueError`` naming the file, line and, for a bad
    letter, its position."""
    seqs, scores = [], []
    with open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            score, sequence = _score_and_sequence(line.split())
            if score is None:
                raise ValueError(f"{path}:{number}: expected a score and a sequence separated by a tab or a space, "
                                 f"found {line.strip()!r}")
            sequence = sequence.upper().replace("T", "U")
            bad = next((i for i, letter in enumerate(sequence) if letter not in "ACGUN"), None)
            if bad is not None:
                raise ValueError(f"{path}:{number}: invalid letter {sequence[bad]!r} at position {bad} of "
                                 f"{sequence!r}; probes may contain only A, C, G, U (or T) and N")
            scores.append(score)
            seqs.append(sequence)
    return seqs, np.array(scores, dtype=np.float32)


def _score_and_sequence(fields: list[str]) -> tuple[float | None, str]:
    if len(fields) != 2:
        return None, ""
    for score, sequence in (fields, fields[::-1]):
        try:
            return float(score), sequence
        except ValueError:
            continue
    return None, ""


def clip_and_scale(targets: np.ndarray, reference: np.ndarray | None = None, percentile: float = 99.5) -> np.ndarray:
    """DeepBind's RNAcompete target transform: clip at the ``percentile``-th percentile, then centre and scale to
    unit variance. The clip value, mean and standard deviation come from ``reference`` (the training targets;
    default ``targets`` itself), so test targets are transformed exactly as the training targets were."""
    reference = targets if reference is None else reference
    ceiling = np.percentile(reference, percentile)
    clipped_reference = np.minimum(reference, ceiling)
    return ((np.minimum(targets, ceiling) - clipped_reference.mean()) / clipped_reference.std()).astype(np.float32)


def clip_norm(targets: np.ndarray, significance: float = 4.0) -> np.ndarray:
    """ResidualBind's ``clip_norm``: intensities above ``significance`` standard deviations clipped there, then
    z-scored (NaN stays NaN). As in the released code, each split is transformed with its own statistics."""
    ceiling = significance * np.nanstd(targets)
    clipped = np.minimum(targets, ceiling)
    return ((clipped - np.nanmean(clipped)) / np.nanstd(clipped)).astype(np.float32)


def log_norm(targets: np.ndarray) -> np.ndarray:
    """ResidualBind's ``log_norm`` (used for RNAcompete 2009): ``log(y - min(y) + 1)``, then z-scored (NaN stays NaN). The log
    compresses the long tail of strong binders. Each split is transformed with its own statistics, as in the
    released code."""
    logged = np.log(targets - np.nanmin(targets) + 1)
    return ((logged - np.nanmean(logged)) / np.nanstd(logged)).astype(np.float32)


TRANSFORMS = ("clip_and_scale", "log_norm", "clip_norm")
"""The target transforms :func:`transform_targets` applies: DeepBind's, and ResidualBind's two."""


def transform_targets(train: np.ndarray, test: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray]:
    """Set A and Set B intensities as training and test targets: ``"clip_and_scale"`` (DeepBind; Set B with Set
    A's statistics), ``"log_norm"`` or ``"clip_norm"`` (ResidualBind; each set with its own, as its code did)."""
    if method == "clip_and_scale":
        return clip_and_scale(train), clip_and_scale(test, reference=train)
    if method == "log_norm":
        return log_norm(train), log_norm(test)
    if method == "clip_norm":
        return clip_norm(train), clip_norm(test)
    raise ValueError(f"method must be one of {', '.join(TRANSFORMS)}, got {method!r}")
