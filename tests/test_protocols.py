"""Each chapter's protocol runs on files given by path, in the format the book's data come in."""

import gzip

import numpy as np
import pandas as pd
import pytest
import torch

from teachbind import data, metrics, motifs, protocols, seq
from teachbind.models import DeepBind, deepbind
from teachbind.train import (NothingLearned, first_that_learns, is_dead, learned, mean_prediction,
                             sample_hyperparameters)


def _write_chipseq(path, seqs, labels):
    with gzip.open(path, "wt") as handle:
        handle.write("FoldID\tEventID\tseq\tBound\n")
        for rank, (s, label) in enumerate(zip(seqs, labels), start=1):
            handle.write(f"A\tseq_{rank:05d}_peak\t{s}\t{label}\n")


@pytest.fixture
def own_chipseq(tmp_path):
    """A ChIP-seq experiment of one's own in DeepBind's format: 300 peaks carrying a planted site, and a test file of
    100 peaks and 100 shuffles."""
    motif = motifs.Motif("toy", "toy", motifs.pwm_from_iupac("CCACGCGTGG"))
    planted = data.plant_motif(motif, 400, length=101, fraction_bound=1.0, seed=5)
    train, test = planted.seqs[:300], planted.seqs[300:]
    _write_chipseq(tmp_path / "MYTF_mycells_AC.seq.gz", train, [1] * 300)
    test_seqs = test + seq.dinucleotide_shuffle(test, seed=6)
    _write_chipseq(tmp_path / "MYTF_mycells_B.seq.gz", test_seqs, [1] * 100 + [0] * 100)
    return tmp_path / "MYTF_mycells_AC.seq.gz"


def test_a_chipseq_file_of_ones_own_loads_by_path_with_its_test_file_beside_it(own_chipseq):
    experiment = data.load_deepbind_chipseq(own_chipseq)
    assert experiment.name == "MYTF_mycells" and experiment.tf == "MYTF"
    assert len(experiment.train_seqs) == 300 and experiment.train_ranks.tolist() == list(range(1, 301))
    assert experiment.test_labels.sum() == 100 and len(experiment.test_seqs) == 200
    alone = own_chipseq.with_name("OTHER_AC.seq.gz")
    alone.write_bytes(own_chipseq.read_bytes())
    with pytest.raises(FileNotFoundError, match=r"OTHER_B.seq.gz \(pass test=PATH\)"):
        data.load_deepbind_chipseq(alone)
    assert data.load_deepbind_chipseq(alone, test=own_chipseq.with_name("MYTF_mycells_B.seq.gz")).name == "OTHER"


def test_deepbind_protocol_calibrates_and_trains_on_a_file_given_by_path(own_chipseq):
    candidates = sample_hyperparameters(deepbind.search_space("classification"), 2, seed=0)
    result = protocols.deepbind.train_chipseq(own_chipseq, candidates, folds=2, calibration_peaks=200,
                                              calibration_epochs=2, final_sequences=6000, final_runs=1, seed=0,
                                              device="cpu")
    assert isinstance(result.model, DeepBind) and result.experiment == "MYTF_mycells" and result.peaks == 300
    assert len(result.calibration) == 2 and result.chosen is candidates[int(result.calibration.loc[0, "candidate"])]
    assert result.scores.shape == (200,) and np.isfinite(result.scores).all()
    assert result.auroc == metrics.auroc(result.labels, result.scores)
    assert result.validation_peaks == 60 and result.final_runs["training"].tolist() == ["top", "all"]
    kept = result.final_runs.loc[result.final_runs["validation AUROC"].idxmax()]
    assert (result.training, result.validation_auroc) == (kept["training"], kept["validation AUROC"]) and kept["learned"]


def test_deepbind_holds_out_validation_peaks_as_strong_as_the_test_files():
    assert protocols.deepbind.held_out_peaks(10_000).tolist() == list(range(0, 500, 2))
    assert protocols.deepbind.held_out_peaks(300).tolist() == list(range(0, 120, 2))


