"""Basset training throughput (Chapter 4): data held on the device beside a standard DataLoader, in one run.

Usage: .venv/bin/python scripts/benchmark_basset.py [--device auto] [--sequences 2560] [--tasks 164]
                                                    [--filters 300,200,200] [--hidden 1000,1000]
                                                    [--peak-tflops T] [--threads N]

Both loops train the same Basset (600 bp, ``--tasks`` outputs; the published widths by default) with RMSprop for one
epoch of ``--sequences`` random sequences in batches of 128, forward and backward: once with
:func:`teachbind.train.fit` (the whole data set moved to the device once, batches indexed from it, bfloat16
autocast on CUDA) and once with a per-sample ``Dataset`` + ``DataLoader`` whose batches are copied to the device one
at a time (same autocast). The floating-point work of one training step is counted with PyTorch's
``FlopCounterMode``; on CUDA the achieved rate is set beside the GPU's dense bf16 peak (known for H100 and H200, or
``--peak-tflops``), and the peak memory of one step is measured at batch 128 and at the largest batch that fits.
On the CPU, ``fit`` is also timed in two fresh processes, one with glibc's default allocator (freed activation
buffers go back to the kernel) and one after :func:`teachbind.predict.retain_freed_memory`, with each one's kernel
time and page faults.
"""

import argparse
import multiprocessing
import resource
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import torch
from torch.utils.data import DataLoader
from torch.utils.flop_counter import FlopCounterMode

from benchmark import PerSample
from teachbind import train
from teachbind.models import Basset, basset
from teachbind.predict import pick_device
from teachbind.train import fit

DENSE_BF16_TFLOPS = {"H100 SXM": 989.0, "H100 NVL": 835.0, "H100 PCIe": 756.0, "H100": 989.0, "H200": 989.0,
                     "A100": 312.0}
BATCH = 128


def build(args, device):
    torch.manual_seed(0)
    model = Basset(args.tasks, 600, filters=args.filters, hidden=args.hidden).to(device)
    return model, basset.optimizer(model)


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def train_with_fit(args, x, y, device):
    model, optimizer = build(args, device)
    fit(model, (x, y), loss_fn=basset.loss, optimizer=optimizer, max_epochs=1, batch_size=BATCH, patience=None,
        device=device, progress=False)
    synchronize(device)


def fit_in_fresh_process(args, x, y, retain):
    """Seconds, kernel seconds and page faults of one epoch of ``fit`` on the CPU, in this (child) process."""
    if not retain:
        train.retain_freed_memory = lambda: False
    if args.threads:
        torch.set_num_threads(args.threads)
    train_with_fit(args, x[:BATCH * 2], y[:BATCH * 2], torch.device("cpu"))
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    train_with_fit(args, x, y, torch.device("cpu"))
    seconds, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
    return seconds, after.ru_stime - before.ru_stime, after.ru_minflt - before.ru_minflt


def compare_allocators(args, x, y):
    context = multiprocessing.get_context("spawn")
    timings = {}
    for retain in (False, True):
        with ProcessPoolExecutor(1, mp_context=context) as pool:
            timings[retain] = pool.submit(fit_in_fresh_process, args, x, y, retain).result()
    print(f"{'CPU allocator (fit, fresh process)':34} {'seconds':>8} {'sequences/s':>12} {'kernel s':>9} {'faults':>9}")
    for retain, label in ((False, "glibc default"), (True, "retain_freed_memory()")):
        seconds, kernel, faults = timings[retain]
        print(f"{label:34} {seconds:8.2f} {args.sequences / seconds:12,.0f} {kernel:9.2f} {faults:9,}")
    print(f"speed-up from retaining freed memory: {timings[False][0] / timings[True][0]:.2f}x")


