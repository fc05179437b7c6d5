import numpy as np
import pytest
import torch

from teachbind import data, motifs, seq
from teachbind.models import Basset, DeepBind, ResidualBind, basset, deepbind
from teachbind.train import sample_hyperparameters

from conftest import random_dna


def test_published_deepbind_sizes():
    # 16 detectors x 4 x 24 weights + 16 thresholds, then output (16 + 1) or hidden (16 x 32 + 32) and output (33)
    assert sum(p.numel() for p in DeepBind(hidden=0).parameters()) == 1536 + 16 + 17
    assert sum(p.numel() for p in DeepBind(hidden=32).parameters()) == 1536 + 16 + 544 + 33
    assert sum(p.numel() for p in DeepBind(hidden=32, pooling="maxavg").parameters()) == 1536 + 16 + 1056 + 33
    rna = DeepBind(width=16, both_strands=False, pooling="maxavg", hidden=0)
    assert rna.motifs.shape == (16, 4, 16)


def test_padding_is_m_minus_one_columns_of_any_base():
    x = seq.one_hot(["ACGTACGT"])
    padded = DeepBind(width=5).pad(x)
    assert padded.shape == (1, 4, 8 + 2 * 4)
    assert torch.equal(padded[..., :4], torch.full((1, 4, 4), 0.25))
    assert torch.equal(padded[..., -4:], torch.full((1, 4, 4), 0.25))
    assert torch.equal(padded[..., 4:-4], x)


def test_scan_of_a_pwm_detector_is_the_log_odds_score(rng):
    probs = motifs.pwm_from_iupac("TGACGTCA")
    weights = motifs.log_odds(probs)
    model = DeepBind(filters=1, width=8)
    with torch.no_grad():
        model.motifs[0] = torch.tensor(weights, dtype=torch.float32)
        model.thresholds.fill_(-1000.0)
    sequence = random_dna(rng, 1, 40)[0]
    x = seq.one_hot([sequence])
    scores = model.scan(x)[0, 0] - 1000.0
    expected = motifs.scan(x, weights, both_strands=False)[0, 0]
    # scan position p + m - 1 of the padded input is window p of the sequence
    assert torch.allclose(scores[7:7 + 33], expected[:33], atol=1e-4)


def test_both_strands_score_is_reverse_complement_invariant(rng):
    torch.manual_seed(0)
    model = DeepBind(conv_init_scale=0.5, dense_init_scale=0.5).eval()
    x = seq.one_hot(random_dna(rng, 16, 101))
    assert torch.allclose(model(x), model(x.flip(1, 2)), atol=1e-5)
    single = DeepBind(both_strands=False, conv_init_scale=0.5, dense_init_scale=0.5).eval()
    assert not torch.allclose(single(x), single(x.flip(1, 2)), atol=1e-3)


@pytest.mark.parametrize("pooling, hidden", [("max", 32), ("maxavg", 0)])
def test_one_convolution_over_both_strands_equals_scoring_each_strand(rng, pooling, hidden):
    torch.manual_seed(1)
    model = DeepBind(pooling=pooling, hidden=hidden, conv_init_scale=0.5, dense_init_scale=0.5).eval()
    with torch.no_grad():
        model.thresholds.uniform_(0, 2)
    x = seq.one_hot(random_dna(rng, 32, 101))

    def gradients(score):
        model.zero_grad()
        score(x).square().sum().backward()
        return [p.grad.clone() for p in model.parameters()]

    def each_strand(x):
        return torch.maximum(model.strand_score(x), model.strand_score(x.flip(1, 2)))

    assert torch.allclose(model(x), each_strand(x), atol=1e-5)
    for one, two in zip(gradients(model), gradients(each_strand)):
        assert torch.allclose(one, two, atol=1e-4, rtol=1e-4)


def test_rectification_thresholds_silence_weak_matches():
    model = DeepBind(filters=2, width=4, hidden=0, conv_init_scale=1.0)
    with torch.no_grad():
        model.thresholds.fill_(1e6)
    assert torch.equal(model.scan(seq.one_hot(["ACGTACGTAC"])), torch.zeros(1, 2, 13))


