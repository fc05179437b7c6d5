"""DeepBind (Alipanahi et al. 2015), introduced in Chapter 3 (``nbs/03_deepbind.ipynb``).

A DeepBind model scores a sequence ``s`` as ``f(s) = net(pool(rect(conv(pad(s)))))``: scan it with motif detectors,
keep what rises above each detector's learned threshold, pool over positions, and map the pooled scores to one
number with a linear layer (optionally behind a hidden layer of ReLU units).
"""

from __future__ import annotations

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from teachbind.metrics import auroc, pearson
from teachbind.seq import check_one_hot
from teachbind.train import choice, fit, is_dead, loguniform, seed_everything, uniform

POOLINGS = ("max", "maxavg")
TASKS = ("classification", "regression")


class DeepBind(nn.Module):
    """DeepBind: ``(N, 4, L)`` one-hot sequences → ``(N,)`` scores.

    Encode DNA with ``seq.one_hot(seqs)`` and RNA with ``seq.one_hot(seqs, alphabet="RNA")``; T and U share the
    fourth channel, so one model reads either, and a U in a DNA sequence (or a T in an RNA one) is refused at
    encoding with the sequence, position and letter named. Sequences shorter than ``width`` are an error.

    The scores are logits for ``task="classification"`` (train with ``BCEWithLogitsLoss``) and binding
    intensities for ``task="regression"`` (train with ``MSELoss``); the network is the same for both, and
    :func:`fit_deepbind` picks the loss from the task. Arguments are the paper's hyperparameters, defaulting to its released ChIP-seq models:

    - ``filters`` motif detectors of width ``width`` (16 and 24 for ChIP-seq; RNAcompete models used 16 and 16).
    - The input is padded with ``width - 1`` positions of "any base" (0.25 in each channel) on both
      sides, so a detector also sees sites that hang over either end; the scan has ``L + width - 1``
      positions.
    - Rectification ``max(0, x - b_k)`` with a learned threshold ``b_k`` per detector.
    - ``pooling``: ``"max"`` (the best site) or ``"maxavg"`` (best site and mean over positions, concatenated;
      the paper's "allpool", used for RNAcompete).
    - ``hidden``: 0 (pooled scores straight to the output) or the number of ReLU units in one hidden layer (32).
    - ``dropout``: applied to the input of the last layer; the paper drew it from {0, 0.25, 0.5}.
    - ``both_strands``: score the sequence and its reverse complement and keep the larger output (DNA);
      ``False`` for RNA, which is single-stranded.
    - ``conv_init_scale`` and ``dense_init_scale``: the standard deviation of the initial weights; the paper's
      calibration drew them log-uniformly from [1e-7, 1e-3] and [1e-5, 1e-2].
    """

    def __init__(self, filters: int = 16, width: int = 24, *, pooling: str = "max", hidden: int = 32,
                 dropout: float = 0.5, both_strands: bool = True, task: str = "classification",
                 conv_init_scale: float = 1e-3, dense_init_scale: float = 1e-2):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        if task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {task!r}")
        self.width, self.pooling, self.both_strands, self.task = width, pooling, both_strands, task
        self.motifs = nn.Parameter(torch.randn(filters, 4, width) * conv_init_scale)
        self.thresholds = nn.Parameter(torch.zeros(filters))
        pooled = filters * (2 if pooling == "maxavg" else 1)
        self.hidden = nn.Linear(pooled, hidden) if hidden else None
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(hidden or pooled, 1)
        for layer in (self.hidden, self.output):
            if layer is not None:
                nn.init.normal_(layer.weight, std=dense_init_scale)
                nn.init.zeros_(layer.bias)

    def pad(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 4, L)`` → ``(N, 4, L + 2 (width - 1))``: ``width - 1`` columns of 0.25 on each side."""
        if x.shape[-1] < self.width:
            raise ValueError(f"sequences of {x.shape[-1]} nt are shorter than the motif width "
                             f"({self.width} nt); DeepBind needs at least one whole window")
        return F.pad(x, (self.width - 1, self.width - 1), value=0.25)

    def scan(self, x: torch.Tensor) -> torch.Tensor:
        """Rectified detector scores of the forward strand: ``(N, 4, L)`` → ``(N, filters, L + width - 1)``."""
        return F.relu(F.conv1d(self.pad(x), self.motifs) - self.thresholds[:, None])

    def filter_scan(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """What the detectors read and what they answer, for :func:`teachbind.interpret.filter_motifs`:
        ``(self.pad(x), self.scan(x))``."""
        return self.pad(x), self.scan(x)

    def pool(self, rectified: torch.Tensor) -> torch.Tensor:
        """Each detector's maximum over positions (and its mean, for ``"maxavg"``): ``(..., filters, P)`` →
        ``(..., filters)`` (``(..., 2 filters)``, every maximum, then every mean)."""
        pooled = rectified.amax(dim=-1)
        return torch.cat([pooled, rectified.mean(dim=-1)], dim=-1) if self.pooling == "maxavg" else pooled

    def net(self, pooled: torch.Tensor) -> torch.Tensor:
        """The layers on top of the pooled scores: ``(..., pooled)`` → ``(...)``."""
        if self.hidden is not None:
            pooled = F.relu(self.hidden(pooled))
        return self.output(self.dropout(pooled)).squeeze(-1)

    def strand_score(self, x: torch.Tensor) -> torch.Tensor:
        """The network's output for one strand: ``(N, 4, L)`` → ``(N,)``."""
        return self.net(self.pool(self.scan(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 4, L)`` → ``(N,)``. Both strands are scanned in one convolution: the reverse complement's scan by
        a detector is the forward strand's scan by the reverse-complemented detector, read backwards, and the
        pooled scores do not depend on the order of positions; so ``forward(x)`` equals
        ``max(strand_score(x), strand_score(x.flip(1, 2)))`` with one convolution instead of two."""
        check_one_hot(x, "DeepBind")
        if not self.both_strands:
            return self.strand_score(x)
        detectors = torch.cat([self.motifs, self.motifs.flip(1, 2)])
        rectified = F.relu(F.conv1d(self.pad(x), detectors) - self.thresholds.repeat(2)[:, None])
        pooled = self.pool(rectified.view(len(x), 2, len(self.motifs), -1))
        return self.net(pooled).amax(dim=1)


def optimizer(model: DeepBind, *, learning_rate: float, momentum: float, conv_weight_decay: float,
              dense_weight_decay: float) -> torch.optim.SGD:
    """DeepBind's optimiser: SGD with momentum; weight decay on the motif detectors and on the dense weights,
    none on the thresholds and biases."""
    dense = [p for name, p in model.named_parameters() if name.endswith("weight")]
    biases = [p for name, p in model.named_parameters() if name.endswith("bias") or name == "thresholds"]
    return torch.optim.SGD([
        {"params": [model.motifs], "weight_decay": conv_weight_decay},
        {"params": dense, "weight_decay": dense_weight_decay},
        {"params": biases, "weight_decay": 0.0},
    ], lr=learning_rate, momentum=momentum)


def search_space(task: str = "classification") -> dict:
    """The paper's calibration ranges, as samplers for :func:`teachbind.train.sample_hyperparameters`.

    Optimiser: learning rate log-uniform in [5e-4, 5e-2], momentum in [0.95, 0.99]; weight decay log-uniform
    (detectors [1e-15, 1e-3], dense [1e-10, 1e-3]); initial weight scale log-uniform (detectors [1e-7, 1e-3],
    dense [1e-5, 1e-2]); dropout from {0, 0, 0.25, 0.5} (DeepBind's configuration files list 0 twice); no hidden
    layer or 32 units. Classification models use max pooling; regression models also try max+avg pooling.
    """
    return {
        "learning_rate": loguniform(5e-4, 5e-2),
        "momentum": uniform(0.95, 0.99),
        "conv_weight_decay": loguniform(1e-15, 1e-3),
        "dense_weight_decay": loguniform(1e-10, 1e-3),
        "conv_init_scale": loguniform(1e-7, 1e-3),
        "dense_init_scale": loguniform(1e-5, 1e-2),
        "dropout": choice(0.0, 0.0, 0.25, 0.5),
        "hidden": choice(0, 32),
        "pooling": choice("max") if task == "classification" else choice("max", "maxavg"),
    }


OPTIMISER_KEYS = ("learning_rate", "momentum", "conv_weight_decay", "dense_weight_decay")


def build(params: dict, *, seed: int = 0, **fixed) -> tuple[DeepBind, dict]:
    """A fresh :class:`DeepBind` initialised under ``seed`` from one calibration candidate ``params`` (see
    :func:`search_space`), and the candidate's optimiser settings for :func:`fit_deepbind`; ``fixed`` holds the
    other constructor arguments (width, strands, task)."""
    seed_everything(seed)
    model = DeepBind(**{k: v for k, v in params.items() if k not in OPTIMISER_KEYS}, **fixed)
    return model, {k: params[k] for k in OPTIMISER_KEYS}


CHANCE = {"classification": 0.5, "regression": 0.0}
"""The held-out score of a model that learned nothing: AUROC 0.5, Pearson r 0."""


def held_out_score(task: str, labels: torch.Tensor, predictions: torch.Tensor) -> float:
    """The calibration score: AUROC for classification, Pearson r for regression. A model whose predictions
    are constant or not finite (it never learned, or diverged) scores chance (:data:`CHANCE`)."""
    if is_dead(predictions):
        return CHANCE[task]
    return auroc(labels, predictions) if task == "classification" else pearson(labels, predictions)


def best_score(history: pd.DataFrame, task: str) -> float:
    """The best epoch's held-out score in a :func:`fit_deepbind` history with validation data; chance
    (:data:`CHANCE`) when no epoch was scored, because the loss diverged within the first epoch."""
    scores = history["valid_score"].dropna() if "valid_score" in history else pd.Series(dtype=float)
    return float(scores.max()) if len(scores) else CHANCE[task]


def fit_deepbind(model: DeepBind, train, valid=None, *, max_epochs: int, patience: int | None = None,
                 batch_size: int = 64, seed: int = 0, device: str | torch.device = "auto", progress: bool = False,
                 learning_rate: float, momentum: float, conv_weight_decay: float, dense_weight_decay: float
                 ) -> pd.DataFrame:
    """Train ``model`` as DeepBind was trained and return :func:`teachbind.train.fit`'s history: its
    :func:`optimizer` with the calibrated ``learning_rate``, ``momentum`` and weight decays, batches of 64 (the
    paper's), for ``max_epochs`` epochs (the paper trained for a fixed number of steps: ``patience=None``), seeded
    with ``seed``.

    ``train`` and ``valid`` are as in :func:`teachbind.train.fit` (``train`` may be a function of the epoch that
    makes fresh shuffled negatives). The loss is binary cross-entropy on the logits for
    ``task="classification"`` and mean squared error for ``"regression"``. With ``valid``, the held-out score
    (:func:`held_out_score`) is measured each epoch and the best epoch's weights are kept.
    """
    seed_everything(seed)
    return _train(model, train, valid, max_epochs=max_epochs, patience=patience, batch_size=batch_size, seed=seed,
                  device=device, progress=progress, learning_rate=learning_rate, momentum=momentum,
                  conv_weight_decay=conv_weight_decay, dense_weight_decay=dense_weight_decay)


def _train(model, train, valid, *, max_epochs, patience, batch_size, seed, device, progress, **optimiser):
    loss = F.binary_cross_entropy_with_logits if model.task == "classification" else F.mse_loss
    return fit(model, train, valid, loss_fn=loss, optimizer=optimizer(model, **optimiser), max_epochs=max_epochs,
               batch_size=batch_size, patience=patience, metric=lambda y, p: held_out_score(model.task, y, p),
               metric_name="score", device=device, seed=seed, progress=progress)


def fit_candidate(params: dict, train, valid=None, *, max_epochs: int, patience: int | None = None, seed: int = 0,
                  device: str | torch.device = "auto", progress: bool = False, **fixed
                  ) -> tuple[DeepBind, pd.DataFrame]:
    """One step of the calibration: :func:`build` the candidate ``params`` under ``seed`` (``fixed``: the other
    constructor arguments) and train it as :func:`fit_deepbind` does, its dropout continuing the random stream
    that seeded its initial weights (one seeded draw per candidate); returns the model and its history.

    With ``valid``, the model keeps the weights of its best-scoring epoch, and training stops after ``patience``
    epochs without a better score (``None``: it runs all ``max_epochs``)."""
    model, optimiser = build(params, seed=seed, **fixed)
    history = _train(model, train, valid, max_epochs=max_epochs, patience=patience, batch_size=64, seed=seed,
                     device=device, progress=progress, **optimiser)
    return model, history
