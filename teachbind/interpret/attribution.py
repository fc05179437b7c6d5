"""Attribution maps against a reference, and how well a map finds planted sites: introduced in Chapter 7
(``nbs/07_attribution.ipynb``), beside the saliency and ISM of :mod:`teachbind.interpret`.

A map gives every letter of a sequence ``x`` ``(N, 4, L)`` a share of the model's output. The gradient
(:func:`teachbind.interpret.saliency`) is a share at one point; integrated gradients (:func:`integrated_gradients`)
and DeepLIFT/SHAP (:func:`deep_lift_shap`) share out the difference between the output for ``x`` and for a
reference sequence, here a dinucleotide shuffle of ``x`` (the same letters and letter pairs, with no site left in
place). Operations have the calling shape of :mod:`teachbind.predict`: ``op(model, x, *, target, batch_size,
device)``.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import nn

from teachbind import metrics
from teachbind.predict import BATCH_SIZE, Target, prepare, select
from teachbind.seq import check_one_hot, decode, dinucleotide_shuffle, one_hot


def gradient_correction(gradients: torch.Tensor) -> torch.Tensor:
    """Gradients ``(..., 4, L)`` of a model of one-hot input with their mean over the four letters taken away at
    each position (Majdandzic et al. 2023). A one-hot input never leaves the simplex where the letters sum to
    one, so the component of the gradient along ``(1, 1, 1, 1)`` is noise the model was never trained on."""
    return gradients - gradients.mean(dim=-2, keepdim=True)


def observed(attributions: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The attribution of the letter present at each position: ``(N, 4, L)`` and one-hot ``x`` → ``(N, L)``."""
    return (attributions * x.to(attributions.dtype)).sum(dim=-2)


def shuffled_references(x: torch.Tensor, n: int, *, seed: int) -> torch.Tensor:
    """``n`` dinucleotide shuffles of each one-hot DNA sequence of ``x`` ``(N, 4, L)``, the ``k``-th drawn with seed
    ``seed + k`` (:func:`teachbind.seq.dinucleotide_shuffle`): references ``(N, n, 4, L)`` for
    :func:`integrated_gradients` and :func:`deep_lift_shap`."""
    check_one_hot(x, "shuffled_references")
    sequences = decode(x)
    return torch.stack([one_hot(dinucleotide_shuffle(sequences, seed=seed + k)) for k in range(n)], dim=1)


