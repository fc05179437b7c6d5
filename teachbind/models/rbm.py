"""Restricted Boltzmann machines and their stack, the deep belief network, introduced in Chapter 5
(``nbs/05_ideep.ipynb``) to pretrain iDeep's dense sub-networks as Pan & Shen (2017) describe.

An RBM has visible units ``v`` and binary hidden units ``h`` with energy
``E(v, h) = -b·v - c·h - hᵀWv`` (Bernoulli visible units, for 0/1 inputs) or
``E(v, h) = ½‖v - b‖² - c·h - hᵀWv`` (Gaussian visible units of unit variance, for standardized real inputs;
Hinton 2012, "A practical guide to training RBMs"). Given ``v`` the hidden units are independent with
``p(h_j = 1 | v) = σ(c_j + W_j·v)``, the same computation as a dense layer with a sigmoid. Contrastive divergence
(CD-k, Hinton 2002) follows the log-likelihood gradient approximately: ``ΔW ∝ ⟨h vᵀ⟩_data - ⟨h vᵀ⟩_k``, the second
term measured after ``k`` steps of Gibbs sampling started at the data.
"""

from __future__ import annotations

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from teachbind.predict import pick_device

VISIBLE = ("bernoulli", "gaussian")


class RBM(nn.Module):
    """An RBM with ``visible`` units of type ``visible_type`` (``"bernoulli"`` or ``"gaussian"``) and ``hidden``
    binary units. ``weight``: ``(hidden, visible)``, laid out like ``nn.Linear(visible, hidden).weight`` so that
    a trained RBM initialises that layer; ``visible_bias`` ``(visible,)``, ``hidden_bias`` ``(hidden,)``."""

    def __init__(self, visible: int, hidden: int, visible_type: str = "bernoulli", *, init_scale: float = 0.01,
                 seed: int = 0):
        super().__init__()
        if visible_type not in VISIBLE:
            raise ValueError(f"visible_type must be one of {VISIBLE}, got {visible_type!r}")
        self.visible_type = visible_type
        generator = torch.Generator().manual_seed(seed)
        self.weight = nn.Parameter(torch.randn(hidden, visible, generator=generator) * init_scale,
                                   requires_grad=False)
        self.visible_bias = nn.Parameter(torch.zeros(visible), requires_grad=False)
        self.hidden_bias = nn.Parameter(torch.zeros(hidden), requires_grad=False)

    def hidden_probabilities(self, v: torch.Tensor) -> torch.Tensor:
        """``p(h = 1 | v)``: ``(N, visible)`` → ``(N, hidden)``."""
        return torch.sigmoid(F.linear(v, self.weight, self.hidden_bias))

    def visible_mean(self, h: torch.Tensor) -> torch.Tensor:
        """``E[v | h]``: ``(N, hidden)`` → ``(N, visible)``; a probability for Bernoulli units, the Gaussian's
        mean for Gaussian ones."""
        mean = h @ self.weight + self.visible_bias
        return torch.sigmoid(mean) if self.visible_type == "bernoulli" else mean

    def free_energy(self, v: torch.Tensor) -> torch.Tensor:
        """``F(v) = -log Σ_h exp(-E(v, h))`` per row, ``(N,)``: lower for inputs the model finds likely."""
        hidden_term = F.softplus(F.linear(v, self.weight, self.hidden_bias)).sum(dim=1)
        if self.visible_type == "bernoulli":
            return -(v @ self.visible_bias) - hidden_term
        return 0.5 * ((v - self.visible_bias) ** 2).sum(dim=1) - hidden_term

    def gradient(self, v: torch.Tensor, *, k: int = 1, generator: torch.Generator | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """CD-k estimates of the log-likelihood gradient on a batch ``v`` ``(N, visible)``: ``(dW, db, dc,
        v_k)``, with ``dW`` ``(hidden, visible)`` = ``(p(h|v)ᵀ v - p(h|v_k)ᵀ v_k) / N``, the bias terms
        likewise, and ``v_k`` the reconstruction after ``k`` Gibbs steps (hidden units sampled, visible units
        set to their mean, as Hinton's guide recommends)."""
        positive = self.hidden_probabilities(v)
        hidden = positive
        v_k = v
        for _ in range(k):
            sample = torch.bernoulli(hidden, generator=generator)
            v_k = self.visible_mean(sample)
            hidden = self.hidden_probabilities(v_k)
        n = len(v)
        d_weight = (positive.T @ v - hidden.T @ v_k) / n
        return d_weight, (v - v_k).mean(dim=0), (positive - hidden).mean(dim=0), v_k


def train_rbm(rbm: RBM, v: torch.Tensor, *, epochs: int = 5, batch_size: int = 100, learning_rate: float | None = None,
              momentum: float = 0.5, weight_decay: float = 2e-4, k: int = 1, seed: int = 0,
              device: str | torch.device = "auto") -> pd.DataFrame:
    """Train ``rbm`` in place on ``v`` ``(N, visible)`` by CD-k with momentum and L2 weight decay, ``epochs``
    passes in random order. ``learning_rate`` defaults to 0.05 for Bernoulli and 0.005 for Gaussian visible
    units (which need a smaller one; Hinton 2012). Returns one row per epoch: ``epoch`` and
    ``reconstruction_error``, the mean squared difference between ``v`` and its one-step reconstruction (a
    rough progress signal: CD does not minimise it)."""
    if v.ndim != 2 or v.shape[1] != rbm.weight.shape[1]:
        raise ValueError(f"the RBM has {rbm.weight.shape[1]} visible units; got inputs of shape {tuple(v.shape)}")
    if learning_rate is None:
        learning_rate = 0.05 if rbm.visible_type == "bernoulli" else 0.005
    device = pick_device(device)
    rbm.to(device)
    v = v.to(device).float()
    generator = torch.Generator(device=v.device).manual_seed(seed)
    order_generator = torch.Generator().manual_seed(seed)
    velocity = [torch.zeros_like(p) for p in (rbm.weight, rbm.visible_bias, rbm.hidden_bias)]
    rows = []
    for epoch in range(1, epochs + 1):
        error = 0.0
        for batch in torch.randperm(len(v), generator=order_generator).split(batch_size):
            batch = v[batch.to(v.device)]
            d_weight, d_visible, d_hidden, reconstruction = rbm.gradient(batch, k=k, generator=generator)
            grads = (d_weight - weight_decay * rbm.weight, d_visible, d_hidden)
            for param, vel, grad in zip((rbm.weight, rbm.visible_bias, rbm.hidden_bias), velocity, grads):
                vel.mul_(momentum).add_(grad, alpha=learning_rate)
                param.data.add_(vel)
            error += float(((batch - reconstruction) ** 2).sum())
        rows.append({"epoch": epoch, "reconstruction_error": error / v.numel()})
    return pd.DataFrame(rows)


def pretrain_dbn(layers: list[nn.Linear], v: torch.Tensor, *, visible_type: str = "bernoulli", epochs: int = 5,
                 batch_size: int = 100, seed: int = 0, device: str | torch.device = "auto") -> pd.DataFrame:
    """Greedy layer-wise pretraining of a deep belief network (Hinton, Osindero & Teh 2006): an RBM for the
    first layer on the inputs ``v`` ``(N, in_features)`` (visible units of ``visible_type``), then a Bernoulli
    RBM for each next layer on the hidden probabilities of the one below. Each trained RBM's weights and hidden
    biases are copied into its ``nn.Linear`` layer. Returns the RBMs' histories, with a ``layer`` column."""
    histories = []
    with torch.no_grad():
        for i, layer in enumerate(layers):
            rbm = RBM(layer.in_features, layer.out_features, visible_type if i == 0 else "bernoulli",
                      seed=seed + i)
            history = train_rbm(rbm, v, epochs=epochs, batch_size=batch_size, seed=seed + i, device=device)
            histories.append(history.assign(layer=i + 1))
            layer.weight.copy_(rbm.weight.to(layer.weight.device))
            layer.bias.copy_(rbm.hidden_bias.to(layer.bias.device))
            v = rbm.hidden_probabilities(v.to(rbm.weight.device).float())
    return pd.concat(histories, ignore_index=True)[["layer", "epoch", "reconstruction_error"]]


def exact_log_likelihood(rbm: RBM, v: torch.Tensor) -> float:
    """Mean log-likelihood of binary rows ``v`` ``(N, visible)`` under a small Bernoulli RBM, by summing the
    partition function over every visible configuration (``2**visible`` of them; keep ``visible`` ≤ 16). For
    checking that CD training improves the model, which is otherwise intractable to measure."""
    if rbm.visible_type != "bernoulli":
        raise ValueError("the exact likelihood is implemented for Bernoulli visible units only")
    n_visible = rbm.weight.shape[1]
    if n_visible > 16:
        raise ValueError(f"{n_visible} visible units: 2**{n_visible} configurations is too many to enumerate")
    codes = torch.arange(2 ** n_visible)
    every = ((codes[:, None] >> torch.arange(n_visible)) & 1).float()
    with torch.no_grad():
        log_z = torch.logsumexp(-rbm.free_energy(every.to(rbm.weight.device)), dim=0)
        return float((-rbm.free_energy(v.float().to(rbm.weight.device)) - log_z).mean())


__all__ = ["RBM", "VISIBLE", "exact_log_likelihood", "pretrain_dbn", "train_rbm"]
