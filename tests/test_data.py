import gzip
import hashlib
import http.server
import re
import threading
from functools import partial

import numpy as np
import pytest
import requests
import torch

from teachbind import data, motifs, seq
from teachbind.data import registry as reg

# Rows of DeepBind's ENCODE files as ../shared/data/DATA.md counts them: training peaks, test peaks.
ENCODE_COUNTS = {
    "ARID3A_K562_ARID3A_(sc-8821)_Stanford": (8526, 500), "CTCFL_K562_CTCFL_(SC-98982)_HudsonAlpha": (11033, 500),
    "ELK1_GM12878_ELK1_(1277-1)_Stanford": (5084, 500), "FOXA1_HepG2_FOXA1_(SC-101058)_HudsonAlpha": (42614, 500),
    "GABPA_GM12878_GABP_HudsonAlpha": (6066, 500), "MYC_H1-hESC_c-Myc_Stanford": (4051, 500),
    "REST_GM12878_NRSF_HudsonAlpha": (6406, 500), "SERBP1_H1-hESC_HudsonAlpha": (1263, 1322),
    "SP1_GM12878_SP1_HudsonAlpha": (17748, 500), "SUZ12_H1-hESC_SUZ12_USC": (4289, 500),
    "TAF1_H1-hESC_TAF1_HudsonAlpha": (20047, 500), "TAF7_H1-hESC_TAF7_(SC-101167)_HudsonAlpha": (9975, 500),
    "TBP_H1-hESC_TBP_Stanford": (16694, 500), "TCF12_H1-hESC_TCF12_HudsonAlpha": (7333, 500),
    "USF1_H1-hESC_USF-1_HudsonAlpha": (25542, 500), "USF1_HepG2_USF-1_HudsonAlpha": (21390, 500),
    "USF2_H1-hESC_USF2_Stanford": (6452, 500), "ZBTB7A_HepG2_ZBTB7A_(SC-34508)_HudsonAlpha": (8689, 500),
}
ELK1 = "ELK1_GM12878_ELK1_(1277-1)_Stanford"


def test_registry_names_every_file_with_a_checksum_and_a_pinned_source():
    entries = data.registered()
    assert len(entries) == 508
    for e in entries.values():
        assert re.fullmatch(r"[0-9a-f]{64}", e.sha256), e.path
        if e.path.startswith("motifs/JASPAR2024"):
            assert e.url == "", "generated from pyjaspar; there is no upstream file"
        else:
            assert re.match(r"https://raw\.githubusercontent\.com/[\w.-]+/[\w.-]+/[0-9a-f]{40}/", e.url), e.url
    assert data.entry("dhs_index_k562_hepg2/K562_ENCLB843GMH.txt.gz").url.endswith("/data/K562_ENCLB843GMH.txt")
    with pytest.raises(KeyError, match="deepbind_encode_chipseq/ holds e.g."):
        data.entry("deepbind_encode_chipseq/nope.seq.gz")


def test_fetch_reads_the_mirror_in_place(mirror):
    if mirror is None:
        pytest.skip("no mirror set")
    path = data.fetch(f"deepbind_encode_chipseq/{ELK1}_B.seq.gz")
    assert path == mirror / "deepbind_encode_chipseq" / f"{ELK1}_B.seq.gz"


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """An empty mirror and cache, so that fetch has to download."""
    monkeypatch.setenv(data.MIRROR_ENV, str(tmp_path / "mirror"))
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path / "cache"))
    (tmp_path / "mirror").mkdir()
    return tmp_path


def _register(monkeypatch, entry):
    monkeypatch.setattr(reg, "registered", lambda: {entry.path: entry})


