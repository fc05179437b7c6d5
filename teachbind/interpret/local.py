"""Single-letter mutants scored by recomputing only what a substitution changes, for :func:`teachbind.interpret.ism`.

A substitution at position ``i`` changes a convolution's output only within its receptive field of ``i``, a
pointwise layer's only there, and a max-pool's only in the windows that cover it. A model whose forward pass is
``head(trunk(x))``, with ``trunk`` a stack of such local layers (Basset's convolution blocks), therefore needs, per
mutant, the trunk recomputed over a window a few receptive fields wide and the head run once on the reference
output with that window written in: the idea of fastISM (Nair et al., *Bioinformatics* 2022), which tangermeme's
``saturation_mutagenesis`` implements by capturing any model with ``torch.export``. Here a model opts in by
defining ``trunk_and_head()`` → ``(trunk, head)``; every other model is scored mutant by mutant in full.

Each stage below holds, for every mutant, the one window of a layer's output where the mutant may differ from the
reference: ``windows`` ``(M, C, W)`` starting at ``starts`` ``(M,)``, the same width ``W`` for all mutants.

Chapter 4 (``nbs/04_basset.ipynb``) uses it, through :func:`teachbind.interpret.ism`, for Basset's mutation maps.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from teachbind.predict import BATCH_SIZE, Target, prepare, select

POINTWISE = (nn.BatchNorm1d, nn.ReLU, nn.Dropout, nn.Identity)


def local_layers(trunk: nn.Module) -> list[nn.Module] | None:
    """The layers of ``trunk`` in order, nested ``nn.Sequential``\\ s opened, or ``None`` when one of them is not a
    layer this module can recompute locally: a stride-1 ``Conv1d`` with zero padding, a non-overlapping
    ``MaxPool1d``, or a pointwise layer (batch norm in evaluation mode, ReLU, dropout, identity)."""
    layers = [m for m in trunk.modules() if not isinstance(m, nn.Sequential)]
    for layer in layers:
        if isinstance(layer, nn.Conv1d):
            padding = layer.padding
            if (layer.stride != (1,) or layer.dilation != (1,) or layer.groups != 1 or isinstance(padding, str)
                    or layer.padding_mode != "zeros"):
                return None
        elif isinstance(layer, nn.MaxPool1d):
            if layer.stride != layer.kernel_size or layer.padding != 0 or layer.dilation != 1:
                return None
        elif not isinstance(layer, POINTWISE):
            return None
    return layers


def window_around(starts: torch.Tensor, width: int, reach: int, extra: int, length: int) -> tuple[int, torch.Tensor]:
    """Width and starts of the output windows that cover every output an input window (``starts``, ``width``)
    can change: outputs from ``starts - reach`` on, ``width + extra`` of them, kept inside ``[0, length)``."""
    out_width = min(width + extra, length)
    return out_width, (starts - reach).clamp(0, length - out_width)


def gather(reference: torch.Tensor, rows: torch.Tensor, starts: torch.Tensor, width: int) -> torch.Tensor:
    """``reference[rows[m], :, starts[m]:starts[m] + width]`` for every mutant ``m``: ``(M, C, width)``."""
    columns = starts[:, None] + torch.arange(width, device=starts.device)
    return reference[rows[:, None], :, columns].permute(0, 2, 1)


def write_in(inputs: torch.Tensor, windows: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """``inputs`` ``(M, C, L)`` with each mutant's window ``(M, C, W)`` written from its offset on; columns that
    fall outside ``[0, L)`` (inputs a floor-mode pool never reads) are left out."""
    columns = offsets[:, None] + torch.arange(windows.shape[-1], device=offsets.device)
    inside = (columns >= 0) & (columns < inputs.shape[-1])
    mutants = torch.arange(len(inputs), device=offsets.device)[:, None].expand_as(columns)
    inputs[mutants[inside], :, columns[inside]] = windows.permute(0, 2, 1)[inside]
    return inputs


def conv_stage(layer: nn.Conv1d, reference_in: torch.Tensor, rows, starts, windows, out_length):
    """A convolution over each mutant's window: ``kernel - 1`` outputs more than the input window, read from the
    reference input (zero-padded as the layer pads it) with the mutant's window written in."""
    kernel, padding = layer.kernel_size[0], layer.padding[0]
    out_width, out_starts = window_around(starts, windows.shape[-1], kernel - 1 - padding, kernel - 1, out_length)
    padded = F.pad(reference_in, (padding, padding))
    inputs = gather(padded, rows, out_starts, out_width + kernel - 1)
    inputs = write_in(inputs, windows, starts + padding - out_starts)
    return out_starts, F.conv1d(inputs, layer.weight, layer.bias)


