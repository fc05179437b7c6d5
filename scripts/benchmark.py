"""Speed of the sequence primitives, each beside a plain-Python baseline measured in the same run.

Usage: .venv/bin/python scripts/benchmark.py [--sequences 1000000] [--length 101]

Both teachbind kernels run on one core (they are single-threaded numba loops). The Python baselines are timed on
a subset and their rate extrapolated, which the table says.
"""

import argparse
import time

import numpy as np
import torch

from teachbind import seq


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sequences", type=int, default=1_000_000)
    parser.add_argument("--length", type=int, default=101)
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
    fast = timed(seq.dinucleotide_shuffle, seqs[:n_shuffle], 0)
    python = timed(lambda s: [shuffle_python(x, rng) for x in s], seqs[:2_000], repeat=1) * n_shuffle / 2_000
    rows.append((f"dinucleotide_shuffle, {n_shuffle:,} x {args.length} nt", n_shuffle, fast,
                 "Altschul-Erickson in Python (2,000 timed, scaled)", python))

    print(f"{'task':44} {'teachbind':>11} {'baseline':>11} {'speed-up':>9}  throughput")
    for task, n, fast, _, baseline in rows:
        print(f"{task:44} {fast:10.2f}s {baseline:10.2f}s {baseline / fast:8.0f}x  {n / fast:,.0f} sequences/s")
    print("baselines: " + "; ".join(f"{task.split(',')[0]}: {name}" for task, _, _, name, _ in rows))


if __name__ == "__main__":
    main()
