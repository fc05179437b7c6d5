import numpy as np
import torch
from torch import nn

from teachbind import interpret, motifs, plot, seq


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
