"""One readable training loop, written by hand in Chapter 2 (``nbs/02_training.ipynb``) and shared by every chapter,
and the random-search calibration with cross-validation that DeepBind used (Chapters 2 and 3).

The data sets in this book fit in memory, so :func:`fit` keeps them as tensors on the training device and
indexes mini-batches directly: no per-sample ``DataLoader``. On CUDA it trains in bfloat16 mixed precision.
"""

from __future__ import annotations

import copy
import os
import random
import time
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from teachbind.predict import autocast, pick_device, predict, retain_freed_memory

Tensors = tuple[torch.Tensor, torch.Tensor]
TrainData = Tensors | Callable[[int], Tensors]


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch, and ask PyTorch for deterministic kernels, so CPU runs repeat exactly."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)


def _epoch_data(train: TrainData, epoch: int, device: torch.device) -> Tensors:
    x, y = train(epoch) if callable(train) else train
    return x.to(device), y.to(device)


def fit(model: torch.nn.Module, train: TrainData, valid: Tensors | None = None, *,
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        optimizer: torch.optim.Optimizer, max_epochs: int = 20, batch_size: int = 64, patience: int | None = 5,
        metric: Callable[[torch.Tensor, torch.Tensor], float] | None = None, metric_name: str = "metric",
        device: str | torch.device = "auto", amp: bool = True, seed: int | None = None,
        lr_schedule: torch.optim.lr_scheduler.ReduceLROnPlateau | None = None, progress: bool = True
        ) -> pd.DataFrame:
    """Train ``model`` in place and return its history, one row per epoch.

    ``train`` is ``(x, y)`` tensors (``x`` ``(N, ...)``, ``y`` ``(N, ...)``) or a function ``epoch -> (x, y)`` that
    builds fresh data each epoch (DeepBind re-shuffles its negatives this way). Each epoch visits the training
    examples once in a random order, in batches of ``batch_size``. With ``valid`` data, the loss (and
    ``metric(y, predictions)``, higher is better, if given) is measured after each epoch; training stops after
    ``patience`` epochs without improvement of the validation loss (or of the metric, when one is given), and the
    model keeps the weights of its best epoch. ``lr_schedule`` (built with ``mode="max"``) is stepped with that
    validation score after each epoch, so the learning rate drops when it stalls (with ``threshold_mode="abs"``
    when the score is a negative loss). Training stops at once if the loss becomes NaN or infinite (the
    learning rate is too high). On the CPU it first calls :func:`retain_freed_memory`. History columns:
    ``epoch``, ``train_loss``, ``learning_rate``, ``valid_loss``, ``valid_<metric_name>``, ``seconds``.
    """
    device = pick_device(device)
    if device.type == "cpu":
        retain_freed_memory()
    model.to(device)
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    best_score, best_state, waited, rows = -float("inf"), None, 0, []
    bar = tqdm(range(1, max_epochs + 1), desc="epochs", disable=not progress, leave=False)
    for epoch in bar:
        start = time.perf_counter()
        x, y = _epoch_data(train, epoch, device)
        model.train()
        order = torch.randperm(len(x), generator=generator).to(device)
        total = 0.0
        for a in range(0, len(x), batch_size):
            batch = order[a:a + batch_size]
            with autocast(device, amp):
                loss = loss_fn(model(x[batch]).float(), y[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        row = {"epoch": epoch, "train_loss": total / len(x), "learning_rate": optimizer.param_groups[0]["lr"]}
        if not np.isfinite(row["train_loss"]):
            rows.append({**row, "seconds": time.perf_counter() - start})
            break
        if valid is not None:
            predictions = predict(model, valid[0], batch_size=max(batch_size, 1024), device=device, amp=amp)
            row["valid_loss"] = float(loss_fn(predictions, valid[1].cpu()))
            score = -row["valid_loss"]
            if metric is not None:
                row[f"valid_{metric_name}"] = score = metric(valid[1], predictions)
            if score > best_score:
                best_score, best_state, waited = score, copy.deepcopy(model.state_dict()), 0
            else:
                waited += 1
            if lr_schedule is not None:
                lr_schedule.step(score)
        row["seconds"] = time.perf_counter() - start
        rows.append(row)
        bar.set_postfix({k: f"{v:.4f}" for k, v in row.items() if k not in ("epoch", "seconds")})
        if patience is not None and valid is not None and waited >= patience:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    return pd.DataFrame(rows)


Space = dict[str, Callable[[np.random.Generator], object]]


def loguniform(low: float, high: float) -> Callable[[np.random.Generator], float]:
    """A sampler for :func:`sample_hyperparameters`: values spread evenly on a log scale between ``low`` and ``high``."""
    return lambda rng: float(np.exp(rng.uniform(np.log(low), np.log(high))))


def uniform(low: float, high: float) -> Callable[[np.random.Generator], float]:
    """A sampler for :func:`sample_hyperparameters`: uniform between ``low`` and ``high``."""
    return lambda rng: float(rng.uniform(low, high))


def choice(*options) -> Callable[[np.random.Generator], object]:
    """A sampler for :func:`sample_hyperparameters`: one of ``options``, each equally likely (repeat one to favour it)."""
    return lambda rng: options[int(rng.integers(len(options)))]


def sample_hyperparameters(space: Space, n: int, *, seed: int = 0) -> list[dict]:
    """Draw ``n`` hyperparameter sets from ``space`` (name → sampler) for a random search (Bergstra & Bengio 2012)."""
    rng = np.random.default_rng(seed)
    return [{name: draw(rng) for name, draw in space.items()} for _ in range(n)]


def kfold(n: int, k: int, *, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Split ``range(n)`` at random into ``k`` folds; returns ``k`` pairs (training indices, held-out indices)."""
    if not 2 <= k <= n:
        raise ValueError(f"k-fold cross-validation needs 2 <= k <= n, got k={k}, n={n}")
    folds = np.array_split(np.random.default_rng(seed).permutation(n), k)
    return [(np.sort(np.concatenate(folds[:i] + folds[i + 1:])), np.sort(folds[i])) for i in range(k)]


def validation_split(labels: np.ndarray, fraction: float = 0.2, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, valid)`` holding out ``fraction`` of each class (iDeep's 4,000 / 1,000 of 5,000)."""
    rng = np.random.default_rng(seed)
    valid = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:round(fraction * np.sum(labels == c))]
                            for c in np.unique(labels)])
    return np.setdiff1d(np.arange(len(labels)), valid), np.sort(valid)


