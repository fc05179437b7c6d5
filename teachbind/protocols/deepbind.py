"""Chapter 3's protocol (``nbs/03_deepbind.ipynb``): DeepBind calibrated and trained on one ChIP-seq experiment's
peaks as the paper did, on one of the book's ENCODE experiments or on files of your own in DeepBind's format.

The training file holds peaks only; each epoch pairs them with a fresh dinucleotide shuffle of each
(:func:`peaks_and_shuffles`). Peaks as strong as the test file's are held out to validate (:func:`held_out_peaks`).
A random search (:func:`calibrate_on_peaks`, ``folds``-fold cross-validation on the strongest of the other peaks)
picks the hyperparameters; the final models train on those strongest peaks ("top") and on every peak ("all"), each
stopped early on the held-out peaks, and the one that validates best (:func:`final_model`) is scored on the test
file. A candidate whose final models learned nothing is passed over for the next, and a calibration none of whose
candidates learns is followed by a fresh draw (:func:`calibrate_then_train`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from teachbind import seq
from teachbind.data.chipseq import ChipSeqExperiment, load_deepbind_chipseq
from teachbind.metrics import auroc
from teachbind.models import deepbind
from teachbind.models.deepbind import DeepBind
from teachbind.predict import predict
from teachbind.train import DEAD, NothingLearned, calibrate, first_that_learns, is_dead, sample_hyperparameters


def peaks_and_shuffles(peaks: list[str], rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """One-hot peaks ``(n, 4, L)`` followed by a fresh dinucleotide shuffle of each, and labels ``(2 n,)`` (1, then
    0)."""
    x = seq.one_hot(peaks + seq.dinucleotide_shuffle(peaks, seed=rng))
    return x, torch.cat([torch.ones(len(peaks)), torch.zeros(len(peaks))])


def train_on_peaks(params: dict, peaks: list[str], epochs: int, valid=None, *, patience: int | None = None,
                   seed: int = 0, device: str | torch.device = "auto") -> tuple[DeepBind, pd.DataFrame]:
    """:func:`teachbind.models.deepbind.fit_candidate` on ``peaks`` with new shuffled negatives every epoch, for
    ``epochs`` epochs or until ``patience`` epochs pass without a better score on ``valid``."""
    rng = np.random.default_rng(seed)
    return deepbind.fit_candidate(params, lambda epoch: peaks_and_shuffles(peaks, rng), valid, max_epochs=epochs,
                                  patience=patience, seed=seed, device=device)


def held_out_peaks(n: int, validation_peaks: int = 250) -> np.ndarray:
    """Indices, among ``n`` peaks strongest first, of the ``validation_peaks`` held out to choose the final model
    (at most a fifth of them): every second of the ``2 * validation_peaks`` strongest, so that with the defaults
    they are as strong as the test file's (in ENCODE's files the training file holds the odd-ranked peaks of the
    top 1,000, the test file the even-ranked)."""
    return 2 * np.arange(min(validation_peaks, n // 5))


def calibrate_on_peaks(peaks: list[str], candidates: list[dict], *, folds: int = 2, epochs: int = 4, seed: int = 0,
                       device: str | torch.device = "auto") -> pd.DataFrame:
    """:func:`teachbind.train.calibrate` of ``candidates`` on ``peaks``: each fold trains on the other folds' peaks
    for ``epochs`` epochs and is scored (AUROC) on its own peaks and one fixed shuffle of them."""
    def score(params, train_index, valid_index):
        valid = peaks_and_shuffles([peaks[i] for i in valid_index], np.random.default_rng(seed + 1))
        _, history = train_on_peaks(params, [peaks[i] for i in train_index], epochs, valid, seed=seed, device=device)
        return deepbind.best_score(history, "classification")

    return calibrate(score, candidates, len(peaks), folds=folds, seed=seed, progress=False)


def final_model(params: dict, training_sets: dict[str, list[str]], valid: tuple[torch.Tensor, torch.Tensor], *,
                sequences: int = 200_000, runs: int = 2, patience: int = 6, seed: int = 0,
                device: str | torch.device = "auto") -> tuple[DeepBind | None, pd.DataFrame]:
    """Train ``runs`` models of ``params`` (seeds ``seed``, ``seed + 1``, ...) on each of ``training_sets`` (name →
    peaks), each for at most about ``sequences`` sequences (peaks and shuffles), stopping after ``patience`` epochs
    without a better AUROC on ``valid`` (one-hot ``(N, 4, L)``, labels ``(N,)``) and keeping its best epoch.

    Returns the model with the best validation AUROC among those that learned (not :func:`teachbind.train.is_dead`
    on ``valid``, and better than chance), or ``None`` when none did, and a table of every run: ``training`` set,
    ``seed``, ``epochs``, ``validation AUROC``, ``learned``."""
    best, best_score, rows = None, 0.5, []
    for name, peaks in training_sets.items():
        epochs = max(1, round(sequences / (2 * len(peaks))))
        for run_seed in range(seed, seed + runs):
            model, history = train_on_peaks(params, peaks, epochs, valid, patience=patience, seed=run_seed,
                                            device=device)
            scores = predict(model, valid[0], device=device)
            score = 0.5 if is_dead(scores) else auroc(valid[1], scores)
            rows.append({"training": name, "seed": run_seed, "epochs": len(history), "validation AUROC": score,
                         "learned": score > 0.5})
            if score > best_score:
                best, best_score = model, score
    return best, pd.DataFrame(rows)


def ranked(table: pd.DataFrame, candidates: list[dict]) -> dict[int, dict]:
    """The calibration's candidates best first, by index, for :func:`teachbind.train.first_that_learns`."""
    return {int(c): candidates[int(c)] for c in table["candidate"]}


