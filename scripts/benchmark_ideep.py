"""iDeep benchmark throughput on the CPU (Chapter 5): experiments in parallel single-threaded processes beside one
process that uses every thread.

Usage: TEACHBIND_DATA_DIR=../shared/data .venv/bin/python scripts/benchmark_ideep.py [--experiments 2] [--epochs 3]

The first ``--experiments`` iONMF experiments each train the five-modality iDeep (with its RBM pretraining, one
epoch) for exactly ``--epochs`` epochs (no early stopping), timed in the same run two ways:

- one after the other in this process, with PyTorch using every core (``torch.get_num_threads()``);
- ``teachbind.protocols.ideep.run_benchmark(..., processes=cores)``: one worker process per core, one PyTorch thread each.

The test AUROCs of both runs are printed too: the work is the same, only its scheduling differs. iDeep trains in
batches of 100, too small to keep several threads busy, so on a two-core machine the parallel processes get through
the benchmark faster; the printed ratio is the measurement.
"""

import argparse
import os
import time

import torch

from teachbind.data import clip
from teachbind.protocols import ideep


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiments", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    experiments = clip.ionmf_experiments()[: args.experiments]
    options = dict(variants=("iDeep",), max_epochs=args.epochs, patience=args.epochs, pretrain_epochs=1,
                   device="cpu")
    print(f"{len(experiments)} experiments, iDeep for {args.epochs} epochs each, {cores} cores")

    start = time.perf_counter()
    threaded = [ideep.run_experiment(e, **options) for e in experiments]
    one_process = time.perf_counter() - start
    print(f"one process, {torch.get_num_threads()} threads: {one_process:.1f} s; "
          f"AUROC {[round(r.auroc['iDeep'], 3) for r in threaded]}")

    start = time.perf_counter()
    parallel = ideep.run_benchmark(experiments, processes=cores, **options)
    processes = time.perf_counter() - start
    print(f"{cores} processes, 1 thread each: {processes:.1f} s; "
          f"AUROC {[round(r.auroc['iDeep'], 3) for r in parallel]}")
    print(f"speed-up of the parallel processes: {one_process / processes:.2f}x")


if __name__ == "__main__":
    main()
