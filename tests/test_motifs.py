import matplotlib
import numpy as np
import pytest
import torch

from conftest import random_dna, requires_mirror
from teachbind import data, motifs, plot, seq

matplotlib.use("Agg")


def test_pwm_from_counts_and_probabilities():
    counts = np.array([[3, 0], [1, 0], [0, 4], [0, 0]])
    assert np.allclose(motifs.pwm_from_counts(counts), [[.75, 0], [.25, 0], [0, 1], [0, 0]])
    assert np.allclose(motifs.pwm_from_counts(counts, pseudocount=1)[:, 1], [1 / 8, 1 / 8, 5 / 8, 1 / 8])
    with pytest.raises(ValueError, match="column 1 has no counts"):
        motifs.pwm_from_counts(np.array([[1, 0]] * 4))
    with pytest.raises(ValueError, match="shape"):
        motifs.pwm_from_counts(np.ones((3, 5)))
    with pytest.raises(ValueError, match="column 0 .* sums to 2"):
        motifs.pwm_from_probabilities(np.full((4, 2), 0.5))


def test_iupac_and_information_content():
    pwm = motifs.pwm_from_iupac("ASN")
    assert np.allclose(pwm, [[1, 0, .25], [0, .5, .25], [0, .5, .25], [0, 0, .25]])
    assert np.allclose(motifs.information_content(pwm), [2, 1, 0])
    assert motifs.information_content(motifs.pwm_from_iupac("CACGTG")).sum() == pytest.approx(12)
    with pytest.raises(ValueError, match="invalid IUPAC letter 'X' at position 2"):
        motifs.pwm_from_iupac("ACX")


def test_log_odds_in_bits():
    w = motifs.log_odds(motifs.pwm_from_iupac("AN"), pseudocount=0)
    assert w[0, 0] == pytest.approx(2) and w[0, 1] == pytest.approx(0)
    assert np.isneginf(w[1, 0])
    assert np.isfinite(motifs.log_odds(motifs.pwm_from_iupac("AN"))).all()


def _brute_force_best(sequence, weights):
    best = -np.inf
    for strand in (sequence, seq.reverse_complement(sequence)):
        x = seq.one_hot(strand).numpy()
        for p in range(len(strand) - weights.shape[1] + 1):
            best = max(best, float((weights * x[:, p:p + weights.shape[1]]).sum()))
    return best


def test_scan_equals_brute_force_on_both_strands(rng):
    seqs = random_dna(rng, 12, 40)
    weights = [rng.normal(size=(4, w)) for w in (1, 5, 12, 40)]
    best = motifs.best_scores(seq.one_hot(seqs), weights, batch_size=5)
    assert best.shape == (12, 4)
    for i, s in enumerate(seqs):
        for m, w in enumerate(weights):
            assert best[i, m].item() == pytest.approx(_brute_force_best(s, w), abs=1e-4)


def test_scan_marks_windows_past_the_end():
    scores = motifs.scan(seq.one_hot(["ACGTACGT"]), [np.ones((4, 3)), np.ones((4, 8))])
    assert scores.shape == (1, 2, 8)
    assert torch.isfinite(scores[0, 0, :6]).all() and torch.isinf(scores[0, 0, 6:]).all()
    assert torch.isfinite(scores[0, 1, :1]).all() and torch.isinf(scores[0, 1, 1:]).all()
    with pytest.raises(ValueError, match="longer than the sequences"):
        motifs.scan(seq.one_hot(["ACG"]), np.ones((4, 5)))


def test_forward_only_scan_misses_a_reverse_strand_site():
    weights = motifs.log_odds(motifs.pwm_from_iupac("GATAA"))
    x = seq.one_hot(["CCCCTTATCCCC"])
    assert motifs.best_scores(x, weights).item() > 9
    assert motifs.best_scores(x, weights, both_strands=False).item() < 0