def integrated_gradients(model: nn.Module, x: torch.Tensor, *, references: torch.Tensor, steps: int = 20,
                         target: Target = None, batch_size: int = BATCH_SIZE,
                         device: str | torch.device = "auto") -> torch.Tensor:
    """Integrated gradients (Sundararajan et al. 2017) of the output ``target`` selects (summed when it is more
    than one number a sequence): ``(x - r)`` times the mean gradient along the straight path from each reference
    ``r`` to ``x``, at the ``steps`` midpoints ``r + (k + 1/2)(x - r) / steps``, averaged over the references.

    ``x``: one-hot ``(N, 4, L)``; ``references``: ``(N, R, 4, L)``, ``R`` references per sequence (for example
    ``teachbind.seq.dinucleotide_shuffle`` of each). Returns ``(N, 4, L)``. Summed over letters and positions it
    approaches ``f(x)`` minus the mean of ``f(r)`` as ``steps`` grows (completeness).
    """
    check_one_hot(x, "integrated_gradients")
    if references.ndim != 4 or references.shape[0] != len(x) or references.shape[2:] != x.shape[1:]:
        raise ValueError(f"references must have shape (N, R, 4, L) = ({len(x)}, R, {x.shape[1]}, {x.shape[2]}), "
                         f"got {tuple(references.shape)}")
    device = prepare(model, device)
    n, r = references.shape[:2]
    alphas = (torch.arange(steps, dtype=torch.float32) + 0.5) / steps
    starts = references.reshape(n * r, *x.shape[1:]).float()
    ends = x.float().repeat_interleave(r, dim=0)
    per_pass = max(1, batch_size // steps)
    totals = []
    for a in range(0, n * r, per_pass):
        start, end = starts[a:a + per_pass].to(device), ends[a:a + per_pass].to(device)
        path = (start[None] + alphas.to(device)[:, None, None, None] * (end - start)[None]).flatten(0, 1)
        path.requires_grad_(True)
        gradient = torch.autograd.grad(select(model(path), target).sum(), path)[0]
        totals.append(((end - start) * gradient.view(steps, *start.shape).mean(dim=0)).cpu())
    return torch.cat(totals).view(n, r, *x.shape[1:]).mean(dim=1)


class SelectedOutput(nn.Module):
    """``model`` reduced to the one number per sequence that ``target`` selects (:data:`teachbind.predict.Target`,
    summed when it selects more), as an ``(N, 1)`` output: the shape tangermeme's operations index with their own
    ``target=0``."""

    def __init__(self, model: nn.Module, target: Target):
        super().__init__()
        self.model, self.target = model, target

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return select(self.model(x), self.target).reshape(len(x), -1).sum(dim=1, keepdim=True)


def deep_lift_shap(model: nn.Module, x: torch.Tensor, *, target: Target = None, references: torch.Tensor | None = None,
                   n_shuffles: int = 20, hypothetical: bool = False, seed: int = 0, batch_size: int = 128,
                   device: str | torch.device = "auto") -> torch.Tensor:
    """DeepLIFT's rescale rule (Shrikumar et al. 2017) averaged over references (DeepSHAP, Lundberg and Lee 2017),
    by tangermeme's ``deep_lift_shap``, for the output ``target`` selects (summed when it is more than one number a
    sequence). The references are ``references`` ``(N, R, 4, L)`` when given, else ``n_shuffles`` dinucleotide
    shuffles of each sequence drawn with ``seed``.

    ``x``: one-hot ``(N, 4, L)``. Returns ``(N, 4, L)``: the attribution of the letter present (zero elsewhere),
    or with ``hypothetical`` the attribution each letter would have had in its place (what TF-MoDISco reads).
    tangermeme warns when the attributions of a sequence do not add up to ``f(x) - f(reference)``, which happens
    when the model uses an operation its rules do not cover (a functional ``relu`` or ``max`` rather than a module).
    """
    from tangermeme.deep_lift_shap import deep_lift_shap as _deep_lift_shap

    check_one_hot(x, "deep_lift_shap")
    device = prepare(model, device)
    selected = SelectedOutput(model, target).eval()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have a deterministic implementation")
        options = dict(n_shuffles=n_shuffles, random_state=seed) if references is None else dict(
            references=references.float())
        attributions = _deep_lift_shap(selected, x.float(), target=0, hypothetical=hypothetical,
                                       batch_size=batch_size, device=device, **options)
    return attributions.float().cpu()


def recursive_seqlets(scores: torch.Tensor, *, threshold: float = 0.01, min_length: int = 4, max_length: int = 25):
    """Seqlets, the stretches of high attribution, by tangermeme's ``recursive_seqlets`` on per-position scores
    ``(N, L)`` (:func:`observed`): a span of ``min_length`` to ``max_length`` positions is kept when its summed
    score, and that of every span inside it, has a p-value below ``threshold`` among all spans of its length.
    Returns tangermeme's table, one row per seqlet: ``example_idx``, ``start``, ``end`` (exclusive),
    ``attribution``, ``p-value``.

    tangermeme compiles this caller with numba at its first call in every process (about 10 s); here its kernels
    are compiled into numba's on-disk cache, so later processes load them."""
    from numba.core.registry import CPUDispatcher
    from tangermeme import seqlet

    for kernel in vars(seqlet).values():
        if isinstance(kernel, CPUDispatcher):
            kernel.enable_caching()
    return seqlet.recursive_seqlets(scores.float(), threshold=threshold, min_seqlet_len=min_length,
                                    max_seqlet_len=max_length)


def site_recovery(scores, mask) -> dict[str, float]:
    """How well per-position ``scores`` ``(N, L)`` (higher: more important) pick out the positions of planted
    sites, ``mask`` ``(N, L)`` boolean, over all positions pooled: ``{"auroc", "aupr", "planted"}``, the last the
    fraction of positions inside a site (the AUPR of a map that knows nothing)."""
    scores, mask = np.asarray(scores, dtype=np.float64), np.asarray(mask, dtype=bool)
    if scores.shape != mask.shape:
        raise ValueError(f"scores {scores.shape} and mask {mask.shape} must have the same shape")
    return {"auroc": metrics.auroc(mask.ravel(), scores.ravel()), "aupr": metrics.aupr(mask.ravel(), scores.ravel()),
            "planted": float(mask.mean())}
