"""How long a chapter takes to study, estimated from its own text, for the block at the top of every chapter.

The estimate counts what a reader works through: the prose at :data:`WORDS_PER_MINUTE` (reading to understand, with
equations and figures, is slower than reading for the gist), the code a reader runs and reads, solutions and checks
left out, at :data:`CODE_LINES_PER_MINUTE`, and :data:`MINUTES_PER_EXERCISE` for each exercise. The computer's time
is not in it: the execution report gives that. ``tests/test_book.py`` checks that each chapter states the estimate
this module computes.
"""

from __future__ import annotations

import re
from pathlib import Path

WORDS_PER_MINUTE = 100
CODE_LINES_PER_MINUTE = 4
MINUTES_PER_EXERCISE = 20
GLUE = re.compile(r"\{glue:\w+\}`[^`]*`")


def study_minutes(notebook: Path) -> float:
    """Minutes to study ``notebook``: its markdown words, its code lines outside solutions and checks, and its
    exercises, at this module's rates."""
    import nbformat

    from teachbind.course import assignments

    nb = nbformat.read(notebook, as_version=4)
    found = assignments.exercises(nb, Path(notebook).name)
    left_out = {index for e in found for index in (*e.solution_cells, *e.check_cells)}
    words = sum(len(GLUE.sub("N", cell.source).split()) for cell in nb.cells if cell.cell_type == "markdown")
    lines = sum(1 for index, cell in enumerate(nb.cells) if cell.cell_type == "code" and index not in left_out
                for line in cell.source.splitlines() if line.strip())
    return words / WORDS_PER_MINUTE + lines / CODE_LINES_PER_MINUTE + MINUTES_PER_EXERCISE * len(found)


def study_time(notebook: Path) -> str:
    """:func:`study_minutes` as a chapter states it: "about N hours" to the half hour."""
    halves = max(1, round(study_minutes(notebook) / 30))
    hours = f"{halves // 2}" + ("½" if halves % 2 else "") if halves > 1 else "½"
    return f"about {hours} hour{'s' if halves > 2 else ''}"