def test_a_corrupt_mirror_file_is_refused_and_left_alone(isolated, monkeypatch):
    corrupt = isolated / "mirror" / "motifs" / "x.meme"
    corrupt.parent.mkdir()
    corrupt.write_bytes(b"truncated")
    expected = "0" * 64
    _register(monkeypatch, reg.Entry("motifs/x.meme", expected, "http://127.0.0.1:9/x.meme", ""))
    with pytest.raises(data.ChecksumError, match=f"{re.escape(str(corrupt))} has sha256 .* expects {expected}"):
        data.fetch("motifs/x.meme")
    assert corrupt.read_bytes() == b"truncated"


def test_a_missing_file_without_network_says_what_to_set(isolated, monkeypatch):
    def offline(*args, **kwargs):
        raise requests.exceptions.ConnectionError("no network")

    monkeypatch.setattr("pooch.retrieve", offline)
    path = f"deepbind_encode_chipseq/{ELK1}_B.seq.gz"
    with pytest.raises(data.DataNotFoundError) as error:
        data.fetch(path)
    message = str(error.value)
    assert "TEACHBIND_DATA_DIR" in message and data.entry(path).url in message
    with pytest.raises(data.DataNotFoundError, match="no download address"):
        data.fetch("motifs/JASPAR2024_CORE_vertebrates_non-redundant.tsv")


@pytest.fixture
def server(tmp_path):
    """A web server on 127.0.0.1 serving tmp_path/www."""
    root = tmp_path / "www"
    root.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


def test_download_is_verified_and_cached(isolated, server, monkeypatch):
    root, url = server
    content = b"FoldID\tEventID\tseq\tBound\nA\tseq_00001_peak\tACGT\t1\n"
    (root / "f.seq.gz").write_bytes(gzip.compress(content))
    sha = hashlib.sha256((root / "f.seq.gz").read_bytes()).hexdigest()
    _register(monkeypatch, reg.Entry("deepbind_encode_chipseq/f.seq.gz", sha, f"{url}/f.seq.gz", ""))
    path = data.fetch("deepbind_encode_chipseq/f.seq.gz")
    assert path == isolated / "cache" / "deepbind_encode_chipseq" / "f.seq.gz"
    assert data.open_text(path).read() == content.decode()
    (root / "f.seq.gz").unlink()
    assert data.fetch("deepbind_encode_chipseq/f.seq.gz") == path, "the second fetch uses the cache"


def test_a_download_with_the_wrong_checksum_is_discarded(isolated, server, monkeypatch):
    root, url = server
    (root / "f.txt").write_text("not what was registered")
    _register(monkeypatch, reg.Entry("basset_metadata/f.txt", "1" * 64, f"{url}/f.txt", ""))
    with pytest.raises(data.ChecksumError, match="expected sha256 1{64}"):
        data.fetch("basset_metadata/f.txt")
    assert not any((isolated / "cache").rglob("f.txt*"))


def test_an_uncompressed_upstream_of_a_gzipped_mirror_file(isolated, server, monkeypatch):
    root, url = server
    (root / "K.txt").write_text("a\tb\n1\t2\n")
    content_sha = hashlib.sha256(b"a\tb\n1\t2\n").hexdigest()
    _register(monkeypatch, reg.Entry("dhs_index_k562_hepg2/K.txt.gz", "2" * 64, f"{url}/K.txt", content_sha))
    path = data.fetch("dhs_index_k562_hepg2/K.txt.gz")
    assert path.name == "K.txt" and data.open_text(path).read() == "a\tb\n1\t2\n"


def test_every_encode_experiment_loads_with_the_published_counts():
    assert data.deepbind_chipseq_experiments() == sorted(ENCODE_COUNTS)
    for name, (n_train, n_test_peaks) in ENCODE_COUNTS.items():
        e = data.load_deepbind_chipseq(name)
        assert len(e.train_seqs) == n_train, name
        assert e.test_labels.sum() == n_test_peaks and len(e.test_seqs) == 2 * n_test_peaks, name
        assert {len(s) for s in e.test_seqs} == {101}


