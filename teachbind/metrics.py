"""Evaluation metrics: AUROC and AUPR for binding classification, Pearson and Spearman r for binding intensities,
and bootstrap intervals for them. Introduced in Chapter 1 (``nbs/01_sequences.ipynb``); the intervals and Spearman r
in Chapter 2 (``nbs/02_training.ipynb``).

Each takes ``labels`` (or targets) and ``scores`` of shape ``(N,)`` as NumPy arrays, tensors or lists, and returns
a float. AUROC is the probability that a random bound sequence scores above a random unbound one (0.5 = chance);
AUPR (average precision) is the area under the precision-recall curve, whose chance level is the fraction of
positives.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import torch


def _sklearn():
    """scikit-learn's metrics, imported on first use: importing it takes longer than importing torch."""
    from sklearn import metrics

    return metrics


def _as_1d(values, what: str) -> np.ndarray:
    if torch.is_tensor(values):
        values = values.detach().float().cpu().numpy()
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if not np.isfinite(values).all():
        raise ValueError(f"{what} contain NaN or infinite values")
    return values


def _binary(labels, scores) -> tuple[np.ndarray, np.ndarray]:
    y, s = _as_1d(labels, "labels"), _as_1d(scores, "scores")
    if y.shape != s.shape:
        raise ValueError(f"labels have {y.size} entries but scores have {s.size}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 or 1")
    if y.min() == y.max():
        raise ValueError("labels hold only one class; AUROC and AUPR need positives and negatives")
    return y, s


def _warn_if_constant(scores: np.ndarray, metric: str, value: str) -> None:
    if scores.min() == scores.max():
        warnings.warn(f"the scores are constant: {metric} is {value} (chance); a trained model whose scores are "
                      "constant learned nothing", RuntimeWarning, stacklevel=3)


def auroc(labels, scores) -> float:
    """Area under the ROC curve. Constant scores (a model that learned nothing) rank no bound sequence above an
    unbound one: 0.5, chance, with a ``RuntimeWarning``."""
    y, s = _binary(labels, scores)
    _warn_if_constant(s, "AUROC", "0.5")
    return float(_sklearn().roc_auc_score(y, s))


def aupr(labels, scores) -> float:
    """Area under the precision-recall curve (average precision). Constant scores give the fraction of positives,
    chance, with a ``RuntimeWarning``."""
    y, s = _binary(labels, scores)
    _warn_if_constant(s, "AUPR", "the fraction of positives")
    return float(_sklearn().average_precision_score(y, s))


def auroc_standard_error(auc: float, n_positive: int, n_negative: int) -> float:
    """Standard error of an AUROC of ``auc`` measured on ``n_positive`` positives and ``n_negative`` negatives, by
    Hanley and McNeil's formula (Radiology 143, 1982): how much the AUROC of one model varies between test sets of
    that size."""
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    variance = (auc * (1 - auc) + (n_positive - 1) * (q1 - auc**2) + (n_negative - 1) * (q2 - auc**2))
    return float(np.sqrt(variance / (n_positive * n_negative)))


def roc_curve(labels, scores) -> tuple[np.ndarray, np.ndarray]:
    """False- and true-positive rates of the ROC curve, each of shape ``(K,)``."""
    fpr, tpr, _ = _sklearn().roc_curve(*_binary(labels, scores))
    return fpr, tpr


def pearson(targets, predictions) -> float:
    """Pearson correlation coefficient between measured and predicted values. Constant predictions (a model that
    learned nothing) score 0, no association, with a ``RuntimeWarning``; constant targets are an error, since no
    prediction could be judged against them."""
    x, y = _as_1d(targets, "targets"), _as_1d(predictions, "predictions")
    if x.shape != y.shape:
        raise ValueError(f"targets have {x.size} entries but predictions have {y.size}")
    if x.std() == 0:
        raise ValueError("Pearson r is undefined when the targets are constant")
    if y.std() == 0:
        warnings.warn("the predictions are constant (a model that learned nothing): Pearson r is reported as 0",
                      RuntimeWarning, stacklevel=2)
        return 0.0
    return float(np.corrcoef(x, y)[0, 1])


