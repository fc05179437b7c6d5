"""Speed of the sequence primitives and of DeepBind training, each beside a baseline measured in the same run.

Usage: .venv/bin/python scripts/benchmark.py [--sequences 1000000] [--length 101] [--training 20000]
                                             [--device auto]

The teachbind sequence kernels run on one core (they are single-threaded numba loops); their Python baselines are
timed on a subset and their rate extrapolated, which the table says. DeepBind training (Chapter 3) runs one epoch
of batch-64 SGD over ``--training`` sequences on ``--device``, once with :func:`teachbind.train.fit` (the data kept
on the device as one tensor, batches indexed from it) and once with the usual per-sample ``Dataset`` and
``DataLoader``, same model, same optimiser, same data; on the CPU both use one thread. The same ``fit`` epoch is
timed again with a DeepBind that scans each strand with its own convolution, against the package's one
convolution over both.
"""

import argparse
import time

import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

import numpy as np
import torch

from teachbind import seq
from teachbind.models import DeepBind
from teachbind.predict import pick_device
from teachbind.train import fit


def timed(fn, *args, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - start)
    return best


def one_hot_python_loop(seqs):
    out = np.zeros((len(seqs), 4, len(seqs[0])), dtype=np.float32)
    for i, s in enumerate(seqs):
        for j, letter in enumerate(s):
            if letter in "ACGT":
                out[i, "ACGT".index(letter), j] = 1
            else:
                out[i, :, j] = 0.25
    return out


def shuffle_python(sequence, rng):
    successors = {}
    for a, b in zip(sequence, sequence[1:]):
        successors.setdefault(a, []).append(b)
    last = sequence[-1]
    while True:
        last_edge = {a: rng.integers(len(out)) for a, out in successors.items() if a != last}
        ok = True
        for start in last_edge:
            node, steps = start, 0
            while node != last and steps <= len(successors):
                node, steps = successors[node][last_edge[node]], steps + 1
            ok &= node == last
        if ok:
            break
    for a, out in successors.items():
        chosen = out.pop(last_edge[a]) if a in last_edge else None
        rng.shuffle(out)
        if chosen is not None:
            out.append(chosen)
    walk, position = [sequence[0]], dict.fromkeys(successors, 0)
    for _ in range(len(sequence) - 1):
        a = walk[-1]
        walk.append(successors[a][position[a]])
        position[a] += 1
    return "".join(walk)


class PerSample(Dataset):
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


class EachStrand(DeepBind):
    """DeepBind with each strand scanned by its own convolution: ``max(f(x), f(reverse complement of x))``."""

    def forward(self, x):
        return torch.maximum(self.strand_score(x), self.strand_score(x.flip(1, 2)))


def _deepbind_and_sgd(device, model_class=DeepBind):
    torch.manual_seed(0)
    model = model_class(conv_init_scale=1e-3, dense_init_scale=1e-2).to(device)
    return model, torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.98)


def train_with_fit(x, y, device, model_class=DeepBind):
    model, optimizer = _deepbind_and_sgd(device, model_class)
    fit(model, (x, y), loss_fn=F.binary_cross_entropy_with_logits, optimizer=optimizer, max_epochs=1,
        batch_size=64, patience=None, device=device, progress=False)
    _synchronize(device)


def train_with_dataloader(x, y, device):
    model, optimizer = _deepbind_and_sgd(device)
    model.train()
    for xb, yb in DataLoader(PerSample(x, y), batch_size=64, shuffle=True):
        xb, yb = xb.to(device), yb.to(device)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            loss = F.binary_cross_entropy_with_logits(model(xb).float(), yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    _synchronize(device)


def _synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sequences", type=int, default=1_000_000)
    parser.add_argument("--length", type=int, default=101)
    parser.add_argument("--training", type=int, default=20_000, help="sequences in the DeepBind training epoch")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)[rng.integers(0, 4, (args.sequences, args.length))]
    seqs = [row.tobytes().decode() for row in letters]
    seq.one_hot(seqs[:2])
    seq.dinucleotide_shuffle(seqs[:2], seed=0)

    rows = []
    subset = seqs[:20_000]
    loop = timed(one_hot_python_loop, subset, repeat=1) * len(seqs) / len(subset)
    fast = timed(seq.one_hot, seqs)
    rows.append((f"one_hot, {len(seqs):,} x {args.length} nt", len(seqs), fast,
                 "per-letter Python loop (20,000 timed, scaled)", loop))

    n_shuffle = min(len(seqs), 200_000)
    fast = timed(lambda s: seq.dinucleotide_shuffle(s, seed=0), seqs[:n_shuffle])
    python = timed(lambda s: [shuffle_python(x, rng) for x in s], seqs[:2_000], repeat=1) * n_shuffle / 2_000
    rows.append((f"dinucleotide_shuffle, {n_shuffle:,} x {args.length} nt", n_shuffle, fast,
                 "Altschul-Erickson in Python (2,000 timed, scaled)", python))

    device = pick_device(args.device)
    x, y = seq.one_hot(seqs[: args.training]), torch.from_numpy(rng.integers(0, 2, args.training).astype(np.float32))
    train_with_fit(x[:256], y[:256], device)
    fast = timed(train_with_fit, x, y, device)
    loader = timed(train_with_dataloader, x, y, device)
    rows.append((f"DeepBind epoch, {args.training:,} seq, {device.type}", args.training, fast,
                 "per-sample Dataset + DataLoader, same epoch", loader))
    each_strand = timed(train_with_fit, x, y, device, EachStrand)
    rows.append((f"DeepBind both strands, {args.training:,} seq", args.training, fast,
                 "each strand its own convolution, same epoch", each_strand))

    print(f"{'task':44} {'teachbind':>11} {'baseline':>11} {'speed-up':>9}  throughput")
    for task, n, fast, _, baseline in rows:
        print(f"{task:44} {fast:10.2f}s {baseline:10.2f}s {baseline / fast:8.1f}x  {n / fast:,.0f} sequences/s")
    print("baselines: " + "; ".join(f"{task.split(',')[0]}: {name}" for task, _, _, name, _ in rows))


if __name__ == "__main__":
    main()