def test_bad_inputs_say_what_is_wrong():
    model = DeepBind(width=24)
    with pytest.raises(ValueError, match="shorter than the motif width"):
        model(seq.one_hot(["ACGT" * 5]))
    with pytest.raises(ValueError, match=r"\(N, 4, L\)"):
        model(torch.zeros(2, 101, 4))
    with pytest.raises(ValueError, match="pooling"):
        DeepBind(pooling="mean")
    with pytest.raises(ValueError, match="U"):  # an RNA probe given to a DNA encoder names the letter
        seq.one_hot(["ACGUACGU"])


def test_search_space_draws_within_the_papers_ranges():
    for task, poolings in (("classification", {"max"}), ("regression", {"max", "maxavg"})):
        sets = sample_hyperparameters(deepbind.search_space(task), 200, seed=1)
        frame = __import__("pandas").DataFrame(sets)
        assert frame.learning_rate.between(5e-4, 5e-2).all() and frame.momentum.between(0.95, 0.99).all()
        assert frame.conv_init_scale.between(1e-7, 1e-3).all() and frame.dense_init_scale.between(1e-5, 1e-2).all()
        assert frame.conv_weight_decay.between(1e-15, 1e-3).all()
        assert set(frame.dropout) == {0.0, 0.25, 0.5} and set(frame.hidden) == {0, 32}
        assert set(frame.pooling) == poolings
        model, settings = deepbind.build(sets[0])
        assert set(settings) == set(deepbind.OPTIMISER_KEYS) and model.hidden is None or model.hidden.out_features == 32
        optimizer = deepbind.optimizer(model, **settings)
        assert isinstance(optimizer, torch.optim.SGD) and optimizer.defaults["momentum"] == sets[0]["momentum"]
        assert optimizer.param_groups[0]["params"][0] is model.motifs
        assert optimizer.param_groups[0]["weight_decay"] == sets[0]["conv_weight_decay"]


def test_held_out_score_treats_dead_or_diverged_models_as_chance():
    labels = torch.tensor([0.0, 1.0, 0.0, 1.0])
    assert deepbind.held_out_score("classification", labels, torch.zeros(4)) == 0.5
    assert deepbind.held_out_score("regression", labels, torch.tensor([1.0, float("nan"), 0, 0])) == 0.0
    assert deepbind.held_out_score("classification", labels, torch.tensor([0.1, 0.9, 0.2, 0.8])) == 1.0


def test_deepbind_learns_a_planted_motif_and_its_detector_is_that_motif(seeded, record_property):
    motif = motifs.Motif("MA0079.5", "SP1-like", motifs.pwm_from_iupac("GGGGCGGGGC"))
    sim = data.plant_motif(motif, 1200, length=60, seed=seeded + 3)
    x, y = seq.one_hot(sim.seqs), torch.from_numpy(sim.labels)
    params = dict(learning_rate=0.02, momentum=0.97, conv_weight_decay=1e-10, dense_weight_decay=1e-10,
                  conv_init_scale=1e-3, dense_init_scale=1e-2, dropout=0.0, hidden=0, pooling="max")
    model, history = deepbind.fit_candidate(params, (x[:1000], y[:1000]), (x[1000:], y[1000:]), max_epochs=8,
                                            seed=seeded, device="cpu", width=12)
    record_property("valid_auroc", history["valid_score"].max())
    assert history["valid_score"].max() > 0.95
    bound = x[sim.labels == 1]
    both = torch.cat([bound, bound.flip(1, 2)])
    with torch.no_grad():
        activations = model.scan(both)
    found = [m for m in motifs.motifs_from_activations(model.pad(both), activations, 12) if m.sites >= 10]
    consensus = {m.consensus for m in found}
    assert any("GGGCGGGG" in c or "CCCCGCCC" in c for c in consensus), consensus


