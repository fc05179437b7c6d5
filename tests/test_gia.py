import numpy as np
import pytest
import torch
from torch import nn

from teachbind import seq
from teachbind.interpret import gia


class CountA(nn.Module):
    """A model with a known answer: the number of A's in each sequence, (N, 4, L) -> (N, 1)."""

    def forward(self, x):
        return x[:, 0].sum(-1, keepdim=True)


def test_profile_background_draws_each_position_from_its_own_letter_frequencies():
    probes = seq.one_hot(["ACG", "AGU", "ACU", "AGG"], alphabet="RNA")
    probes[2:, :, 2] = 0  # two probes padded at the last position
    background = gia.profile_background(probes, 4000, seed=0)
    assert background.shape == (4000, 4, 3) and torch.equal(background, gia.profile_background(probes, 4000, seed=0))
    frequencies = background.mean(dim=0)
    assert torch.equal(frequencies[:, 0], torch.tensor([1.0, 0, 0, 0]))
    assert frequencies[[0, 3], 1].sum() == 0 and abs(frequencies[1, 1] - 0.5) < 0.03
    assert abs(frequencies[:, 2].sum() - 0.5) < 0.03, "half the backgrounds stay empty where half the probes were"
    assert set(background.sum(dim=1).unique().tolist()) <= {0.0, 1.0}


def test_embed_writes_the_pattern_into_every_sequence_and_leaves_the_input_alone():
    x = seq.one_hot(["AAAAAAAA", "CCCCCCCC"], alphabet="RNA")
    out = gia.embed(x, "GU", 3, alphabet="RNA")
    assert seq.decode(out, alphabet="RNA") == ["AAAGUAAA", "CCCGUCCC"]
    assert seq.decode(x, alphabet="RNA") == ["AAAAAAAA", "CCCCCCCC"]
    with pytest.raises(ValueError, match="does not fit"):
        gia.embed(x, "GUGU", 6, alphabet="RNA")


def test_global_importance_is_the_effect_of_the_intervention_on_each_sequence():
    background = seq.one_hot(["CAGUCAGU", "AAAAAAAA", "GGGGGGGG"], alphabet="RNA")
    effects = gia.global_importance(CountA(), background, lambda x: gia.embed(x, "AAAA", 2, alphabet="RNA"),
                                    device="cpu")
    assert effects.tolist() == [3.0, 0.0, 4.0]  # four A's written over GUCA, AAAA and GGGG
    uniform = gia.profile_background(seq.one_hot(["ACGU", "CGUA", "GUAC", "UACG"], alphabet="RNA"), 20000, seed=1)
    two_a = gia.global_importance(CountA(), uniform, lambda x: gia.embed(x, "AA", 1, alphabet="RNA"), device="cpu")
    summary = gia.summarize(two_a)
    assert summary.low < 1.5 < summary.high and summary.high - summary.low < 0.05  # 2 A's replace 0.5 on average


def test_summarize_gives_the_mean_and_its_t_interval():
    summary = gia.summarize(torch.tensor([1.0, 2, 3, 4, 5]))
    assert summary["mean"] == 3 and summary["n"] == 5
    assert np.isclose(summary["high"] - 3, 2.7764451 * np.sqrt(2.5 / 5))


def test_shuffled_backgrounds_keep_letter_or_dinucleotide_counts(rng):
    seqs = ["".join(rng.choice(list("ACGU"), 30)) for _ in range(20)]
    for kind in ("dinucleotide", "mononucleotide"):
        shuffled = seq.decode(gia.shuffled_background(seqs, kind=kind, seed=0, alphabet="RNA"), alphabet="RNA")
        assert [sorted(s) for s in shuffled] == [sorted(s) for s in seqs] and shuffled != seqs
    pairs = lambda s: sorted(s[i:i + 2] for i in range(len(s) - 1))  # noqa: E731
    shuffled = seq.decode(gia.shuffled_background(seqs, seed=0, alphabet="RNA"), alphabet="RNA")
    assert [pairs(s) for s in shuffled] == [pairs(s) for s in seqs]
    with pytest.raises(ValueError, match="kind must be"):
        gia.shuffled_background(seqs, kind="codon", seed=0)


