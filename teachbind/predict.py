"""Running a trained model: the one :func:`predict` every operation on a model is built on, introduced in
Chapter 2 (``nbs/02_training.ipynb``).

Every operation on a model (prediction, :mod:`teachbind.interpret`'s attributions, :mod:`teachbind.interpret.gia`'s
experiments, motif scanning) has the calling shape ``op(model, x, *, target=None, batch_size=BATCH_SIZE,
device="auto", ...)``: ``x`` one-hot ``(N, 4, L)``, ``target`` choosing which output to read (:func:`select`),
``batch_size`` sequences per forward pass, ``device`` where the model runs (:func:`pick_device`), results returned
as float32 tensors on the CPU.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable

import torch

from teachbind.seq import reverse_complement

BATCH_SIZE = 1024
"""Sequences per forward pass, the default of every operation on a model."""

Target = int | Callable[[torch.Tensor], torch.Tensor] | None
"""Which output of a model an operation reads: ``None`` (all of them), a task index ``t`` (column ``t`` of an
``(N, T)`` output) or a function of the outputs, such as ``lambda y: y[:, 0] - y[:, 1]``."""


def pick_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` picks CUDA, then Apple's MPS, then the CPU; any other value is passed to ``torch.device``."""
    if str(device) != "auto":
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3


@functools.cache
def retain_freed_memory() -> bool:
    """Ask the C library's allocator (glibc's malloc) to keep freed memory for reuse rather than return it to the
    operating system; once per process. Returns whether it took effect (glibc only: Linux; elsewhere nothing
    changes).

    A training step on the CPU allocates and frees activation buffers of tens of MB (Basset: 20 MB for the first
    layer's output at batch 128). By default glibc returns such blocks to the kernel when they are freed, and the
    next step faults them in again, page by page (``scripts/benchmark_basset.py`` measures the difference, in two
    fresh processes). :func:`predict` and :func:`teachbind.train.fit` call this on the CPU.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    return bool(libc.mallopt(M_TRIM_THRESHOLD, 2**31 - 1)) and bool(libc.mallopt(M_MMAP_THRESHOLD, 2**30))


def prepare(model: torch.nn.Module, device: str | torch.device) -> torch.device:
    """Move ``model`` to the :func:`pick_device` choice for ``device`` in evaluation mode; returns that device."""
    device = pick_device(device)
    if device.type == "cpu":
        retain_freed_memory()
    model.to(device).eval()
    return device


def autocast(device: torch.device, amp: bool):
    """bfloat16 mixed precision on CUDA when ``amp``; full precision everywhere else."""
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp and device.type == "cuda")


def select(outputs: torch.Tensor, target: Target) -> torch.Tensor:
    """The outputs ``target`` reads (see :data:`Target`): ``outputs`` ``(B, ...)`` itself for ``None``, column
    ``target`` ``(B, ...)`` of an ``(B, T, ...)`` output for an index, ``target(outputs)`` for a function."""
    if target is None:
        return outputs
    if callable(target):
        return target(outputs)
    if outputs.ndim < 2 or not -outputs.shape[1] <= target < outputs.shape[1]:
        raise IndexError(f"target={target} selects an output, but the model returns shape {tuple(outputs.shape)}")
    return outputs[:, target]


@torch.no_grad()
def predict(model: torch.nn.Module, x, *, target: Target = None, batch_size: int = BATCH_SIZE,
            device: str | torch.device = "auto", amp: bool = True) -> torch.Tensor:
    """Model outputs for inputs ``x`` ``(N, ...)`` (a tensor, or anything sliced like one, such as iDeep's
    :class:`~teachbind.models.ideep.Modalities`), in evaluation mode, ``batch_size`` at a time: ``(N, ...)`` float32 on
    the CPU, the outputs ``target`` selects (:func:`select`). ``amp`` runs CUDA in bfloat16 (:func:`autocast`)."""
    device = prepare(model, device)
    outputs = []
    for a in range(0, len(x), batch_size):
        with autocast(device, amp):
            outputs.append(select(model(x[a:a + batch_size].to(device)), target).float().cpu())
    return torch.cat(outputs)


def predict_both_strands(model: torch.nn.Module, x: torch.Tensor, *, target: Target = None,
                         batch_size: int = BATCH_SIZE, device: str | torch.device = "auto", amp: bool = True
                         ) -> torch.Tensor:
    """The mean of :func:`predict` on one-hot DNA ``x`` ``(N, 4, L)`` and on its reverse complement: a model that
    read one strand at a time scores both strands of each sequence. Introduced in Chapter 4."""
    options = dict(target=target, batch_size=batch_size, device=device, amp=amp)
    return (predict(model, x, **options) + predict(model, reverse_complement(x), **options)) / 2