def test_published_basset_sizes_for_600_bp_and_164_cell_types():
    conv = (300 * 4 * 19 + 300) + (200 * 300 * 11 + 200) + (200 * 200 * 7 + 200)
    batch_norm = 2 * (300 + 200 + 200 + 1000 + 1000)
    dense = (1000 + 1) * 1000 + 1000 * 164 + 164
    same, valid = Basset(), Basset(padding="valid")
    assert (same.flattened, valid.flattened) == (200 * 13, 200 * 10)
    assert sum(p.numel() for p in same.parameters()) == conv + batch_norm + (2600 + 1) * 1000 + dense
    assert sum(p.numel() for p in valid.parameters()) == conv + batch_norm + (2000 + 1) * 1000 + dense
    x = torch.zeros(2, 4, 600)
    lengths = []
    for block in same.conv:
        x = block(x)
        lengths.append(tuple(x.shape[1:]))
    assert lengths == [(300, 200), (200, 50), (200, 13)]
    assert same.eval()(torch.zeros(2, 4, 600, dtype=torch.int8)).shape == (2, 164)


def test_basset_refuses_a_length_it_was_not_built_for():
    with pytest.raises(ValueError, match=r"\(N, 4, 600\), got \(1, 4, 200\)"):
        Basset()(torch.zeros(1, 4, 200))
    with pytest.raises(ValueError, match="too short"):
        Basset(length=40, padding="valid")


def test_max_norm_caps_each_filter_and_unit_after_every_step():
    torch.manual_seed(0)
    model = Basset(3, 60, filters=(8, 8, 8), hidden=(16, 16), max_norm=0.5)
    optimizer = basset.optimizer(model, learning_rate=0.5)
    x, y = torch.eye(4)[torch.randint(0, 4, (16, 60))].transpose(1, 2), torch.randint(0, 2, (16, 3))
    basset.loss(model(x), y).backward()
    optimizer.step()
    norms = [m.weight.detach().view(m.weight.shape[0], -1).norm(dim=1) for m in model.modules()
             if isinstance(m, (torch.nn.Conv1d, torch.nn.Linear))]
    assert max(float(n.max()) for n in norms) <= 0.5 + 1e-5
    assert all(float(n.max()) > 0.49 for n in norms)


def test_released_residualbind_sizes():
    model = ResidualBind()
    assert model.flattened == 96 * 4 and model.receptive_field() == 41
    sizes = {name: sum(p.numel() for p in module.parameters()) for name, module in model.named_children()}
    assert sizes == {"first": 4 * 11 * 96 + 2 * 96, "block": 4 * (96 * 96 * 3 + 2 * 96), "pool": 0,
                     "dense": 384 * 256 + 2 * 256, "output": 256 + 1}
    assert sum(sizes.values()) == 214_849
    assert model(torch.zeros(5, 4, 41)).shape == (5, 1)
    with pytest.raises(ValueError, match=r"\(N, 4, 41\)"):
        model(torch.zeros(5, 4, 40))
    with_structure = ResidualBind(channels=6)
    assert sum(p.numel() for p in with_structure.parameters()) == 214_849 + 2 * 11 * 96
    assert with_structure(torch.zeros(5, 6, 41)).shape == (5, 1)


def test_residualbind_block_output_sees_exactly_its_receptive_field():
    torch.manual_seed(0)
    model = ResidualBind(length=101).eval()
    x = torch.randn(1, 4, 101, requires_grad=True)
    model.block(model.first(x))[0, :, 50].sum().backward()
    reached = torch.nonzero(x.grad.abs().sum((0, 1)) > 0)[:, 0]
    assert (reached.min().item(), reached.max().item()) == (30, 70)


def test_every_training_recipe_has_one_signature():
    import inspect

    from teachbind.models import ideep, residualbind

    shared = ["max_epochs", "patience", "batch_size", "seed", "device", "progress"]
    for recipe in (deepbind.fit_deepbind, basset.fit_basset, ideep.fit_ideep, residualbind.fit_residualbind):
        parameters = inspect.signature(recipe).parameters
        positional = [p for p in parameters.values() if p.kind is p.POSITIONAL_OR_KEYWORD]
        assert [p.name for p in positional] == ["model", "train", "valid"], recipe.__name__
        assert positional[2].default is None, f"{recipe.__name__}: validation data are optional"
        keywords = [p.name for p in parameters.values() if p.kind is p.KEYWORD_ONLY]
        assert keywords[:len(shared)] == shared, recipe.__name__