class _Scores(torch.nn.Module):
    """A stand-in for a trained DeepBind: ``sign`` times the count of the planted site's core (0: a constant)."""

    def __init__(self, sign):
        super().__init__()
        self.sign = sign
        self.core = seq.one_hot(["CACGCG"])[0]

    def forward(self, x):
        match = torch.nn.functional.conv1d(x, self.core[None]).amax(-1)[:, 0]
        return self.sign * (match >= 6).float() + 0.0 * match


def test_deepbind_keeps_the_final_model_that_validates_best_and_none_when_none_learned(own_chipseq, monkeypatch):
    experiment = data.load_deepbind_chipseq(own_chipseq)
    peaks = experiment.train_seqs
    valid = protocols.deepbind.peaks_and_shuffles(peaks[:60], np.random.default_rng(0))
    signs = {("top", 0): 0.0, ("top", 1): -1.0, ("all", 0): 1.0, ("all", 1): 0.0}

    def trained(sign_of):
        def train_on_peaks(params, training, epochs, valid=None, *, patience=None, seed=0, device="cpu"):
            name = "top" if len(training) == 100 else "all"
            return _Scores(sign_of[name, seed]), pd.DataFrame({"epoch": [1, 2]})
        return train_on_peaks

    monkeypatch.setattr(protocols.deepbind, "train_on_peaks", trained(signs))
    sets = {"top": peaks[:100], "all": peaks}
    model, runs = protocols.deepbind.final_model({}, sets, valid, runs=2, seed=0, device="cpu")
    assert model.sign == 1.0 and runs["learned"].tolist() == [False, False, True, False]
    assert runs.loc[0, "validation AUROC"] == 0.5 and runs.loc[1, "validation AUROC"] < 0.5
    monkeypatch.setattr(protocols.deepbind, "train_on_peaks", trained(dict.fromkeys(signs, 0.0)))
    model, runs = protocols.deepbind.final_model({}, sets, valid, runs=2, seed=0, device="cpu")
    assert model is None and not runs["learned"].any()


def _accessibility(n, seed):
    """``n`` random 100 bp sequences; one cell type opens where GATA's site (AGATAA) is planted, the other where
    CTCF's core (CCGCGNGGNGGCAG) is; each site in half the sequences, independently."""
    rng = np.random.default_rng(seed)
    seqs = ["".join(rng.choice(list("ACGT"), 100)) for _ in range(n)]
    sites = {"erythroid": "AGATAAGG", "insulated": "CCGCGAGGCGGCAG"}
    labels = rng.random((n, 2)) < 0.5
    for i in range(n):
        for t, site in enumerate(sites.values()):
            if labels[i, t]:
                at = int(rng.integers(10, 90 - len(site)))
                seqs[i] = seqs[i][:at] + site + seqs[i][at + len(site):]
    return seqs, labels.astype(int), list(sites)


@pytest.fixture
def own_accessibility_table(tmp_path):
    """A table of one's own: sequence, two 0/1 cell-type columns, a split column, an id, a column of notes."""
    seqs, labels, tasks = _accessibility(1600, seed=3)
    parts = np.array(["train"] * 1200 + ["valid"] * 200 + ["test"] * 200)
    table = pd.DataFrame({"id": [f"peak{i}" for i in range(len(seqs))], "sequence": seqs,
                          tasks[0]: labels[:, 0], tasks[1]: labels[:, 1], "split": parts, "note": "x"})
    path = tmp_path / "my_cells.tsv.gz"
    table.to_csv(path, sep="\t", index=False)
    return path


