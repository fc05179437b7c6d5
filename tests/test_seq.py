import itertools

import numpy as np
import pytest
import torch

from conftest import random_dna
from teachbind import seq


def test_one_hot_known_answer():
    x = seq.one_hot("ACGTN")
    expected = np.array([[1, 0, 0, 0, .25], [0, 1, 0, 0, .25], [0, 0, 1, 0, .25], [0, 0, 0, 1, .25]])
    assert x.shape == (4, 5) and x.dtype == torch.float32
    assert np.array_equal(x.numpy(), expected)


def test_one_hot_batch_lowercase_and_rna():
    x = seq.one_hot(["acgt", "ACGT", "TTTT"])
    assert x.shape == (3, 4, 4)
    assert torch.equal(x[0], x[1])
    assert torch.equal(seq.one_hot("ACGU", alphabet="RNA"), seq.one_hot("ACGT"))


@pytest.mark.parametrize("seqs, where", [
    (["ACGT", "ACGU"], "sequence 1 has invalid letter 'U' at position 3"),
    (["ACGTX"], "sequence 0 has invalid letter 'X' at position 4"),
    (["ACGT", "AC-T"], "sequence 1 has invalid letter '-' at position 2"),
    (["AC", "GTé"], "sequence 1 has invalid letter 'é' at position 2"),
])
def test_invalid_letters_are_located(seqs, where):
    with pytest.raises(ValueError, match=where):
        seq.one_hot(seqs)


def test_rna_letter_in_dna_suggests_the_fix():
    with pytest.raises(ValueError, match=r"alphabet='RNA' or convert it with teachbind.seq.to_dna\(\)"):
        seq.validate("ACGU")
    with pytest.raises(ValueError, match=r"alphabet='DNA' or convert it with teachbind.seq.to_rna\(\)"):
        seq.validate("ACGT", alphabet="RNA")
    seq.validate(seq.to_dna("ACGU"))
    seq.validate(seq.to_rna("ACGT"), alphabet="RNA")


def test_empty_and_ragged_batches_are_clear_errors():
    with pytest.raises(ValueError, match="sequence 1 is empty"):
        seq.one_hot(["ACGT", ""])
    with pytest.raises(ValueError, match="sequence 0 has 4 nt but sequence 2 has 3 nt"):
        seq.one_hot(["ACGT", "ACGT", "ACG"])
    with pytest.raises(ValueError, match="no sequences"):
        seq.one_hot([])


def test_decode_round_trip(rng):
    seqs = random_dna(rng, 20, 30)
    seqs[3] = "N" + seqs[3][1:]
    assert seq.decode(seq.one_hot(seqs)) == seqs
    assert seq.decode(seq.one_hot("GATNACA")) == "GATNACA"
    assert seq.decode(seq.one_hot("GAUUACA", "RNA"), "RNA") == "GAUUACA"


def test_decode_codes_inverts_encode_for_ragged_batches():
    seqs = ["ACGUN", "G", "uuag"]
    codes, lengths = seq.encode(seqs, "RNA")
    assert seq.decode_codes(codes, lengths, "RNA") == ["ACGUN", "G", "UUAG"]
    assert seq.decode_codes(codes[:4].reshape(2, 2)) == ["AC", "GT"], "DNA letters by default"


def test_reverse_complement_strings_and_tensors(rng):
    assert seq.reverse_complement("AACGTN") == "NACGTT"
    assert seq.reverse_complement("aacg") == "cgtt"
    assert seq.reverse_complement("AACGU", alphabet="RNA") == "ACGUU"
    seqs = random_dna(rng, 5, 17)
    assert torch.equal(seq.reverse_complement(seq.one_hot(seqs)), seq.one_hot(seq.reverse_complement(seqs)))


def test_center_pads_and_trims_around_the_middle():
    assert seq.center("ACG", 7) == "NNACGNN"
    assert seq.center("ACGT", 7) == "NACGTNN"
    assert seq.center("AACCGGT", 3) == "CCG"
    assert seq.center(["A", "ACGTACG"], 5) == ["NNANN", "CGTAC"]
    with pytest.raises(ValueError):
        seq.center("ACG", 0)


def test_to_rna_and_back():
    assert seq.to_rna("ACGTt") == "ACGUu"
    assert seq.to_dna(["ACGU"]) == ["ACGT"]


def test_kmer_counts_known_answer():
    counts = seq.kmer_counts(["AACGT", "NAA", "AC", "GT"], 2)
    names = seq.kmers(2)
    assert names[:3] == ["AA", "AC", "AG"] and len(names) == 16
    assert dict(zip(names, counts[0])) == {**{k: 0 for k in names}, "AA": 1, "AC": 1, "CG": 1, "GT": 1}
    assert counts[1].sum() == 1 and counts[1][names.index("AA")] == 1
    assert counts[2].sum() == 1 and counts[3].sum() == 1, "no k-mer spans two sequences"
    assert seq.kmer_counts("ACGT", 3).sum() == 2
    assert seq.kmer_counts("AC", 3).sum() == 0