class Likes(nn.Module):
    """A model with a known answer: 1 for every position where ``pattern`` starts, (N, 4, L) -> (N, 1)."""

    def __init__(self, pattern):
        super().__init__()
        self.detector = seq.one_hot(pattern, alphabet="RNA")[None]

    def forward(self, x):
        hits = nn.functional.conv1d(x.float(), self.detector)[:, 0]
        return (hits > self.detector.shape[-1] - 0.5).float().sum(-1, keepdim=True)


def test_embedding_places_every_pattern_in_order():
    x = seq.one_hot(["AAAAAAAAAA"], alphabet="RNA")
    out = gia.embedding(("GG", 1), ("CU", 6), ("UU", 2), alphabet="RNA")(x)
    assert seq.decode(out, alphabet="RNA") == ["AGUUAACUAA"]
    with pytest.raises(ValueError, match="at least one"):
        gia.embedding(alphabet="RNA")


def test_single_mutants_differ_in_exactly_one_letter():
    mutants = gia.single_mutants("GCUGG", alphabet="RNA")
    assert len(mutants) == len(set(mutants)) == 15 and "GCUGG" not in mutants
    assert all(sum(a != b for a, b in zip(m, "GCUGG")) == 1 for m in mutants)
    assert mutants[:3] == ["ACUGG", "CCUGG", "UCUGG"]


def test_experiment_gives_one_row_per_intervention_with_the_known_effects():
    background = seq.one_hot(["CCCCCCCCCCCC"] * 20, alphabet="RNA")
    table = gia.experiment(Likes("GCAU"), background, {
        "one copy": gia.embedding(("GCAU", 0), alphabet="RNA"),
        "two copies": gia.embedding(("GCAU", 0), ("GCAU", 6), alphabet="RNA"),
        "broken": gia.embedding(("GCUU", 0), alphabet="RNA"),
    }, device="cpu")
    assert list(table.index) == ["one copy", "two copies", "broken"]
    assert table["mean"].tolist() == [1.0, 2.0, 0.0] and (table["n"] == 20).all()


def test_kmer_scan_ranks_the_liked_kmer_first_and_matches_one_by_one_embedding():
    background = gia.profile_background(seq.one_hot(["ACGUACGUACGU", "UUGGCCAAUUGG"], alphabet="RNA"), 30, seed=1)
    model = Likes("GCA")
    scan = gia.kmer_scan(model, background, 3, 4, batch_size=100, device="cpu", alphabet="RNA")
    assert len(scan) == 64 and scan.idxmax() == "GCA"
    for kmer in ("GCA", "UUU", "AGC"):
        one = gia.global_importance(model, background, gia.embedding((kmer, 4), alphabet="RNA"), device="cpu").mean()
        assert scan[kmer] == pytest.approx(float(one), abs=1e-6)
    with pytest.raises(ValueError, match="does not fit"):
        gia.kmer_scan(model, background, 3, 10, device="cpu")


def test_copies_at_spaces_copies_from_the_end_of_the_previous_one():
    assert gia.copies_at("GCU", 2, 3, 4) == [("GCU", 2), ("GCU", 9), ("GCU", 16)]
    out = gia.embedding(*gia.copies_at("GC", 1, 2, 1), alphabet="RNA")(seq.one_hot(["AAAAAAA"], alphabet="RNA"))
    assert seq.decode(out, alphabet="RNA") == ["AGCAGCA"]


def test_an_intervention_that_changes_the_batch_is_refused():
    background = seq.one_hot(["ACGUACGU"] * 3, alphabet="RNA")
    with pytest.raises(ValueError, match=r"changed the batch: \(3, 4, 8\) -> \(2, 4, 8\)"):
        gia.global_importance(Likes("GCA"), background, {"fine": lambda x: x, "drops one": lambda x: x[1:]},
                              device="cpu")