def test_training_set_adds_fresh_shuffled_negatives():
    e = data.load_deepbind_chipseq(ELK1)
    assert e.tf == "ELK1"
    seqs, labels = e.training_set(seed=0, top=1000)
    assert len(seqs) == 1000 and labels.sum() == 500, "the top 1000 hold the 500 odd-ranked training peaks"
    peaks, negatives = seqs[:500], seqs[500:]
    assert (seq.kmer_counts(peaks, 2) == seq.kmer_counts(negatives, 2)).all()
    again, _ = e.training_set(seed=1, top=1000)
    assert again[:500] == peaks and again[500:] != negatives
    strongest, _ = e.training_set(seed=0, limit=10)
    assert len(strongest) == 20 and strongest[0] == e.train_seqs[int(np.argmin(e.train_ranks))]


def test_a_malformed_chipseq_file_names_file_and_line(tmp_path):
    bad = tmp_path / "bad.seq"
    bad.write_text("FoldID\tEventID\tseq\tBound\nA\tseq_1_peak\tACGT\t1\nA\tseq_2_peak\tACGT\n")
    with pytest.raises(ValueError, match=r"bad.seq:3: expected"):
        data.chipseq._read_seq_file(bad)
    with pytest.raises(FileNotFoundError, match="neither a registered DeepBind experiment nor a file"):
        data.load_deepbind_chipseq("CTCF_nowhere")
    (tmp_path / "bad_B.seq").write_text(bad.read_text())
    with pytest.raises(ValueError, match=r"bad.seq:3: expected"):
        data.load_deepbind_chipseq(bad, test=tmp_path / "bad_B.seq")


def test_planted_sites_are_where_the_simulator_says(rng):
    motif = motifs.Motif("toy", "toy", motifs.pwm_from_iupac("GATTACA"))
    sim = data.plant_motif(motif, 400, length=50, fraction_bound=0.25, seed=3)
    assert len(sim.seqs) == 400 and sim.labels.sum() == 100
    for s, label, start, strand in zip(sim.seqs, sim.labels, sim.starts, sim.strands):
        if label:
            site = s[start:start + 7]
            assert (site if strand == "+" else seq.reverse_complement(site)) == "GATTACA"
        else:
            assert start == -1 and strand == ""
    assert set(sim.strands[sim.labels == 1]) == {"+", "-"}
    assert data.plant_motif(motif, 10, seed=3).seqs == data.plant_motif(motif, 10, seed=3).seqs
    gc = np.mean([s.count("G") + s.count("C") for s in data.plant_motif(motif, 200, gc=0.7, fraction_bound=0).seqs])
    assert gc / 101 == pytest.approx(0.7, abs=0.02)


RNACOMPETE_COUNTS = {"Fusip": (31300, 31148), "HuR": (41864, 41625), "PTB": (39822, 39536), "RBM4": (34628, 34288),
                     "SF2": (41197, 40774), "SLM2": (38002, 37588), "U1A": (15294, 15192), "VTS1": (28542, 28115),
                     "YB1": (45857, 45397)}


def test_rnacompete_sets_load_as_rna_with_the_published_counts():
    assert data.rnacompete_proteins() == sorted(RNACOMPETE_COUNTS)
    for protein in ("VTS1", "U1A"):
        for probe_set, n in zip("AB", RNACOMPETE_COUNTS[protein]):
            seqs, scores = data.load_rnacompete(protein, probe_set)
            assert len(seqs) == len(scores) == n
            assert 29 <= min(map(len, seqs)) and max(map(len, seqs)) <= 39
            seq.validate(seqs, "RNA")
    with pytest.raises(KeyError, match="unknown RNAcompete protein"):
        data.load_rnacompete("Nope")
    with pytest.raises(ValueError, match="probe_set"):
        data.load_rnacompete("VTS1", "C")