def calibrate_then_train(candidates: list[dict], space: dict, calibrate_all: Callable[[list[dict]], pd.DataFrame],
                         final: Callable[[dict], nn.Module | None], what: str, *, rounds: int = 2, seed: int = 0,
                         reason: str = DEAD) -> tuple[dict, nn.Module, pd.DataFrame, list[int], int]:
    """Calibrate ``candidates`` (``calibrate_all(candidates)``: one row per candidate, best first) and train the
    final model of the best one that learns (``final(params)``: the model, or ``None`` when it learned nothing;
    :func:`teachbind.train.first_that_learns`). When none of them learns, as many new candidates are drawn from
    ``space`` (with seed ``seed + 1``, then ``seed + 2``, ...) and calibrated in their turn, with a
    ``RuntimeWarning``, for at most ``rounds`` rounds in all: with the paper's tiny initial weights a small random
    search can hold no candidate that leaves its starting plateau (the paper drew 30 candidates, the book's scales
    fewer), and a fresh draw adds candidates only when they are needed. Returns the chosen candidate, its model, its round's calibration table, the better-ranked
    candidates of that round passed over, and the number of rounds used; raises
    :class:`teachbind.train.NothingLearned` when the last round learns nothing either."""
    for attempt in range(1, rounds + 1):
        table = calibrate_all(candidates)
        try:
            chosen, model, passed = first_that_learns(ranked(table, candidates), final, what, reason=reason)
        except NothingLearned as error:
            if attempt == rounds:
                raise NothingLearned(f"{error} (round {attempt} of {rounds} of calibration candidates)") from None
            warnings.warn(f"{error}; calibrating a new draw of {len(candidates)} from the search space "
                          f"(seed {seed + attempt}), round {attempt + 1} of {rounds}", RuntimeWarning, stacklevel=2)
            candidates = sample_hyperparameters(space, len(candidates), seed=seed + attempt)
            continue
        return candidates[chosen], model, table, passed, attempt


