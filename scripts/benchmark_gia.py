"""Global Importance Analysis throughput (Chapter 6): the batched 6-mer scan beside one experiment per k-mer.

Usage: .venv/bin/python scripts/benchmark_gia.py [--device auto] [--backgrounds 1000] [--naive-kmers 128]
                                                 [--batch-size 8192] [--threads N]

A ResidualBind (published sizes, 41 nt; timing does not depend on its weights) and ``--backgrounds`` profile
background sequences. Two ways to measure the global importance of 6-mers written at position 17, timed in the same
run on the same device:

- ``gia.kmer_scan``: the background predicted once, then every k-mer's copies of the background built on the device a
  chunk at a time and predicted in batches of about ``--batch-size``: all 4,096 6-mers, timed;
- one :func:`teachbind.interpret.gia.global_importance` call per k-mer (the background predicted again each time,
  each intervention built on the CPU and copied to the device), for the first ``--naive-kmers`` 6-mers, timed and
  scaled to 4,096.

Both give the same numbers (checked for those k-mers). Sequences per second and the ratio are printed.
"""

import argparse
import time

import torch

from teachbind import seq
from teachbind.interpret import gia
from teachbind.models import ResidualBind
from teachbind.predict import pick_device


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--backgrounds", type=int, default=1000)
    parser.add_argument("--naive-kmers", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=8192)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    torch.manual_seed(0)
    model = ResidualBind().to(device).eval()
    letters = torch.randint(0, 4, (2000, 41))
    probes = torch.nn.functional.one_hot(letters, 4).permute(0, 2, 1).float()
    background = gia.profile_background(probes, args.backgrounds, seed=0)
    kmers = seq.kmers(6, alphabet="RNA")

    gia.kmer_scan(model, background[:10], 6, 17, batch_size=args.batch_size, device=device, alphabet="RNA")
    synchronize(device)
    start = time.perf_counter()
    scan = gia.kmer_scan(model, background, 6, 17, batch_size=args.batch_size, device=device, alphabet="RNA")
    synchronize(device)
    batched = time.perf_counter() - start

    start = time.perf_counter()
    naive = [float(gia.global_importance(model, background, gia.embedding((k, 17), alphabet="RNA"), batch_size=args.batch_size,
                                         device=device).mean()) for k in kmers[:args.naive_kmers]]
    synchronize(device)
    one_by_one = (time.perf_counter() - start) * len(kmers) / args.naive_kmers
    difference = max(abs(a - b) for a, b in zip(naive, scan.iloc[:args.naive_kmers]))

    total = len(kmers) * len(background)
    print(f"device {device}; {len(kmers):,} 6-mers x {len(background):,} backgrounds = {total:,} sequences")
    print(f"kmer_scan (batched on the device):   {batched:8.1f} s  {total / batched:12,.0f} sequences/s")
    print(f"one experiment per k-mer (scaled):   {one_by_one:8.1f} s  {total / one_by_one:12,.0f} sequences/s "
          f"(measured on {args.naive_kmers} k-mers)")
    print(f"speed-up {one_by_one / batched:.2f}x; largest difference between the two {difference:.2e}")


if __name__ == "__main__":
    main()