def test_accessibility_tables_and_basset_fasta_files_of_ones_own_load_by_path(own_accessibility_table, tmp_path):
    own = data.load_accessibility(own_accessibility_table)
    assert own.tasks == ["erythroid", "insulated"] and own.labels.shape == (1600, 2) and own.ids[0] == "peak0"
    assert {part: len(own.rows(part)) for part in ("training", "validation", "test")} == {
        "training": 1200, "validation": 200, "test": 200}
    seqs, labels = own.seqs[:50], own.labels[:50].astype(int)
    fasta = tmp_path / "peaks.fa"
    fasta.write_text("".join(f">chr1:{100 * i}-{100 * i + 100}(+) extra words\n{s[:60]}\n{s[60:]}\n"
                             for i, s in enumerate(seqs)))
    act = tmp_path / "peaks_act.txt"
    act.write_text("\terythroid\tinsulated\n" + "".join(f"chr1:{100 * i}-{100 * i + 100}(+)\t{a}\t{b}\n"
                                                       for i, (a, b) in reversed(list(enumerate(labels)))))
    basset_format = data.load_accessibility(fasta)
    assert basset_format.seqs == seqs and np.array_equal(basset_format.labels, labels)
    assert basset_format.split is None and basset_format.ids[1] == "chr1:100-200(+)"
    assert data.load_accessibility(fasta, tasks=["insulated"]).labels.shape == (50, 1)

    def refused(text, match, name="bad.tsv", **options):
        (tmp_path / name).write_text(text)
        with pytest.raises(ValueError, match=match):
            data.load_accessibility(tmp_path / name, **options)

    refused("sequence\tA\nACGT\t1\nACGA\t2\n", r"bad.tsv, line 3: A is '2'; accessibility must be 0 or 1",
            tasks=["A"])
    refused("sequence\tA\nACGT\t1\nACXA\t0\n", r"bad.tsv, line 3: letter 'X' at position 2 of sequence 1")
    refused("sequence\tA\nACGT\t1\nACGAA\t0\n", r"line 3: sequence 1 has 5 nt where sequence 0 has 4")
    refused("sequence\tA\tsplit\nACGT\t1\ttrain\nACGA\t0\tholdout\n", r"line 3: split is 'holdout'")
    refused("sequence\tA\nACGT\t1\nACGA\t1\n", r"cell type 'A' has only 1s")
    refused("seq\tA\nACGT\t1\n", r"no 'sequence' column")
    (tmp_path / "bad_act.txt").write_text("\tA\na\t1\n")
    refused(">a\nACGT\n>b\nACGA\n", r"bad_act.txt: no row for sequence 'b'", name="bad.fa")
    with pytest.raises(FileNotFoundError, match=r"lonely_act.txt \(pass activity=PATH\)"):
        (tmp_path / "lonely.fa").write_text(">a\nACGT\n")
        data.load_accessibility(tmp_path / "lonely.fa")


def test_basset_protocol_searches_and_trains_on_a_table_given_by_path(own_accessibility_table, seeded,
                                                                       record_property):
    result = protocols.basset.train_accessibility(own_accessibility_table, trials=2, trial_sequences=600,
                                                  trial_epochs=1, max_epochs=6, patience=2, filters=(16, 16, 16),
                                                  hidden=(32,), seed=seeded, device="cpu")
    record_property("mean_auroc", float(result.auroc.mean()))
    assert list(result.auroc.index) == ["erythroid", "insulated"] and result.scores.shape == (200, 2)
    assert len(result.trials) == 2 and set(result.chosen) == {"learning_rate", "dropout", "filters", "widths"}
    assert len(result.rows["training"]) == 1200 and result.auroc["erythroid"] == metrics.auroc(
        result.labels[:, 0], result.scores[:, 0])
    # over seeds 0-4: mean AUROC 0.761-0.808 (a model that learned nothing: 0.5)
    assert result.auroc.mean() > 0.7, result.auroc


