import numpy as np
import pytest
import torch
from torch import nn

from teachbind import data, metrics, motifs, seq, train


def test_pick_device():
    assert train.pick_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    if not torch.cuda.is_available() and torch.backends.mps.is_available():
        expected = "mps"
    assert train.pick_device("auto").type == expected


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


def test_fit_learns_a_planted_motif():
    model, history = _fit(0, max_epochs=5, metric=metrics.auroc, metric_name="auroc")
    assert list(history.columns) == ["epoch", "train_loss", "valid_loss", "valid_auroc", "seconds"]
    x, y = _planted(300, 2)
    assert metrics.auroc(y, train.predict(model, x, device="cpu")) > 0.95


def test_fit_keeps_the_best_epoch_and_stops_early():
    model, history = _fit(0, max_epochs=15, lr=0.2, patience=3)
    x, y = _planted(200, 1)
    final = float(nn.BCEWithLogitsLoss()(train.predict(model, x, device="cpu"), y))
    assert final == pytest.approx(history["valid_loss"].min(), rel=1e-5)
    frozen, history = _fit(0, max_epochs=15, lr=0.0, patience=2)
    assert len(history) == 3, "no improvement after the first epoch: stop after `patience` more"


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
