"""Figures the field expects: sequence logos, ROC curves, training curves.
Introduced in Chapter 1 (``nbs/01_sequences.ipynb``, logos and ROC curves); each later chapter adds its figures."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from teachbind.metrics import roc_curve
from teachbind.seq import get_alphabet, one_hot


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


def importance(effects: np.ndarray) -> np.ndarray:
    """Per-position importance of a mutation map ``(4, L)``: how far the worst substitution lowers the score,
    ``max(0, -min_b effects[b, i])``, shape ``(L,)``."""
    return np.maximum(0.0, -np.asarray(effects).min(axis=0))


def mutation_map(effects: np.ndarray, sequence: str, *, alphabet: str = "DNA", title: str | None = None,
                 window: tuple[int, int] | None = None) -> plt.Figure:
    """DeepBind's mutation map: the sequence as a logo whose letter heights show each position's importance
    (:func:`importance`), above a heat map of every substitution's effect (``effects`` ``(4, L)``, e.g. one
    sequence of :func:`teachbind.interpret.ism`; blue lowers the score, red raises it). ``window=(start, end)``
    (0-based, end exclusive) shows part of the sequence."""
    effects = np.asarray(effects, dtype=np.float64)
    start, end = window or (0, effects.shape[1])
    effects, sequence = effects[:, start:end], sequence[start:end]
    letters = get_alphabet(alphabet).letters
    onehot = one_hot(sequence, alphabet=alphabet).numpy()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(max(6, 0.16 * len(sequence)), 2.8), sharex=True,
                                      gridspec_kw={"height_ratios": [1, 1.2]})
    logo(onehot * importance(effects)[None, :], alphabet=alphabet, kind="weight", ax=top)
    top.set_ylabel("importance")
    limit = float(np.abs(effects).max()) or 1.0
    image = bottom.imshow(effects, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit,
                          extent=(-0.5, len(sequence) - 0.5, 3.5, -0.5), interpolation="nearest")
    bottom.set_yticks(range(4))
    bottom.set_yticklabels(list(letters))
    ticks = list(range(0, len(sequence), 10))
    bottom.set_xticks(ticks)
    bottom.set_xticklabels([t + start + 1 for t in ticks], fontsize=7)
    bottom.set_xlabel("position")
    fig.colorbar(image, ax=[top, bottom], fraction=0.025, pad=0.01, label="change in score")
    if title:
        top.set_title(title, fontsize=10)
    return fig


def calibration(table: pd.DataFrame, *, x: str = "learning_rate", hue: str = "hidden", score: str = "mean",
                ax: plt.Axes | None = None) -> plt.Axes:
    """A random-search calibration (:func:`teachbind.train.calibrate`'s table): each candidate's cross-validated
    ``score`` against hyperparameter ``x`` (log scale), coloured by ``hue``, with each fold's score as a dot."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    folds = [c for c in table.columns if c.startswith("fold_")]
    for value, group in table.groupby(hue):
        line = ax.scatter(group[x], group[score], s=40, label=f"{hue} = {value}", zorder=3)
        for fold in folds:
            ax.scatter(group[x], group[fold], s=8, color=line.get_facecolor(), alpha=0.5, zorder=2)
    best = table.loc[table[score].idxmax()]
    ax.scatter([best[x]], [best[score]], s=160, facecolors="none", edgecolors="black", label="chosen", zorder=4)
    ax.set_xscale("log")
    ax.set_xlabel(x.replace("_", " "))
    ax.set_ylabel(f"cross-validated {score}")
    ax.legend(fontsize=8, frameon=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return ax


def cluster_order(values: np.ndarray) -> np.ndarray:
    """Row order of ``values`` ``(R, C)`` that puts similar rows together (average-linkage hierarchical clustering
    on correlation distance; constant rows go last). Returns indices ``(R,)``."""
    from scipy.cluster.hierarchy import leaves_list, linkage

    values = np.asarray(values, dtype=np.float64)
    varying = np.flatnonzero(values.std(axis=1) > 0)
    constant = np.flatnonzero(values.std(axis=1) == 0)
    if len(varying) < 3:
        return np.concatenate([varying, constant])
    order = varying[leaves_list(linkage(values[varying], method="average", metric="correlation"))]
    return np.concatenate([order, constant])


def influence_heatmap(influence: pd.DataFrame, *, title: str | None = None, ax: plt.Axes | None = None
                      ) -> plt.Axes:
    """Basset's filter-influence heat map: ``influence`` is filters × cell types (rows and columns labelled, e.g.
    from :func:`teachbind.interpret.filter_influence`); each row is scaled to its maximum, and rows and columns are
    ordered by :func:`cluster_order` so that filters acting on the same cell types sit together."""
    rows = cluster_order(influence.to_numpy())
    columns = cluster_order(influence.to_numpy().T)
    table = influence.iloc[rows, columns]
    scaled = table.to_numpy() / np.maximum(table.to_numpy().max(axis=1, keepdims=True), 1e-12)
    if ax is None:
        _, ax = plt.subplots(figsize=(0.28 * table.shape[1] + 2, 0.22 * table.shape[0] + 1.2))
    image = ax.imshow(scaled, aspect="auto", cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks(range(table.shape[1]))
    ax.set_xticklabels(table.columns, rotation=90, fontsize=7)
    ax.set_yticks(range(table.shape[0]))
    ax.set_yticklabels(table.index, fontsize=7)
    ax.figure.colorbar(image, ax=ax, fraction=0.03, pad=0.01, label="influence / filter's maximum")
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def search_history(values: pd.Series, *, ax: plt.Axes | None = None, label: str = "validation AUROC") -> plt.Axes:
    """A hyperparameter search, trial by trial: each trial's score (``values``, indexed by trial number, higher is
    better) as a dot and the best so far as a line."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    ax.scatter(values.index, values.to_numpy(), s=30, label="trial", zorder=3)
    ax.step(values.index, values.cummax().to_numpy(), where="post", color="black", lw=1.2, label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(label)
    ax.legend(fontsize=8, frameon=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return ax
