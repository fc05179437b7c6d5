import numpy as np
import pytest
import torch
from torch import nn

from conftest import random_dna
from teachbind import interpret, motifs, plot, seq
from teachbind.interpret.local import local_trunk
from teachbind.models import Basset
from teachbind.predict import predict


class CountG(nn.Module):
    """A model with a known mutation map: its output is the number of Gs."""

    def forward(self, x):
        return x[:, 2].sum(dim=-1)


def test_ism_of_a_letter_counter_is_known():
    x = seq.one_hot(["ACGTG"])
    effects = interpret.ism(CountG(), x, device="cpu")[0]
    expected = torch.tensor([[0, 0, -1, 0, -1], [0, 0, -1, 0, -1], [1, 1, 0, 1, 0], [0, 0, -1, 0, -1]],
                            dtype=torch.float32)
    assert torch.equal(effects, expected)


def test_ism_is_zero_at_the_reference_letters_and_matches_direct_mutation(rng):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv1d(4, 3, 5), nn.ReLU(), nn.Flatten(), nn.LazyLinear(1), nn.Flatten(0))
    sequence = "".join(rng.choice(list("ACGT"), 20))
    x = seq.one_hot([sequence])
    model(x)
    effects = interpret.ism(model, x, batch_size=7, device="cpu")[0]
    assert torch.all(effects[x[0] == 1] == 0)
    mutant = sequence[:6] + ("A" if sequence[6] != "A" else "C") + sequence[7:]
    with torch.no_grad():
        direct = model(seq.one_hot([mutant])) - model(x)
    assert torch.isclose(effects["ACGT".index(mutant[6]), 6], direct[0], atol=1e-5)


def every_mutant_in_full(model, x):
    """ISM the slow way: each single-letter mutant built and run through the whole model."""
    rows, bases, positions = torch.nonzero(x != 1, as_tuple=True)
    mutants = x[rows].clone()
    mutants[torch.arange(len(rows)), :, positions] = torch.eye(4)[bases]
    reference = predict(model, x, device="cpu", amp=False)
    effects = torch.zeros(len(x), *reference.shape[1:], 4, x.shape[-1])
    effects[rows, ..., bases, positions] = predict(model, mutants, device="cpu", amp=False) - reference[rows]
    return effects


def with_random_batch_norm_statistics(model):
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm1d):
                module.running_mean.normal_()
                module.running_var.uniform_(0.5, 2.0)
    return model.eval()


@pytest.mark.parametrize("options, length", [
    ({}, 600),
    ({"padding": "valid"}, 301),
    ({"widths": (6, 4, 3), "pools": (2, 3, 5)}, 97),
    ({"widths": (5, 4, 3), "pools": (4, 3, 2), "padding": "valid"}, 103),
])
def test_ism_recomputing_only_near_each_letter_equals_running_every_mutant(rng, options, length):
    torch.manual_seed(0)
    model = with_random_batch_norm_statistics(Basset(3, length, filters=(8, 8, 8), hidden=(16, 16), **options))
    assert local_trunk(model) is not None
    x = seq.one_hot(random_dna(rng, 3, length))
    fast = interpret.ism(model, x, batch_size=500, device="cpu")
    slow = every_mutant_in_full(model, x)
    assert fast.shape == (3, 3, 4, length)
    assert slow.abs().max() > 1e-4, "substitutions change the outputs by far more than float rounding"
    assert torch.allclose(fast, slow, atol=1e-6), "edges, even widths and floor-mode pools included"


def test_a_trunk_with_a_layer_that_cannot_be_recomputed_locally_is_run_in_full(rng):
    class Strided(nn.Module):
        def __init__(self, trunk):
            super().__init__()
            self.trunk, self.output = trunk, nn.LazyLinear(2)

        def trunk_and_head(self):
            return self.trunk, lambda features: self.output(features.flatten(1))

        def forward(self, x):
            return self.output(self.trunk(x).flatten(1))

    torch.manual_seed(0)
    for trunk in (nn.Sequential(nn.Conv1d(4, 3, 5, stride=2), nn.ReLU()),
                  nn.Sequential(nn.Conv1d(4, 3, 5, dilation=2)), nn.Sequential(nn.Conv1d(4, 3, 5), nn.AvgPool1d(2))):
        model = Strided(trunk)
        x = seq.one_hot(random_dna(rng, 2, 30))
        model(x)
        assert local_trunk(model) is None
        assert torch.allclose(interpret.ism(model, x, device="cpu"), every_mutant_in_full(model, x), atol=1e-6)


def test_substitutions_table_lists_every_change_most_damaging_first():
    x = seq.one_hot(["ACGTG"])
    effects = interpret.ism(CountG(), x, device="cpu")[0]
    table = interpret.substitutions(effects, "ACGTG")
    assert len(table) == 15 and list(table.columns) == ["position", "reference", "alternative", "effect"]
    assert set(table.head(6).position) == {3, 5} and (table.head(6).effect == -1).all()
    assert (table.tail(3).alternative == "G").all()


