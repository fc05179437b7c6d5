"""iDeep (Pan & Shen 2017), introduced in Chapter 5 (``nbs/05_ideep.ipynb``): one sub-network per data modality,
fused by concatenation.

The sequence goes through a convolutional network (DeepBind's idea, Chapter 3); every other modality through a
dense network of two hidden layers, which the paper calls a deep belief network because its layers can be
pretrained as a stack of RBMs (:mod:`teachbind.models.rbm`). The released code (Keras 1) builds the dense layers as
``Dense → PReLU → BatchNorm → Dropout(0.5)`` and never pretrains them; :func:`pretrain` does what the paper
describes, and ``activation="sigmoid"`` gives the dense layers the RBM's own hidden units.
"""

from __future__ import annotations

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from teachbind.models.rbm import pretrain_dbn
from teachbind.predict import pick_device
from teachbind.seq import check_one_hot
from teachbind.train import fit, seed_everything

MODALITIES = ("sequence", "region", "cobinding", "structure", "motif")
"""iDeep's five inputs: the sequence, its genomic region type, the other RBPs' CLIP peaks (co-binding), its
secondary structure and its matches to known motifs."""

HIDDEN_UNITS = {"region": 256, "cobinding": 768, "structure": 128, "motif": 128}
"""Hidden units of each dense sub-network (iDeep's released code)."""
REAL_VALUED = ("structure", "motif")
"""Modalities with real values: standardized, and pretrained with a Gaussian-visible RBM."""
ACTIVATIONS = ("prelu", "sigmoid")


class Modalities:
    """Named tensors that share their first dimension, the windows: ``x["region"]`` is one modality,
    ``x[rows]`` (an index, slice or index tensor) the same windows of every modality, ``len(x)`` their number and
    ``x.to(device)`` a copy on ``device``. This is the input :class:`IDeep` reads
    (:func:`teachbind.data.clip.as_modalities` builds it); it passes through :func:`teachbind.train.fit` and
    :func:`teachbind.predict.predict` like a tensor."""

    def __init__(self, **tensors: torch.Tensor):
        sizes = {name: len(t) for name, t in tensors.items()}
        if len(set(sizes.values())) > 1:
            raise ValueError(f"modalities describe different numbers of windows: {sizes}")
        self.tensors = tensors

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.tensors)

    def __len__(self) -> int:
        return len(next(iter(self.tensors.values())))

    def __getitem__(self, rows):
        if isinstance(rows, str):
            return self.tensors[rows]
        return Modalities(**{name: t[rows] for name, t in self.tensors.items()})

    def to(self, device) -> Modalities:
        return Modalities(**{name: t.to(device) for name, t in self.tensors.items()})

    def select(self, *names: str) -> Modalities:
        """The named modalities only."""
        missing = [n for n in names if n not in self.tensors]
        if missing:
            raise KeyError(f"no modality {missing[0]!r}; these inputs hold {', '.join(self.tensors)}")
        return Modalities(**{name: self.tensors[name] for name in names})

    def __repr__(self) -> str:
        shapes = ", ".join(f"{name}={tuple(t.shape)}" for name, t in self.tensors.items())
        return f"Modalities({shapes})"


