"""Chapter 4's protocol (``nbs/04_basset.ipynb``): Basset on accessibility data, on the book's K562/HepG2 DHSs or on
data of your own (:func:`teachbind.data.accessibility.load_accessibility`).

A Bayesian search of four hyperparameters (Optuna's ``GPSampler``, the idea of the Spearmint search that chose
Basset's), each trial trained briefly on part of the training set and scored on the validation set; then the final
model, trained on all the training sequences with the best trial's values, read from a random strand and shifted
afresh every epoch (``augmented``, which the paper did not do), and scored on the test set: AUROC and AUPR per cell
type.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from teachbind.data.accessibility import AccessibilitySet, load_accessibility
from teachbind.metrics import aupr, auroc
from teachbind.models.basset import Basset, fit_basset
from teachbind.predict import predict, predict_both_strands
from teachbind.seq import one_hot
from teachbind.train import NO_BETTER_THAN_THE_MEAN, first_that_learns, learned, mean_prediction, seed_everything

PARTS = ("training", "validation", "test")


@dataclass
class BassetResult:
    """What :func:`train_accessibility` produced: the trained ``model`` and its ``history``; the search's
    ``trials`` (one row per trial, Optuna's table; ``None`` when ``hyperparameters`` were given), the
    hyperparameters ``chosen`` and the better-ranked trials (or given sets) ``passed_over`` because their model
    learned nothing; the ``rows`` of each part of the data; on the test set, ``labels`` and ``scores``
    ``(N_test, T)`` (logits, averaged over both strands for an augmented model) and, per cell type of ``tasks``,
    ``auroc`` and ``aupr``."""

    experiment: str
    tasks: list[str]
    model: Basset
    history: pd.DataFrame
    trials: pd.DataFrame | None
    chosen: dict
    passed_over: list[int]
    rows: dict[str, np.ndarray]
    labels: np.ndarray
    scores: np.ndarray
    auroc: pd.Series
    aupr: pd.Series


def split_at_random(n: int, *, seed: int = 0) -> dict[str, np.ndarray]:
    """``{"training", "validation", "test"}``: 80%, 10% and 10% of ``range(n)``, drawn at random."""
    order = np.random.default_rng(seed).permutation(n)
    return dict(zip(PARTS, np.split(order, [int(0.8 * n), int(0.9 * n)])))


def split_rows(data: AccessibilitySet, *, training_limit: int | None = None, seed: int = 0) -> dict[str, np.ndarray]:
    """The rows of ``data`` in each part, ``{"training", "validation", "test"}``: the data's own split, or, when it
    has none, :func:`split_at_random`; the training rows in a random order, the first ``training_limit`` kept."""
    if data.split is None:
        rows = split_at_random(len(data), seed=seed)
    else:
        rows = {part: data.rows(part) for part in PARTS}
    empty = [part for part in PARTS if len(rows[part]) == 0]
    if empty:
        raise ValueError(f"{data.source}: no sequences in the {empty[0]} split")
    rows["training"] = np.random.default_rng(seed).permutation(rows["training"])[:training_limit]
    return rows


def mean_auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    """The search's default score: the AUROC of each cell type's output, averaged over cell types."""
    return float(np.mean([auroc(labels[:, t], scores[:, t]) for t in range(labels.shape[1])]))


def train(x: torch.Tensor, y: torch.Tensor, train_rows: np.ndarray, valid_rows: np.ndarray, *,
          hyperparameters: dict | None = None, filters: tuple[int, ...] = (64, 64, 64),
          hidden: tuple[int, ...] = (256, 256), max_epochs: int = 12, patience: int | None = 3,
          augmented: bool = True, seed: int = 0, device: str | torch.device = "auto") -> tuple[Basset, pd.DataFrame]:
    """A fresh :class:`~teachbind.models.Basset` seeded with ``seed``, of widths ``filters`` and ``hidden`` and
    with the ``hyperparameters`` (``learning_rate``, and constructor arguments such as ``dropout``, ``filters`` and
    ``widths``, which override), trained by :func:`~teachbind.models.basset.fit_basset` on ``x[train_rows]``
    (one-hot ``(N, 4, L)``) and ``y[train_rows]`` ``(N, T)`` for at most ``max_epochs``, on augmented sequences
    unless ``augmented=False``; returns the model and its history."""
    hyperparameters = hyperparameters or {}
    options = {k: v for k, v in hyperparameters.items() if k != "learning_rate"}
    seed_everything(seed)
    model = Basset(y.shape[1], x.shape[-1], **{"filters": filters, "hidden": hidden, **options})
    history = fit_basset(model, (x[train_rows], y[train_rows]), (x[valid_rows], y[valid_rows]),
                         max_epochs=max_epochs, patience=patience, augmented=augmented,
                         learning_rate=hyperparameters.get("learning_rate", 0.002), seed=seed, device=device)
    return model, history


def search(x: torch.Tensor, y: torch.Tensor, train_rows: np.ndarray, valid_rows: np.ndarray, *, trials: int = 10,
           trial_sequences: int | None = 8000, trial_epochs: int = 3, filters: tuple[int, ...] = (64, 64, 64),
           hidden: tuple[int, ...] = (256, 256), score: Callable[[np.ndarray, np.ndarray], float] = mean_auroc,
           seed: int = 0, device: str | torch.device = "auto") -> tuple[dict, pd.DataFrame]:
    """Bayesian search (Optuna's ``GPSampler``, the first ``min(4, trials)`` trials at random) over the learning
    rate (log-uniform, 1e-4 to 1e-2), dropout (0.1 to 0.5), and the first layer's number of filters (32, 64 or
    128) and width (9 to 23, odd). Each trial trains for ``trial_epochs`` on the first ``trial_sequences`` of
    ``train_rows``, augmented, and is scored by ``score(labels, scores)`` on ``valid_rows`` (both strands).
    Returns the best trial's hyperparameters (for :func:`train`) and the trials table."""
    import optuna

    def objective(trial) -> float:
        params = dict(learning_rate=trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True),
                      dropout=trial.suggest_float("dropout", 0.1, 0.5),
                      first_filters=trial.suggest_categorical("first_filters", [32, 64, 128]),
                      first_width=trial.suggest_int("first_width", 9, 23, step=2))
        model, _ = train(x, y, train_rows[:trial_sequences], valid_rows,
                         hyperparameters=trial_hyperparameters(params, filters),
                         filters=filters, hidden=hidden, max_epochs=trial_epochs, patience=None, seed=seed,
                         device=device)
        scores = predict_both_strands(model, x[valid_rows], device=device).numpy()
        return score(y[valid_rows].numpy(), scores)

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    sampler = optuna.samplers.GPSampler(seed=seed, n_startup_trials=min(4, trials))
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=trials)
    return trial_hyperparameters(study.best_params, filters), study.trials_dataframe().set_index("number")


