import gzip
import shutil

import numpy as np
import pytest
import torch

from conftest import requires_mirror
from teachbind import interpret, motifs
from teachbind.data import clip, fetch
from teachbind.data.simulate import simulate_multimodal
from teachbind.models.ideep import HIDDEN_UNITS, IDeep, Modalities, SequenceCNN, fit_ideep, pretrain
from teachbind.models.rbm import RBM, exact_log_likelihood, pretrain_dbn, train_rbm
from teachbind.metrics import auroc
from teachbind.predict import predict
from teachbind.train import validation_split

PUM2 = "23_PARCLIP_PUM2_hg19"


def test_the_31_experiments_and_their_proteins():
    experiments = clip.ionmf_experiments()
    assert len(experiments) == 31 and experiments[0] == "1_PARCLIP_AGO1234_hg19" and experiments[22] == PUM2
    proteins = {clip.protein_of(e) for e in experiments}
    assert len(proteins) == 20, sorted(proteins)  # the paper's 19 RBPs, with AGO1-4 apart from AGO2
    assert clip.protein_of("9_PARCLIP_ELAVL1MNASE_hg19") == "ELAVL1"
    assert clip.protein_of("14_PARCLIP_FUS_mut_hg19") == "FUS"
    assert clip.short_name(experiments[30]).startswith("31 U2AF2 kd")


@requires_mirror
def test_load_ionmf_reads_every_modality_aligned():
    train, test = clip.load_ionmf(PUM2), clip.load_ionmf(PUM2, "test")
    assert (len(train), int(train.labels.sum()), len(test), int(test.labels.sum())) == (5000, 1000, 1000, 200)
    assert train.region.shape == (5000, 5, 101) and train.cobinding.shape == (5000, 30, 101)
    assert train.structure.shape == (5000, 101) and train.motif.shape == (5000, 102)
    assert train.motif_names[0] == "RNCMPT00001-A1CF" and set(np.unique(train.region)) == {0, 1}
    assert train.cobinding_withheld == [] and len(train.cobinding_experiments) == 30
    assert all(len(s) == 101 for s in train.sequences)
    x = train.modalities()
    assert len(x) == 5000 and x["sequence"].shape == (5000, 4, 101) and x[:7]["cobinding"].shape == (7, 30, 101)
    hnrnpc = clip.load_ionmf("16_ICLIP_hnRNPC_Hela_iCLIP_all_clusters", "test")
    withheld = hnrnpc.cobinding_experiments.index("17_ICLIP_HNRNPC_hg19")
    assert hnrnpc.cobinding_withheld == ["17_ICLIP_HNRNPC_hg19"] and hnrnpc.cobinding[:, withheld].sum() == 0


@requires_mirror
def test_a_file_out_of_row_order_is_refused_with_file_and_row(tmp_path, monkeypatch, mirror):
    source = mirror / clip.FOLDER / PUM2 / "test_sample_0"
    copy = tmp_path / "test_sample_0"
    shutil.copytree(source, copy)
    with gzip.open(source / "matrix_Response.tab.gz", "rt") as handle:
        lines = handle.read().splitlines()
    first_positive = lines.index("1")
    lines[first_positive], lines[1] = lines[1], lines[first_positive]
    (copy / "matrix_Response.tab.gz").unlink()
    with gzip.open(copy / "matrix_Response.tab.gz", "wt") as handle:
        handle.write("\n".join(lines) + "\n")
    monkeypatch.setattr(clip, "fetch", lambda path: copy / path.rsplit("/", 1)[1])
    with pytest.raises(ValueError, match=r"test_sample_0/matrix_Response.tab.gz: row 0 has label 1 where sequences.fa.gz has 0 \(2 rows"):
        clip.load_ionmf(PUM2, "test")


def test_unknown_experiment_suggests_close_names():
    with pytest.raises(KeyError, match="did you mean 23_PARCLIP_PUM2_hg19"):
        clip.load_ionmf("pum2")


def test_modalities_index_together_and_refuse_ragged_inputs():
    x = Modalities(a=torch.arange(6).view(6, 1), b=torch.zeros(6, 2, 3))
    rows = x[torch.tensor([4, 1])]
    assert len(rows) == 2 and rows["a"].ravel().tolist() == [4, 1] and rows["b"].shape == (2, 2, 3)
    assert x.select("b").names == ("b",)
    with pytest.raises(KeyError, match="no modality 'c'"):
        x.select("c")
    with pytest.raises(ValueError, match="different numbers of windows"):
        Modalities(a=torch.zeros(3), b=torch.zeros(4))


def test_released_ideep_sizes():
    cnn = SequenceCNN()
    assert cnn.pad(torch.zeros(2, 4, 101)).shape == (2, 4, 107)
    assert cnn.activations(torch.zeros(2, 4, 101)).shape == (2, 102, 101)
    assert cnn.dense[2].in_features == 102 * 33 and cnn(torch.zeros(2, 4, 101)).shape == (2, 102)
    model = IDeep()
    assert [net.out_features for net in model.subnets.values()] == [102, 256, 768, 128, 128]
    assert model.subnets["cobinding"].linears[0].in_features == 3030
    assert model.fusion[1].in_features == 102 + sum(HIDDEN_UNITS.values()) == 1382


def test_maxpool_by_reshape_is_maxpool1d(rng):
    a = torch.as_tensor(rng.normal(size=(3, 5, 101)), dtype=torch.float32)
    assert torch.equal(SequenceCNN().pool(a), torch.nn.MaxPool1d(3)(a))


