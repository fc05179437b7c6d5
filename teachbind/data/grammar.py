"""A planted binding grammar: RNA sequences scored by an explicit rule, so that every effect Global Importance
Analysis estimates has a true value to be checked against (Chapter 6).

The rule is a :class:`torch.nn.Module` like any trained model, so the true effect of an intervention is measured
with the same code as the model's estimate: :func:`teachbind.interpret.gia.global_importance` run on the rule.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from teachbind import seq


class Grammar(nn.Module):
    """One-hot RNA ``(N, 4, L)`` → binding score ``(N, 1)`` from an explicit rule:

    - ``copy_effects[n]`` for ``n`` copies of ``motif`` (the last value for more copies): additive at first, then
      saturating;
    - ``spacing_bonus`` when two copies are ``spacing`` nt apart (end of one to start of the next);
    - ``loop_bonus`` when a copy sits in the loop of a hairpin: the ``stem`` nt that end ``loop_pad`` nt before it
      pair (Watson-Crick) with the ``stem`` nt that start ``loop_pad`` nt after it;
    - ``-gc_penalty * (GC fraction - 0.5)``, a preference for AU-rich sequences.
    """

    def __init__(self, motif: str = "UGCAUG", *, copy_effects: tuple[float, ...] = (0.0, 1.0, 1.6, 1.9),
                 spacing: int = 4, spacing_bonus: float = 0.6, stem: int = 6, loop_pad: int = 2,
                 loop_bonus: float = 0.8, gc_penalty: float = 1.5):
        super().__init__()
        self.motif, self.copy_effects = motif, copy_effects
        self.spacing, self.spacing_bonus = spacing, spacing_bonus
        self.stem, self.loop_pad, self.loop_bonus, self.gc_penalty = stem, loop_pad, loop_bonus, gc_penalty
        self.register_buffer("detector", seq.one_hot(motif, alphabet="RNA")[None])

    def hits(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, L - k + 1)`` booleans: a copy of the motif starts at this position."""
        return nn.functional.conv1d(x.float(), self.detector)[:, 0] > len(self.motif) - 0.5

    def copies(self, x: torch.Tensor) -> torch.Tensor:
        """``(N,)`` number of motif copies (overlapping ones included)."""
        return self.hits(x).sum(1)

    def spaced(self, x: torch.Tensor) -> torch.Tensor:
        """``(N,)`` booleans: some two copies are exactly ``spacing`` nt apart."""
        hits, offset = self.hits(x), len(self.motif) + self.spacing
        return (hits[:, :-offset] & hits[:, offset:]).any(1) if offset < hits.shape[1] else hits[:, 0] & False

    def in_loop(self, x: torch.Tensor) -> torch.Tensor:
        """``(N,)`` booleans: some copy is closed by a hairpin stem."""
        k, s, pad = len(self.motif), self.stem, self.loop_pad
        hits, windows = self.hits(x), x.float().unfold(2, s, 1)
        looped = torch.zeros(len(x), dtype=torch.bool, device=x.device)
        for p in range(s + pad, hits.shape[1] - pad - s):
            left, right = windows[:, :, p - pad - s], windows[:, :, p + k + pad]
            paired = (left == right.flip(1, 2)).all(2).all(1) & (left.sum((1, 2)) == s)
            looped |= hits[:, p] & paired
        return looped

    def gc(self, x: torch.Tensor) -> torch.Tensor:
        """``(N,)`` GC fraction of the letters present."""
        return x[:, 1:3].float().sum((1, 2)) / x.float().sum((1, 2)).clamp(min=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        effects = torch.tensor(self.copy_effects, device=x.device)
        score = (effects[self.copies(x).clamp(max=len(effects) - 1)]
                 + self.spacing_bonus * self.spaced(x) + self.loop_bonus * self.in_loop(x)
                 - self.gc_penalty * (self.gc(x) - 0.5))
        return score[:, None]

    def hairpin(self, stem: str, loop: str) -> str:
        """``stem + loop + reverse complement of stem``: a hairpin whose stem pairs under :meth:`in_loop`'s rule."""
        return stem + loop + seq.reverse_complement(stem, alphabet="RNA")

    def simulate(self, n: int, length: int = 41, *, noise: float = 0.2, seed: int = 0
                 ) -> tuple[list[str], torch.Tensor, torch.Tensor]:
        """``n`` training sequences of ``length`` nt, their one-hot ``(n, 4, length)`` and scores ``(n, 1)``: the
        rule plus Gaussian noise of SD ``noise``. Each background has its own GC fraction (0.25-0.75); 0-3 copies
        are placed at random, some pairs at the preferred spacing, some copies inside a hairpin's loop and some
        in a hairpin's stem (which earns no loop bonus), so that every term of the rule is seen in training."""
        rng = np.random.default_rng(seed)
        seqs = [self._one(rng, length) for _ in range(n)]
        x = seq.one_hot(seqs, alphabet="RNA")
        y = self(x) + noise * torch.from_numpy(rng.standard_normal((n, 1))).float()
        return seqs, x, y

    def _one(self, rng: np.random.Generator, length: int) -> str:
        gc = rng.uniform(0.25, 0.75)
        letters = list(rng.choice(list("ACGU"), size=length, p=[(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2]))
        k = len(self.motif)
        pieces = [self.motif] * int(rng.choice(4, p=[0.3, 0.3, 0.25, 0.15]))
        context = rng.random()
        if len(pieces) >= 2 and context < 0.3:
            pieces = [self.motif + _random(rng, self.spacing) + self.motif] + pieces[2:]
        elif pieces and context < 0.55:
            pad = _random(rng, self.loop_pad)
            pieces[0] = self.hairpin(_random(rng, self.stem), pad + self.motif + _random(rng, self.loop_pad))
        elif pieces and context < 0.7:
            pieces[0] = self.hairpin(self.motif, _random(rng, k + 2 * self.loop_pad))
        start = 0
        for i, piece in enumerate(pieces):
            room = length - len(piece) - start - sum(len(p) + 1 for p in pieces[i + 1:])
            if room < 0:
                break
            at = start + int(rng.integers(0, room + 1))
            letters[at:at + len(piece)] = piece
            start = at + len(piece) + 1
        return "".join(letters)


def _random(rng: np.random.Generator, n: int) -> str:
    return "".join(rng.choice(list("ACGU"), size=n))
