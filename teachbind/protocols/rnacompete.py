"""The RNAcompete protocols: DeepBind calibrated and trained on one RBP's Set A as in Chapter 3
(``nbs/03_deepbind.ipynb``), ResidualBind trained as its released code did in Chapter 6
(``nbs/06_residualbind.ipynb``); both scored by Pearson r on Set B, on the book's RNAcompete 2009 data or on probe
files of your own (:func:`teachbind.data.rnacompete.load_probe_sets`).

Probes without an intensity (NaN, which RNAcompete 2013 uses for flagged probes) are left out of both sets.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from teachbind import seq
from teachbind.data.rnacompete import ProbeSets, load_probe_sets, transform_targets
from teachbind.metrics import pearson
from teachbind.models import deepbind
from teachbind.models.residualbind import ResidualBind, fit_residualbind
from teachbind.predict import predict
from teachbind.protocols.deepbind import calibrate_then_train
from teachbind.structure import paired_unpaired
from teachbind.train import (NO_BETTER_THAN_THE_MEAN, calibrate, first_that_learns, learned,
                             mean_prediction, random_split, sample_hyperparameters)

RNA_DEEPBIND = dict(width=16, both_strands=False, task="regression")
"""DeepBind's RNAcompete model: detectors of 16 nt, one strand (RNA has one), a regression output."""


@dataclass
class RnacompeteResult:
    """What a protocol produced on one experiment: the trained ``model``, its training ``history``, the number of
    Set A probes it trained on (``train_probes``, the calibration's included), and on Set B
    the ``test_seqs`` (``N`` probes), ``targets`` ``(N,)`` (transformed intensities), ``predictions`` ``(N,)``
    and their ``pearson`` r; ``dropped``: the probes left out for want of an intensity; ``passed_over``: what was
    passed over because it learned nothing (DeepBind: better-ranked calibration candidates; ResidualBind: training
    seeds). DeepBind's protocol also gives its ``calibration`` table (best first), the ``chosen`` candidate and
    the ``rounds`` of candidates calibrated (:func:`teachbind.protocols.deepbind.calibrate_then_train`)."""

    experiment: str
    model: nn.Module
    history: pd.DataFrame
    train_probes: int
    test_seqs: list[str]
    targets: np.ndarray
    predictions: np.ndarray
    pearson: float
    dropped: int
    calibration: pd.DataFrame | None = None
    chosen: dict | None = None
    passed_over: list[int] | None = None
    rounds: int | None = None


def measured(probes: ProbeSets) -> tuple[ProbeSets, int]:
    """``probes`` without the probes whose intensity is NaN, and how many were left out."""
    a, b = ~np.isnan(probes.train_intensity), ~np.isnan(probes.test_intensity)
    if a.sum() < 2 or b.sum() < 2:
        raise ValueError(f"{probes.name}: Set A has {a.sum()} and Set B {b.sum()} probes with an intensity; "
                         f"training and testing need at least 2 each")
    kept = ProbeSets(probes.name, [s for s, keep in zip(probes.train_seqs, a) if keep], probes.train_intensity[a],
                     [s for s, keep in zip(probes.test_seqs, b) if keep], probes.test_intensity[b])
    return kept, int((~a).sum() + (~b).sum())


def _load(experiment: ProbeSets | str | Path, test, design: str) -> tuple[ProbeSets, int]:
    probes = experiment if isinstance(experiment, ProbeSets) else load_probe_sets(experiment, test, design=design)
    return measured(probes)


def train_deepbind(experiment: ProbeSets | str | Path, candidates: int | list[dict] = 6, *,
                   test: str | Path | None = None, design: str = "weak", transform: str = "clip_and_scale",
                   calibration_probes: int | None = 10_000, calibration_epochs: int = 4, final_epochs: int = 10,
                   final_patience: int = 3, folds: int = 2, rounds: int = 2, seed: int = 0,
                   device: str | torch.device = "auto") -> RnacompeteResult:
    """Chapter 3's protocol: calibrate DeepBind on ``calibration_probes`` Set A probes drawn at random
    (``folds``-fold cross-validation of ``candidates``, each trained ``calibration_epochs`` epochs), train the
    chosen candidate on nine tenths of Set A for at most ``final_epochs`` epochs, stopping ``final_patience``
    epochs after its best Pearson r on the other tenth and keeping that epoch, and score Set B (the book-scale
    defaults). A candidate whose final model learned nothing on the held-out tenth (:func:`teachbind.train.learned`:
    constant predictions, or a squared error no lower than predicting the mean) is passed over for the next; when
    none learns, new candidates are drawn, for at most ``rounds`` rounds
    (:func:`teachbind.protocols.deepbind.calibrate_then_train`).

    ``experiment``: :class:`~teachbind.data.rnacompete.ProbeSets`, a registered protein or the path of a Set A
    file (Set B from ``test`` or beside it). ``candidates``: a number drawn from the paper's search space with
    ``seed``, or the list of sets. ``transform``: the targets (:func:`~teachbind.data.rnacompete.transform_targets`).
    Probes are centred in the length of the longest and padded with N."""
    probes, dropped = _load(experiment, test, design)
    if isinstance(candidates, int):
        candidates = sample_hyperparameters(deepbind.search_space("regression"), candidates, seed=seed)
    length = max(map(len, probes.train_seqs + probes.test_seqs))
    x, x_test = (seq.one_hot(seq.center(s, length), alphabet="RNA") for s in (probes.train_seqs, probes.test_seqs))
    y, y_test = transform_targets(probes.train_intensity, probes.test_intensity, transform)
    y = torch.from_numpy(y)
    subset = np.random.default_rng(seed).permutation(len(y))[:calibration_probes]

    def score(params, train_index, valid_index):
        fit_on, held_out = subset[train_index], subset[valid_index]
        _, history = deepbind.fit_candidate(params, (x[fit_on], y[fit_on]), (x[held_out], y[held_out]),
                                            max_epochs=calibration_epochs, seed=seed, device=device, **RNA_DEEPBIND)
        return deepbind.best_score(history, "regression")

    train_rows, valid_rows = random_split(len(y), 0.1, seed=seed)
    constant = mean_prediction(y[train_rows], logits=False)
    histories = {}

    def final(params):
        model, histories["final"] = deepbind.fit_candidate(
            params, (x[train_rows], y[train_rows]), (x[valid_rows], y[valid_rows]), max_epochs=final_epochs,
            patience=final_patience, seed=seed, device=device, **RNA_DEEPBIND)
        valid = predict(model, x[valid_rows], device=device)
        return model if learned(valid, y[valid_rows], F.mse_loss, constant) else None

    def calibrate_all(drawn: list[dict]) -> pd.DataFrame:
        return calibrate(score, drawn, len(subset), folds=folds, seed=seed, progress=False)

    chosen, model, table, passed, used = calibrate_then_train(
        candidates, deepbind.search_space("regression"), calibrate_all, final, probes.name, rounds=rounds, seed=seed,
        reason=NO_BETTER_THAN_THE_MEAN)
    predictions = predict(model, x_test, device=device).numpy()
    return RnacompeteResult(probes.name, model, histories["final"], len(y), probes.test_seqs, y_test, predictions,
                            pearson(y_test, predictions), dropped, table, chosen, passed, used)