def test_rbm_likelihood_is_normalised_and_cd1_raises_it(rng, seeded, record_property):
    patterns = np.array([[1, 1, 1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1, 1, 1]], dtype=np.float32)
    v = torch.as_tensor(patterns[rng.integers(0, 2, 500)])
    v = torch.where(torch.as_tensor(rng.random(v.shape) < 0.05), 1 - v, v)
    rbm = RBM(8, 4, seed=seeded + 1)
    before = exact_log_likelihood(rbm, v)
    history = train_rbm(rbm, v, epochs=30, batch_size=20, learning_rate=0.1, seed=seeded)
    after = exact_log_likelihood(rbm, v)
    record_property("log_likelihood_gain", after - before)
    assert before == pytest.approx(8 * np.log(0.5), abs=0.05)
    assert after > before + 1.5, (before, after)
    assert history["reconstruction_error"].iloc[-1] < history["reconstruction_error"].iloc[0]


def test_gaussian_rbm_learns_to_reconstruct_standardized_clusters(rng, seeded, record_property):
    centres = rng.normal(size=(2, 10)) * 2
    v = torch.as_tensor(centres[rng.integers(0, 2, 400)] + 0.3 * rng.normal(size=(400, 10)), dtype=torch.float32)
    v = (v - v.mean(0)) / v.std(0)
    history = train_rbm(RBM(10, 8, "gaussian", seed=seeded), v, epochs=40, batch_size=20, seed=seeded)
    record_property("error_ratio", history["reconstruction_error"].iloc[-1] / history["reconstruction_error"].iloc[0])
    assert history["reconstruction_error"].iloc[-1] < 0.5 * history["reconstruction_error"].iloc[0]


def test_pretrain_dbn_copies_each_rbm_into_its_layer(rng):
    layers = [torch.nn.Linear(12, 6), torch.nn.Linear(6, 3)]
    v = torch.as_tensor(rng.random((200, 12)) < 0.3, dtype=torch.float32)
    history = pretrain_dbn(layers, v, epochs=2)
    assert history["layer"].tolist() == [1, 1, 2, 2]
    rbm = RBM(12, 6, seed=0)
    train_rbm(rbm, v, epochs=2, seed=0)
    assert torch.allclose(layers[0].weight, rbm.weight) and torch.allclose(layers[0].bias, rbm.hidden_bias)


def test_pretrain_initialises_every_dense_subnetwork_and_not_the_cnn():
    data = simulate_multimodal(300, seed=1)
    model = IDeep()
    cnn_before = model.subnets["sequence"].conv.weight.clone()
    dense_before = {n: model.subnets[n].linears[1].weight.clone() for n in HIDDEN_UNITS}
    history = pretrain(model, data.modalities(), epochs=1, device="cpu")
    assert set(history["modality"]) == set(HIDDEN_UNITS)
    assert torch.equal(model.subnets["sequence"].conv.weight, cnn_before)
    assert all(not torch.equal(model.subnets[n].linears[1].weight, w) for n, w in dense_before.items())


def test_validation_split_is_stratified():
    labels = np.r_[np.ones(1000), np.zeros(4000)]
    fit_rows, valid_rows = validation_split(labels)
    assert len(valid_rows) == 1000 and labels[valid_rows].sum() == 200
    assert len(np.intersect1d(fit_rows, valid_rows)) == 0 and len(fit_rows) == 4000


@requires_mirror
def test_ideep_adds_up_the_causes_that_each_modality_sees(seeded, record_property):
    train, test = simulate_multimodal(4000, seed=seeded), simulate_multimodal(1500, seed=seeded + 1000)
    assert 0.15 < train.labels.mean() < 0.35
    fit_rows, valid_rows = validation_split(train.labels, seed=seeded)
    x, y = train.modalities(), torch.as_tensor(train.labels)
    scores = {}
    for modalities in [("motif",), ("region",), ("sequence", "region", "cobinding", "structure", "motif")]:
        model = IDeep(modalities)
        fit_ideep(model, (x[fit_rows], y[fit_rows]), (x[valid_rows], y[valid_rows]), max_epochs=8, seed=seeded,
                  device="cpu")
        scores[modalities[0] if len(modalities) == 1 else "iDeep"] = auroc(
            test.labels, predict(model, test.modalities(), device="cpu"))
    record_property("margin_over_best_single", scores["iDeep"] - max(scores["motif"], scores["region"]))
    assert scores["iDeep"] > max(scores["motif"], scores["region"]) + 0.04, scores


@requires_mirror
def test_a_filter_set_to_the_planted_motif_is_mined_as_that_motif_and_matched_to_rbfox1():
    data = simulate_multimodal(1000, seed=2)
    model = IDeep(("sequence",))
    with torch.no_grad():
        model.subnets["sequence"].conv.weight.zero_()
        model.subnets["sequence"].conv.bias.fill_(-5.0)
        model.subnets["sequence"].conv.weight[0, :, :6] = torch.as_tensor(motifs.log_odds(motifs.pwm_from_iupac(
            "TGCATG")), dtype=torch.float32)
    mined = interpret.filter_motifs(model, data.modalities("sequence")["sequence"], windows="all", alphabet="RNA")
    assert mined[0].sites >= int((data.truth["motif_start"] >= 0).sum()) and mined[1].sites == 0
    assert "".join("ACGU"[i] for i in mined[0].probs[:, :6].argmax(0)) == "UGCAUG"
    database = motifs.read_meme(fetch("motifs/Ray2013_rbp_RNA.meme"))
    hits = motifs.tomtom([mined[0]], database, distance="pearson", n_nearest=1)
    assert hits["target_name"].iloc[0] == "RBFOX1" and hits["q_value"].iloc[0] < 0.05, hits