def is_dead(predictions) -> bool:
    """Whether a model's predictions ``(N, ...)`` say it never learned or diverged: a value that is not finite,
    or a spread below a millionth of their scale (a model stuck at its output bias)."""
    p = torch.as_tensor(predictions).double()
    return not bool(torch.isfinite(p).all()) or float(p.std()) <= 1e-6 * max(1.0, float(p.abs().mean()))


def learned(predictions: torch.Tensor, targets: torch.Tensor, loss_fn: Callable[[torch.Tensor, torch.Tensor],
            torch.Tensor], constant: torch.Tensor) -> bool:
    """Whether a trained model's held-out ``predictions`` ``(N, ...)`` show that it learned something: they are
    finite and not constant (:func:`is_dead`), and their ``loss_fn`` against ``targets`` is below that of
    predicting ``constant`` (broadcast to ``(N, ...)``) for every example, where ``constant`` is what a model that
    learned nothing but the training targets' mean would predict: that mean for a squared error, its logit for a
    loss on logits (:func:`mean_prediction`)."""
    predictions, targets = torch.as_tensor(predictions).float(), torch.as_tensor(targets).float()
    if is_dead(predictions):
        return False
    baseline = loss_fn(torch.as_tensor(constant).float().expand_as(predictions), targets)
    return float(loss_fn(predictions, targets)) < float(baseline)


def mean_prediction(targets: torch.Tensor, *, logits: bool) -> torch.Tensor:
    """The training targets' mean over examples, ``(...)`` of targets ``(N, ...)``; with ``logits``, the logit of
    that rate (kept within 1e-6 of 0 and 1): the constant prediction :func:`learned` compares a model with."""
    mean = torch.as_tensor(targets).float().mean(dim=0)
    return torch.logit(mean.clamp(1e-6, 1 - 1e-6)) if logits else mean


