"""The spread over seeds of every number a test that trains asserts on, from which its threshold is set.

``python scripts/seed_spread.py [--seeds 0 1 2 3 4] [--what tests chapters]`` runs, for each seed, the unit tests that
train (``pytest --seed S``; each records what it asserts on with ``record_property``) and every chapter at quick scale
with ``SEED = S`` (what the chapter tests in ``tests/test_book.py`` assert on), and prints each number's minimum,
median and maximum beside the threshold the test sets. Run it with the data mirror set (``TEACHBIND_DATA_DIR``);
on two cores the chapters take about 6 minutes a seed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TRAINING_TESTS = {  # test: {recorded property: the threshold the test asserts}
    "tests/test_ideep.py::test_rbm_likelihood_is_normalised_and_cd1_raises_it": {"log_likelihood_gain": "> 1.5"},
    "tests/test_ideep.py::test_gaussian_rbm_learns_to_reconstruct_standardized_clusters": {"error_ratio": "< 0.5"},
    "tests/test_ideep.py::test_ideep_adds_up_the_causes_that_each_modality_sees": {
        "margin_over_best_single": "> 0.04"},
    "tests/test_models.py::test_deepbind_learns_a_planted_motif_and_its_detector_is_that_motif": {
        "valid_auroc": "> 0.95"},
    "tests/test_train.py::test_fit_learns_a_planted_motif": {"test_auroc": "> 0.95"},
    "tests/test_protocols.py::test_ideep_protocol_trains_every_variant_the_folder_allows": {
        "region_auroc": "> 0.65", "ideep_auroc": "> 0.68"},
    "tests/test_protocols.py::test_basset_protocol_searches_and_trains_on_a_table_given_by_path": {
        "mean_auroc": "> 0.7"},
    "tests/test_protocols.py::test_residualbind_protocol_trains_on_files_given_by_path": {"pearson": "> 0.6"},
    "tests/test_protocols.py::test_deepbind_rnacompete_protocol_calibrates_and_trains_on_files_given_by_path": {
        "pearson": "> 0.8"},
}
STRONG = ("REST", "USF1", "USF2", "GABPA")
CHAPTER_NUMBERS = {  # chapter: {name: (threshold in tests/test_book.py, function of the recorded results)}
    "01_sequences": {
        "weakest strong-motif PWM AUROC": ("> 0.9", lambda r: min(v for k, v in r["pwm_auc"].items()
                                                                   if k.startswith(STRONG))),
        "planted motif AUROC": ("> 0.95", lambda r: r["planted_motif_auc"]),
    },
    "03_deepbind": {
        "planted motif TomTom q": ("< 0.05", lambda r: r["planted_motif_tomtom_q"]),
        "planted motif AUROC": ("> 0.95", lambda r: r["planted_motif_auc"]),
        "ELK1 DeepBind AUROC": ("> 0.85", lambda r: next(v for k, v in r["deepbind_auc"].items()
                                                         if k.startswith("ELK1"))),
        "lowest RNAcompete r": ("> 0.2", lambda r: min(r["rnacompete_pearson"].values())),
    },
    "04_basset": {
        "synthetic mean AUROC": ("> 0.6", lambda r: r["synthetic_auroc_mean"]),
        "6-mer AUROC": ("in (0.6, 1)", lambda r: r["kmer_auroc"]),
        "DHS AUROC": ("in (0.55, 1)", lambda r: r["dhs_auroc"]),
        "DHS AUPR": ("in (0.5, 1)", lambda r: r["dhs_auprc"]),
        "augmented minus published": ("> -0.03", lambda r: r["dhs_auroc"] - r["dhs_auroc_published"]),
        "filters annotated": ("< 0.5", lambda r: r["filters_annotated_fraction"]),
    },
    "05_ideep": {
        "PUM2 iDeep AUROC": ("> 0.9", lambda r: r["ideep_auc"]["23_PARCLIP_PUM2_hg19"]),
        "lowest modality AUROC": ("> 0.5", lambda r: min(r["modality_auc"].values())),
        "no-pretraining mean AUROC": ("in (0.5, 1)", lambda r: r["ideep_auc_mean_no_pretraining"]),
        "motifs recovered": ("in [0, 2]", lambda r: r["motifs_recovered"]),
        "synthetic iDeep minus best single": ("> 0", lambda r: r["synthetic_auc"]["iDeep"] - max(
            r["synthetic_auc"][m] for m in r["modality_auc"])),
        "synthetic ceiling minus iDeep": ("> 0", lambda r: r["synthetic_auc"]["the true log-odds (ceiling)"]
                                          - r["synthetic_auc"]["iDeep"]),
        "structure correlation": ("in (0, 0.6)", lambda r: r["structure_correlation"]),
    },
    "06_residualbind": {
        "VTS1 ResidualBind r": ("in (0.2, 1)", lambda r: r["residualbind_pearson"]["VTS1"]),
        "planted one copy": ("in (0.9, 1.1)", lambda r: r["gia_planted"]["one copy"]),
        "planted spacing bonus": ("> 0.5", lambda r: r["gia_planted"]["two copies, 4 nt apart"]
                                  - r["gia_planted"]["two copies, 5 nt apart"]),
        "planted AU minus GC flanks": ("> 0", lambda r: r["gia_planted"]["motif with AU-rich flanks"]
                                       - r["gia_planted"]["motif with GC-rich flanks"]),
        "estimated one copy": ("> 0.5", lambda r: r["gia_estimated"]["one copy"]),
    },
    "07_attribution": {
        "CTCF ISM and DeepLIFT AUPR over chance": ("> 5", lambda r: min(
            r["ctcf_attribution_aupr"][m] for m in ("ISM", "DeepLIFT/SHAP")) / r["ctcf_planted_share"]),
        "variant effects vs planted PWM, Spearman r": ("> 0.5", lambda r: r["variant_spearman"]),
        "book ISM vs tangermeme": ("< 1e-4", lambda r: r["ism_tangermeme_difference"]),
        "GIA vs marginalize": ("< 1e-5", lambda r: r["gia_marginalize_difference"]),
    },
}


def test_properties(seed: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.xml"
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--seed={seed}",
                        f"--junitxml={report}", *TRAINING_TESTS], cwd=ROOT, check=False, capture_output=True)
        found = {}
        for case in ElementTree.parse(report).iter("testcase"):
            for prop in case.iter("property"):
                found[prop.get("name")] = float(prop.get("value"))
        return found


def chapter_numbers(seed: int, out: Path, chapters: list[str]) -> dict[str, float]:
    """What the chapter tests assert on, for one seed; a chapter that stops with an error counts as ``failed``."""
    from teachbind.course import book

    found = {}
    for chapter in chapters:
        try:
            book.execute_chapter(ROOT / "nbs" / f"{chapter}.ipynb", out, scale="quick", parameters={"SEED": seed})
        except Exception as error:
            found[f"{chapter}: failed"] = 1.0
            print(f"  seed {seed}: {chapter} stopped: {str(error).strip().splitlines()[-1]}", file=sys.stderr)
            continue
        recorded = json.loads((out / "results" / f"{chapter}.json").read_text())
        found.update({f"{chapter}: {name}": function(recorded)
                      for name, (_, function) in CHAPTER_NUMBERS[chapter].items()})
        print(f"  seed {seed}: {chapter} done", file=sys.stderr, flush=True)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--what", nargs="+", choices=["tests", "chapters"], default=["tests", "chapters"])
    parser.add_argument("--chapters", nargs="+", choices=list(CHAPTER_NUMBERS), default=list(CHAPTER_NUMBERS))
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "seed_spread")
    args = parser.parse_args()
    thresholds = {name: bound for bounds in TRAINING_TESTS.values() for name, bound in bounds.items()}
    thresholds.update({f"{c}: {n}": bound for c, numbers in CHAPTER_NUMBERS.items() for n, (bound, _) in numbers.items()})
    values: dict[str, list[float]] = {}
    for seed in args.seeds:
        measured = {}
        if "tests" in args.what:
            measured.update(test_properties(seed))
        if "chapters" in args.what:
            measured.update(chapter_numbers(seed, args.out / f"seed{seed}", args.chapters))
        for name, value in measured.items():
            values.setdefault(name, []).append(value)
    print(f"| number (seeds {', '.join(map(str, args.seeds))}) | min | median | max | the test asserts |")
    print("|---|---|---|---|---|")
    for name, found in values.items():
        if name.endswith(": failed"):
            print(f"| {name} | stopped with an error for {len(found)} of the seeds | | | |")
        else:
            print(f"| {name} | {min(found):.4g} | {np.median(found):.4g} | {max(found):.4g} | {thresholds.get(name, '')} |")


if __name__ == "__main__":
    main()
