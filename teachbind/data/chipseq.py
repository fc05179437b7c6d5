"""DeepBind's ENCODE ChIP-seq experiments (Alipanahi et al. 2015), as the paper split them.
Introduced in Chapter 1 (``nbs/01_sequences.ipynb``, the PWM baseline) and trained on in Chapter 3.

Each experiment has a training file ``<name>_AC.seq.gz`` holding only peaks (odd-ranked peaks of the top 1000 and
every peak ranked below 1000) and a test file ``<name>_B.seq.gz`` holding the 500 even-ranked top peaks and 500
dinucleotide-shuffled copies of them. DeepBind made the training negatives the same way, by shuffling the
positives; :meth:`ChipSeqExperiment.training_set` does it anew for each call, as DeepBind did every epoch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from teachbind.data.registry import fetch, open_text, registered
from teachbind.seq import dinucleotide_shuffle

FOLDER = "deepbind_encode_chipseq"
HEADER = ["FoldID", "EventID", "seq", "Bound"]


def deepbind_chipseq_experiments() -> list[str]:
    """Names of the registered DeepBind ENCODE experiments, e.g. ``'ELK1_GM12878_ELK1_(1277-1)_Stanford'``."""
    suffix = "_AC.seq.gz"
    return sorted(p[len(FOLDER) + 1: -len(suffix)] for p in registered()
                  if p.startswith(FOLDER + "/") and p.endswith(suffix))


@dataclass
class ChipSeqExperiment:
    """One experiment: training peaks (positives only) and the labelled test set.

    ``train_seqs``: list of ``N_train`` 101-nt peaks, ``train_ranks``: their peak ranks (1 = strongest), shape
    ``(N_train,)``; ``test_seqs``: list of ``N_test`` sequences with ``test_labels`` (1 = peak, 0 = shuffled),
    shape ``(N_test,)``.
    """

    name: str
    train_seqs: list[str]
    train_ranks: np.ndarray
    test_seqs: list[str]
    test_labels: np.ndarray

    @property
    def tf(self) -> str:
        """The transcription factor, the first field of the experiment name."""
        return self.name.split("_")[0]

    def training_set(self, seed: int | np.random.Generator | None = None, top: int | None = None,
                     limit: int | None = None) -> tuple[list[str], np.ndarray]:
        """Training peaks plus one fresh dinucleotide shuffle of each, and labels ``(2 n,)`` (1 then 0).

        ``top=1000`` keeps only peaks ranked in the top 1000 (DeepBind's "top" protocol); ``limit`` keeps the
        ``limit`` strongest of the remaining peaks.
        """
        order = np.argsort(self.train_ranks, kind="stable")
        if top is not None:
            order = order[self.train_ranks[order] <= top]
        if limit is not None:
            order = order[:limit]
        peaks = [self.train_seqs[i] for i in order]
        negatives = dinucleotide_shuffle(peaks, seed=seed)
        labels = np.concatenate([np.ones(len(peaks)), np.zeros(len(peaks))]).astype(np.float32)
        return peaks + negatives, labels


def _read_seq_file(path) -> tuple[list[str], np.ndarray, np.ndarray]:
    seqs, ranks, labels = [], [], []
    with open_text(path) as handle:
        header = handle.readline().split()
        if header != HEADER:
            raise ValueError(f"{path}: expected the header {' '.join(HEADER)!r}, found {' '.join(header)!r}")
        for number, line in enumerate(handle, start=2):
            fields = line.split()
            if len(fields) != 4 or fields[3] not in ("0", "1"):
                raise ValueError(f"{path}:{number}: expected 'FoldID EventID seq Bound', found {line.strip()!r}")
            rank = (fields[1].split("_") + [""])[1]
            if not rank.isdigit():
                raise ValueError(f"{path}:{number}: expected an EventID like seq_<peak rank>_peak, found "
                                 f"{fields[1]!r}")
            seqs.append(fields[2])
            ranks.append(int(rank))
            labels.append(int(fields[3]))
    return seqs, np.array(ranks), np.array(labels, dtype=np.float32)


def load_deepbind_chipseq(experiment: str | Path, test: str | Path | None = None) -> ChipSeqExperiment:
    """Load one experiment: a registered name (see :func:`deepbind_chipseq_experiments`), read through the data
    registry, or the path of a training file of your own in DeepBind's format (a header ``FoldID EventID seq
    Bound``, then one peak per line with an EventID ``seq_<rank>_peak`` and Bound 1; gzip or plain text). Its test file
    is ``test``, by default the file beside it named with ``_B`` for ``_AC`` (``X_AC.seq.gz`` → ``X_B.seq.gz``)."""
    if str(experiment) in deepbind_chipseq_experiments() and test is None:
        name = str(experiment)
        train_path, test_path = fetch(f"{FOLDER}/{name}_AC.seq.gz"), fetch(f"{FOLDER}/{name}_B.seq.gz")
    else:
        train_path = Path(experiment)
        if not train_path.is_file():
            raise FileNotFoundError(f"{experiment!s} is neither a registered DeepBind experiment nor a file; "
                                    f"registered: {', '.join(deepbind_chipseq_experiments())}")
        test_path = Path(test) if test is not None else train_path.with_name(train_path.name.replace("_AC.", "_B."))
        if test_path == train_path or not test_path.is_file():
            raise FileNotFoundError(f"no test file for {train_path}: expected {test_path} (pass test=PATH)")
        name = train_path.name.split("_AC.")[0]
    train_seqs, train_ranks, train_labels = _read_seq_file(train_path)
    if not train_labels.all():
        line = int(np.argmin(train_labels)) + 2
        raise ValueError(f"{train_path}:{line}: the training file should hold peaks only (Bound=1), found Bound=0")
    test_seqs, _, test_labels = _read_seq_file(test_path)
    return ChipSeqExperiment(name, train_seqs, train_ranks, test_seqs, test_labels)