class NothingLearned(RuntimeError):
    """Raised by :func:`first_that_learns` when no option gave a model that learned."""


DEAD = "constant or non-finite predictions"
"""Why :func:`is_dead` rejects a model, as :func:`first_that_learns` warns it."""
NO_BETTER_THAN_THE_MEAN = f"{DEAD}, or no better than predicting the training mean"
"""Why :func:`learned` rejects a model, as :func:`first_that_learns` warns it."""


def first_that_learns(options: dict, train: Callable[[object], object | None], what: str, *,
                      kind: str = "calibration candidate", advice: str = "draw more candidates or train longer",
                      reason: str = DEAD) -> tuple[object, object, list]:
    """Train ``options`` (key → what :func:`train` takes, in order of preference) one by one until one learns:
    ``train(option)`` returns the trained model, or ``None`` when it learned nothing (:func:`is_dead`,
    :func:`learned`). Returns the key of the one that learned, its model, and the keys passed over, each with a
    ``RuntimeWarning`` that names ``what``, the ``kind`` of option and the ``reason`` it was rejected for. Raises
    :class:`NothingLearned` (a ``RuntimeError``), with ``advice``, when none learns. Introduced in Chapter 2; every
    chapter's protocol uses it."""
    passed = []
    for key, option in options.items():
        model = train(option)
        if model is not None:
            return key, model, passed
        passed.append(key)
        then = "; trying the next" if len(passed) < len(options) else ""
        warnings.warn(f"{what}: {kind} {key} learned nothing ({reason}){then}", RuntimeWarning, stacklevel=2)
    raise NothingLearned(f"{what}: none of the {len(options)} {kind}s learned; {advice}")


def group_split(groups, fraction: float = 0.2, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, held_out)`` of ``groups`` ``(N,)`` (a chromosome, a gene, the peak a window was cut from)
    holding out whole groups, drawn at random, until at least ``fraction`` of the examples are held out: no group
    has examples on both sides, so a model cannot score well on the held-out ones by remembering their neighbours.
    Introduced in Chapter 2."""
    groups = np.asarray(groups)
    names, counts = np.unique(groups, return_counts=True)
    if names.size < 2:
        raise ValueError(f"a group split needs at least two groups, got {names.size}")
    order = np.random.default_rng(seed).permutation(names.size)
    taken = np.cumsum(counts[order]) < fraction * groups.size
    taken[np.argmin(taken)] = True
    held_out = np.isin(groups, names[order[taken]])
    if held_out.all():
        raise ValueError(f"fraction {fraction} would hold out every group")
    return np.flatnonzero(~held_out), np.flatnonzero(held_out)


def random_split(n: int, fraction: float = 0.1, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, valid)`` of ``range(n)``, ``int(fraction * n)`` of them held out at random (for regression
    targets; :func:`validation_split` holds out the same fraction of each class)."""
    order = np.random.default_rng(seed).permutation(n)
    held_out = int(n * fraction)
    return order[held_out:], order[:held_out]


def calibrate(score: Callable[[dict, np.ndarray, np.ndarray], float], candidates: list[dict], n: int, *,
              folds: int = 3, seed: int = 0, progress: bool = True) -> pd.DataFrame:
    """Random-search calibration with k-fold cross-validation, as DeepBind chose its hyperparameters.

    ``score(params, train_index, valid_index)`` trains a model with ``params`` on the examples ``train_index`` of
    ``n`` and returns a held-out score (higher is better). Every candidate sees the same folds. Returns one row per
    candidate, best first: its parameters, ``fold_<i>`` scores, and their ``mean`` and ``std``.
    """
    splits = kfold(n, folds, seed=seed)
    rows = []
    for i, params in enumerate(tqdm(candidates, desc="calibration", disable=not progress, leave=False)):
        scores = [score(params, train_index, valid_index) for train_index, valid_index in splits]
        rows.append({"candidate": i, **params, **{f"fold_{f}": s for f, s in enumerate(scores)},
                     "mean": float(np.mean(scores)), "std": float(np.std(scores))})
    return pd.DataFrame(rows).sort_values("mean", ascending=False, kind="stable").reset_index(drop=True)
