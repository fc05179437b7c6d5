"""ResidualBind (Koo et al. 2021), the model of Chapter 6 (ResidualBind and Global Importance Analysis).

ResidualBind regresses an RNAcompete probe's binding intensity from its sequence: a first convolution finds motif
fragments, a residual block of dilated convolutions lets every position see the whole 41-nt probe, average pooling
and one dense layer turn that into one number. The layer sizes are those of the released code
(``p-koo/residualbind``, ``residualbind.py``), which the paper's RNAcompete 2013 results come from.
"""

from __future__ import annotations

import pandas as pd
import torch
from torch import nn

from teachbind import metrics
from teachbind.seq import check_one_hot
from teachbind.train import fit, seed_everything


def conv_bn(channels_in: int, channels_out: int, width: int, dilation: int = 1) -> list[nn.Module]:
    """A length-keeping convolution without bias (batch norm follows and has its own), then batch norm."""
    return [nn.Conv1d(channels_in, channels_out, width, padding=dilation * (width // 2), dilation=dilation,
                      bias=False),
            nn.BatchNorm1d(channels_out)]


class DilatedResidualBlock(nn.Module):
    """``(N, C, L)`` → ``(N, C, L)``: ``relu(x + F(x))``, where ``F`` is a convolution of width ``width`` → batch
    norm, then, for each dilation ``d`` in ``dilations``, ReLU → dropout → convolution of width ``width`` dilated by
    ``d`` → batch norm. A dilated convolution of width 3 and dilation ``d`` reads positions ``p - d``, ``p`` and
    ``p + d``, so each layer widens the receptive field by ``2d`` at the cost of an undilated one."""

    def __init__(self, channels: int, width: int = 3, dilations: tuple[int, ...] = (2, 4, 8), dropout: float = 0.1):
        super().__init__()
        layers = conv_bn(channels, channels, width)
        for d in dilations:
            layers += [nn.ReLU(), nn.Dropout(dropout), *conv_bn(channels, channels, width, d)]
        self.residual = nn.Sequential(*layers)
        self.width, self.dilations = width, dilations

    def receptive_field_growth(self) -> int:
        """Positions the block adds to the receptive field of what it reads: ``(width - 1) * (1 + sum(dilations))``."""
        return (self.width - 1) * (1 + sum(self.dilations))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.residual(x))


class ResidualBind(nn.Module):
    """ResidualBind: one-hot RNA ``(N, channels, length)`` → ``(N, n_tasks)`` predicted binding (linear: train
    with MSE).

    RNAcompete probes of 30 to 41 nt are zero-padded centrally to 41 (``length``). ``channels=6`` is the paper's
    "with structure" variant: the one-hot sequence followed by the probabilities that each position is paired and
    unpaired (:func:`teachbind.structure.paired_unpaired`). Arguments are the released code's hyperparameters
    with its values as defaults:

    - ``filters``, ``width``: the first convolution (96 filters of width 11, no bias) → batch norm → ReLU →
      dropout ``conv_dropout`` (0.1);
    - ``block_width``, ``dilations``: the :class:`DilatedResidualBlock` (width 3; a first undilated convolution,
      then dilations 2, 4, 8), with the same dropout;
    - ``pool``: average pooling over windows of 10 positions (41 → 4), then dropout ``pool_dropout`` (0.2);
    - ``hidden``: a dense layer of 256 units without bias → batch norm → ReLU → dropout ``dense_dropout`` (0.5);
    - a linear output, ``n_tasks`` values (one per RNA-binding protein).
    """

    def __init__(self, n_tasks: int = 1, length: int = 41, *, channels: int = 4, filters: int = 96,
                 width: int = 11, block_width: int = 3, dilations: tuple[int, ...] = (2, 4, 8), pool: int = 10,
                 hidden: int = 256, conv_dropout: float = 0.1, pool_dropout: float = 0.2, dense_dropout: float = 0.5):
        super().__init__()
        if length < pool:
            raise ValueError(f"sequences of {length} nt are shorter than the pooling window ({pool})")
        self.n_tasks, self.length, self.channels = n_tasks, length, channels
        self.first = nn.Sequential(*conv_bn(channels, filters, width), nn.ReLU(), nn.Dropout(conv_dropout))
        self.block = DilatedResidualBlock(filters, block_width, dilations, conv_dropout)
        self.pool = nn.Sequential(nn.AvgPool1d(pool), nn.Dropout(pool_dropout))
        self.flattened = filters * (length // pool)
        self.dense = nn.Sequential(nn.Linear(self.flattened, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(),
                                   nn.Dropout(dense_dropout))
        self.output = nn.Linear(hidden, n_tasks)

    def receptive_field(self) -> int:
        """Input positions that one output position of the residual block depends on (41 with the defaults: the
        whole probe)."""
        return self.first[0].kernel_size[0] + self.block.receptive_field_growth()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_one_hot(x, "ResidualBind", channels=self.channels, length=self.length)
        features = self.pool(self.block(self.first(x.float())))
        return self.output(self.dense(features.flatten(1)))


def optimizer(model: ResidualBind, *, learning_rate: float = 1e-3) -> torch.optim.Adam:
    """ResidualBind's optimiser: Adam with learning rate 1e-3, as in the released code."""
    return torch.optim.Adam(model.parameters(), lr=learning_rate)


def fit_residualbind(model: ResidualBind, train: tuple[torch.Tensor, torch.Tensor],
                     valid: tuple[torch.Tensor, torch.Tensor] | None = None, *, max_epochs: int = 300,
                     patience: int | None = 20, batch_size: int = 100, seed: int = 0,
                     device: str | torch.device = "auto", progress: bool = False, learning_rate: float = 1e-3,
                     decay: float = 0.3, decay_patience: int = 7) -> pd.DataFrame:
    """Train ``model`` as the released code did and return :func:`teachbind.train.fit`'s history: mean squared
    error, :func:`optimizer` (Adam, ``learning_rate`` 1e-3), batches of 100, the weights of the epoch with the best
    validation Pearson r kept, the learning rate multiplied by ``decay`` (0.3) after ``decay_patience`` (7) epochs
    without improvement, and a stop after ``patience`` (20) such epochs. ``train`` and ``valid`` are
    ``(x (N, 4, L), y (N, T))``."""
    seed_everything(seed)
    adam = optimizer(model, learning_rate=learning_rate)
    schedule = torch.optim.lr_scheduler.ReduceLROnPlateau(adam, mode="max", factor=decay, patience=decay_patience - 1)
    return fit(model, train, valid, loss_fn=nn.functional.mse_loss, optimizer=adam, max_epochs=max_epochs,
               batch_size=batch_size, patience=patience, metric=metrics.pearson, metric_name="pearson",
               device=device, amp=False, seed=seed, lr_schedule=schedule, progress=progress)