def _write_ionmf_split(folder, windows, rows, *, cobinding_channels=4):
    """Write the simulated ``windows[rows]`` as an iONMF split folder with sequences, labels, region types and
    ``cobinding_channels`` co-binding channels only (no structure, no motif scores)."""
    folder.mkdir(parents=True)
    sequences, labels = windows.sequences[rows], windows.labels[rows]
    region, cobinding = windows.region[rows], windows.cobinding[rows, :cobinding_channels]
    length = len(sequences[0])
    with gzip.open(folder / "sequences.fa.gz", "wt") as handle:
        for i, (s, label) in enumerate(zip(sequences, labels)):
            handle.write(f"> chr1,+,{1000 * i},{1000 * i + length - 1}; class:{label}\n{s[:60]}\n{s[60:]}\n")
    with gzip.open(folder / "matrix_Response.tab.gz", "wt") as handle:
        handle.write("Class\n" + "".join(f"{label}\n" for label in labels))

    def table(name, header, values):
        with gzip.open(folder / name, "wt") as handle:
            handle.write("\t".join(header) + "\n")
            np.savetxt(handle, values, fmt="%d", delimiter="\t")

    table("matrix_RegionType.tab.gz", [r for r in data.clip.REGION_TYPES for _ in range(length)],
          region.reshape(len(labels), -1))
    partners = [f"PARTNER{c}" for c in range(cobinding_channels)]
    table("matrix_Cobinding.tab.gz", [p for p in partners for _ in range(length)],
          cobinding.reshape(len(labels), -1))


@pytest.fixture
def own_clip(tmp_path):
    """A CLIP experiment of one's own in iONMF's layout with three of the five modalities (simulated windows whose
    binding depends on a motif, the region type and a partner's cross-link)."""
    windows = data.simulate.simulate_multimodal(900, effects=dict(region=5.0, partner=5.0), bias=-4.0, seed=3)
    _write_ionmf_split(tmp_path / "MYRBP" / "training_sample_0", windows, slice(0, 600))
    _write_ionmf_split(tmp_path / "MYRBP" / "test_sample_0", windows, slice(600, None))
    return tmp_path / "MYRBP"


def test_a_clip_folder_of_ones_own_loads_with_the_modalities_it_has(own_clip):
    train = data.load_ionmf(own_clip)
    assert train.experiment == "MYRBP" and len(train) == 600 and train.available == ("sequence", "region", "cobinding")
    assert train.structure is None and train.motif is None and train.cobinding.shape == (600, 4, 101)
    assert train.cobinding_experiments == ["PARTNER0", "PARTNER1", "PARTNER2", "PARTNER3"]
    assert train.modalities().names == ("sequence", "region", "cobinding")
    with pytest.raises(KeyError, match="MYRBP/training_sample_0 has no structure modality: matrix_RNAfold.tab.gz"):
        train.modalities("sequence", "structure")