@requires_mirror
def test_read_meme_databases():
    jaspar = motifs.read_meme(data.fetch("motifs/JASPAR2024_CORE_vertebrates_non-redundant.meme"))
    cisbp = motifs.read_meme(data.fetch("motifs/CISBP_1.02_Homo_sapiens.meme"))
    rna = motifs.read_meme(data.fetch("motifs/Ray2013_rbp_RNA.meme"))
    assert (len(jaspar), len(cisbp), len(rna)) == (879, 734, 102)
    assert rna[0].alphabet == "RNA" and jaspar[0].alphabet == "DNA"
    assert {m.width for m in rna} == {7, 8}
    for m in jaspar + cisbp + rna:
        assert np.allclose(m.probs.sum(axis=0), 1, atol=0.02)
    ctcf = next(m for m in jaspar if m.id == "MA0139.2")
    assert ctcf.name == "CTCF" and ctcf.width == 15


def test_read_meme_names_the_bad_line(tmp_path):
    bad = tmp_path / "bad.meme"
    bad.write_text("MEME version 4\n\nALPHABET= ACGT\n\nMOTIF M1 test\nletter-probability matrix: alength= 4 w= 2\n"
                   "0.25 0.25 0.25 0.25\n0.5 0.5 oops 0\n")
    with pytest.raises(ValueError, match=r"bad.meme:8: motif M1"):
        motifs.read_meme(bad)


@requires_mirror
def test_jaspar_through_pyjaspar_matches_the_meme_file():
    offline = motifs.jaspar_motifs()
    assert len(offline) == 879
    meme = {m.id: m for m in motifs.read_meme(data.fetch("motifs/JASPAR2024_CORE_vertebrates_non-redundant.meme"))}
    for m in offline[::50]:
        assert np.allclose(m.probs, meme[m.id].probs, atol=1e-5), m.id


def test_tomtom_names_a_noisy_motif(rng):
    database = motifs.jaspar_motifs()
    ctcf = next(m for m in database if m.id == "MA0139.2")
    noisy = motifs.pwm_from_counts(np.clip(ctcf.probs + rng.normal(0, 0.05, ctcf.probs.shape), 0.01, None))
    reverse = ctcf.probs[::-1, ::-1]
    for distance in motifs.DISTANCES:
        best = motifs.tomtom([noisy, reverse], database, distance=distance).groupby("query").first()
        assert list(best["target_name"]) == ["CTCF", "CTCF"]
        assert (best["q_value"] < 1e-3).all()
        assert best.loc[1, "strand"] == "-"


def test_logo_draws_every_column():
    ax = plot.logo(motifs.pwm_from_iupac("TGASTCA"), title="AP-1")
    assert len(ax.get_xticks()) == 7 and ax.get_ylim() == (0, 2)
    with pytest.raises(ValueError, match="kind"):
        plot.logo(np.full((4, 2), .25), kind="height")


def test_scan_on_the_chosen_device_returns_cpu_scores(rng):
    x = seq.one_hot(random_dna(rng, 3, 20))
    weights = rng.normal(size=(4, 6))
    on_auto = motifs.best_scores(x, weights, device="auto")
    assert on_auto.device.type == "cpu"
    assert torch.allclose(on_auto, motifs.best_scores(x, weights), atol=1e-4)


def test_filter_motifs_from_activations_best_window_or_every_window():
    x = seq.one_hot(["AACGTAAACG", "TTTTTTTTTT", "ACGAAAAAAA"])
    activations = torch.zeros(3, 1, 8)
    activations[0, 0, 1] = 4.0  # ACG at position 1
    activations[0, 0, 7] = 3.0  # ACG at position 7 (the sequence's second window above half the maximum)
    activations[1, 0, 0] = 1.0  # below half the maximum
    activations[2, 0, 0] = 2.5  # ACG at position 0
    best, every = (motifs.motifs_from_activations(x, activations, 3, windows=w, pseudocount=0)[0]
                   for w in ("best", "all"))
    assert (best.sites, every.sites) == (2, 3)
    assert best.consensus == every.consensus == "ACG"
    assert np.allclose(every.probs, motifs.pwm_from_iupac("ACG"))
    dead = motifs.motifs_from_activations(x, torch.zeros(3, 1, 8), 3, windows="all")[0]
    assert dead.sites == 0 and np.allclose(dead.probs, 0.25)
    with pytest.raises(ValueError, match="windows must be"):
        motifs.motifs_from_activations(x, activations, 3, windows="some")


