"""Time every exercise's handout on its own at quick scale, beside the chapter it comes from.

Usage: .venv/bin/python scripts/benchmark_handouts.py [--chapters 01_sequences ...] [--out _build/handouts]

Each handout (the instructor's, with the solution in place of the stub, so every check runs) is executed once with
papermill in a fresh kernel, one after another, never two at once. The table gives, per exercise, the handout's
wall time (kernel start included), the code cells it runs out of the chapter's, and the seconds of its slowest
cell. The chapter rows give the quick-scale chapter run of the same session for comparison.
"""

import argparse
from pathlib import Path

import nbformat

from teachbind.course import assignments, book, handouts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chapters", nargs="+", metavar="NAME", help="e.g. 01_sequences (default: all)")
    parser.add_argument("--out", type=Path, default=book.ROOT / "_build" / "handouts")
    args = parser.parse_args()
    chapters = [c for c in book.chapters() if not args.chapters or c.stem in args.chapters]
    print("| exercise | handout (s) | code cells run | slowest cell (s) |\n|---|---:|---:|---:|")
    for chapter in chapters:
        nb = nbformat.read(chapter, as_version=4)
        chapter_run = book.execute_chapter(chapter, args.out, scale="quick")
        code = sum(cell.cell_type == "code" for cell in nb.cells)
        print(f"| **{chapter.stem}** (whole chapter) | {chapter_run['seconds']:.0f} | {code} | "
              f"{max(chapter_run['cell_seconds']):.0f} |", flush=True)
        for exercise in assignments.exercises(nb, chapter.name):
            path = args.out / "nbs" / f"{chapter.stem}-{exercise.label}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            handout = handouts.instructor_handout(nb, chapter.stem, [exercise.label])
            nbformat.write(handout, path)
            record = book.execute_chapter(path, args.out, scale="quick")
            runs = sum(cell.cell_type == "code" for cell in handout.cells)
            print(f"| {exercise.label} | {record['seconds']:.0f} | {runs} of {code} | "
                  f"{max(record['cell_seconds']):.0f} |", flush=True)


if __name__ == "__main__":
    main()