def test_dinucleotide_shuffle_keeps_every_dinucleotide_count(rng):
    seqs = random_dna(rng, 300, 101) + random_dna(rng, 50, 7) + ["ACGTNNACGTacgt", "A", "AC", "AAAAAA"]
    shuffled = seq.dinucleotide_shuffle(seqs, seed=1)
    assert [len(s) for s in shuffled] == [len(s) for s in seqs]
    upper = [s.upper() for s in seqs]
    assert (seq.kmer_counts(upper, 2) == seq.kmer_counts(shuffled, 2)).all()
    assert all(a[0] == b[0] and a[-1] == b[-1] for a, b in zip(upper, shuffled))
    assert np.mean([a != b for a, b in zip(seqs[:300], shuffled[:300])]) > 0.99


def test_dinucleotide_shuffle_is_seeded(rng):
    seqs = random_dna(rng, 50, 101)
    assert seq.dinucleotide_shuffle(seqs, seed=3) == seq.dinucleotide_shuffle(seqs, seed=3)
    assert seq.dinucleotide_shuffle(seqs, seed=3) != seq.dinucleotide_shuffle(seqs, seed=4)


def _same_dinucleotides(sequence):
    """Every distinct sequence with the same first letter and dinucleotide counts as ``sequence``."""
    target = seq.kmer_counts(sequence, 2)[0]
    found = set()
    for rest in itertools.permutations(sequence[1:]):
        candidate = sequence[0] + "".join(rest)
        if (seq.kmer_counts(candidate, 2)[0] == target).all():
            found.add(candidate)
    return found


def test_dinucleotide_shuffle_samples_uniformly():
    sequence = "ACAGTACGAT"
    support = _same_dinucleotides(sequence)
    draws = seq.dinucleotide_shuffle([sequence] * 20000, seed=0)
    observed = {s: draws.count(s) for s in set(draws)}
    assert set(observed) == support
    expected = len(draws) / len(support)
    chi2 = sum((count - expected) ** 2 / expected for count in observed.values())
    assert chi2 < len(support) + 6 * np.sqrt(2 * len(support)), f"chi-square {chi2:.1f} over {len(support)} outcomes"


def test_dinucleotide_shuffle_of_one_hot_tensors(rng):
    seqs = random_dna(rng, 40, 50)
    shuffled = seq.dinucleotide_shuffle(seq.one_hot(seqs), seed=0)
    assert shuffled.shape == (40, 4, 50)
    assert (seq.kmer_counts(seq.decode(shuffled), 2) == seq.kmer_counts(seqs, 2)).all()


def test_random_strands_flips_about_half_and_keeps_the_dna(rng):
    seqs = random_dna(rng, 400, 12)
    x = seq.one_hot(seqs, dtype=torch.int8)
    out = seq.random_strands(x, seed=3)
    decoded = seq.decode(out)
    flipped = [d != s for d, s in zip(decoded, seqs)]
    assert all(d in (s, seq.reverse_complement(s)) for d, s in zip(decoded, seqs))
    assert 150 < sum(flipped) < 250 and out.dtype == torch.int8
    assert torch.equal(out, seq.random_strands(x, seed=3)) and not torch.equal(out, seq.random_strands(x, seed=4))
    assert torch.equal(x, seq.one_hot(seqs, dtype=torch.int8)), "the input is left as it was"


def test_random_shifts_move_each_sequence_within_the_bound_and_keep_its_length():
    x = seq.one_hot(["ACGTACGTAC"] * 200, dtype=torch.int8)
    out = seq.random_shifts(x, 3, seed=0)
    assert out.shape == x.shape and torch.equal(out, seq.random_shifts(x, 3, seed=0))
    seen = set()
    for row in out:
        letters = seq.decode(row)  # uncovered positions hold no letter and decode to N
        stripped = letters.strip("N")
        offset = letters.index(stripped[0]) if letters.startswith("N") else -(10 - len(stripped))
        assert stripped in "ACGTACGTAC" and len(stripped) >= 7
        seen.add(offset)
    assert seen == {-3, -2, -1, 0, 1, 2, 3}
    with pytest.raises(ValueError, match="max_shift"):
        seq.random_shifts(x, 10, seed=0)


def test_one_hot_padded_centres_and_pads_with_empty_columns():
    x = seq.one_hot_padded(["ACGU", "ACNGUAC"], 9, alphabet="RNA")
    assert x.shape == (2, 4, 9)
    assert x[0].sum(0).tolist() == [0, 0, 1, 1, 1, 1, 0, 0, 0]
    assert x[1, :, 3].tolist() == [0.25] * 4, "a real N keeps 0.25; only padding is empty"
    assert seq.decode(x[0, :, 2:6], alphabet="RNA") == "ACGU"
    with pytest.raises(ValueError, match="sequence 1 has 7 nt"):
        seq.one_hot_padded(["ACGU", "ACGUACG"], 5)
