"""Figures the field expects: sequence logos, ROC curves, training curves."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from teachbind.metrics import roc_curve
from teachbind.seq import get_alphabet


def logo(probs: np.ndarray, *, alphabet: str = "DNA", kind: str = "information", title: str | None = None,
         ax: plt.Axes | None = None) -> plt.Axes:
    """Draw a sequence logo of a PWM ``(4, w)`` with logomaker.

    ``kind="information"``: letter heights are probability x column information content (bits, 0..2), the
    classic Schneider-Stephens logo. ``kind="probability"``: heights are the probabilities. ``kind="weight"``:
    heights are the values as given (for example log-odds or importance scores, which may be negative).
    """
    import logomaker

    from teachbind.motifs import information_content

    probs = np.asarray(probs, dtype=np.float64)
    letters = list(get_alphabet(alphabet).letters)
    if kind == "information":
        heights, ylabel = probs * information_content(probs)[None, :], "bits"
    elif kind == "probability":
        heights, ylabel = probs, "probability"
    elif kind == "weight":
        heights, ylabel = probs, "weight"
    else:
        raise ValueError(f"kind must be 'information', 'probability' or 'weight', got {kind!r}")
    if ax is None:
        _, ax = plt.subplots(figsize=(max(2.5, 0.45 * probs.shape[1]), 1.8))
    frame = pd.DataFrame(heights.T, columns=letters)
    logomaker.Logo(frame, ax=ax, color_scheme="classic")
    ax.set_ylabel(ylabel)
    if kind == "information":
        ax.set_ylim(0, 2)
    ax.set_xticks(range(probs.shape[1]))
    ax.set_xticklabels(range(1, probs.shape[1] + 1), fontsize=7)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def roc(labels, scores, *, label: str | None = None, ax: plt.Axes | None = None) -> plt.Axes:
    """Plot the ROC curve of ``scores`` against binary ``labels`` (both shape ``(N,)``), AUROC in the legend."""
    from teachbind.metrics import auroc

    fpr, tpr = roc_curve(labels, scores)
    if ax is None:
        _, ax = plt.subplots(figsize=(3.2, 3.2))
    name = f"{label} " if label else ""
    ax.plot(fpr, tpr, label=f"{name}(AUROC {auroc(labels, scores):.3f})")
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.legend(loc="lower right", fontsize=8)
    return ax


def training_curves(history: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Plot the losses (and the validation metric, if any) of a :func:`teachbind.train.fit` history by epoch."""
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 3))
    for column in ("train_loss", "valid_loss"):
        if column in history:
            ax.plot(history["epoch"], history[column], marker="o", ms=3, label=column.replace("_", " "))
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    metric = [c for c in history.columns if c.startswith("valid_") and c != "valid_loss"]
    if metric:
        twin = ax.twinx()
        twin.plot(history["epoch"], history[metric[0]], color="black", ls=":", label=metric[0].replace("_", " "))
        twin.set_ylabel(metric[0].replace("_", " "))
        twin.legend(loc="center right", fontsize=8)
    ax.legend(loc="upper right", fontsize=8)
    return ax