def test_a_clip_folder_with_a_bad_file_is_refused_naming_file_and_line(own_clip, tmp_path):
    fasta = own_clip / "test_sample_0" / "sequences.fa.gz"
    with gzip.open(fasta, "rt") as handle:
        lines = handle.read().splitlines()
    lines[3] = "> chr1 + 1000 1100 class 1"
    with gzip.open(fasta, "wt") as handle:
        handle.write("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"test_sample_0/sequences.fa.gz, line 4: header '> chr1 \+ 1000 1100"):
        data.load_ionmf(own_clip, "test")
    with pytest.raises(FileNotFoundError, match="expected the iONMF layout training_sample_0/ and test_sample_0/"):
        data.load_ionmf(tmp_path)


def test_ideep_protocol_trains_every_variant_the_folder_allows(own_clip, seeded, record_property):
    result = protocols.ideep.run_experiment(own_clip, max_epochs=3, patience=3, pretrain_epochs=1, seed=seeded,
                                            device="cpu")
    record_property("region_auroc", result.auroc["region"])
    record_property("ideep_auroc", result.auroc["iDeep"])
    assert list(result.auroc) == ["iDeep", "iDeep, no pretraining", "sequence", "region", "cobinding"]
    assert result.experiment == "MYRBP" and result.scores["iDeep"].shape == (300,)
    # over seeds 0-4: region 0.717-0.752, iDeep 0.744-0.773
    assert result.auroc["region"] > 0.65 and result.auroc["iDeep"] > 0.68, result.auroc
    assert result.filters.shape[1] == 4 and len(result.filter_sites) == len(result.filters)
    with pytest.raises(ValueError, match="variant 'motif' needs the motif modality, which these files lack"):
        protocols.ideep.run_experiment(own_clip, variants=("motif",), device="cpu")


def test_an_ideep_variant_that_never_learns_is_retried_then_reported_as_nan(own_clip, monkeypatch):
    def learns_nothing(model, *args, **kwargs):
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.zero_()
        return pd.DataFrame({"epoch": [1]})

    monkeypatch.setattr(protocols.ideep, "fit_ideep", learns_nothing)
    with pytest.warns(RuntimeWarning, match="MYRBP, region: none of the 2 training seeds learned; its AUROC is"):
        result = protocols.ideep.run_experiment(own_clip, variants=("region",), pretrain_epochs=1, seed=3,
                                                device="cpu")
    assert result.not_learned == ["region"] and result.passed_over == {"region": [3, 4]}
    assert np.isnan(result.auroc["region"]) and np.isnan(result.scores["region"]).all()


def _write_probes(path, seqs, scores):
    with open(path, "w") as handle:
        handle.writelines(f"{score:.3f}\t{s}\n" for s, score in zip(seqs, scores))


@pytest.fixture
def own_rnacompete(tmp_path):
    """An RNAcompete experiment of one's own: Set A and Set B files of random 30-38 nt probes (DNA letters, as
    RNAcontext writes them) whose intensity is the number of UGCAUG sites plus noise; one Set A probe lacks an
    intensity (NaN)."""
    rng = np.random.default_rng(11)

    def probe_set(n):
        seqs = ["".join(rng.choice(list("ACGT"), size=rng.integers(30, 39))) for _ in range(n)]
        seqs = [s[:i] + "TGCATG" + s[i + 6:] if rng.random() < 0.4 else s
                for s, i in zip(seqs, rng.integers(0, 24, n))]
        return seqs, np.array([s.count("TGCATG") for s in seqs]) * 2.0 + rng.normal(0, 0.5, n)

    a_seqs, a_scores = probe_set(1000)
    a_scores[7] = np.nan
    _write_probes(tmp_path / "MYRBP_A.txt", a_seqs, a_scores)
    _write_probes(tmp_path / "MYRBP_B.txt", *probe_set(500))
    return tmp_path / "MYRBP_A.txt"


def test_rnacompete_files_of_ones_own_load_by_path_with_set_b_beside_them(own_rnacompete):
    probes = data.load_probe_sets(own_rnacompete)
    assert probes.name == "MYRBP" and len(probes.train_seqs) == 1000 and len(probes.test_seqs) == 500
    assert np.isnan(probes.train_intensity[7]) and set("".join(probes.train_seqs)) == set("ACGU")
    bad = own_rnacompete.with_name("BAD_A.txt")
    bad.write_text("1.0\tACGU\n2.0\tACXGU\n")
    bad.with_name("BAD_B.txt").write_text("1.0\tACGU\n")
    with pytest.raises(ValueError, match=r"BAD_A.txt:2: invalid letter 'X' at position 2"):
        data.load_probe_sets(bad)
    with pytest.raises(FileNotFoundError, match="no _A in the file name"):
        data.load_probe_sets(own_rnacompete.with_name("MYRBP_B.txt"))


def test_residualbind_protocol_trains_on_files_given_by_path(own_rnacompete, seeded, record_property):
    result = protocols.rnacompete.train_residualbind(own_rnacompete, max_epochs=8, patience=None, seed=seeded,
                                                     device="cpu")
    record_property("pearson", result.pearson)
    assert result.experiment == "MYRBP" and result.dropped == 1 and result.train_probes == 999
    assert result.model.length == 41 and result.predictions.shape == (500,)
    assert result.pearson == metrics.pearson(result.targets, result.predictions)
    assert result.pearson > 0.6, result.pearson  # over seeds 0-4: 0.732-0.803


RNA_CANDIDATE = dict(learning_rate=0.02, momentum=0.98, conv_weight_decay=1e-10, dense_weight_decay=1e-8,
                     conv_init_scale=1e-3, dense_init_scale=1e-2, dropout=0.0, hidden=0, pooling="maxavg")
"""A candidate from DeepBind's regression search space (a random draw at this tiny budget may learn nothing)."""


def test_deepbind_rnacompete_protocol_calibrates_and_trains_on_files_given_by_path(own_rnacompete, seeded,
                                                                                  record_property):
    candidates = [dict(RNA_CANDIDATE, pooling="max"), dict(RNA_CANDIDATE, learning_rate=0.005)]
    result = protocols.rnacompete.train_deepbind(own_rnacompete, candidates, calibration_probes=600,
                                                 calibration_epochs=2, final_epochs=4, seed=seeded, device="cpu")
    record_property("pearson", result.pearson)
    assert isinstance(result.model, DeepBind) and result.train_probes == 999 and len(result.calibration) == 2
    assert result.chosen is candidates[int(result.calibration.loc[0, "candidate"])] and result.passed_over == []
    assert result.pearson > 0.8, result.pearson  # over seeds 0-4: 0.862-0.885
    assert len(result.history) <= 4 and "valid_score" in result.history


def test_deepbind_rnacompete_passes_over_a_final_model_no_better_than_the_mean(own_rnacompete, monkeypatch):
    diverging = dict(RNA_CANDIDATE, learning_rate=1e6)
    monkeypatch.setattr(protocols.rnacompete, "calibrate", lambda *args, **kwargs: pd.DataFrame({"candidate": [0, 1]}))
    with pytest.warns(RuntimeWarning, match="calibration candidate 0 learned nothing .*no better than predicting"):
        result = protocols.rnacompete.train_deepbind(own_rnacompete, [diverging, RNA_CANDIDATE], final_epochs=2,
                                                     seed=0, device="cpu")
    assert result.passed_over == [0] and result.chosen is not diverging and result.pearson > 0.5


def test_deepbind_rnacompete_draws_new_candidates_when_none_learns(own_rnacompete, monkeypatch):
    diverging = dict(RNA_CANDIDATE, learning_rate=1e6)
    drawn = []

    def draw(space, n, *, seed):
        drawn.append((n, seed))
        return [dict(RNA_CANDIDATE)] * n

    monkeypatch.setattr(protocols.deepbind, "sample_hyperparameters", draw)
    options = dict(calibration_probes=300, calibration_epochs=1, final_epochs=3, seed=4, device="cpu")
    with pytest.warns(RuntimeWarning, match=r"none of the 1 calibration candidates learned.*new draw of 1 .*seed 5"):
        result = protocols.rnacompete.train_deepbind(own_rnacompete, [diverging], **options)
    assert drawn == [(1, 5)] and result.rounds == 2 and result.chosen == RNA_CANDIDATE
    assert result.pearson > 0.7, result.pearson  # with seeds 0-4 in place of 4: 0.828-0.865
    with pytest.raises(NothingLearned, match=r"round 1 of 1"), pytest.warns(RuntimeWarning):
        protocols.rnacompete.train_deepbind(own_rnacompete, [diverging], rounds=1, **options)


def test_a_candidate_that_diverged_before_its_first_validation_scores_chance():
    diverged = pd.DataFrame({"epoch": [1], "train_loss": [float("nan")]})
    assert deepbind.best_score(diverged, "classification") == 0.5 and deepbind.best_score(diverged, "regression") == 0
    scored = pd.DataFrame({"epoch": [1, 2, 3], "valid_score": [0.6, float("nan"), 0.7]})
    assert deepbind.best_score(scored, "classification") == 0.7


def test_calibrate_then_train_draws_again_until_a_candidate_learns_or_the_rounds_run_out(monkeypatch):
    draws = {1: [{"name": "c", "dead": True}, {"name": "d", "dead": True}],
             2: [{"name": "e", "dead": True}, {"name": "f", "dead": False}]}
    monkeypatch.setattr(protocols.deepbind, "sample_hyperparameters", lambda space, n, *, seed: draws[seed])

    def calibrate_all(candidates):
        return pd.DataFrame({"candidate": range(len(candidates))[::-1]})

    def final(params):
        return None if params["dead"] else f"model of {params['name']}"

    first = [{"name": "a", "dead": True}, {"name": "b", "dead": True}]
    with pytest.warns(RuntimeWarning) as caught:
        chosen, model, table, passed, rounds = protocols.deepbind.calibrate_then_train(
            first, {}, calibrate_all, final, "toy", rounds=3, seed=0)
    assert (chosen["name"], model, passed, rounds) == ("f", "model of f", [], 3)
    assert table["candidate"].tolist() == [1, 0]
    assert sum("new draw of 2" in str(w.message) for w in caught) == 2
    with pytest.raises(NothingLearned, match="round 2 of 2"), pytest.warns(RuntimeWarning):
        protocols.deepbind.calibrate_then_train(first, {}, calibrate_all, final, "toy", rounds=2, seed=0)


def test_a_model_that_learned_nothing_is_detected_and_the_next_candidate_trained():
    assert is_dead(torch.full((50,), 0.3)) and is_dead(torch.tensor([1.0, float("nan")]))
    assert is_dead(1e-10 * torch.randn(100) + 5.0) and not is_dead(torch.randn(100))
    table = pd.DataFrame({"candidate": [1, 0, 2]})
    trained = []

    def train(params):
        trained.append(params["name"])
        return None if params["name"] in ("dead", "diverged") else params["name"]

    candidates = [{"name": "alive"}, {"name": "dead"}, {"name": "diverged"}]
    options = protocols.deepbind.ranked(table, candidates)
    with pytest.warns(RuntimeWarning, match="toy: calibration candidate 1 learned nothing"):
        chosen, model, passed = first_that_learns(options, train, "toy")
    assert (chosen, model, passed, trained) == (0, "alive", [1], ["dead", "alive"])
    with pytest.raises(RuntimeError, match="none of the 2 calibration candidates learned; draw more"):
        with pytest.warns(RuntimeWarning):
            first_that_learns(protocols.deepbind.ranked(table.iloc[[0, 2]], candidates), train, "toy")


def test_learned_means_better_than_predicting_the_training_mean():
    torch.manual_seed(0)
    labels = (torch.rand(400, 2) < torch.tensor([0.2, 0.6])).float()
    logits = mean_prediction(labels, logits=True)
    assert torch.allclose(torch.sigmoid(logits), labels.mean(0))
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    informative = 4 * (labels - 0.5) + 0.5 * torch.randn_like(labels)
    assert learned(informative, labels, bce, logits)
    assert not learned(logits.expand_as(labels) + 1e-9 * torch.randn_like(labels), labels, bce, logits), "constant"
    assert not learned(3 * torch.randn_like(labels), labels, bce, logits), "random scores lose to the rate"
    assert not learned(torch.full_like(labels, float("nan")), labels, bce, logits)
    targets = torch.randn(300)
    mse = torch.nn.functional.mse_loss
    assert learned(targets + 0.3 * torch.randn(300), targets, mse, mean_prediction(targets, logits=False))
    assert not learned(torch.randn(300), targets, mse, mean_prediction(targets, logits=False))


def test_basset_protocol_passes_over_a_model_that_diverged_and_trains_the_next_set(own_accessibility_table):
    diverging, sound = dict(learning_rate=1e30), dict(learning_rate=0.002)
    options = dict(max_epochs=3, patience=None, filters=(16, 16, 16), hidden=(32,), seed=0, device="cpu")
    with pytest.warns(RuntimeWarning, match="hyperparameter set 0 learned nothing"):
        result = protocols.basset.train_accessibility(own_accessibility_table, hyperparameters=[diverging, sound],
                                                      **options)
    assert result.passed_over == [0] and result.chosen is sound and result.trials is None
    assert np.isfinite(result.scores).all() and result.auroc.mean() > 0.6, result.auroc
    with pytest.raises(RuntimeError, match="none of the 1 hyperparameter sets learned; check the labels"):
        with pytest.warns(RuntimeWarning):
            protocols.basset.train_accessibility(own_accessibility_table, hyperparameters=diverging, **options)