def train_residualbind(experiment: ProbeSets | str | Path, *, test: str | Path | None = None,
                       design: str = "weak", transform: str = "log_norm", length: int = 41, limit: int | None = None,
                       with_structure: bool = False, max_epochs: int = 300, patience: int | None = 20, seed: int = 0,
                       attempts: int = 2, device: str | torch.device = "auto", **model_options) -> RnacompeteResult:
    """Chapter 6's protocol: ResidualBind on Set A (``limit`` probes of it drawn at random, or all), a tenth held
    out at random for early stopping, :func:`~teachbind.models.residualbind.fit_residualbind` (at most
    ``max_epochs``, ``patience``), scored on Set B.

    Probes are zero-padded in the middle of ``length`` positions (41, or the longest probe if longer).
    ``transform``: the targets (:func:`~teachbind.data.rnacompete.transform_targets`; ``"log_norm"`` for
    RNAcompete 2009, ``"clip_norm"`` the paper's for 2013). ``with_structure``: the paper's structure variant,
    six channels (sequence, then RNAplfold's paired and unpaired probabilities,
    :func:`teachbind.structure.paired_unpaired`). ``model_options`` go to
    :class:`~teachbind.models.residualbind.ResidualBind`. A model that learned nothing on the held-out tenth
    (:func:`teachbind.train.learned`: constant predictions, or a squared error no lower than predicting the mean)
    is trained again from seed ``seed + 1``, and so on for ``attempts`` seeds, each passed over with a warning and
    listed in ``passed_over``; ``RuntimeError`` when none learns."""
    probes, dropped = _load(experiment, test, design)
    if limit is not None and limit < len(probes.train_seqs):
        keep = np.random.default_rng(seed).permutation(len(probes.train_seqs))[:limit]
        probes = ProbeSets(probes.name, [probes.train_seqs[i] for i in keep], probes.train_intensity[keep],
                           probes.test_seqs, probes.test_intensity)
    length = max(length, *map(len, probes.train_seqs + probes.test_seqs))
    x, x_test = (_inputs(s, length, with_structure) for s in (probes.train_seqs, probes.test_seqs))
    y, y_test = transform_targets(probes.train_intensity, probes.test_intensity, transform)
    y = torch.from_numpy(y)[:, None]
    train_rows, valid_rows = random_split(len(y), 0.1, seed=seed)
    constant = mean_prediction(y[train_rows], logits=False)
    histories = {}

    def train_with(run_seed: int) -> ResidualBind | None:
        torch.manual_seed(run_seed)
        model = ResidualBind(length=length, channels=x.shape[1], **model_options)
        histories[run_seed] = fit_residualbind(model, (x[train_rows], y[train_rows]),
                                               (x[valid_rows], y[valid_rows]), max_epochs=max_epochs,
                                               patience=patience, seed=run_seed, device=device)
        valid = predict(model, x[valid_rows], device=device)
        return model if learned(valid, y[valid_rows], F.mse_loss, constant) else None

    used, model, passed = first_that_learns({s: s for s in range(seed, seed + attempts)}, train_with, probes.name,
                                            kind="training seed", reason=NO_BETTER_THAN_THE_MEAN,
                                            advice="check the intensities and the transform, or train longer "
                                            "(max_epochs, patience)")
    predictions = predict(model, x_test, device=device).numpy().ravel()
    return RnacompeteResult(probes.name, model, histories[used], len(y), probes.test_seqs, y_test, predictions,
                            pearson(y_test, predictions), dropped, passed_over=passed)


def _inputs(probes: list[str], length: int, with_structure: bool) -> torch.Tensor:
    x = seq.one_hot_padded(probes, length, alphabet="RNA")
    return torch.cat([x, paired_unpaired(probes, length)], 1) if with_structure else x
