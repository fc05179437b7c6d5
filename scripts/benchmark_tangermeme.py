"""teachbind's operations beside tangermeme's, on the same model and inputs, timed side by side in one process.

Usage: .venv/bin/python scripts/benchmark_tangermeme.py [--threads 2] [--repeat 3]

Each row runs teachbind's version and tangermeme 1.6.0's (installed with the test extra) on the same model and the
same one-hot inputs, alternately (teachbind, tangermeme, teachbind, ...), and keeps each one's best of ``--repeat``
runs; the ratio is tangermeme's time over teachbind's (above 1: teachbind is faster). ``tests/test_tangermeme.py``
checks that the two give the same results on such inputs. Models: DeepBind as Chapter 3 builds it for ChIP-seq
(16 detectors of width 24, 101 nt), Basset at Chapter 4's book widths (64 filters per layer, 600 bp, 2 tasks) and
at the published widths (300, 200, 200 filters, two layers of 1000 units, 164 tasks), where tangermeme's ISM job is
long enough (over 30 s) for it to switch to its fastISM path. One row times ``motifs.tomtom`` against memelite's
``tomtom``, which it wraps and to which it adds q-values and a table (it reads JASPAR through the data registry:
set ``TEACHBIND_DATA_DIR`` to the mirror, or let it download).
"""

import argparse
import subprocess
import sys
import time

import memelite
import torch
import tangermeme.ersatz as ersatz
import tangermeme.marginalize as marginalize
import tangermeme.saliency as tm_saliency
import tangermeme.saturation_mutagenesis as saturation

from teachbind import data, interpret, motifs, seq
from teachbind.interpret import gia
from teachbind.models import Basset, DeepBind


class Columns(torch.nn.Module):
    """Outputs of shape (N, T), which tangermeme reads: a single-output model's (N,) as one column."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        y = self.model(x)
        return y[:, None] if y.ndim == 1 else y


def seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def best_alternately(ours, theirs, repeat: int) -> tuple[float, float]:
    """Each function's best time over ``repeat`` runs, the two run in turn after one untimed call each."""
    ours(), theirs()
    times = [(seconds(ours), seconds(theirs)) for _ in range(repeat)]
    return min(a for a, _ in times), min(b for _, b in times)


def fresh_import(module: str) -> None:
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True)


def random_one_hot(n, length, seed):
    rng = torch.Generator().manual_seed(seed)
    return torch.nn.functional.one_hot(torch.randint(0, 4, (n, length), generator=rng), 4).permute(0, 2, 1).float()


def rows():
    torch.manual_seed(0)
    deepbind = DeepBind(hidden=32, conv_init_scale=0.1, dense_init_scale=0.1).eval()
    basset = Basset(2, 600, filters=(64, 64, 64), hidden=(64, 64)).eval()
    published = Basset().eval()
    x_db, x_basset, x_gia = random_one_hot(100, 101, 1), random_one_hot(20, 600, 2), random_one_hot(1000, 101, 3)
    batch = 1024
    yield ("ISM, DeepBind 100 x 101 nt",
           lambda: interpret.ism(deepbind, x_db, batch_size=batch, device="cpu"),
           lambda: saturation.saturation_mutagenesis(Columns(deepbind), x_db, raw_outputs=True, batch_size=batch,
                                                     device="cpu"))
    yield ("ISM, Basset book width 20 x 600 bp",
           lambda: interpret.ism(basset, x_basset, batch_size=batch, device="cpu"),
           lambda: saturation.saturation_mutagenesis(basset, x_basset, raw_outputs=True, batch_size=batch,
                                                     device="cpu"))
    yield ("ISM, Basset published width 20 x 600 bp",
           lambda: interpret.ism(published, x_basset, batch_size=batch, device="cpu"),
           lambda: saturation.saturation_mutagenesis(published, x_basset, raw_outputs=True, batch_size=batch,
                                                     device="cpu"))
    yield ("saliency, DeepBind 100 x 101 nt",
           lambda: interpret.saliency(deepbind, x_db, batch_size=batch, device="cpu"),
           lambda: tm_saliency.saliency(Columns(deepbind), x_db, batch_size=batch, device="cpu"))
    yield ("saliency, Basset 20 x 600 bp (task 0)",
           lambda: interpret.saliency(basset, x_basset, target=0, batch_size=batch, device="cpu"),
           lambda: tm_saliency.saliency(basset, x_basset, target=0, batch_size=batch, device="cpu"))
    yield ("GIA of one motif, DeepBind 1000 backgrounds",
           lambda: gia.global_importance(deepbind, x_gia, gia.embedding(("GATTACA", 40)), batch_size=batch,
                                         device="cpu"),
           lambda: marginalize.marginalize(Columns(deepbind), x_gia, "GATTACA", start=40, batch_size=batch,
                                           device="cpu"))
    jaspar = motifs.read_meme(data.fetch("motifs/JASPAR2024_CORE_vertebrates_non-redundant.meme"))
    queries = [m.probs for m in interpret.filter_motifs(deepbind, x_db, device="cpu")]
    targets = [m.probs for m in jaspar]
    yield (f"TomTom, {len(queries)} DeepBind filters vs {len(jaspar)} JASPAR motifs (against memelite itself)",
           lambda: motifs.tomtom(queries, jaspar),
           lambda: memelite.tomtom(queries, targets))
    yield ("import for ISM in a fresh process (teachbind.interpret, tangermeme.saturation_mutagenesis)",
           lambda: fresh_import("teachbind.interpret"), lambda: fresh_import("tangermeme.saturation_mutagenesis"))
    yield ("dinucleotide shuffle, 100 one-hot x 101 nt",
           lambda: seq.one_hot(seq.dinucleotide_shuffle(seq.decode(x_db), seed=0)),
           lambda: ersatz.dinucleotide_shuffle(x_db, n=1, random_state=0))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, best of {args.repeat}\n")
    print("| operation | teachbind (s) | tangermeme (s) | ratio |\n|---|---|---|---|")
    for name, ours, theirs in rows():
        a, b = best_alternately(ours, theirs, args.repeat)
        print(f"| {name} | {a:.3f} | {b:.3f} | {b / a:.2f} |", flush=True)


if __name__ == "__main__":
    main()
