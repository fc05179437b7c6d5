"""Chapter 5's protocol (``nbs/05_ideep.ipynb``): iDeep's benchmark, every variant trained and tested on one CLIP
experiment as the paper did, on the iONMF data or on a folder of your own in its format."""

from __future__ import annotations

import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import torch

from teachbind.data.clip import load_ionmf
from teachbind.interpret import filter_motifs
from teachbind.metrics import auroc
from teachbind.models.ideep import MODALITIES, DenseNet, IDeep, fit_ideep, pretrain
from teachbind.predict import pick_device, predict
from teachbind.structure import unpaired_probabilities
from teachbind.train import NothingLearned, first_that_learns, is_dead, seed_everything, validation_split

RNAPLFOLD_WINDOW = 70
"""RNAplfold's default window and base-pair span (``-W 70 -L 70``), which ``-u 1`` alone leaves in place."""

VARIANTS = {
    "iDeep": (MODALITIES, True),
    "iDeep, no pretraining": (MODALITIES, False),
    **{name: ((name,), name != "sequence") for name in MODALITIES},
}
"""The benchmark's models: name → (modalities, whether the dense sub-networks are DBN-pretrained). The single
modality networks are pretrained as the paper's DBNs are (the sequence CNN has nothing to pretrain)."""


@dataclass
class ExperimentResult:
    """What :func:`run_experiment` measured on one experiment's test set. ``labels`` ``(N,)``; for each
    variant its test ``scores`` ``(N,)`` (logits), ``auroc``, ``epochs`` trained and ``seconds`` (training,
    pretraining included); ``pretraining_seconds``; ``filters``: the iDeep sequence filters as letter
    probabilities ``(filters, 4, width)`` with their ``filter_sites`` (aligned windows; 0 for a filter that never
    fires); per variant, the training seeds ``passed_over`` because their model learned nothing, and the variants
    that learned nothing from any seed (``not_learned``; their scores and AUROC are NaN)."""

    experiment: str
    labels: np.ndarray
    scores: dict[str, np.ndarray]
    auroc: dict[str, float]
    epochs: dict[str, int]
    seconds: dict[str, float]
    pretraining_seconds: float
    filters: np.ndarray
    filter_sites: np.ndarray
    passed_over: dict[str, list[int]] = field(default_factory=dict)
    not_learned: list[str] = field(default_factory=list)