def test_trim_cuts_uninformative_ends_and_refuses_a_flat_matrix():
    core = motifs.pwm_from_iupac("GATAA")
    flank = np.full((4, 3), 0.25)
    padded = motifs.Motif("f", "f", np.concatenate([flank, core, flank], axis=1), sites=12)
    trimmed = motifs.trim(padded)
    assert trimmed.consensus == "GATAA" and trimmed.sites == 12 and trimmed.width == 5
    assert motifs.trim(motifs.Motif("flat", "flat", np.full((4, 19), 0.25))) is None
    assert motifs.trim(motifs.Motif("weak", "weak", np.tile([[0.3], [0.2], [0.2], [0.3]], 19))) is None


def test_pearson_columns_turn_euclidean_distance_into_correlation(rng):
    a, b = rng.dirichlet(np.ones(4), 6).T, rng.dirichlet(np.ones(4), 6).T
    squared = ((motifs.pearson_columns(a) - motifs.pearson_columns(b)) ** 2).sum(axis=0)
    r = [np.corrcoef(a[:, i], b[:, i])[0, 1] for i in range(6)]
    assert np.allclose(squared, 2 - 2 * np.array(r))
    assert np.allclose(motifs.pearson_columns(np.full((4, 3), 0.25)), 1.0)


def test_a_flat_matrix_matches_nothing_by_correlation_but_ctcf_by_distance():
    database = motifs.jaspar_motifs()
    flat = np.full((4, 19), 0.25)
    by_distance = motifs.tomtom([flat], database).iloc[0]
    assert by_distance.target_name == "CTCF" and by_distance.q_value < 1e-6
    assert motifs.tomtom([flat], database, distance="pearson").q_value.min() > 0.5
    with pytest.raises(ValueError, match="distance must be"):
        motifs.tomtom([flat], database, distance="cosine")


def test_tomtom_q_values_are_benjamini_hochberg_over_each_querys_targets(rng):
    targets = [motifs.Motif(f"m{i}", f"m{i}", motifs.pwm_from_counts(rng.integers(0, 10, (4, 8)), pseudocount=1))
               for i in range(30)]
    table = motifs.tomtom([motifs.pwm_from_iupac("GATTAC"), motifs.pwm_from_iupac("CACGTGA")], targets)
    for _, rows in table.groupby("query"):
        p = rows["p_value"].to_numpy()
        order = np.argsort(p)
        by_rank = p[order] * len(p) / np.arange(1, len(p) + 1)
        expected = np.empty_like(p)
        expected[order] = np.minimum(np.minimum.accumulate(by_rank[::-1])[::-1], 1.0)
        assert np.allclose(rows["q_value"].to_numpy(), expected, rtol=1e-12)


@requires_mirror
@pytest.mark.parametrize("name", ["JASPAR2024_CORE_vertebrates_non-redundant.meme", "CISBP_1.02_Homo_sapiens.meme",
                                  "Ray2013_rbp_RNA.meme"])
def test_read_meme_agrees_with_memelites_reader(name):
    """memelite's reader gives the matrices keyed by the MOTIF line; ours adds the alphabet and errors that name the
    file and line, and must read the same numbers."""
    from memelite.io import read_meme as memelite_read_meme

    path = data.fetch(f"motifs/{name}")
    ours = motifs.read_meme(path)
    theirs = memelite_read_meme(str(path))
    assert [f"{m.id} {m.name}" if m.name != m.id else m.id for m in ours] == list(theirs)
    assert all(np.array_equal(m.probs, pwm) for m, pwm in zip(ours, theirs.values()))
