import pytest
import torch

from teachbind import seq
from teachbind.data.grammar import Grammar
from teachbind.interpret import gia


def score(grammar, sequence):
    return float(grammar(seq.one_hot([sequence], alphabet="RNA"))[0, 0])


def test_each_term_of_the_rule_has_its_planted_size():
    grammar = Grammar("UGCAUG", copy_effects=(0.0, 1.0, 1.6, 1.9), spacing=4, spacing_bonus=0.6, loop_bonus=0.8,
                      gc_penalty=0.0)
    filler = "A" * 41
    one = "A" * 5 + "UGCAUG" + "A" * 30
    assert score(grammar, filler) == 0 and score(grammar, one) == pytest.approx(1.0)
    spaced = "A" * 5 + "UGCAUG" + "AAAA" + "UGCAUG" + "A" * 20
    apart = "A" * 5 + "UGCAUG" + "AAAAA" + "UGCAUG" + "A" * 19
    assert score(grammar, spaced) == pytest.approx(1.6 + 0.6) and score(grammar, apart) == pytest.approx(1.6)
    three = "UGCAUG" + "A" * 8 + "UGCAUG" + "A" * 8 + "UGCAUG" + "A" * 7
    four = "UGCAUGA" * 4 + "A" * 13
    assert score(grammar, three) == pytest.approx(1.9) and score(grammar, four) == pytest.approx(1.9)
    loop = grammar.hairpin("GAUCCA", "CC" + "UGCAUG" + "CC")
    assert score(grammar, "A" * 9 + loop + "A" * 10) == pytest.approx(1.8)
    unpaired = "GAUCCA" + "CC" + "UGCAUG" + "CC" + "GAUCCA"
    assert score(grammar, "A" * 9 + unpaired + "A" * 10) == pytest.approx(1.0)
    stem = grammar.hairpin("UGCAUG", "C" * 10)
    assert score(grammar, "A" * 9 + stem + "A" * 10) == pytest.approx(1.0), "a copy in the stem earns no loop bonus"


def test_gc_penalty_is_linear_in_the_gc_fraction():
    grammar = Grammar(gc_penalty=1.5)
    assert score(grammar, "AU" * 10) == pytest.approx(0.75) and score(grammar, "GC" * 10) == pytest.approx(-0.75)


def test_simulation_shows_every_term_and_its_scores_follow_the_rule():
    grammar = Grammar()
    seqs, x, y = grammar.simulate(3000, seed=0)
    assert len(seqs) == 3000 and x.shape == (3000, 4, 41) and y.shape == (3000, 1)
    assert seq.decode(x[:5], alphabet="RNA") == seqs[:5]
    copies = grammar.copies(x)
    assert all((copies == n).float().mean() > 0.1 for n in range(4))
    assert grammar.spaced(x).float().mean() > 0.05 and grammar.in_loop(x).float().mean() > 0.1
    residual = y - grammar(x)
    assert abs(float(residual.std()) - 0.2) < 0.02
    _, _, again = grammar.simulate(3000, seed=0)
    assert torch.equal(y, again)


def test_the_rule_is_a_model_so_its_true_global_importance_is_exact():
    grammar = Grammar(gc_penalty=0.0)
    background = seq.one_hot(["A" * 41] * 10, alphabet="RNA")
    effect = gia.global_importance(grammar, background, gia.embedding(("UGCAUG", 10), alphabet="RNA"), device="cpu")
    assert torch.allclose(effect, torch.ones(10))
