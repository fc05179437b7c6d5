"""Basset (Kelley, Snoek & Rinn 2016), introduced in Chapter 4 (``nbs/04_basset.ipynb``).

Basset reads a 600 bp DNA sequence and predicts, for every cell type at once, whether that stretch of DNA is
accessible (a DNase I hypersensitive site) there: three convolution blocks find and combine motifs, two fully
connected layers mix them, and one sigmoid output per cell type gives the probability of accessibility.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from teachbind.seq import check_one_hot, random_shifts, random_strands
from teachbind.train import fit, seed_everything

PADDINGS = ("same", "valid")


def conv_block(in_channels: int, filters: int, width: int, pool: int, padding: str) -> nn.Sequential:
    """Convolution → batch norm → ReLU → max-pool, Basset's unit of depth: ``(N, C, L)`` → ``(N, filters, L')``.

    ``padding="same"`` pads ``width // 2`` positions of zeros on each side and pools in ceil mode (the released
    Torch code: ``L' = ceil(L / pool)``); ``"valid"`` does neither (the paper's figure:
    ``L' = floor((L - width + 1) / pool)``).
    """
    same = padding == "same"
    return nn.Sequential(
        nn.Conv1d(in_channels, filters, width, padding=width // 2 if same else 0),
        nn.BatchNorm1d(filters),
        nn.ReLU(),
        nn.MaxPool1d(pool, ceil_mode=same),
    )


def dense_block(in_features: int, units: int, dropout: float) -> nn.Sequential:
    """Linear → batch norm → ReLU → dropout: ``(N, in_features)`` → ``(N, units)``."""
    return nn.Sequential(nn.Linear(in_features, units), nn.BatchNorm1d(units), nn.ReLU(), nn.Dropout(dropout))


class Basset(nn.Module):
    """Basset: one-hot ``(N, 4, length)`` → ``(N, n_tasks)`` logits, one per cell type.

    Apply a sigmoid for the probability that the sequence is accessible in each cell type, and train with
    ``BCEWithLogitsLoss`` (binary cross-entropy, one term per cell type). The input may be any numeric dtype
    (``int8`` one-hot saves memory four times over float32); it is cast to float inside.

    Arguments are the paper's hyperparameters with its values as defaults:

    - ``filters``, ``widths``, ``pools``: the three convolution blocks (300 × 19, 200 × 11, 200 × 7; pooling 3,
      4, 4), each convolution → batch norm → ReLU → max-pool (:func:`conv_block`).
    - ``hidden``: the fully connected layers (two of 1000 units), each linear → batch norm → ReLU → dropout
      ``dropout`` (0.3) (:func:`dense_block`).
    - ``padding``: ``"same"`` as in the released code (length kept by each convolution, ceil-mode pooling: 2600
      features enter the first dense layer at 600 bp) or ``"valid"`` as drawn in the paper (2000 features).
    - ``max_norm``: the released code rescales, after every update, each filter's and each unit's incoming weight
      vector to an L2 norm of at most 7 (:meth:`apply_max_norm`; :func:`optimizer` arranges it). ``None`` turns it off.
    """

    def __init__(self, n_tasks: int = 164, length: int = 600, *, filters: tuple[int, ...] = (300, 200, 200),
                 widths: tuple[int, ...] = (19, 11, 7), pools: tuple[int, ...] = (3, 4, 4),
                 hidden: tuple[int, ...] = (1000, 1000), dropout: float = 0.3, padding: str = "same",
                 max_norm: float | None = 7.0):
        super().__init__()
        if padding not in PADDINGS:
            raise ValueError(f"padding must be one of {PADDINGS}, got {padding!r}")
        if not len(filters) == len(widths) == len(pools):
            raise ValueError("filters, widths and pools need one entry per convolution block")
        self.n_tasks, self.length, self.padding, self.max_norm = n_tasks, length, padding, max_norm
        channels = (4, *filters)
        self.conv = nn.Sequential(*[conv_block(channels[i], filters[i], widths[i], pools[i], padding)
                                    for i in range(len(filters))])
        self.flattened = self.conv_output_length() * filters[-1]
        if self.flattened <= 0:
            raise ValueError(f"sequences of {length} bp are too short for these {padding} convolutions")
        units = (self.flattened, *hidden)
        self.dense = nn.Sequential(*[dense_block(units[i], units[i + 1], dropout) for i in range(len(hidden))])
        self.output = nn.Linear(units[-1], n_tasks)

    @property
    def first_layer(self) -> nn.Conv1d:
        """The first convolution, whose filters are read as motifs."""
        return self.conv[0][0]

    def conv_output_length(self) -> int:
        """Positions left after the convolution blocks for an input of ``self.length`` bp."""
        length = self.length
        for block in self.conv:
            conv, pool = block[0], block[3]
            length = length + 2 * conv.padding[0] - conv.kernel_size[0] + 1
            length = -(-length // pool.kernel_size) if pool.ceil_mode else length // pool.kernel_size
        return length

    def first_layer_activations(self, x: torch.Tensor) -> torch.Tensor:
        """The first block's filter outputs after batch norm and ReLU, before pooling: ``(N, 4, L)`` →
        ``(N, filters[0], L')`` with ``L' = L`` for ``"same"`` padding and ``L - width + 1`` for ``"valid"``."""
        return self.conv[0][:3](x.float())

    def filter_scan(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """What the first-layer filters read and what they answer, for
        :func:`teachbind.interpret.filter_motifs`: ``x`` with the convolution's zero padding, and
        :meth:`first_layer_activations`."""
        half = self.first_layer.padding[0]
        return F.pad(x.float(), (half, half)), self.first_layer_activations(x)

    def head(self, features: torch.Tensor) -> torch.Tensor:
        """The fully connected layers and the output: the convolution blocks' ``(N, filters[-1], L')`` →
        ``(N, n_tasks)``."""
        return self.output(self.dense(features.flatten(1)))

    def trunk_and_head(self) -> tuple[nn.Sequential, Callable[[torch.Tensor], torch.Tensor]]:
        """``(self.conv, self.head)``: the forward pass is ``head(conv(x))``, and the convolution blocks change
        only near a substituted letter, which :func:`teachbind.interpret.ism` uses to recompute only that."""
        return self.conv, self.head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_one_hot(x, "Basset", length=self.length)
        return self.head(self.conv(x.float()))

    @torch.no_grad()
    def apply_max_norm(self) -> None:
        """Rescale each convolution filter and each dense unit whose incoming weights have an L2 norm above
        ``max_norm`` down to ``max_norm``; the others are left alone."""
        if self.max_norm is None:
            return
        for module in self.modules():
            if isinstance(module, (nn.Conv1d, nn.Linear)):
                w = module.weight.view(module.weight.shape[0], -1)
                w.mul_((self.max_norm / w.norm(dim=1, keepdim=True).clamp(min=self.max_norm)))


def optimizer(model: Basset, *, learning_rate: float = 0.002, decay: float = 0.98) -> torch.optim.RMSprop:
    """Basset's optimiser: RMSprop with learning rate 0.002 and squared-gradient decay 0.98 (PyTorch's ``alpha``),
    with the model's max-norm constraint applied after every step."""
    optimizer = torch.optim.RMSprop(model.parameters(), lr=learning_rate, alpha=decay)
    optimizer.register_step_post_hook(lambda *_: model.apply_max_norm())
    return optimizer


def loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy averaged over sequences and cell types: ``(N, T)`` logits and 0/1 targets."""
    return F.binary_cross_entropy_with_logits(logits, targets.float())


def augment(x: torch.Tensor, *, seed: int, max_shift: int = 10) -> torch.Tensor:
    """Each one-hot sequence of ``x`` ``(N, 4, L)`` read from a random strand (:func:`teachbind.seq.random_strands`)
    and shifted by a random 0 to ``max_shift`` positions either way (:func:`teachbind.seq.random_shifts`), as
    Basenji augmented its training data (Kelley 2018); Chapter 4 adds it to Basset."""
    return random_shifts(random_strands(x, seed=seed), max_shift, seed=seed)


def fit_basset(model: Basset, train: tuple[torch.Tensor, torch.Tensor], valid=None, *, max_epochs: int = 100,
               patience: int | None = 10, batch_size: int = 128, seed: int = 0, device: str | torch.device = "auto",
               progress: bool = False, learning_rate: float = 0.002, augmented: bool = False) -> pd.DataFrame:
    """Train ``model`` as Basset was trained and return :func:`teachbind.train.fit`'s history: :func:`loss`,
    :func:`optimizer` (RMSprop, learning rate 0.002), batches of 128, stopping after ``patience`` (10) epochs
    without a lower validation loss and keeping the best epoch's weights (the paper set no cap on epochs;
    ``max_epochs`` is one), seeded with ``seed``. ``train`` and ``valid`` are ``(x (N, 4, L), y (N, T))``. With
    ``augmented``, every epoch reads the training sequences afresh through :func:`augment` (seed ``seed + epoch``),
    which the paper did not do.
    """
    seed_everything(seed)
    x, y = train
    data = (lambda epoch: (augment(x, seed=seed + epoch), y)) if augmented else (x, y)
    return fit(model, data, valid, loss_fn=loss, optimizer=optimizer(model, learning_rate=learning_rate),
               max_epochs=max_epochs, batch_size=batch_size, patience=patience, device=device, seed=seed,
               progress=progress)
