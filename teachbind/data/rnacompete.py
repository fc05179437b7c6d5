"""RNAcompete 2009 (Ray et al. 2009) in RNAcontext's form: in vitro binding intensities of RNA probes for 9 RBPs.

Each RBP has two probe sets designed independently, Set A (training) and Set B (testing); RNAcontext's "weak"
files hold the weakly structured probes. Each line is ``score<TAB>sequence`` with the sequence in the DNA alphabet
(T for U), 29–39 nt long.
"""

from __future__ import annotations

import numpy as np

from teachbind.data.registry import fetch, open_text, registered

FOLDER = "rnacompete2009_rnacontext/weak"
PROTEIN_NAMES = {"Fusip": "FUSIP1 (SRSF10)", "HuR": "ELAVL1", "PTB": "PTBP1", "RBM4": "RBM4", "SF2": "SRSF1 (ASF/SF2)",
                 "SLM2": "KHDRBS3", "U1A": "SNRPA", "VTS1": "Vts1p (yeast)", "YB1": "YBX1"}


def rnacompete_proteins() -> list[str]:
    """The RBPs with registered weak-structure probe sets: ``['Fusip', 'HuR', ...]``."""
    suffix = "_data_bruijn_A.txt.gz"
    return sorted(p[len(FOLDER) + 1: -len(suffix)] for p in registered()
                  if p.startswith(FOLDER + "/") and p.endswith(suffix))


def load_rnacompete(protein: str, probe_set: str = "A") -> tuple[list[str], np.ndarray]:
    """Probe sequences (RNA alphabet, A/C/G/U) and binding intensities ``(N,)`` of one RBP's Set ``"A"`` or ``"B"``."""
    if protein not in rnacompete_proteins():
        raise KeyError(f"unknown RNAcompete protein {protein!r}; known: {', '.join(rnacompete_proteins())}")
    if probe_set not in ("A", "B"):
        raise ValueError(f"probe_set must be 'A' (training) or 'B' (test), got {probe_set!r}")
    return _read_probe_file(fetch(f"{FOLDER}/{protein}_data_bruijn_{probe_set}.txt.gz"))


def _read_probe_file(path) -> tuple[list[str], np.ndarray]:
    seqs, scores = [], []
    with open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            fields = line.split()
            try:
                score, sequence = float(fields[0]), fields[1]
            except (ValueError, IndexError):
                fields = []
            if len(fields) != 2:
                raise ValueError(f"{path}:{number}: expected 'score<TAB>sequence', found {line.strip()!r}")
            scores.append(score)
            seqs.append(sequence.upper().replace("T", "U"))
    return seqs, np.array(scores, dtype=np.float32)


def clip_and_scale(targets: np.ndarray, reference: np.ndarray | None = None, percentile: float = 99.5) -> np.ndarray:
    """DeepBind's RNAcompete target transform: clip at the ``percentile``-th percentile, then centre and scale to
    unit variance. The clip value, mean and standard deviation come from ``reference`` (the training targets;
    default ``targets`` itself), so test targets are transformed exactly as the training targets were."""
    reference = targets if reference is None else reference
    ceiling = np.percentile(reference, percentile)
    clipped_reference = np.minimum(reference, ceiling)
    return ((np.minimum(targets, ceiling) - clipped_reference.mean()) / clipped_reference.std()).astype(np.float32)