def train_with_dataloader(args, x, y, device):
    model, optimizer = build(args, device)
    model.train()
    for xb, yb in DataLoader(PerSample(x, y), batch_size=BATCH, shuffle=True):
        xb, yb = xb.to(device), yb.to(device)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            loss = basset.loss(model(xb).float(), yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    synchronize(device)


def step(model, optimizer, x, y, device):
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
        loss = basset.loss(model(x).float(), y)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def flops_per_step(args, device):
    model, optimizer = build(args, device)
    x = torch.zeros(BATCH, 4, 600, device=device)
    y = torch.zeros(BATCH, args.tasks, device=device)
    with FlopCounterMode(display=False) as counter:
        step(model, optimizer, x, y, device)
    return counter.get_total_flops()


def peak_step_memory(args, device, batch):
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    model, optimizer = build(args, device)
    x = torch.zeros(batch, 4, 600, device=device)
    y = torch.zeros(batch, args.tasks, device=device)
    step(model, optimizer, x, y, device)
    synchronize(device)
    return torch.cuda.max_memory_allocated()


def fits(args, device, batch):
    try:
        peak_step_memory(args, device, batch)
        return True
    except torch.OutOfMemoryError:
        return False
    finally:
        torch.cuda.empty_cache()


def largest_batch(args, device, ceiling=1 << 20):
    low, high = BATCH, BATCH
    while high < ceiling and fits(args, device, high * 2):
        high *= 2
    low, high = high, min(high * 2, ceiling)
    while high - low > max(low // 64, 1):
        middle = (low + high) // 2
        low, high = (middle, high) if fits(args, device, middle) else (low, middle)
    return low


def peak_tflops(device, given):
    if given:
        return given, "given"
    name = torch.cuda.get_device_name(device)
    for key, value in DENSE_BF16_TFLOPS.items():
        if key in name:
            return value, f"{key} dense bf16"
    return None, f"unknown for {name}: pass --peak-tflops"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--sequences", type=int, default=2560)
    parser.add_argument("--tasks", type=int, default=164)
    parser.add_argument("--filters", default="300,200,200")
    parser.add_argument("--hidden", default="1000,1000")
    parser.add_argument("--peak-tflops", type=float, default=None)
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: PyTorch's choice)")
    args = parser.parse_args()
    args.filters = tuple(int(v) for v in args.filters.split(","))
    args.hidden = tuple(int(v) for v in args.hidden.split(","))
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    rng = np.random.default_rng(0)
    x = torch.from_numpy(np.eye(4, dtype=np.float32)[rng.integers(0, 4, (args.sequences, 600))].transpose(0, 2, 1))
    y = torch.from_numpy(rng.integers(0, 2, (args.sequences, args.tasks)).astype(np.float32))

    train_with_fit(args, x[:BATCH * 2], y[:BATCH * 2], device)
    start = time.perf_counter()
    train_with_fit(args, x, y, device)
    on_device = time.perf_counter() - start
    start = time.perf_counter()
    train_with_dataloader(args, x, y, device)
    loader = time.perf_counter() - start
    flops = flops_per_step(args, device) * args.sequences / BATCH
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"Basset {args.filters} / {args.hidden}, {args.tasks} tasks, 600 bp, batch {BATCH}, RMSprop, on {name}")
    print(f"{'loop':34} {'seconds':>8} {'sequences/s':>12} {'TFLOP/s':>8}")
    for label, seconds in (("teachbind fit (data on device)", on_device), ("per-sample Dataset + DataLoader", loader)):
        print(f"{label:34} {seconds:8.2f} {args.sequences / seconds:12,.0f} {flops / seconds / 1e12:8.3f}")
    print(f"speed-up of fit over the DataLoader: {loader / on_device:.2f}x; "
          f"{flops / args.sequences / 1e9:.2f} GFLOP per sequence (forward + backward)")
    if device.type == "cpu":
        compare_allocators(args, x, y)
    if device.type == "cuda":
        peak, source = peak_tflops(device, args.peak_tflops)
        if peak:
            print(f"achieved fraction of peak ({peak:.0f} TFLOP/s, {source}): {flops / on_device / 1e12 / peak:.1%}")
        else:
            print(f"peak rate {source}")
        print(f"peak memory of one step at batch {BATCH}: {peak_step_memory(args, device, BATCH) / 2**30:.2f} GiB")
        biggest = largest_batch(args, device)
        print(f"largest batch that fits: {biggest:,} "
              f"({peak_step_memory(args, device, biggest) / 2**30:.1f} GiB peak)")


if __name__ == "__main__":
    main()
