"""Evaluation metrics: AUROC and AUPR for binding classification, Pearson r for binding intensities.
Introduced in Chapter 1 (``nbs/01_sequences.ipynb``).

Each takes ``labels`` (or targets) and ``scores`` of shape ``(N,)`` as NumPy arrays, tensors or lists, and returns
a float. AUROC is the probability that a random bound sequence scores above a random unbound one (0.5 = chance);
AUPR (average precision) is the area under the precision-recall curve, whose chance level is the fraction of
positives.
"""

from __future__ import annotations

import warnings

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


def auroc(labels, scores) -> float:
    """Area under the ROC curve."""
    return float(_sklearn().roc_auc_score(*_binary(labels, scores)))


def aupr(labels, scores) -> float:
    """Area under the precision-recall curve (average precision)."""
    return float(_sklearn().average_precision_score(*_binary(labels, scores)))


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
