import numpy as np
import pytest
import torch

from teachbind import seq, structure

HAIRPIN = "GGCACGAAGCUGGAACGUGCC"  # ((((((.........))))))


@pytest.fixture(autouse=True)
def cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("TEACHBIND_CACHE_DIR", str(tmp_path))
    return tmp_path


def test_a_hairpin_has_a_paired_stem_and_an_unpaired_loop():
    (up,) = structure.unpaired_probabilities([HAIRPIN])
    assert up.shape == (21,)
    assert (up[:5] < 0.1).all() and (up[-5:] < 0.1).all(), "the stem pairs"
    assert (up[7:14] > 0.9).all(), "the loop is single-stranded"
    (flat,) = structure.unpaired_probabilities(["A" * 21])
    assert (flat > 0.99).all(), "poly-A cannot pair"


def test_folding_is_cached_by_content_and_parallel_gives_the_same_answer(cache_folder, monkeypatch):
    seqs = [HAIRPIN, "ACGUACGUAGGCUAGCAUCGA", "GGGGAAAACCCC"] * 3
    serial = structure.unpaired_probabilities(seqs, processes=1)
    assert len(list((cache_folder / "structure").glob("*.npz"))) == 1
    monkeypatch.setattr(structure, "CHUNK", 2)
    parallel = structure.unpaired_probabilities(seqs, processes=2, cache=False)
    assert all(np.allclose(a, b) for a, b in zip(serial, parallel))

    def refuse(_):
        raise AssertionError("folded again instead of reading the cache")

    monkeypatch.setattr(structure, "_fold_chunk", refuse)
    again = structure.unpaired_probabilities(seqs, processes=1)
    assert all(np.array_equal(a, b) for a, b in zip(serial, again))
    with pytest.raises(AssertionError, match="folded again"):
        structure.unpaired_probabilities(seqs[:2], processes=1)


def test_channels_line_up_with_the_zero_padded_one_hot():
    seqs = [HAIRPIN, "ACGUACGUAGGCUAGCAUCGAAC"]
    channels = structure.paired_unpaired(seqs, 27)
    one_hot = seq.one_hot_padded(seqs, 27, alphabet="RNA")
    assert channels.shape == (2, 2, 27)
    assert torch.equal(channels.sum(1), one_hot.sum(1)), "paired + unpaired = 1 exactly where there is a letter"
    with pytest.raises(ValueError, match="invalid letter 'X' at position 2"):
        structure.unpaired_probabilities(["ACXU"])


def test_folding_model_folds_what_it_is_given_even_with_gaps():
    class UnpairedSum(torch.nn.Module):
        def forward(self, x):
            assert x.shape[1] == 6
            return x[:, 5].sum(-1, keepdim=True)

    x = seq.one_hot_padded([HAIRPIN, "A" * 21], 25, alphabet="RNA")
    got = structure.FoldingModel(UnpairedSum())(x)
    expected = [float(up.sum()) for up in structure.unpaired_probabilities([HAIRPIN, "A" * 21])]
    assert torch.allclose(got[:, 0], torch.tensor(expected))
    gapped = x.clone()
    gapped[0, :, 12] = 0
    (folded,) = structure.unpaired_probabilities([HAIRPIN[:10] + HAIRPIN[11:]])
    assert torch.isclose(structure.FoldingModel(UnpairedSum())(gapped)[0, 0], torch.tensor(float(folded.sum())))


def test_fold_gives_the_hairpin_in_dot_bracket():
    structure_, energy = structure.fold(HAIRPIN)
    assert structure_ == "((((((.........))))))" and energy < -5
    assert structure.fold("AAAAAAAAAA") == ("..........", 0.0)
