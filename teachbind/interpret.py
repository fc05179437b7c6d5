"""What a trained model learned: in-silico mutagenesis, introduced in Chapter 2 (``nbs/02_deepbind.ipynb``).

Operations share one calling shape, ``op(model, x, *, batch_size, device)``, with one-hot ``x`` of shape
``(N, 4, L)`` and tensors returned on the CPU.
"""

from __future__ import annotations

import pandas as pd
import torch

from teachbind.seq import get_alphabet
from teachbind.train import predict


def ism(model: torch.nn.Module, x: torch.Tensor, *, batch_size: int = 1024, device: str | torch.device = "auto"
        ) -> torch.Tensor:
    """In-silico saturation mutagenesis: the change in the model's output for every single substitution.

    ``x``: one-hot ``(N, 4, L)``; the model maps ``(B, 4, L)`` to ``(B,)``. Returns ``(N, 4, L)``: entry
    ``[n, b, i]`` is ``model(x_n with letter b at position i) - model(x_n)``, so the wild-type letter's entry is 0.
    This is the data of DeepBind's mutation maps (Alipanahi et al. 2015).
    """
    if x.ndim != 3 or x.shape[1] != 4:
        raise ValueError(f"ism expects one-hot sequences of shape (N, 4, L), got {tuple(x.shape)}")
    n, _, length = x.shape
    reference = predict(model, x, batch_size=batch_size, device=device, amp=False)
    effects = torch.empty(n, 4, length)
    letters = torch.eye(4)
    for i in range(n):
        mutants = x[i].repeat(4 * length, 1, 1)
        positions = torch.arange(length).repeat_interleave(4)
        mutants[torch.arange(4 * length), :, positions] = letters.repeat(length, 1)
        scores = predict(model, mutants, batch_size=batch_size, device=device, amp=False)
        effects[i] = scores.view(length, 4).T - reference[i]
    effects[x == 1] = 0.0
    return effects


def substitutions(effects: torch.Tensor, sequence: str, alphabet: str = "DNA") -> pd.DataFrame:
    """One row per single substitution of ``sequence`` with its ``effect`` (one sequence's :func:`ism`,
    ``(4, L)``), most damaging first: ``position`` (1-based), ``reference``, ``alternative``, ``effect``."""
    letters = get_alphabet(alphabet).letters
    rows = [(i + 1, sequence[i], letters[b], float(effects[b, i]))
            for i in range(len(sequence)) for b in range(4) if letters[b] != sequence[i].upper()]
    table = pd.DataFrame(rows, columns=["position", "reference", "alternative", "effect"])
    return table.sort_values("effect", kind="stable").reset_index(drop=True)
