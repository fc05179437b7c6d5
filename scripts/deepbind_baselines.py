"""DeepBind's two protocols beside their simple baselines on every experiment, with paired intervals: Chapter 3's
ENCODE table (DeepBind against the best JASPAR PWM chosen on training peaks) and its RNAcompete table (DeepBind
against a ridge regression on 5-mer counts), at book scale unless told otherwise.

Usage: TEACHBIND_DATA_DIR=../shared/data .venv/bin/python scripts/deepbind_baselines.py [--what chipseq rnacompete]
       [--experiments NAME ...] [--proteins NAME ...] [--final-probe-epochs 10] [--final-probe-patience 3]
       [--out table.tsv]

The protocol options default to Chapter 3's book scale; change one to measure what it does. Each row prints as it
is measured (on two CPU cores, about half a minute per ENCODE experiment and per protein).
"""

from __future__ import annotations

import argparse
import time
import warnings

import pandas as pd
from sklearn.linear_model import Ridge

from teachbind import data, metrics, motifs, protocols, seq
from teachbind.data.rnacompete import transform_targets
from teachbind.models import deepbind
from teachbind.train import sample_hyperparameters


def chipseq_rows(names, args, jaspar):
    candidates = sample_hyperparameters(deepbind.search_space("classification"), args.candidates, seed=args.seed)
    for name in names:
        start = time.perf_counter()
        experiment = data.load_deepbind_chipseq(name)
        x_select, y_select = experiment.training_set(seed=args.seed, limit=2000)
        pwm, _ = motifs.choose_motif(seq.one_hot(x_select), y_select, jaspar, device="cpu")
        pwm_scores = motifs.best_scores(seq.one_hot(experiment.test_seqs), motifs.log_odds(pwm.probs), device="cpu")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RuntimeWarning)
            result = protocols.deepbind.train_chipseq(experiment, candidates, seed=args.seed, device="cpu")
        gain = metrics.paired_bootstrap(experiment.test_labels, result.scores, pwm_scores, seed=args.seed)
        yield {"experiment": name, "baseline": metrics.auroc(experiment.test_labels, pwm_scores),
               "DeepBind": result.auroc, "gain low": gain.low, "gain high": gain.high,
               "trained on": result.training, "hidden": result.chosen["hidden"], "rounds": result.rounds,
               "passed over": len(result.passed_over), "warnings": len(caught),
               "seconds": time.perf_counter() - start}


def rnacompete_rows(names, args):
    candidates = sample_hyperparameters(deepbind.search_space("regression"), args.candidates, seed=args.seed)
    for name in names:
        start = time.perf_counter()
        probes = data.load_probe_sets(name)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RuntimeWarning)
            result = protocols.rnacompete.train_deepbind(
                probes, candidates, final_epochs=args.final_probe_epochs, final_patience=args.final_probe_patience,
                seed=args.seed, device="cpu")
        y_train, _ = transform_targets(probes.train_intensity, probes.test_intensity, "clip_and_scale")
        ridge = Ridge(alpha=1.0).fit(seq.kmer_counts(probes.train_seqs, 5, alphabet="RNA"), y_train)
        ridge_scores = ridge.predict(seq.kmer_counts(probes.test_seqs, 5, alphabet="RNA"))
        gain = metrics.paired_bootstrap(result.targets, result.predictions, ridge_scores, metrics.pearson,
                                        seed=args.seed)
        yield {"experiment": name, "baseline": metrics.pearson(result.targets, ridge_scores),
               "DeepBind": result.pearson, "gain low": gain.low, "gain high": gain.high,
               "epochs": len(result.history), "hidden": result.chosen["hidden"],
               "pooling": result.chosen["pooling"], "rounds": result.rounds,
               "passed over": len(result.passed_over), "warnings": len(caught),
               "seconds": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--what", nargs="+", default=["chipseq", "rnacompete"], choices=["chipseq", "rnacompete"])
    parser.add_argument("--experiments", nargs="+", default=None)
    parser.add_argument("--proteins", nargs="+", default=None)
    parser.add_argument("--candidates", type=int, default=6)
    parser.add_argument("--final-probe-epochs", type=int, default=10)
    parser.add_argument("--final-probe-patience", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    tables = []
    for what in args.what:
        if what == "chipseq":
            rows = chipseq_rows(args.experiments or data.deepbind_chipseq_experiments(), args, motifs.jaspar_motifs())
            baseline = "PWM AUROC"
        else:
            rows = rnacompete_rows(args.proteins or data.rnacompete_proteins(), args)
            baseline = "5-mer ridge r"
        measured = []
        for row in rows:
            measured.append(row)
            print({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}, flush=True)
        table = pd.DataFrame(measured).set_index("experiment").rename(columns={"baseline": baseline})
        print(f"\n{what}: DeepBind mean {table['DeepBind'].mean():.3f}, {baseline} mean {table[baseline].mean():.3f}; "
              f"DeepBind higher on {int((table['DeepBind'] > table[baseline]).sum())} of {len(table)}, "
              f"interval above 0 on {int((table['gain low'] > 0).sum())}, below 0 on "
              f"{int((table['gain high'] < 0).sum())}; {table['seconds'].sum() / 60:.1f} min\n")
        print(table.round(3).to_string(), flush=True)
        tables.append(table.assign(what=what))
    if args.out:
        pd.concat(tables).to_csv(args.out, sep="\t")


if __name__ == "__main__":
    main()