def pool_stage(layer: nn.MaxPool1d, reference_in: torch.Tensor, rows, starts, windows, out_length):
    """A max-pool over each mutant's window: the pooling windows that overlap it, read from the reference input
    (padded with -inf to whole windows) with the mutant's window written in."""
    k = layer.kernel_size if isinstance(layer.kernel_size, int) else layer.kernel_size[0]
    width = windows.shape[-1]
    out_width = min((width + k - 2) // k + 1, out_length)
    out_starts = torch.div(starts, k, rounding_mode="floor").clamp(0, out_length - out_width)
    padded = F.pad(reference_in, (0, out_length * k - reference_in.shape[-1]), value=-torch.inf)
    inputs = write_in(gather(padded, rows, out_starts * k, out_width * k), windows, starts - out_starts * k)
    return out_starts, F.max_pool1d(inputs, k)


def local_trunk(model: nn.Module) -> tuple[list[nn.Module], Callable[[torch.Tensor], torch.Tensor]] | None:
    """``(layers, head)`` for a model that defines ``trunk_and_head()`` with a trunk of :func:`local_layers`, else
    ``None``."""
    if not hasattr(model, "trunk_and_head"):
        return None
    trunk, head = model.trunk_and_head()
    layers = local_layers(trunk)
    return None if layers is None else (layers, head)


@torch.no_grad()
def predict_mutants(model: nn.Module, x: torch.Tensor, rows: torch.Tensor, bases: torch.Tensor,
                    positions: torch.Tensor, *, target: Target = None, batch_size: int = BATCH_SIZE,
                    device: str | torch.device = "auto") -> torch.Tensor:
    """The outputs ``target`` selects (:func:`teachbind.predict.select`) for the mutants of one-hot ``x``
    ``(N, 4, L)`` in which sequence ``rows[m]`` carries letter ``bases[m]`` at ``positions[m]`` (each ``(M,)``),
    ``batch_size`` mutants at a time: ``(M, ...)`` float32 on the CPU, equal to :func:`teachbind.predict.predict`
    on the mutants up to float rounding. The model must pass :func:`local_trunk`."""
    device = prepare(model, device)
    layers, head = local_trunk(model)
    references = [x.to(device).float()]
    for layer in layers:
        references.append(layer(references[-1]))
    rows, bases, positions = rows.to(device), bases.to(device), positions.to(device)
    outputs = []
    for a in range(0, len(rows), batch_size):
        part = slice(a, a + batch_size)
        features = trunk_output(layers, references, rows[part], bases[part], positions[part])
        outputs.append(select(head(features), target).float().cpu())
    return torch.cat(outputs)


def trunk_output(layers: list[nn.Module], references: list[torch.Tensor], rows: torch.Tensor, bases: torch.Tensor,
                 positions: torch.Tensor) -> torch.Tensor:
    """The trunk's output ``(M, C, L')`` for each mutant, from the reference input and every layer's reference
    output (``references``, ``len(layers) + 1`` tensors): each layer recomputed over the mutant's window only."""
    x = references[0]
    starts, windows = positions, torch.eye(x.shape[1], dtype=x.dtype, device=x.device)[bases][:, :, None]
    for layer, reference_in, reference_out in zip(layers, references, references[1:]):
        if isinstance(layer, nn.Conv1d):
            starts, windows = conv_stage(layer, reference_in, rows, starts, windows, reference_out.shape[-1])
        elif isinstance(layer, nn.MaxPool1d):
            starts, windows = pool_stage(layer, reference_in, rows, starts, windows, reference_out.shape[-1])
        else:
            windows = layer(windows)
    return write_in(references[-1][rows], windows, starts)