def run_experiment(experiment: str | Path, *, variants: tuple[str, ...] | None = None, max_epochs: int = 20,
                   patience: int = 5, pretrain_epochs: int = 5, seed: int = 0, device: str | torch.device = "auto",
                   threads: int | None = None, structure: str = "rnafold", attempts: int = 2) -> ExperimentResult:
    """Train and test the benchmark's ``variants`` on one CLIP experiment, as the paper did: 80% of the training
    windows to train and 20% to validate (stratified; 4,000 and 1,000 in iONMF), :func:`fit_ideep`, AUROC on the
    test windows. The dense sub-networks are pretrained once per experiment (:func:`pretrain`, on the training
    part), and every pretrained variant starts from those same RBM weights.

    ``experiment``: a registered iONMF experiment or the path of a folder of your own in its layout, with
    whichever modalities you have (see :func:`teachbind.data.clip.load_ionmf`). ``variants``: names of
    :data:`VARIANTS`; by default every one the data allow (iDeep then fuses the modalities present).
    ``structure``: ``"rnafold"`` (the provided matrix) or ``"rnaplfold"`` (our ViennaRNA paired probabilities,
    computed once and cached). ``threads`` limits PyTorch's CPU threads (1 when experiments run in parallel
    processes).

    A variant whose model is dead on the validation windows (:func:`teachbind.train.is_dead`: constant or
    non-finite scores) is trained again from seed ``seed + 1``, and so on for ``attempts`` seeds, with a warning;
    one that never learns is reported with a NaN AUROC and listed in ``not_learned``. (The benchmark reports AUROC, a
    ranking: a weak single-modality model can rank windows better than chance while so overconfident that its
    loss sits above the training rate's, so the loss test of :func:`teachbind.train.learned` would wrongly
    discard it.)"""
    if threads is not None:
        torch.set_num_threads(threads)
    device = pick_device(device)
    train_split, test_split = load_ionmf(experiment, "train"), load_ionmf(experiment, "test")
    x, xt = (_inputs(s, structure) for s in (train_split, test_split))
    if x.names != xt.names:
        raise ValueError(f"{experiment}: the training split has modalities {', '.join(x.names)} but the test split "
                         f"{', '.join(xt.names)}; both need the same files")
    chosen = {name: _variant(name, x.names) for name in (variants or VARIANTS)}
    if variants is None:
        chosen = {name: v for name, v in chosen.items() if v is not None and (len(v[0]) > 1 or name not in FUSED)}
    missing = [name for name, v in chosen.items() if v is None]
    if missing:
        raise ValueError(f"{experiment}: variant {missing[0]!r} needs the {missing[0]} modality, which these files "
                         f"lack (they hold {', '.join(x.names)})")
    y = torch.as_tensor(train_split.labels)
    fit_rows, valid_rows = validation_split(train_split.labels, seed=seed)
    train, valid = (x[fit_rows], y[fit_rows]), (x[valid_rows], y[valid_rows])
    seed_everything(seed)
    start = time.perf_counter()
    template = IDeep.for_inputs(train[0])
    if any(pretrained for _, pretrained in chosen.values()):
        pretrain(template, train[0], epochs=pretrain_epochs, seed=seed, device=device)
    pretraining_seconds = time.perf_counter() - start
    scores, aurocs, epochs, seconds, passed_over, not_learned = {}, {}, {}, {}, {}, []
    filters = None
    for name, (modalities, pretrained) in chosen.items():
        def train_with(run_seed: int) -> IDeep | None:
            seed_everything(run_seed)
            model = IDeep.for_inputs(train[0], modalities)
            if pretrained:
                for modality, net in model.subnets.items():
                    if isinstance(net, DenseNet):
                        net.load_state_dict(template.subnets[modality].state_dict())
            epochs[name] = len(fit_ideep(model, train, valid, max_epochs=max_epochs, patience=patience,
                                         seed=run_seed, device=device))
            valid_scores = predict(model, valid[0], device=device, amp=False)
            return None if is_dead(valid_scores) else model

        start = time.perf_counter()
        try:
            _, model, passed_over[name] = first_that_learns(
                {s: s for s in range(seed, seed + attempts)}, train_with, f"{train_split.experiment}, {name}",
                kind="training seed", advice="its AUROC is reported as NaN")
        except NothingLearned as error:
            warnings.warn(str(error), RuntimeWarning, stacklevel=2)
            not_learned.append(name)
            passed_over[name] = list(range(seed, seed + attempts))
            scores[name], aurocs[name] = np.full(len(test_split.labels), np.nan, np.float32), float("nan")
            seconds[name] = time.perf_counter() - start
            continue
        seconds[name] = time.perf_counter() - start + (pretraining_seconds if pretrained else 0.0)
        scores[name] = predict(model, xt, device=device, amp=False).numpy()
        aurocs[name] = auroc(test_split.labels, scores[name])
        if name == "iDeep" and "sequence" in modalities:
            bound = train[0]["sequence"][train[1] == 1]
            filters = filter_motifs(model, bound, device=device, windows="all", alphabet="RNA")
    return ExperimentResult(
        experiment=train_split.experiment, labels=test_split.labels, scores=scores, auroc=aurocs, epochs=epochs,
        seconds=seconds, pretraining_seconds=pretraining_seconds,
        filters=np.stack([m.probs for m in filters]) if filters else np.zeros((0, 4, 0)),
        filter_sites=np.array([m.sites for m in filters]) if filters else np.zeros(0, int),
        passed_over=passed_over, not_learned=not_learned)


FUSED = ("iDeep", "iDeep, no pretraining")


def _variant(name: str, available: tuple[str, ...]) -> tuple[tuple[str, ...], bool] | None:
    """The modalities and pretraining of variant ``name`` on data holding ``available``; ``None`` when a single
    modality variant's modality is missing."""
    if name not in VARIANTS:
        raise KeyError(f"unknown variant {name!r}; choose from {', '.join(VARIANTS)}")
    modalities, pretrained = VARIANTS[name]
    if name in FUSED:
        return tuple(m for m in modalities if m in available), pretrained
    return (modalities, pretrained) if set(modalities) <= set(available) else None


def _inputs(split, structure: str):
    if structure == "rnafold":
        return split.modalities()
    if structure != "rnaplfold":
        raise ValueError(f"structure must be 'rnafold' or 'rnaplfold', got {structure!r}")
    paired = 1.0 - np.stack(unpaired_probabilities(split.sequences, window=RNAPLFOLD_WINDOW))
    return split.modalities(structure=paired.astype(np.float32))


def run_benchmark(experiments: list[str], *, processes: int = 1, **options) -> list[ExperimentResult]:
    """:func:`run_experiment` on each experiment, in ``processes`` worker processes of one PyTorch thread each
    (batches of 100 keep a second thread poorly used; ``scripts/benchmark_ideep.py`` measures both ways).
    ``options`` go to :func:`run_experiment`. Results come back in the order of ``experiments``."""
    if processes <= 1:
        return [run_experiment(e, **options) for e in experiments]
    with ProcessPoolExecutor(processes, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(run_experiment, e, threads=1, **options) for e in experiments]
        return [f.result() for f in futures]
