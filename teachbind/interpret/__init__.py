"""What a trained model learned: in-silico mutagenesis and filters read as motifs (Chapter 3,
``nbs/03_deepbind.ipynb``), the loss and gain scores and filter influence of Basset (Chapter 4,
``nbs/04_basset.ipynb``), and saliency (Chapter 6).

Operations share one calling shape, ``op(model, x, *, target=None, batch_size=1024, device="auto", ...)``, the
shape of :func:`teachbind.predict.predict` on which they are built: one-hot ``x`` of shape ``(N, 4, L)``;
``target`` picks the output to explain (``None``: all of them; a task index; or a function of the outputs, see
:data:`teachbind.predict.Target`), so a multi-task model needs no wrapper; ``batch_size`` sequences per forward
pass (:data:`teachbind.predict.BATCH_SIZE`); ``device="auto"`` runs on a GPU when there is one
(:func:`teachbind.predict.pick_device`); results are float32 tensors on the CPU. Global Importance Analysis, for
ResidualBind (Chapter 6), is :mod:`teachbind.interpret.gia`, built the same way. Chapter 7 adds attributions
against a reference (integrated gradients, DeepLIFT/SHAP), the gradient correction and seqlets
(:mod:`teachbind.interpret.attribution`), and TF-MoDISco's motifs (:mod:`teachbind.interpret.modisco`).
"""

from __future__ import annotations

import pandas as pd
import torch

from teachbind.interpret.local import local_trunk, predict_mutants
from teachbind.motifs import Motif, motifs_from_activations
from teachbind.predict import BATCH_SIZE, Target, predict, prepare, select
from teachbind.seq import check_one_hot, get_alphabet


def saliency(model: torch.nn.Module, x: torch.Tensor, *, target: Target = None, batch_size: int = BATCH_SIZE,
             device: str | torch.device = "auto") -> torch.Tensor:
    """Gradient of the model's output with respect to the one-hot input ``x`` ``(N, 4, L)``: ``(N, 4, L)``
    (Simonyan et al. 2014). ``target`` picks the output (a model with several is differentiated through the sum
    of those ``target`` selects). The gradient at the letter present is a first-order guess of how much that
    letter matters; unlike :func:`ism` it costs one backward pass, and it is local: it cannot see effects that
    need several letters to change together. The model's own gradients are left untouched."""
    check_one_hot(x, "saliency")
    device = prepare(model, device)
    grads = []
    for start in range(0, len(x), batch_size):
        batch = x[start:start + batch_size].to(device).float().requires_grad_(True)
        grads.append(torch.autograd.grad(select(model(batch), target).sum(), batch)[0].cpu())
    return torch.cat(grads)