def test_models_share_one_vocabulary_an_optimizer_and_an_output_rule():
    import inspect

    from teachbind.models import IDeep, ideep, residualbind
    from teachbind.models.ideep import Modalities, SequenceCNN

    stale = {"n_motifs", "motif_width", "n_filters", "filter_width", "n_outputs"}
    for model in (DeepBind, Basset, SequenceCNN, ResidualBind, IDeep):
        assert not stale & set(inspect.signature(model).parameters), model.__name__
    for model in (DeepBind, SequenceCNN, ResidualBind):
        assert {"filters", "width"} <= set(inspect.signature(model).parameters), model.__name__
    for model in (Basset, ResidualBind):
        assert {"n_tasks", "length"} <= set(inspect.signature(model).parameters), model.__name__
    small_basset = Basset(2, 41, filters=(4, 4, 4), widths=(5, 3, 3), pools=(2, 2, 2), hidden=(8,))
    assert isinstance(basset.optimizer(small_basset), torch.optim.RMSprop)
    assert isinstance(ideep.optimizer(IDeep(("sequence",))), torch.optim.RMSprop)
    assert isinstance(residualbind.optimizer(ResidualBind()), torch.optim.Adam)
    assert isinstance(deepbind.optimizer(DeepBind(), learning_rate=0.01, momentum=0.9, conv_weight_decay=0.0,
                                         dense_weight_decay=0.0), torch.optim.SGD)

    x = seq.one_hot(random_dna(np.random.default_rng(0), 3, 41))
    with torch.no_grad():
        assert DeepBind(width=8).eval()(x).shape == (3,)
        assert IDeep(("sequence",), length=41).eval()(Modalities(sequence=x)).shape == (3,)
        assert small_basset.eval()(x).shape == (3, 2)
        assert ResidualBind(1, 41).eval()(x).shape == (3, 1)
        assert ResidualBind(3, 41).eval()(x).shape == (3, 3)


def test_every_model_refuses_input_of_the_wrong_shape_and_names_itself():
    from teachbind.models import IDeep
    from teachbind.models.ideep import Modalities

    five_channels = torch.zeros(2, 5, 41)
    for model, name in ((DeepBind(width=8), "DeepBind"), (ResidualBind(), "ResidualBind"),
                        (Basset(2, 41, filters=(4, 4, 4), widths=(5, 3, 3), pools=(2, 2, 2), hidden=(8,)), "Basset"),
                        (IDeep(("sequence",), length=41), "iDeep")):
        model.eval()
        x = Modalities(sequence=five_channels) if name == "iDeep" else five_channels
        with pytest.raises(ValueError, match=f"{name}.*expects one-hot sequences of shape \\(N, 4"):
            model(x)
    with pytest.raises(TypeError, match="iDeep reads Modalities"):
        IDeep(("sequence",), length=41)(torch.zeros(2, 4, 41))
    with pytest.raises(ValueError, match="reads 505 features a window, got \\(4, 101\\)"):
        IDeep(("region",)).eval()(Modalities(region=torch.zeros(2, 4, 101)))


def test_fit_basset_augments_afresh_each_epoch_and_repeats_with_its_seed():
    motif = motifs.Motif("toy", "toy", motifs.pwm_from_iupac("GATTACA"))
    sim = data.plant_motif(motif, 200, length=60, seed=2)
    x, y = seq.one_hot(sim.seqs), torch.from_numpy(sim.labels)[:, None]
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = Basset(1, 60, filters=(8, 8, 8), hidden=(16, 16))
        runs.append(basset.fit_basset(model, (x[:150], y[:150]), (x[150:], y[150:]), max_epochs=2, seed=4,
                                      augmented=True, device="cpu"))
    assert len(runs[0]) == 2 and runs[0]["train_loss"].tolist() == runs[1]["train_loss"].tolist()
    assert not torch.equal(basset.augment(x, seed=1), basset.augment(x, seed=2))
    assert torch.equal(basset.augment(x, seed=1, max_shift=0).sum((1, 2)), x.sum((1, 2))), "strands keep every letter"