@dataclass
class ChipSeqResult:
    """What :func:`train_chipseq` produced: the final ``model``, the ``calibration`` table (best first), the
    ``chosen`` candidate and the better-ranked ones ``passed_over`` because they learned nothing, the number of
    training ``peaks`` and of ``validation_peaks`` held out from them, the chosen candidate's ``final_runs``
    (:func:`final_model`'s table) with the ``training`` set and ``validation_auroc`` of the model kept, on the
    test set its ``labels`` ``(N,)``, the model's ``scores`` ``(N,)`` and their ``auroc``, and the ``rounds`` of
    candidates calibrated (:func:`calibrate_then_train`)."""

    experiment: str
    model: DeepBind
    calibration: pd.DataFrame
    chosen: dict
    peaks: int
    labels: np.ndarray
    scores: np.ndarray
    auroc: float
    passed_over: list[int]
    validation_peaks: int
    final_runs: pd.DataFrame
    training: str
    validation_auroc: float
    rounds: int = 1


def train_chipseq(experiment: ChipSeqExperiment | str | Path, candidates: int | list[dict] = 6, *,
                  folds: int = 2, calibration_peaks: int | None = 2000, calibration_epochs: int = 4,
                  validation_peaks: int = 250, final_sequences: int = 200_000, final_runs: int = 2,
                  final_patience: int = 6, rounds: int = 2, seed: int = 0, device: str | torch.device = "auto"
                  ) -> ChipSeqResult:
    """Calibrate and train DeepBind on one ChIP-seq experiment and score its test set (the book-scale defaults).

    ``experiment``: a :class:`~teachbind.data.chipseq.ChipSeqExperiment`, a registered experiment name, or the path
    of a training file in DeepBind's format (see :func:`teachbind.data.chipseq.load_deepbind_chipseq`).
    ``candidates``: a number of hyperparameter sets drawn from the paper's search space with ``seed``, or the list
    of sets. ``validation_peaks`` strong peaks and a fixed shuffle of each are held out (:func:`held_out_peaks`).
    The calibration uses the ``calibration_peaks`` strongest of the others (``None``: all of them). The best
    candidate's ``final_runs`` seeds then train on those peaks ("top") and on all the others ("all"), each for at
    most ``final_sequences`` sequences, stopping ``final_patience`` epochs after their best validation AUROC; the
    model that validates best is kept (:func:`final_model`). A candidate none of whose final runs learned is passed
    over for the next, and when none learns, new candidates are drawn, for at most ``rounds`` rounds
    (:func:`calibrate_then_train`).
    """
    if not isinstance(experiment, ChipSeqExperiment):
        experiment = load_deepbind_chipseq(experiment)
    if isinstance(candidates, int):
        candidates = sample_hyperparameters(deepbind.search_space("classification"), candidates, seed=seed)
    peaks = [experiment.train_seqs[i] for i in np.argsort(experiment.train_ranks, kind="stable")]
    held_out = set(held_out_peaks(len(peaks), validation_peaks).tolist())
    valid = peaks_and_shuffles([peaks[i] for i in sorted(held_out)], np.random.default_rng(seed + 2))
    peaks = [p for i, p in enumerate(peaks) if i not in held_out]
    top = peaks[:calibration_peaks]
    training_sets = {"top": top, "all": peaks} if len(top) < len(peaks) else {"all": peaks}
    final_tables = []

    def final(params: dict) -> DeepBind | None:
        model, runs = final_model(params, training_sets, valid, sequences=final_sequences, runs=final_runs,
                                  patience=final_patience, seed=seed, device=device)
        final_tables.append(runs)
        return model

    def calibrate_all(drawn: list[dict]) -> pd.DataFrame:
        return calibrate_on_peaks(top, drawn, folds=folds, epochs=calibration_epochs, seed=seed, device=device)

    chosen, model, table, passed, used = calibrate_then_train(
        candidates, deepbind.search_space("classification"), calibrate_all, final, experiment.name, rounds=rounds,
        seed=seed)
    runs = final_tables[-1]
    kept = runs.loc[runs["validation AUROC"].idxmax()]
    scores = predict(model, seq.one_hot(experiment.test_seqs), device=device).numpy()
    return ChipSeqResult(experiment.name, model, table, chosen, len(peaks) + len(held_out),
                         experiment.test_labels, scores, auroc(experiment.test_labels, scores), passed,
                         len(held_out), runs, str(kept["training"]), float(kept["validation AUROC"]), used)
