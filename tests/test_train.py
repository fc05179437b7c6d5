import numpy as np
import pytest
import torch
from torch import nn

from teachbind import data, metrics, motifs, predict, seq, train


def test_pick_device():
    assert predict.pick_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    if not torch.cuda.is_available() and torch.backends.mps.is_available():
        expected = "mps"
    assert predict.pick_device("auto").type == expected


def _scanner():
    return nn.Sequential(nn.Conv1d(4, 8, 9), nn.ReLU(), nn.AdaptiveMaxPool1d(1), nn.Flatten(), nn.Linear(8, 1),
                         nn.Flatten(0))


def _planted(n, seed):
    motif = motifs.Motif("t", "t", motifs.pwm_from_iupac("CACGTGAC"))
    sim = data.plant_motif(motif, n, length=40, seed=seed)
    return seq.one_hot(sim.seqs), torch.from_numpy(sim.labels)


def _fit(seed, **kwargs):
    train.seed_everything(seed)
    model = _scanner()
    history = train.fit(model, _planted(2000, 0), _planted(200, 1), loss_fn=nn.BCEWithLogitsLoss(),
                        optimizer=torch.optim.Adam(model.parameters(), lr=kwargs.pop("lr", 0.01)),
                        batch_size=32, device="cpu", seed=seed, progress=False, **kwargs)
    return model, history


def test_fit_learns_a_planted_motif(seeded, record_property):
    model, history = _fit(seeded, max_epochs=5, metric=metrics.auroc, metric_name="auroc")
    assert list(history.columns) == ["epoch", "train_loss", "learning_rate", "valid_loss", "valid_auroc", "seconds"]
    x, y = _planted(300, 2)
    record_property("test_auroc", metrics.auroc(y, predict.predict(model, x, device="cpu")))
    assert metrics.auroc(y, predict.predict(model, x, device="cpu")) > 0.95


def test_fit_keeps_the_best_epoch_and_stops_early():
    model, history = _fit(0, max_epochs=15, lr=0.2, patience=3)
    x, y = _planted(200, 1)
    final = float(nn.BCEWithLogitsLoss()(predict.predict(model, x, device="cpu"), y))
    assert final == pytest.approx(history["valid_loss"].min(), rel=1e-5)
    frozen, history = _fit(0, max_epochs=15, lr=0.0, patience=2)
    assert len(history) == 3, "no improvement after the first epoch: stop after `patience` more"


def test_the_learning_rate_drops_when_the_validation_score_stalls():
    model = _scanner()
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    schedule = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=0.3, patience=1,
                                                          threshold_mode="abs")
    history = train.fit(model, _planted(200, 0), _planted(100, 1), loss_fn=nn.BCEWithLogitsLoss(),
                        optimizer=optimizer, max_epochs=5, patience=None, device="cpu", progress=False,
                        lr_schedule=schedule)
    assert history["learning_rate"].tolist() == pytest.approx([1.0, 1.0, 1.0, 0.3, 0.3])


def test_same_seed_same_numbers_on_cpu():
    _, first = _fit(5, max_epochs=2)
    _, second = _fit(5, max_epochs=2)
    assert np.array_equal(first[["train_loss", "valid_loss"]].to_numpy(), second[["train_loss", "valid_loss"]].to_numpy())


def test_fit_asks_for_fresh_data_each_epoch():
    asked = []

    def epoch_data(epoch):
        asked.append(epoch)
        return _planted(64, epoch)

    model = _scanner()
    train.fit(model, epoch_data, loss_fn=nn.BCEWithLogitsLoss(), optimizer=torch.optim.SGD(model.parameters(), 0.01),
              max_epochs=3, device="cpu", progress=False)
    assert asked == [1, 2, 3]


def test_sample_hyperparameters_is_seeded_and_within_range():
    space = {"lr": train.loguniform(1e-4, 1e-1), "m": train.uniform(0.9, 0.99), "h": train.choice(0, 32)}
    first, again = train.sample_hyperparameters(space, 50, seed=3), train.sample_hyperparameters(space, 50, seed=3)
    assert first == again and first != train.sample_hyperparameters(space, 50, seed=4)
    lr = np.array([s["lr"] for s in first])
    assert ((lr >= 1e-4) & (lr <= 1e-1)).all() and (np.log10(lr) < -2.5).sum() > 10  # spread on a log scale
    assert {s["h"] for s in first} == {0, 32}


def test_kfold_partitions_every_index_once():
    splits = train.kfold(10, 3, seed=0)
    held_out = np.concatenate([valid for _, valid in splits])
    assert sorted(held_out) == list(range(10))
    for fit_on, valid in splits:
        assert not set(fit_on) & set(valid) and len(fit_on) + len(valid) == 10
    with pytest.raises(ValueError, match="2 <= k <= n"):
        train.kfold(3, 5)


def test_calibrate_ranks_candidates_by_mean_held_out_score():
    seen = []

    def score(params, fit_on, valid):
        seen.append((params["x"], len(fit_on), len(valid)))
        return -abs(params["x"] - 2) + 0.01 * len(valid)

    table = train.calibrate(score, [{"x": 0}, {"x": 2}, {"x": 5}], 9, folds=3, progress=False)
    assert list(table["x"]) == [2, 0, 5] and list(table["candidate"]) == [1, 0, 2]
    assert {"fold_0", "fold_1", "fold_2", "mean", "std"} <= set(table.columns)
    assert len(seen) == 9 and all(n + v == 9 for _, n, v in seen)


def test_fit_stops_when_the_loss_diverges():
    x, y = _planted(200, 0)
    model = _scanner()
    history = train.fit(model, (x, y), loss_fn=lambda p, t: (p - t).pow(2).mean() * float("inf"),
                        optimizer=torch.optim.SGD(model.parameters(), lr=0.1), max_epochs=5, device="cpu",
                        progress=False)
    assert len(history) == 1 and not np.isfinite(history.train_loss.iloc[0])


def test_predict_both_strands_averages_a_sequence_and_its_reverse_complement():
    class CountA(nn.Module):
        def forward(self, x):
            return x[:, 0, :2].sum(-1, keepdim=True)  # A's in the first two positions

    x = seq.one_hot(["AACC", "GGTT"])
    assert predict.predict(CountA(), x, device="cpu").flatten().tolist() == [2.0, 0.0]
    assert predict.predict_both_strands(CountA(), x, device="cpu").flatten().tolist() == [1.0, 1.0]


def test_retain_freed_memory_takes_effect_on_linux():
    import sys
    assert predict.retain_freed_memory() == sys.platform.startswith("linux")


def test_group_split_never_puts_a_group_on_both_sides():
    rng = np.random.default_rng(0)
    groups = rng.integers(0, 40, 1000)
    fit_on, held_out = train.group_split(groups, 0.2, seed=1)
    assert sorted(np.r_[fit_on, held_out]) == list(range(1000))
    assert not set(groups[fit_on]) & set(groups[held_out])
    assert 0.2 <= len(held_out) / 1000 < 0.3
    assert np.array_equal(train.group_split(groups, 0.2, seed=1)[1], held_out)
    assert not np.array_equal(train.group_split(groups, 0.2, seed=2)[1], held_out)
    chromosomes = np.repeat(["chr1", "chr2", "chr3"], [50, 30, 20])
    assert set(chromosomes[train.group_split(chromosomes, 0.1, seed=0)[1]]) < {"chr1", "chr2", "chr3"}
    with pytest.raises(ValueError, match="at least two groups"):
        train.group_split(np.zeros(10), 0.2)