def auroc_columns(labels, scores) -> np.ndarray:
    """AUROC of every column of ``scores`` ``(N, M)`` against ``labels`` ``(N,)`` at once, shape ``(M,)``.

    Uses the Mann-Whitney identity: AUROC = (sum of the positives' ranks - n1 (n1 + 1) / 2) / (n1 n0), ties
    sharing their mean rank; equal to :func:`auroc` column by column.
    """
    y = _as_1d(labels, "labels")
    s = scores.detach().float().cpu().numpy() if torch.is_tensor(scores) else np.asarray(scores, dtype=np.float64)
    if s.ndim != 2 or s.shape[0] != y.size:
        raise ValueError(f"scores must have shape (N, M) with N = {y.size} labels, got {s.shape}")
    _binary(y, s[:, 0])
    positive = y == 1
    n1, n0 = positive.sum(), (~positive).sum()
    from scipy.stats import rankdata

    ranks = rankdata(s, axis=0)
    return (ranks[positive].sum(axis=0) - n1 * (n1 + 1) / 2) / (n1 * n0)


def spearman(targets, predictions) -> float:
    """Spearman rank correlation: :func:`pearson` of the ranks (ties sharing their mean rank), 1 for any increasing
    relation, straight or not."""
    from scipy.stats import rankdata

    x, y = _as_1d(targets, "targets"), _as_1d(predictions, "predictions")
    if x.shape != y.shape:
        raise ValueError(f"targets have {x.size} entries but predictions have {y.size}")
    return pearson(rankdata(x), rankdata(y))


class Interval(NamedTuple):
    """A measured value and its bootstrap interval: ``estimate`` on the whole test set, ``low`` and ``high`` the
    percentiles of the resampled values."""

    estimate: float
    low: float
    high: float


def _resamples(labels: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``(n, N)`` indices drawn with replacement; for 0/1 labels, within each class (negatives first), so every
    resample keeps the test set's number of positives and negatives (and an AUROC)."""
    rng = np.random.default_rng(seed)
    if np.isin(labels, (0, 1)).all() and labels.min() != labels.max():
        classes = [np.flatnonzero(labels == c) for c in (0, 1)]
        return np.concatenate([c[rng.integers(0, c.size, (n, c.size))] for c in classes], axis=1)
    return rng.integers(0, labels.size, (n, labels.size))


def _resampled(metric: Callable, labels: np.ndarray, scores: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``metric`` on each resample ``index`` ``(n, N)``; the AUROC of all of them at once (:func:`auroc_columns`),
    since within-class resamples share one order of labels."""
    if metric is auroc:
        return auroc_columns(labels[index[0]], scores[index].T)
    return np.array([metric(labels[i], scores[i]) for i in index])


def bootstrap(labels, scores, metric: Callable = auroc, *, n: int = 1000, level: float = 0.95,
              seed: int = 0) -> Interval:
    """``metric(labels, scores)`` (``(N,)`` each) with its percentile bootstrap interval: the test set resampled
    ``n`` times with replacement (within each class for 0/1 labels), the metric recomputed on each resample, and
    the central ``level`` of those values. It says how much the number would move on another test set of the same
    size drawn from the same source."""
    y, s = _as_1d(labels, "labels"), _as_1d(scores, "scores")
    values = _resampled(metric, y, s, _resamples(y, n, seed))
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return Interval(float(metric(y, s)), float(low), float(high))


def paired_bootstrap(labels, scores_a, scores_b, metric: Callable = auroc, *, n: int = 1000, level: float = 0.95,
                     seed: int = 0) -> Interval:
    """The difference ``metric(labels, scores_a) - metric(labels, scores_b)`` of two models scored on the same test
    set, with its bootstrap interval: both models' scores are resampled together, so what the two share (the
    same hard and easy sequences) cancels. An interval that excludes 0 says A and B differ on this source of data;
    one that includes it says this test set cannot tell them apart."""
    y, a, b = _as_1d(labels, "labels"), _as_1d(scores_a, "scores_a"), _as_1d(scores_b, "scores_b")
    if not y.shape == a.shape == b.shape:
        raise ValueError(f"labels, scores_a and scores_b have {y.size}, {a.size} and {b.size} entries")
    index = _resamples(y, n, seed)
    values = _resampled(metric, y, a, index) - _resampled(metric, y, b, index)
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return Interval(float(metric(y, a) - metric(y, b)), float(low), float(high))