def test_mutation_map_importance_is_the_worst_substitution():
    effects = np.array([[0, -2, 0.5], [1, 0, 0], [0.3, -0.5, 0], [0, 0, -0.1]])
    assert np.allclose(plot.importance(effects), [0, 2, 0.1])
    figure = plot.mutation_map(effects, "ACG", title="t")
    assert len(figure.axes) == 3


def test_filter_motifs_align_the_highest_activation_windows():
    x = seq.one_hot(["AAAACGTAAA", "TTCGTTTTTT", "GGGGGGGGGG"])
    activations = torch.zeros(3, 2, 8)
    activations[0, 0, 4] = 5.0   # CGT at 4
    activations[1, 0, 2] = 4.0   # CGT at 2
    activations[2, 0, 0] = 1.0   # below half of the maximum: left out
    found = motifs.motifs_from_activations(x, activations, 3, pseudocount=0.0)
    assert found[0].sites == 2 and found[0].consensus == "CGT" and np.allclose(found[0].probs.max(axis=0), 1)
    assert found[1].sites == 0 and np.allclose(found[1].probs, 0.25)
    assert [m.id for m in found] == ["filter0", "filter1"]


def planted_sequences(motif, n=40, length=50, seed=0):
    rng = np.random.default_rng(seed)
    seqs = ["".join(rng.choice(list("ACGT"), length)) for _ in range(n)]
    return [s[:10 + i % 20] + motif + s[10 + i % 20 + len(motif):] for i, s in enumerate(seqs)]


def test_filter_motifs_reads_the_planted_filter_of_every_model():
    from teachbind.models import Basset, DeepBind, IDeep

    pwm = motifs.pwm_from_iupac("GCACGTGC")
    x = seq.one_hot(planted_sequences("GCACGTGC"))
    detector = torch.as_tensor(motifs.log_odds(pwm), dtype=torch.float32)
    deepbind = DeepBind(filters=2, width=8)
    basset = Basset(1, 50, filters=(2, 2, 2), widths=(8, 3, 3), pools=(2, 2, 2), hidden=(4,))
    ideep = IDeep(("sequence",), length=50, filters=2, width=8)
    with torch.no_grad():
        deepbind.motifs.zero_()
        deepbind.motifs[0] = detector
        deepbind.thresholds.fill_(5.0)
        basset.first_layer.weight.zero_()
        basset.first_layer.weight[0] = detector
        basset.first_layer.bias.fill_(-5.0)
        ideep.subnets["sequence"].conv.weight.zero_()
        ideep.subnets["sequence"].conv.weight[0] = detector
        ideep.subnets["sequence"].conv.bias.fill_(-5.0)
    found = {}
    for model, options in ((deepbind, {}), (basset, {"windows": "all"}), (ideep, {"windows": "all"})):
        motif = interpret.filter_motifs(model, x, device="cpu", **options)
        assert len(motif) == 2 and motif[0].consensus == "GCACGTGC", type(model).__name__
        assert motif[0].sites >= len(x) and motif[1].sites == 0, type(model).__name__
        found[type(model).__name__] = motif
    both = interpret.filter_motifs(deepbind, x, device="cpu", both_strands=True)
    assert found["DeepBind"][0].sites == len(x) and both[0].sites == 2 * len(x)  # a palindrome: both strands match
    with pytest.raises(ValueError, match="not the sequence: it has no filters"):
        interpret.filter_motifs(IDeep(("region",)), x, device="cpu")


def test_filter_motifs_batches_give_the_one_pass_answer():
    from teachbind.models import Basset

    torch.manual_seed(0)
    model = Basset(1, 50, filters=(6, 2, 2), widths=(7, 3, 3), pools=(2, 2, 2), hidden=(4,)).eval()
    x = seq.one_hot(planted_sequences("CACGTGA", n=30))
    with torch.no_grad():
        expected = motifs.motifs_from_activations(torch.nn.functional.pad(x, (3, 3)), model.first_layer_activations(x),
                                                  7, windows="all")
    found = interpret.filter_motifs(model, x, batch_size=7, device="cpu", windows="all")
    assert [m.sites for m in found] == [m.sites for m in expected]
    assert all(np.allclose(a.probs, b.probs) for a, b in zip(found, expected))


