"""Chapter 7's attributions, seqlets and TF-MoDISco wrapper, on known answers: a linear model whose attributions are
exact, planted sites, planted motifs in the attributions."""

import numpy as np
import pytest
import torch

from conftest import random_dna
from teachbind import data, motifs, seq
from teachbind.interpret import attribution, modisco
from teachbind.models import Basset


class Linear(torch.nn.Module):
    """f(x) = sum of w * x: every attribution method that adds up to f(x) - f(r) must give w * (x - r)."""

    def __init__(self, length, seed):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(4, length, generator=torch.Generator().manual_seed(seed)))

    def forward(self, x):
        return (x * self.weight).sum(dim=(1, 2))[:, None]


def small_basset(length=40):
    return Basset(2, length, filters=(6, 6, 6), widths=(5, 3, 3), pools=(2, 2, 2), hidden=(8,), dropout=0.0).eval()


def test_integrated_gradients_of_a_linear_model_are_weight_times_difference_in_one_step(rng):
    x = seq.one_hot(random_dna(rng, 5, 30))
    model, references = Linear(30, 0), attribution.shuffled_references(x, 3, seed=0)
    ig = attribution.integrated_gradients(model, x, references=references, steps=1, device="cpu")
    expected = (model.weight.detach() * (x[:, None] - references)).mean(dim=1)
    assert torch.allclose(ig, expected, atol=1e-5)


def test_integrated_gradients_add_up_to_the_difference_in_output_as_steps_grow(rng):
    x = seq.one_hot(random_dna(rng, 6, 40))
    model, references = small_basset(), attribution.shuffled_references(x, 2, seed=0)
    target = 1
    difference = model(x)[:, target] - model(references.flatten(0, 1)).view(6, 2, 2)[..., target].mean(dim=1)
    gaps = [float((attribution.integrated_gradients(model, x, references=references, steps=steps, target=target,
                                                    device="cpu").sum((1, 2)) - difference).abs().max())
            for steps in (1, 200)]
    assert gaps[1] < 0.05 * difference.abs().max().item() + 1e-4 and gaps[1] < gaps[0]


def test_shuffled_references_keep_each_sequences_dinucleotides(rng):
    x = seq.one_hot(random_dna(rng, 5, 40))
    references = attribution.shuffled_references(x, 3, seed=1)
    assert references.shape == (5, 3, 4, 40)
    for k in range(3):
        assert (seq.kmer_counts(seq.decode(references[:, k]), 2) == seq.kmer_counts(seq.decode(x), 2)).all()
    assert not torch.equal(references[:, 0], references[:, 1])


def test_integrated_gradients_refuse_references_of_the_wrong_shape(rng):
    x = seq.one_hot(random_dna(rng, 3, 20))
    with pytest.raises(ValueError, match=r"\(N, R, 4, L\)"):
        attribution.integrated_gradients(Linear(20, 0), x, references=x, device="cpu")


def test_deep_lift_shap_is_exact_on_a_linear_model_and_adds_up_on_basset(rng):
    x = seq.one_hot(random_dna(rng, 4, 40))
    linear = Linear(40, 1)
    hypothetical = attribution.deep_lift_shap(linear, x, n_shuffles=5, hypothetical=True, device="cpu")
    observed = attribution.deep_lift_shap(linear, x, n_shuffles=5, device="cpu")
    assert torch.allclose(observed, hypothetical * x, atol=1e-5)
    model, references = small_basset(), attribution.shuffled_references(x, 8, seed=0)
    deeplift = attribution.deep_lift_shap(model, x, target=lambda y: y[:, 0] - y[:, 1], references=references,
                                          device="cpu")
    with torch.no_grad():
        outputs = model(references.flatten(0, 1).float()).view(4, 8, 2)
        difference = (model(x)[:, 0] - model(x)[:, 1]) - (outputs[..., 0] - outputs[..., 1]).mean(dim=1)
    assert torch.allclose(deeplift.sum(dim=(1, 2)), difference, atol=1e-3), "summation to delta"


