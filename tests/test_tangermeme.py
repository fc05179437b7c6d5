"""The package's hand-built ISM, GIA and dinucleotide shuffle agree with tangermeme's on the same model and inputs
(tangermeme 1.6.0, Schreiber's library for the same operations)."""

import numpy as np
import pytest
import torch

from conftest import random_dna
from teachbind import interpret, seq
from teachbind.interpret import gia
from teachbind.models import Basset, DeepBind

saturation = pytest.importorskip("tangermeme.saturation_mutagenesis")
marginalize = pytest.importorskip("tangermeme.marginalize")
ersatz = pytest.importorskip("tangermeme.ersatz")


class OneColumn(torch.nn.Module):
    """tangermeme reads outputs of shape (N, T): DeepBind's (N,) scores as one column."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)[:, None]


@pytest.fixture
def model_and_inputs(rng):
    torch.manual_seed(0)
    model = DeepBind(4, 8, hidden=0, conv_init_scale=0.3, dense_init_scale=0.3).eval()
    return model, seq.one_hot(random_dna(rng, 20, 40))


def test_ism_equals_tangermemes_saturation_mutagenesis(model_and_inputs):
    model, x = model_and_inputs
    ours = interpret.ism(model, x, device="cpu")
    raw = saturation.saturation_mutagenesis(OneColumn(model), x, raw_outputs=True, device="cpu")
    assert torch.allclose(ours, raw.y_hat[..., 0] - raw.y0[:, 0, None, None], atol=1e-6)
    attributions = saturation.saturation_mutagenesis(OneColumn(model), x, device="cpu")
    centred = (ours - ours.mean(dim=1, keepdim=True)) * x
    assert torch.allclose(attributions, centred, atol=1e-6), "tangermeme centres over letters, keeps the observed"


def test_basset_ism_recomputed_near_each_letter_equals_tangermemes(rng):
    torch.manual_seed(0)
    model = Basset(2, 120, filters=(8, 8, 8), hidden=(16, 16)).eval()
    x = seq.one_hot(random_dna(rng, 4, 120))
    ours = interpret.ism(model, x, device="cpu")
    raw = saturation.saturation_mutagenesis(model, x, raw_outputs=True, device="cpu")
    theirs = (raw.y_hat - raw.y0[:, None, None, :]).permute(0, 3, 1, 2)
    assert torch.allclose(ours, theirs, atol=1e-6)


def test_global_importance_equals_tangermemes_marginalize(model_and_inputs):
    model, x = model_and_inputs
    ours = gia.global_importance(model, x, gia.embedding(("GATTACA", 10)), device="cpu")
    theirs = marginalize.marginalize(OneColumn(model), x, "GATTACA", start=10, device="cpu")
    assert torch.allclose(ours, (theirs.y_after - theirs.y_before)[:, 0], atol=1e-6)


def test_both_dinucleotide_shuffles_keep_every_sequences_dinucleotides(rng):
    seqs = random_dna(rng, 30, 60)
    ours = seq.dinucleotide_shuffle(seqs, seed=0)
    theirs = seq.decode(ersatz.dinucleotide_shuffle(seq.one_hot(seqs), n=1, random_state=0)[:, 0])
    for shuffled in (ours, theirs):
        assert (seq.kmer_counts(shuffled, 2) == seq.kmer_counts(seqs, 2)).all()
        assert [s[0] for s in shuffled] == [s[0] for s in seqs], "an Eulerian shuffle keeps the first letter"
    assert np.mean([a != b for a, b in zip(ours, seqs)]) > 0.9 and np.mean([a != b for a, b in zip(theirs, seqs)]) > 0.9