def trial_hyperparameters(params: dict, filters: tuple[int, ...] = (64, 64, 64)) -> dict:
    """A search trial's ``params`` (``learning_rate``, ``dropout``, ``first_filters``, ``first_width``) as
    hyperparameters for :func:`train` of a model whose other blocks have ``filters[1:]`` filters."""
    return dict(learning_rate=params["learning_rate"], dropout=params["dropout"],
                filters=(int(params["first_filters"]), *filters[1:]), widths=(int(params["first_width"]), 11, 7))


def ranked_trials(trials: pd.DataFrame, filters: tuple[int, ...] = (64, 64, 64)) -> dict[int, dict]:
    """The :func:`search` table's trials best first, trial number → :func:`trial_hyperparameters`."""
    best_first = trials.sort_values("value", ascending=False, kind="stable")
    return {int(number): trial_hyperparameters({k[len("params_"):]: v for k, v in row.items()
                                                if k.startswith("params_")}, filters)
            for number, row in best_first.iterrows()}


def train_accessibility(experiment: str | Path | AccessibilitySet = "dhs_index_k562_hepg2",
                        activity: str | Path | None = None, *, tasks: list[str] | None = None, trials: int = 10,
                        trial_sequences: int | None = 8000, trial_epochs: int = 3, max_epochs: int = 12,
                        patience: int | None = 3, filters: tuple[int, ...] = (64, 64, 64),
                        hidden: tuple[int, ...] = (256, 256), training_limit: int | None = None,
                        hyperparameters: dict | list[dict] | None = None, augmented: bool = True,
                        score: Callable[[np.ndarray, np.ndarray], float] = mean_auroc, seed: int = 0,
                        device: str | torch.device = "auto") -> BassetResult:
    """Chapter 4's protocol on ``experiment``: the book's DHS set, the path of a table or FASTA file of your own
    (read with ``activity`` and ``tasks`` by :func:`~teachbind.data.accessibility.load_accessibility`), or an
    :class:`~teachbind.data.accessibility.AccessibilitySet`.

    The rows are split by :func:`split_rows` (``training_limit``, ``seed``); :func:`search` runs ``trials`` trials
    (``trial_sequences``, ``trial_epochs``, ``score``) unless ``hyperparameters`` are given; the final model of
    widths ``filters`` and ``hidden`` trains for at most ``max_epochs``, stopping after ``patience`` epochs without
    a lower validation loss, on augmented sequences unless ``augmented=False`` (the paper's training). The defaults
    are the book scale's; Chapter 4 lists the sizes of each scale. ``hyperparameters`` may also be a list of
    sets, in order of preference.

    A final model that learned nothing (:func:`teachbind.train.learned` on the validation rows: constant or
    non-finite scores, or a loss no lower than predicting each cell type's training rate) is passed over with a
    warning, and the next-best search trial (or the next set given) is trained instead; ``RuntimeError`` when none
    learns. Returns a :class:`BassetResult`.
    """
    data = experiment if isinstance(experiment, AccessibilitySet) else load_accessibility(experiment, activity,
                                                                                           tasks=tasks)
    rows = split_rows(data, training_limit=training_limit, seed=seed)
    x, y = one_hot(data.seqs), torch.from_numpy(data.labels)
    trial_table, kind = None, "hyperparameter set"
    if hyperparameters is None:
        _, trial_table = search(x, y, rows["training"], rows["validation"], trials=trials,
                                trial_sequences=trial_sequences, trial_epochs=trial_epochs, filters=filters,
                                hidden=hidden, score=score, seed=seed, device=device)
        options, kind = ranked_trials(trial_table, filters), "search trial"
    elif isinstance(hyperparameters, dict):
        options = {0: hyperparameters}
    else:
        options = dict(enumerate(hyperparameters))
    strands = predict_both_strands if augmented else predict
    valid_x, valid_y = x[rows["validation"]], y[rows["validation"]]
    constant = mean_prediction(y[rows["training"]], logits=True)
    histories = []

    def final(option: dict) -> Basset | None:
        model, history = train(x, y, rows["training"], rows["validation"], hyperparameters=option,
                               filters=filters, hidden=hidden, max_epochs=max_epochs, patience=patience,
                               augmented=augmented, seed=seed, device=device)
        histories.append(history)
        learned_something = learned(strands(model, valid_x, device=device), valid_y,
                                    F.binary_cross_entropy_with_logits, constant)
        return model if learned_something else None

    key, model, passed = first_that_learns(options, final, data.source, kind=kind, reason=NO_BETTER_THAN_THE_MEAN,
                                           advice="check the labels, or search more trials or train longer")
    history, chosen = histories[-1], options[key]
    scores = strands(model, x[rows["test"]], device=device).numpy()
    labels = data.labels[rows["test"]]
    per_task = {name: [f(labels[:, t], scores[:, t]) for t in range(len(data.tasks))]
                for name, f in (("auroc", auroc), ("aupr", aupr))}
    return BassetResult(experiment=data.source, tasks=data.tasks, model=model, history=history, trials=trial_table,
                        chosen=chosen, passed_over=passed, rows=rows, labels=labels, scores=scores,
                        auroc=pd.Series(per_task["auroc"], index=data.tasks, name="AUROC"),
                        aupr=pd.Series(per_task["aupr"], index=data.tasks, name="AUPR"))