def test_the_gradient_correction_removes_what_no_change_of_letters_can_feel(rng):
    gradients = torch.from_numpy(rng.normal(size=(3, 4, 10))).float()
    corrected = attribution.gradient_correction(gradients)
    assert torch.allclose(corrected.sum(dim=1), torch.zeros(3, 10), atol=1e-6)
    shifted = gradients + torch.from_numpy(rng.normal(size=(3, 1, 10))).float()
    assert torch.allclose(attribution.gradient_correction(shifted), corrected, atol=1e-6)
    step = torch.from_numpy(rng.normal(size=(3, 4, 10))).float()
    step -= step.mean(dim=1, keepdim=True)
    assert torch.allclose((gradients * step).sum(), (corrected * step).sum(), atol=1e-4)


def test_site_recovery_of_a_perfect_and_an_inverted_map():
    mask = np.zeros((2, 10), dtype=bool)
    mask[0, 2:5] = mask[1, 6:9] = True
    assert attribution.site_recovery(mask.astype(float), mask) == {"auroc": 1.0, "aupr": 1.0, "planted": 0.3}
    assert attribution.site_recovery(-mask.astype(float), mask)["auroc"] == 0.0
    with pytest.raises(ValueError, match="same shape"):
        attribution.site_recovery(np.zeros((2, 9)), mask)


def test_site_masks_cover_exactly_the_planted_letters():
    motif = motifs.Motif("M", "M", motifs.pwm_from_iupac("TTGACGTCAA"))
    planted = data.plant_motif(motif, 40, length=50, both_strands=False, seed=1)
    mask = planted.site_mask()
    assert mask.sum() == 10 * int(planted.labels.sum())
    for row in np.flatnonzero(planted.labels):
        assert "".join(np.array(list(planted.seqs[row]))[mask[row]]) == "TTGACGTCAA"
    other = motifs.Motif("N", "N", motifs.pwm_from_iupac("GGGCCC"))
    compendium = data.simulate_compendium(motif, [other], [motifs.Motif("P", "P", motifs.pwm_from_iupac("ACACAC"))],
                                          60, length=80, seed=2)
    widths = {"M": 10, "N": 6, "P": 6}
    assert compendium.site_mask().sum() == sum(widths[m] for m in compendium.sites["motif"])


def test_recursive_seqlets_find_a_planted_stretch_of_high_attribution(rng):
    scores = torch.from_numpy(rng.normal(scale=0.1, size=(50, 100))).float()
    scores[::2, 40:48] += 2.0
    seqlets = attribution.recursive_seqlets(scores, threshold=0.01)
    found = {(int(r.example_idx)) for r in seqlets.itertuples() if r.start <= 44 < r.end}
    assert found >= set(range(0, 50, 2)) and len(found) <= 27


def test_modisco_finds_a_motif_planted_in_the_hypothetical_attributions(rng):
    consensus = "GATTACAGGC"
    n, length = 300, 160
    x = seq.one_hot(random_dna(rng, n, length))
    hypothetical = torch.from_numpy(rng.normal(scale=0.1, size=(n, 4, length))).float()
    site = seq.one_hot(consensus)
    for row in range(n):
        start = int(rng.integers(50, 100))
        x[row, :, start:start + 10] = site
        hypothetical[row, :, start:start + 10] += site * rng.uniform(0.5, 1.5)
    patterns = modisco.modisco_patterns(x, hypothetical, min_seqlets=50, leiden_runs=1)
    assert len(patterns) >= 1, "no pattern found"
    best = motifs.trim(patterns[0].motif)
    assert best.consensus in (consensus, seq.reverse_complement(consensus)), best.consensus
    assert patterns[0].motif.sites >= 0.8 * n and patterns[0].cwm.shape == patterns[0].motif.probs.shape
