"""Chapter 2's protocol (``nbs/02_deepbind.ipynb``): DeepBind calibrated and trained on one ChIP-seq experiment's
peaks as the paper did, on one of the book's ENCODE experiments or on files of your own in DeepBind's format.

The training file holds peaks only; each epoch pairs them with a fresh dinucleotide shuffle of each
(:func:`peaks_and_shuffles`). A random search (:func:`calibrate_on_peaks`, ``folds``-fold cross-validation on the
strongest peaks) picks the hyperparameters; the final models train on every peak for about ``final_sequences``
sequences (:func:`final_model`) and are scored on the test file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from teachbind import seq
from teachbind.data.chipseq import ChipSeqExperiment, load_deepbind_chipseq
from teachbind.metrics import auroc
from teachbind.models import deepbind
from teachbind.models.deepbind import DeepBind
from teachbind.predict import predict
from teachbind.train import calibrate, first_that_learns, is_dead, sample_hyperparameters


def peaks_and_shuffles(peaks: list[str], rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """One-hot peaks ``(n, 4, L)`` followed by a fresh dinucleotide shuffle of each, and labels ``(2 n,)`` (1, then
    0)."""
    x = seq.one_hot(peaks + seq.dinucleotide_shuffle(peaks, seed=rng))
    return x, torch.cat([torch.ones(len(peaks)), torch.zeros(len(peaks))])


def train_on_peaks(params: dict, peaks: list[str], epochs: int, valid=None, *, seed: int = 0,
                   device: str | torch.device = "auto") -> tuple[DeepBind, pd.DataFrame]:
    """:func:`teachbind.models.deepbind.fit_candidate` on ``peaks`` with new shuffled negatives every epoch."""
    rng = np.random.default_rng(seed)
    return deepbind.fit_candidate(params, lambda epoch: peaks_and_shuffles(peaks, rng), valid, max_epochs=epochs,
                                  seed=seed, device=device)


def calibrate_on_peaks(peaks: list[str], candidates: list[dict], *, folds: int = 2, epochs: int = 4, seed: int = 0,
                       device: str | torch.device = "auto") -> pd.DataFrame:
    """:func:`teachbind.train.calibrate` of ``candidates`` on ``peaks``: each fold trains on the other folds' peaks
    for ``epochs`` epochs and is scored (AUROC) on its own peaks and one fixed shuffle of them."""
    def score(params, train_index, valid_index):
        valid = peaks_and_shuffles([peaks[i] for i in valid_index], np.random.default_rng(seed + 1))
        _, history = train_on_peaks(params, [peaks[i] for i in train_index], epochs, valid, seed=seed, device=device)
        return history["valid_score"].max()

    return calibrate(score, candidates, len(peaks), folds=folds, seed=seed, progress=False)


def final_model(params: dict, peaks: list[str], *, sequences: int = 200_000, runs: int = 2, seed: int = 0,
                device: str | torch.device = "auto") -> DeepBind | None:
    """``runs`` models of ``params`` trained on every peak for about ``sequences`` sequences (peaks and shuffles),
    seeds ``seed``, ``seed + 1``, ...; of those that learned (:func:`teachbind.train.is_dead` on the peaks), the
    one with the lowest final training loss; ``None`` when none did."""
    epochs = max(1, round(sequences / (2 * len(peaks))))
    probe = seq.one_hot(peaks[:1000])
    trained = [train_on_peaks(params, peaks, epochs, seed=seed + run, device=device) for run in range(runs)]
    alive = [run for run in trained if not is_dead(predict(run[0], probe, device=device))]
    return min(alive, key=lambda run: run[1]["train_loss"].iloc[-1])[0] if alive else None


def ranked(table: pd.DataFrame, candidates: list[dict]) -> dict[int, dict]:
    """The calibration's candidates best first, by index, for :func:`teachbind.train.first_that_learns`."""
    return {int(c): candidates[int(c)] for c in table["candidate"]}


@dataclass
class ChipSeqResult:
    """What :func:`train_chipseq` produced: the final ``model``, the ``calibration`` table (best first), the
    ``chosen`` candidate and the better-ranked ones ``passed_over`` because they learned nothing, the number of
    training ``peaks``, and on the test set its ``labels`` ``(N,)``, the model's ``scores`` ``(N,)`` and their
    ``auroc``."""

    experiment: str
    model: DeepBind
    calibration: pd.DataFrame
    chosen: dict
    peaks: int
    labels: np.ndarray
    scores: np.ndarray
    auroc: float
    passed_over: list[int]


def train_chipseq(experiment: ChipSeqExperiment | str | Path, candidates: int | list[dict] = 6, *,
                  folds: int = 2, calibration_peaks: int | None = 2000, calibration_epochs: int = 4,
                  final_sequences: int = 200_000, final_runs: int = 2, seed: int = 0,
                  device: str | torch.device = "auto") -> ChipSeqResult:
    """Calibrate and train DeepBind on one ChIP-seq experiment and score its test set (the book-scale defaults).

    ``experiment``: a :class:`~teachbind.data.chipseq.ChipSeqExperiment`, a registered experiment name, or the path
    of a training file in DeepBind's format (see :func:`teachbind.data.chipseq.load_deepbind_chipseq`).
    ``candidates``: a number of hyperparameter sets drawn from the paper's search space with ``seed``, or the list
    of sets. The calibration uses the ``calibration_peaks`` strongest training peaks (``None``: all of them).
    """
    if not isinstance(experiment, ChipSeqExperiment):
        experiment = load_deepbind_chipseq(experiment)
    if isinstance(candidates, int):
        candidates = sample_hyperparameters(deepbind.search_space("classification"), candidates, seed=seed)
    peaks = [experiment.train_seqs[i] for i in np.argsort(experiment.train_ranks, kind="stable")]
    table = calibrate_on_peaks(peaks[:calibration_peaks], candidates, folds=folds, epochs=calibration_epochs,
                               seed=seed, device=device)
    chosen, model, passed = first_that_learns(
        ranked(table, candidates), lambda params: final_model(params, peaks, sequences=final_sequences,
                                                              runs=final_runs, seed=seed, device=device),
        experiment.name)
    scores = predict(model, seq.one_hot(experiment.test_seqs), device=device).numpy()
    return ChipSeqResult(experiment.name, model, table, candidates[chosen], len(peaks), experiment.test_labels,
                         scores, auroc(experiment.test_labels, scores), passed)
