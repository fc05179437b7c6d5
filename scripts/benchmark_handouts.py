"""Time every exercise's handout on its own at quick scale.

Usage: .venv/bin/python scripts/benchmark_handouts.py [--chapters 01_sequences ...] [--out _build/handouts]

Each handout (the instructor's, with the solution in place of the stub, so every check runs) is executed once with
papermill in a fresh kernel, one after another, never two at once. The table gives, per exercise, the handout's
wall time (kernel start included) and the code cells it runs out of the chapter's.
"""

import argparse
import json
from pathlib import Path

import nbformat

from teachbind.course import assignments, book, handouts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chapters", nargs="+", metavar="NAME", help="e.g. 01_sequences (default: all)")
    parser.add_argument("--out", type=Path, default=book.ROOT / "_build" / "handouts")
    args = parser.parse_args()
    chapters = [c for c in book.chapters() if not args.chapters or c.stem in args.chapters]
    print("| exercise | handout (s) | code cells run |\n|---|---:|---:|")
    for chapter in chapters:
        nb = nbformat.read(chapter, as_version=4)
        code = sum(cell.cell_type == "code" for cell in nb.cells)
        for exercise in assignments.exercises(nb, chapter.name):
            path = args.out / "nbs" / f"{chapter.stem}-{exercise.label}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            handout = handouts.instructor_handout(nb, chapter.stem, [exercise.label])
            nbformat.write(handout, path)
            try:
                record = book.execute_chapter(path, args.out, scale="quick")
            except Exception:
                record = json.loads((args.out / "execution" / f"{path.stem}.json").read_text())
                print(f"| {chapter.stem} {exercise.label} | {record['status']} | |", flush=True)
                continue
            runs = sum(cell.cell_type == "code" for cell in handout.cells)
            print(f"| {chapter.stem} {exercise.label} | {record['seconds']:.0f} | {runs} of {code} |", flush=True)


if __name__ == "__main__":
    main()
