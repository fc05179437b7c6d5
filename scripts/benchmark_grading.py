"""Grade a class: N submissions of one chapter at quick scale, in parallel, and report wall time and peak memory.

Usage: .venv/bin/python scripts/benchmark_grading.py [--chapter 01_sequences | PATH.ipynb] [--n 30] [--jobs 2]

To compare with an earlier version of the grader, run this same script with that version's package first on the
path, side by side (farm-bench pairs the runs):

    farm-bench -n 1 --warmup 0 --timeout 3600 -- sh -c 'exec python scripts/benchmark_grading.py --n 10 >> new.log' \
        --vs "sh -c 'PYTHONPATH=/path/to/old/checkout exec python scripts/benchmark_grading.py --n 10 >> old.log'"

The class is a third each of: the instructor's notebook (full marks expected), the untouched student version
(0 points: every stub raises), and the student version with the first exercise solved (its points only). The script
checks that each got exactly that score, then prints the batch's wall time, the time per submission, and the peak
resident memory of one submission's process tree (the kernel included) and of all running at once.
"""

import argparse
import tempfile
import time
from pathlib import Path

import nbformat

from teachbind.course import assignments, book, grading


def class_of(chapter: Path, n: int, folder: Path) -> dict[str, tuple[int, int]]:
    """Write ``n`` submissions into ``folder``; return each student's expected (points, possible)."""
    reference = nbformat.read(chapter, as_version=4)
    found = assignments.exercises(reference, chapter.name)
    possible = sum(sum(e.points) for e in found)
    student = assignments.student_version(reference, chapter.stem)
    solved = nbformat.from_dict(reference)
    solved.metadata["teachbind"] = student.metadata["teachbind"]
    first = found[0]
    partial = nbformat.from_dict(student)
    answers = [cell for cell in partial.cells if cell.metadata.get("teachbind", {}).get("exercise") == first.label
               and "answer" in cell.metadata.get("tags", [])]
    for cell, index in zip(answers, first.solution_cells):
        cell.source = reference.cells[index].source
    expected = {}
    for i in range(n):
        kind = ("solved", "stub", "partial")[i % 3]
        nb = {"solved": solved, "stub": student, "partial": partial}[kind]
        nbformat.write(nb, folder / f"student{i:02d}_{kind}.ipynb")
        expected[f"student{i:02d}_{kind}"] = {"solved": possible, "stub": 0, "partial": sum(first.points)}[kind]
    return {name: (points, possible) for name, points in expected.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chapter", default="01_sequences")
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    chapter = Path(args.chapter) if args.chapter.endswith(".ipynb") else \
        next(path for path in book.chapters() if path.stem == args.chapter)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "submissions"
        folder.mkdir()
        expected = class_of(chapter, args.n, folder)
        start = time.perf_counter()
        outcomes = grading.grade(folder, Path(scratch) / "grades.csv", reference=chapter, jobs=args.jobs,
                                 progress=print)
        wall = time.perf_counter() - start
    wrong = {o.student: (o.score, expected[o.student]) for o in outcomes if o.score != expected[o.student]}
    seconds = [o.seconds for o in outcomes]
    peak = max(o.peak_memory for o in outcomes)
    print(f"chapter {chapter.stem}, {args.n} submissions, {args.jobs} at once, SCALE='quick', "
          f"grader {grading.__file__}")
    print(f"wall time:            {wall:.0f} s ({wall / 60:.1f} min)")
    print(f"per submission:       mean {sum(seconds) / len(seconds):.0f} s, max {max(seconds):.0f} s")
    print(f"peak memory:          {peak / 2**30:.2f} GB for one submission (kernel included), "
          f"at most {args.jobs * peak / 2**30:.2f} GB for {args.jobs} at once")
    print(f"scores as expected:   {len(outcomes) - len(wrong)} of {len(outcomes)}")
    if wrong:
        raise SystemExit(f"unexpected scores (got, expected): {wrong}")


if __name__ == "__main__":
    main()