def ism(model: torch.nn.Module, x: torch.Tensor, *, target: Target = None, batch_size: int = BATCH_SIZE,
        device: str | torch.device = "auto") -> torch.Tensor:
    """In-silico saturation mutagenesis: the change in the model's output for every single substitution.

    ``x``: one-hot ``(N, 4, L)``; the model's output that ``target`` selects is ``(B,)`` or, with several outputs
    (Basset's cell types), ``(B, T)``. Returns ``(N, 4, L)``, or ``(N, T, 4, L)`` for ``T`` outputs: entry
    ``[n, b, i]`` (``[n, t, b, i]``) is ``model(x_n with letter b at position i) - model(x_n)``, so the wild-type
    letter's entry is 0 (and is not computed). Mutants of several sequences share a forward pass. This is the data
    of DeepBind's mutation maps (Alipanahi et al. 2015) and of Basset's in-silico saturation mutagenesis
    (Kelley et al. 2016).

    A model that defines ``trunk_and_head()`` (Basset) has each mutant's convolutions recomputed only near the
    substituted letter (:mod:`teachbind.interpret.local`); any other model is run on every mutant in full.
    """
    check_one_hot(x, "ism")
    n, _, length = x.shape
    options = dict(target=target, batch_size=batch_size, device=device)
    reference = predict(model, x, amp=False, **options)
    effects = torch.zeros(n, *reference.shape[1:], 4, length)
    local = local_trunk(model) is not None
    letters = torch.eye(4, dtype=x.dtype)
    per_pass = max(1, batch_size // (3 * length))
    for start in range(0, n, per_pass):
        chunk = x[start:start + per_pass]
        rows, bases, positions = torch.nonzero(chunk != 1, as_tuple=True)
        if local:
            scores = predict_mutants(model, chunk, rows, bases, positions, **options)
        else:
            mutants = chunk[rows]
            mutants[torch.arange(len(rows)), :, positions] = letters[bases]
            scores = predict(model, mutants, amp=False, **options)
        effects[start + rows, ..., bases, positions] = scores - reference[start + rows]
    return effects


def substitutions(effects: torch.Tensor, sequence: str, alphabet: str = "DNA") -> pd.DataFrame:
    """One row per single substitution of ``sequence`` with its ``effect`` (one sequence's :func:`ism`,
    ``(4, L)``), most damaging first: ``position`` (1-based), ``reference``, ``alternative``, ``effect``."""
    letters = get_alphabet(alphabet).letters
    rows = [(i + 1, sequence[i], letters[b], float(effects[b, i]))
            for i in range(len(sequence)) for b in range(4) if letters[b] != sequence[i].upper()]
    table = pd.DataFrame(rows, columns=["position", "reference", "alternative", "effect"])
    return table.sort_values("effect", kind="stable").reset_index(drop=True)


def loss_gain(effects: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Basset's per-position summaries of :func:`ism` effects ``(..., 4, L)``: the loss score, the largest
    decrease any substitution at that position causes (>= 0), and the gain score, the largest increase (>= 0).
    Returns two tensors of shape ``(..., L)``."""
    return (-effects.amin(dim=-2)).clamp(min=0), effects.amax(dim=-2).clamp(min=0)


def filter_motifs(model: torch.nn.Module, x: torch.Tensor, *, batch_size: int = BATCH_SIZE,
                  device: str | torch.device = "auto", windows: str = "best", threshold: float = 0.5,
                  both_strands: bool = False, alphabet: str = "DNA") -> list[Motif]:
    """A PWM for each first-layer filter, aligned from the windows of ``x`` (one-hot ``(N, 4, L)``) that activate
    it above ``threshold`` times its highest activation (:func:`teachbind.motifs.motifs_from_activations`, where
    ``windows`` is explained: ``"best"``, one window a sequence, is DeepBind's alignment; ``"all"`` is Basset's and
    iDeep's). With ``both_strands``, the reverse complement of each sequence is read too (for a model that scans
    both). The model says what its filters read through ``model.filter_scan(x)`` → ``(inputs (N, 4, L + 2p),
    activations (N, F, L + 2p - w + 1))``: the input as the filters see it, padded by ``p`` on each side, and the
    filters' rectified outputs (:class:`~teachbind.models.DeepBind`, :class:`~teachbind.models.Basset`,
    :class:`~teachbind.models.IDeep`). Returns ``F`` :class:`~teachbind.motifs.Motif` objects with their number of
    ``sites``; leave out those with few sites before comparing with a database, where a flat matrix matches
    anything."""
    check_one_hot(x, "filter_motifs")
    if both_strands:
        x = torch.cat([x, x.flip(1, 2)])
    device = prepare(model, device)
    inputs, activations = [], []
    with torch.no_grad():
        for batch in x.split(batch_size):
            read, active = model.filter_scan(batch.to(device))
            inputs.append(read.float().cpu())
            activations.append(active.float().cpu())
    inputs, activations = torch.cat(inputs), torch.cat(activations)
    return motifs_from_activations(inputs, activations, inputs.shape[-1] - activations.shape[-1] + 1,
                                   threshold=threshold, windows=windows, alphabet=alphabet)


def filter_influence(model: torch.nn.Module, x: torch.Tensor, *, target: Target = None,
                     batch_size: int = BATCH_SIZE, device: str | torch.device = "auto",
                     layer: torch.nn.Module | None = None, signed: bool = False) -> torch.Tensor:
    """The influence of each filter on each output, measured as Basset did: replace the filter's output with
    its mean activation and see how the predictions change.

    ``x``: one-hot ``(N, 4, L)``; the model maps it to ``(N, T)`` logits (``(N,)`` for one output; ``target``
    selects among them), read as probabilities through a sigmoid.
    ``layer``: the module whose output ``(N, F, L')`` holds the filter activations (default: ``model.conv[0][2]``,
    the ReLU of Basset's first block). A filter's mean activation is taken over all sequences of ``x`` and all
    positions. Returns ``(F, T)``: the mean over sequences of the squared change ``(p(x) - p(x with filter f
    nullified))²``; its sum over outputs is Basset's overall influence of a filter. With ``signed``, the mean of the
    change itself: positive where the filter raises that output on average (replacing a motif detector by its mean
    raises the predictions of the many sequences without the motif and lowers those with it, so the signed mean
    can be small even for a filter that matters).
    """
    check_one_hot(x, "filter_influence")
    layer = layer if layer is not None else model.conv[0][2]
    options = dict(target=target, batch_size=batch_size, device=device, amp=False)
    sums = []

    def record_mean(module, inputs, output):
        sums.append((output.float().sum((0, 2)).cpu(), output.shape[0] * output.shape[2]))

    handle = layer.register_forward_hook(record_mean)
    try:
        reference = torch.sigmoid(predict(model, x, **options)).reshape(len(x), -1)
    finally:
        handle.remove()
    means = sum(s for s, _ in sums) / sum(n for _, n in sums)
    changes = torch.empty(len(means), reference.shape[1])
    for f, mean in enumerate(means.tolist()):
        def nullify(module, inputs, output, f=f, mean=mean):
            output = output.clone()
            output[:, f] = mean
            return output

        handle = layer.register_forward_hook(nullify)
        try:
            nullified = torch.sigmoid(predict(model, x, **options)).reshape(len(x), -1)
        finally:
            handle.remove()
        delta = reference - nullified
        changes[f] = (delta if signed else delta ** 2).mean(dim=0)
    return changes