class TwoCellTypes(nn.Module):
    """A two-output model with known filters: filter 0 detects A (opens cell type 0), filter 1 detects C (opens
    cell type 1), filter 2 is never used."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Sequential(nn.Sequential(nn.Conv1d(4, 3, 1, bias=False), nn.Identity(), nn.ReLU()))
        with torch.no_grad():
            self.conv[0][0].weight.zero_()
            self.conv[0][0].weight[0, 0, 0] = 1.0
            self.conv[0][0].weight[1, 1, 0] = 1.0
            self.conv[0][0].weight[2, 3, 0] = 1.0

    def forward(self, x):
        counts = self.conv(x).sum(dim=-1)
        return torch.stack([4 * counts[:, 0] - 6, 4 * counts[:, 1] - 6], dim=1)


def test_filter_influence_finds_which_filter_drives_which_output():
    x = seq.one_hot(["AAAA", "CCCC", "ACGT", "GGGG"])
    influence = interpret.filter_influence(TwoCellTypes(), x, device="cpu")
    assert influence.shape == (3, 2)
    assert torch.all(influence >= 0)
    assert influence[0, 0] > 0.1 and influence[1, 1] > 0.1
    assert torch.allclose(influence[2], torch.zeros(2))
    assert influence[0, 1] < 1e-9 and influence[1, 0] < 1e-9
    signed = interpret.filter_influence(TwoCellTypes(), x, signed=True, device="cpu")
    p = torch.sigmoid(torch.tensor([10.0, -6, -2, -6]))
    nullified = torch.sigmoid(torch.tensor(4 * 4 * 5 / 16 - 6))
    assert torch.isclose(signed[0, 0], (p - nullified).mean(), atol=1e-6)


def test_ism_of_a_multi_output_model_keeps_one_map_per_output():
    x = seq.one_hot(["ACGTA", "CCCCC"])
    effects = interpret.ism(TwoCellTypes(), x, device="cpu")
    assert effects.shape == (2, 2, 4, 5)
    assert torch.all(effects[x[:, None].expand_as(effects) == 1] == 0)
    assert effects[0, 0, 0, 1] == 4 and effects[0, 1, 1, 0] == 4 and effects[0, 0, 1, 0] == -4


def test_loss_and_gain_scores_are_the_largest_decrease_and_increase():
    effects = torch.tensor([[0.0, -2.0, 1.0], [0.5, 0.0, -1.0], [-1.0, 3.0, 0.0], [0.0, 0.0, 0.0]])
    loss, gain = interpret.loss_gain(effects)
    assert torch.equal(loss, torch.tensor([1.0, 2.0, 1.0]))
    assert torch.equal(gain, torch.tensor([0.5, 3.0, 1.0]))


def test_saliency_of_a_linear_model_is_its_weights():
    weights = torch.randn(4, 12)

    class Linear(torch.nn.Module):
        def forward(self, x):
            return (x * weights).sum((1, 2))[:, None]

    x = seq.one_hot(["ACGTACGTACGT", "TTTTACGTAAAA", "GGGGCCCCAAAA"])
    grads = interpret.saliency(Linear(), x, batch_size=2, device="cpu")
    assert grads.shape == x.shape and torch.allclose(grads, weights.expand_as(x))


def test_target_selects_one_output_of_every_operation_without_a_wrapper():
    x = seq.one_hot(["ACGTA", "CCCCC", "AAAAC"])
    model = TwoCellTypes()
    assert torch.equal(interpret.ism(model, x, target=1, device="cpu"), interpret.ism(model, x, device="cpu")[:, 1])
    as_probability = interpret.ism(model, x, target=lambda y: torch.sigmoid(y[:, 0]), device="cpu")
    mutant = x[0].clone()
    mutant[:, 1] = torch.tensor([1.0, 0, 0, 0])  # C2A opens cell type 0
    expected = torch.sigmoid(model(mutant[None])[0, 0]) - torch.sigmoid(model(x[:1])[0, 0])
    assert torch.isclose(as_probability[0, 0, 1], expected, atol=1e-6)
    grads = interpret.saliency(model, x, target=0, device="cpu")
    assert torch.equal(grads[:, 0], 4 * x[:, 0]) and torch.equal(grads[:, 1:], torch.zeros(3, 3, 5))
    influence = interpret.filter_influence(model, x, target=1, device="cpu")
    assert torch.allclose(influence, interpret.filter_influence(model, x, device="cpu")[:, 1:])
    with pytest.raises(IndexError, match="target=2"):
        interpret.ism(model, x, target=2, device="cpu")


def test_saliency_leaves_the_model_gradients_alone():
    model = nn.Sequential(nn.Conv1d(4, 2, 3), nn.Flatten(), nn.LazyLinear(1))
    x = seq.one_hot(["ACGTACGT", "TTTTACGT"])
    model(x)
    interpret.saliency(model, x, device="cpu")
    assert all(p.grad is None for p in model.parameters())


def test_every_operation_names_itself_when_the_input_is_not_one_hot():
    model = TwoCellTypes()
    for op in (interpret.ism, interpret.saliency, interpret.filter_influence):
        with pytest.raises(ValueError, match=rf"{op.__name__} expects one-hot sequences of shape \(N, 4, L\)"):
            op(model, torch.zeros(2, 5, 4), device="cpu")
    with pytest.raises(TypeError, match="encode strings with teachbind.seq.one_hot"):
        interpret.ism(model, ["ACGT"], device="cpu")