class SequenceCNN(nn.Module):
    """iDeep's sequence network: ``(N, 4, L)`` one-hot → ``(N, filters)`` features.

    The sequence is padded with ``padding`` positions of "any base" (0.25 each) on both sides (3 in the released
    code, so 101 nt become 107), scanned by ``filters`` filters of width ``width`` (102 and 7 in the
    released code; the paper's text says 10), rectified, max-pooled in windows of ``pool``, dropped out with
    ``dropout``, and mapped by a dense ReLU layer of ``filters`` units followed by dropout ``dense_dropout``.
    """

    def __init__(self, length: int = 101, *, filters: int = 102, width: int = 7, padding: int = 3,
                 pool: int = 3, dropout: float = 0.5, dense_dropout: float = 0.25):
        super().__init__()
        self.length, self.padding, self.width = length, padding, width
        self.conv = nn.Conv1d(4, filters, width)
        self.pool_size = pool
        pooled = (length + 2 * padding - width + 1) // pool
        self.dense = nn.Sequential(nn.Dropout(dropout), nn.Flatten(), nn.Linear(filters * pooled, filters),
                                   nn.ReLU(), nn.Dropout(dense_dropout))
        self.out_features = filters

    def pad(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 4, L)`` → ``(N, 4, L + 2 * padding)`` with 0.25 in every channel of the added positions."""
        return F.pad(x, (self.padding, self.padding), value=0.25)

    def activations(self, x: torch.Tensor) -> torch.Tensor:
        """The rectified filter scans ``(N, filters, L + 2 * padding - width + 1)``, position ``p``
        covering padded positions ``p .. p + width - 1``: what motif mining reads."""
        return F.relu(self.conv(self.pad(x)))

    def filter_scan(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """What the filters read and what they answer, for :func:`teachbind.interpret.filter_motifs`:
        ``(self.pad(x), self.activations(x))``."""
        return self.pad(x), self.activations(x)

    def pool(self, a: torch.Tensor) -> torch.Tensor:
        """Max over non-overlapping windows of ``pool`` positions, a trailing partial window dropped
        (``nn.MaxPool1d(pool)``, computed as a reshape, which is several times faster on the CPU)."""
        n, channels, length = a.shape
        windows = length // self.pool_size
        return a[..., :windows * self.pool_size].reshape(n, channels, windows, self.pool_size).amax(dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_one_hot(x, "iDeep's sequence network", length=self.length)
        return self.dense(self.pool(self.activations(x)))


class DenseNet(nn.Module):
    """A dense sub-network for one non-sequence modality: ``(N, ...)`` → ``(N, hidden)``.

    The input is flattened and, for real-valued modalities (``standardize=True``), centred and scaled with
    the training set's per-feature mean and standard deviation (:meth:`set_scaling`). Then ``layers`` blocks of
    ``Linear(hidden) → activation → BatchNorm → Dropout(dropout)``; ``activation`` is ``"prelu"`` (the released
    code) or ``"sigmoid"`` (the hidden units of the RBMs that pretrain it).
    """

    def __init__(self, in_features: int, hidden: int, *, layers: int = 2, dropout: float = 0.5,
                 activation: str = "prelu", standardize: bool = False):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        self.in_features, self.standardize = in_features, standardize
        self.register_buffer("mean", torch.zeros(in_features))
        self.register_buffer("scale", torch.ones(in_features))
        self.linears = nn.ModuleList(nn.Linear(in_features if i == 0 else hidden, hidden) for i in range(layers))
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.PReLU() if activation == "prelu" else nn.Sigmoid(), nn.BatchNorm1d(hidden),
                          nn.Dropout(dropout))
            for _ in range(layers))
        self.out_features = hidden

    def set_scaling(self, x: torch.Tensor) -> None:
        """Standardize with the mean and standard deviation of the training inputs ``x`` ``(N, ...)``."""
        flat = x.flatten(1).float()
        self.mean.copy_(flat.mean(dim=0))
        self.scale.copy_(flat.std(dim=0).clamp(min=1e-3))

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """The flattened, possibly standardized input ``(N, in_features)`` that the first layer (and its RBM) sees."""
        flat = x.flatten(1).float()
        return (flat - self.mean) / self.scale if self.standardize else flat

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1:].numel() != self.in_features:
            raise ValueError(f"this dense network reads {self.in_features} features a window, "
                             f"got {tuple(x.shape[1:])}")
        h = self.prepare(x)
        for linear, block in zip(self.linears, self.blocks):
            h = block(linear(h))
        return h


def keras_init(module: nn.Module) -> None:
    """Initialise a convolution or dense layer as Keras (the released code's library) does: Glorot-uniform
    weights, zero biases. PyTorch's default draws smaller dense weights, and the sequence network then learns
    more slowly."""
    if isinstance(module, (nn.Linear, nn.Conv1d)):
        nn.init.xavier_uniform_(module.weight)
        nn.init.zeros_(module.bias)


def input_features(name: str, length: int = 101) -> int:
    """Flattened size of a modality's input: region 5 x 101, co-binding 30 x 101, structure 101, motif 102."""
    sizes = {"region": 5 * length, "cobinding": 30 * length, "structure": length, "motif": 102}
    try:
        return sizes[name]
    except KeyError:
        raise KeyError(f"unknown modality {name!r}; iDeep's dense ones are {', '.join(sizes)}") from None


class IDeep(nn.Module):
    """iDeep: :class:`Modalities` → ``(N,)`` logits of binding.

    ``modalities`` picks which inputs the model reads (all five by default; one alone gives the paper's
    single-modality networks). Each gets its sub-network (:class:`SequenceCNN` for ``"sequence"``,
    :class:`DenseNet` with :data:`HIDDEN_UNITS` for the others); their outputs are concatenated, dropped out with
    ``fusion_dropout`` (0.5) and mapped to one logit. The released code ends in a 2-way softmax; one logit with
    a sigmoid is the same model (the softmax depends only on the difference of its two logits).

    ``in_features`` gives the flattened input size of a dense modality whose shape is not the benchmark's
    (:func:`input_features`), e.g. ``{"cobinding": 12 * 101}`` for twelve other experiments;
    :meth:`for_inputs` reads them, and the window length, from the data.
    """

    def __init__(self, modalities: tuple[str, ...] = MODALITIES, *,
                 length: int = 101, hidden_units: dict[str, int] | None = None, activation: str = "prelu",
                 fusion_dropout: float = 0.5, in_features: dict[str, int] | None = None, **sequence_options):
        super().__init__()
        if not modalities:
            raise ValueError("iDeep needs at least one modality")
        units = {**HIDDEN_UNITS, **(hidden_units or {})}
        self.modalities = tuple(modalities)
        self.subnets = nn.ModuleDict()
        for name in self.modalities:
            if name == "sequence":
                self.subnets[name] = SequenceCNN(length, **sequence_options)
            else:
                size = (in_features or {}).get(name) or input_features(name, length)
                self.subnets[name] = DenseNet(size, units[name], activation=activation,
                                              standardize=name in REAL_VALUED)
        fused = sum(net.out_features for net in self.subnets.values())
        self.fusion = nn.Sequential(nn.Dropout(fusion_dropout), nn.Linear(fused, 1))
        self.apply(keras_init)

    @classmethod
    def for_inputs(cls, x: Modalities, modalities: tuple[str, ...] | None = None, **options) -> IDeep:
        """An iDeep shaped for the inputs ``x`` (window length, size of each dense modality), reading
        ``modalities`` (default: every one ``x`` holds, in :data:`MODALITIES` order)."""
        modalities = modalities or tuple(name for name in MODALITIES if name in x.names)
        length = x["sequence"].shape[-1] if "sequence" in x.names else 101
        sizes = {name: x[name][0].numel() for name in modalities if name != "sequence"}
        return cls(modalities, length=length, in_features=sizes, **options)

    def features(self, x: Modalities) -> torch.Tensor:
        """The fused representation ``(N, sum of sub-network outputs)``, sub-networks in ``modalities`` order."""
        return torch.cat([net(x[name]) for name, net in self.subnets.items()], dim=1)

    def forward(self, x: Modalities) -> torch.Tensor:
        if not isinstance(x, Modalities):
            raise TypeError(f"iDeep reads Modalities (teachbind.data.clip.as_modalities), got {type(x).__name__}")
        x.select(*self.modalities)
        return self.fusion(self.features(x)).squeeze(1)

    def filter_scan(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The sequence network's :meth:`SequenceCNN.filter_scan` of one-hot sequences ``x`` ``(N, 4, L)``: iDeep's
        motif mining reads its filters with :func:`teachbind.interpret.filter_motifs` (``windows="all"``, as the
        released code's ``get_motif``)."""
        if "sequence" not in self.subnets:
            raise ValueError(f"this iDeep reads {', '.join(self.modalities)}, not the sequence: it has no filters")
        return self.subnets["sequence"].filter_scan(x)

    def set_scaling(self, x: Modalities) -> None:
        """Standardize the real-valued modalities with the training inputs ``x``."""
        for name, net in self.subnets.items():
            if isinstance(net, DenseNet) and net.standardize:
                net.set_scaling(x[name])


def pretrain(model: IDeep, x: Modalities, *, epochs: int = 5, batch_size: int = 100, seed: int = 0,
             device: str | torch.device = "auto") -> pd.DataFrame:
    """Pretrain every dense sub-network of ``model`` as a deep belief network on the training inputs ``x``
    (labels are not used): a Bernoulli RBM for 0/1 modalities (region, co-binding) or a Gaussian one for the
    standardized real-valued ones (structure, motif), then a Bernoulli RBM on its hidden units
    (:func:`teachbind.models.rbm.pretrain_dbn`). Returns the RBMs' histories with ``modality``, ``layer``,
    ``epoch`` and ``reconstruction_error``."""
    device = pick_device(device)
    model.set_scaling(x)
    histories = []
    for name, net in model.subnets.items():
        if not isinstance(net, DenseNet):
            continue
        with torch.no_grad():
            v = net.prepare(x[name].to(net.mean.device)).cpu()
        visible = "gaussian" if net.standardize else "bernoulli"
        history = pretrain_dbn(list(net.linears), v, visible_type=visible, epochs=epochs, batch_size=batch_size,
                               seed=seed, device=device)
        histories.append(history.assign(modality=name))
    if not histories:
        return pd.DataFrame(columns=["modality", "layer", "epoch", "reconstruction_error"])
    return pd.concat(histories, ignore_index=True)[["modality", "layer", "epoch", "reconstruction_error"]]


def optimizer(model: nn.Module, *, learning_rate: float = 0.001) -> torch.optim.RMSprop:
    """Keras's RMSprop as iDeep used it: learning rate 0.001, ``rho`` 0.9, epsilon 1e-7."""
    return torch.optim.RMSprop(model.parameters(), lr=learning_rate, alpha=0.9, eps=1e-7)


def fit_ideep(model: nn.Module, train: tuple[Modalities, torch.Tensor],
              valid: tuple[Modalities, torch.Tensor] | None = None, *, max_epochs: int = 20, patience: int | None = 5,
              batch_size: int = 100, seed: int = 0, device: str | torch.device = "auto", progress: bool = False,
              learning_rate: float = 0.001) -> pd.DataFrame:
    """Train a model of :class:`Modalities` as the paper trained iDeep: binary cross-entropy, RMSprop, batches of
    100, at most 20 epochs, stopping when the validation loss has not improved for ``patience`` epochs and keeping
    the best epoch's weights. An :class:`IDeep` first standardizes its real-valued modalities with the training
    inputs. Returns :func:`teachbind.train.fit`'s history."""
    seed_everything(seed)
    x, y = train
    if isinstance(model, IDeep):
        model.set_scaling(x)
    valid = None if valid is None else (valid[0], valid[1].float())
    return fit(model, (x, y.float()), valid, loss_fn=F.binary_cross_entropy_with_logits,
               optimizer=optimizer(model, learning_rate=learning_rate), max_epochs=max_epochs, batch_size=batch_size,
               patience=patience, device=device, amp=False, seed=seed, progress=progress)