def test_clip_and_scale_uses_the_training_reference():
    train = np.array([0.0, 1.0, 2.0, 3.0, 100.0])
    scaled = data.clip_and_scale(train, percentile=80)
    assert np.isclose(scaled.mean(), 0, atol=1e-6) and np.isclose(scaled.std(), 1, atol=1e-6)
    assert scaled[-1] == scaled.max() and scaled[-1] < 2, "the outlier is clipped before scaling"
    test = data.clip_and_scale(np.array([1.0, 1000.0]), reference=train, percentile=80)
    assert test[0] == scaled[1] and test[1] == scaled[-1]


def test_a_malformed_probe_file_names_file_line_and_letter(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("1.5\tACGTACGT\nhigh\tACGT\n")
    with pytest.raises(ValueError, match=r"bad.txt:2: expected a score and a sequence"):
        data.read_probes(bad)
    letter = tmp_path / "letter.txt"
    letter.write_text("1.5\tACGTACGT\n0.5\tACGXA\n")
    with pytest.raises(ValueError, match=r"letter.txt:2: invalid letter 'X' at position 3"):
        data.read_probes(letter)


def test_probe_files_read_in_both_layouts(tmp_path):
    rnacontext = tmp_path / "rnacontext.txt"
    rnacontext.write_text("1.5\tACGTACGT\n-0.25\tacgt\n")
    assert data.read_probes(rnacontext)[0] == ["ACGUACGU", "ACGU"]
    compete2013 = tmp_path / "rncmpt.txt"
    compete2013.write_text("AGGUCCGAUU 2.5\nAGGUCC nan\n\n")
    seqs, scores = data.read_probes(compete2013)
    assert seqs == ["AGGUCCGAUU", "AGGUCC"] and scores[0] == 2.5 and np.isnan(scores[1])


def test_full_design_splits_at_the_inferred_boundary_and_holds_the_weak_probes():
    a_seqs, a_scores = data.load_rnacompete("U1A", "A", design="full")
    b_seqs, _ = data.load_rnacompete("U1A", "B", design="full")
    assert len(a_seqs) == data.rnacompete.FULL_LAST_A["U1A"] + 1 and len(a_seqs) + len(b_seqs) == 35276
    weak_a, weak_scores = data.load_rnacompete("U1A", "A")
    where = dict(zip(a_seqs, a_scores))
    assert all(where[s] == score for s, score in zip(weak_a[:500], weak_scores[:500]))
    with pytest.raises(KeyError, match="truncated"):
        data.load_rnacompete("RBM4", design="full")


def test_residualbind_normalisations_standardise_and_keep_the_order():
    y = np.array([-1.0, 0.0, 0.5, 2.0, 40.0, np.nan])
    for transform in (data.log_norm, data.clip_norm):
        z = transform(y)
        assert np.isclose(np.nanmean(z), 0, atol=1e-6) and np.isclose(np.nanstd(z), 1, atol=1e-5)
        assert np.isnan(z[-1]) and (np.diff(z[:-1]) >= 0).all()
    assert data.log_norm(y)[0] == data.log_norm(y + 5)[0], "log_norm starts from the minimum, so a shift is invisible"
    clipped = data.clip_norm(y)
    assert clipped[4] == clipped[:-1].max() and clipped[4] < 3, "the outlier is clipped at 4 SD"


def _toy_motif(name, consensus):
    return motifs.Motif(name, name, motifs.pwm_from_iupac(consensus))


def test_compendium_labels_follow_the_rule_and_sites_are_where_it_says():
    lineages = [_toy_motif("L1", "GATAAG"), _toy_motif("L2", "CCGGAA")]
    states = [_toy_motif("S1", "TGACTCA"), _toy_motif("S2", "TTTCCC"), _toy_motif("S3", "CACGTG")]
    comp = data.simulate_compendium(_toy_motif("U", "CCGCGAGGGC"), lineages, states, 2000, length=120,
                                    penetrance=1.0, leak=0.0, seed=1)
    assert comp.labels.shape == (2000, 6) and comp.tasks[0] == "L1|S1"
    assert comp.openers.sum(axis=1).tolist() == [3] * 6 and comp.openers["U"].all()
    assert comp.openers.loc["L2|S3"].tolist() == [True, False, True, False, False, True]
    assert set(comp.roles.values()) == {"ubiquitous", "lineage", "state"}
    by_name = {m.name: m for m in comp.motifs}
    for row in comp.sites.itertuples():
        window = comp.seqs[row.sequence][row.start:row.start + by_name[row.motif].width]
        assert (window if row.strand == "+" else seq.reverse_complement(window)) == by_name[row.motif].consensus
    per_sequence = comp.sites.groupby("sequence").size().reindex(range(2000), fill_value=0)
    assert np.bincount(per_sequence, minlength=4) / 2000 == pytest.approx([0.3, 0.35, 0.25, 0.1], abs=0.04)
    carried = comp.carried()
    expected = (carried[:, None, :] & comp.openers.to_numpy()[None]).any(axis=2)
    assert np.array_equal(comp.labels == 1, expected)
    assert np.array_equal(comp.oracle(), expected.astype(float))
    again = data.simulate_compendium(_toy_motif("U", "CCGCGAGGGC"), lineages, states, 2000, length=120,
                                     penetrance=1.0, leak=0.0, seed=1)
    assert again.seqs == comp.seqs


def test_compendium_noise_and_bad_arguments():
    lineages, states = [_toy_motif("L1", "GATAAG")], [_toy_motif("S1", "TGACTCA")]
    comp = data.simulate_compendium(_toy_motif("U", "CCGCGA"), lineages, states, 4000, length=60, penetrance=0.8,
                                    leak=0.1, seed=0)
    opened = comp.oracle()[:, 0] == 0.8
    assert comp.labels[opened, 0].mean() == pytest.approx(0.8, abs=0.03)
    assert comp.labels[~opened, 0].mean() == pytest.approx(0.1, abs=0.02)
    with pytest.raises(ValueError, match="distinct names"):
        data.simulate_compendium(_toy_motif("U", "CCG"), [_toy_motif("U", "GGG")], states, 10)
    with pytest.raises(ValueError, match="do not fit"):
        data.simulate_compendium(_toy_motif("U", "CCGCGA"), lineages, states, 10, length=12)


DHS_COUNTS = {("K562", "training"): 9769, ("K562", "validation"): 878, ("K562", "test"): 1321,
              ("HepG2", "training"): 9833, ("HepG2", "validation"): 1177, ("HepG2", "test"): 958}


def test_dhs_index_loads_with_the_published_counts_and_chromosome_split():
    table = data.load_dhs_k562_hepg2()
    assert table.groupby(["cell", "split"]).size().to_dict() == DHS_COUNTS
    assert set(table.loc[table.split == "test", "chr"]) == {"chr1"}
    assert set(table.loc[table.split == "validation", "chr"]) == {"chr2"}
    assert not {"chr1", "chr2"} & set(table.loc[table.split == "training", "chr"])
    assert (table.sequence.str.len() == 200).all()
    seq.validate(list(table.sequence[:500]))


def test_basset_targets_and_the_aitac_sample(mirror):
    targets = data.load_basset_targets()
    assert len(targets) == 164 and targets.source.value_counts().to_dict() == {"ENCODE": 125, "Roadmap": 39}
    assert targets.name[0] == "8988T"
    sample = data.load_aitac_sample()
    assert sample.x.shape == (100, 4, 251) and sample.heights.shape == (100, 81)
    assert torch.equal(sample.x.sum(dim=1), torch.ones(100, 251))
    original = np.load(data.fetch("aitac_sample/one_hot_seqs.npy"))
    assert np.array_equal(sample.x[:, 1].numpy(), original[:, 3]) and np.array_equal(sample.x[:, 3].numpy(), original[:, 1])
    assert list(sample.cell_types.columns) == ["task", "cell_type", "lineage"] and len(sample.peaks) == 100
