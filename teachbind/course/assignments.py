"""Exercises in a chapter notebook, the student version of a chapter (solutions removed, checks kept), and the
chapter as the student edition of the website shows it (solutions and checks removed, outputs kept).

The markup convention, used by every chapter and checked by the tests:

- An exercise is stated in a markdown cell between ``{exercise-start}`` and ``{exercise-end}`` directives
  (sphinx-exercise), with a ``:label: ex-...`` option.
- Its solution lies between ``{solution-start} ex-...`` and ``{solution-end}`` directives. Every code cell there is
  tagged ``solution``; a ``# hint: ...`` comment in it is kept in the student's stub.
- A code cell tagged ``check`` after the solution calls a ``teachbind.course.exercises.check_*`` function on the student's
  answer. Each check is graded (one point, or N with a ``points-N`` tag). An exercise without a check is graded by
  hand.
- In the student version, the stubs that replace solution cells are tagged ``answer``.

The student version keeps the statement and the checks. A solution cell that defines functions becomes the same
functions with their signatures and docstrings and a body that raises ``NotImplementedError`` with a hint; any other
solution cell becomes a comment and a ``raise NotImplementedError``. Outputs are cleared, and the chapter's name and
each check's exercise label are written into the notebook's metadata for the grader.
"""

from __future__ import annotations

import ast
import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

EXERCISE_START = re.compile(r"```\{exercise-start\}[^\n]*\n(?P<options>(?::[^\n]*\n)*)")
SOLUTION_START = re.compile(r"```\{solution-start\}[ \t]*(?P<label>\S+)")
SOLUTION_END = re.compile(r"```\{solution-end\}\s*```")
POINTS_TAG = re.compile(r"points-(\d+)")


class MarkupError(ValueError):
    """A chapter's exercise markup breaks the convention; the message names the cell and the rule."""


@dataclass
class Exercise:
    """One exercise: its ``label``, the indices of its solution cells and of its check cells, and each check's
    points."""

    label: str
    solution_cells: list[int] = field(default_factory=list)
    check_cells: list[int] = field(default_factory=list)
    points: list[int] = field(default_factory=list)

    @property
    def graded(self) -> bool:
        return bool(self.check_cells)


def _exercise_starts(markdown: str) -> list[str | None]:
    """The label of each exercise-start directive in a markdown cell's source (``None`` where it has none)."""
    labels = (re.search(r":label:\s*(\S+)", start.group("options")) for start in EXERCISE_START.finditer(markdown))
    return [label.group(1) if label else None for label in labels]


def stated_labels(markdown: str) -> list[str]:
    """The labels of the exercises stated in a markdown cell's source, in order."""
    return [label for label in _exercise_starts(markdown) if label]


def _tags(cell) -> list[str]:
    return cell.metadata.get("tags", [])


def check_points(cell) -> int:
    """Points a ``check`` cell is worth: N for a ``points-N`` tag, else 1."""
    for tag in _tags(cell):
        match = POINTS_TAG.fullmatch(tag)
        if match:
            return int(match.group(1))
    return 1


def exercises(nb, name: str = "the notebook") -> list[Exercise]:
    """The exercises of notebook ``nb``, in order; :class:`MarkupError` where the markup breaks the convention."""
    found: list[Exercise] = []
    by_label: dict[str, Exercise] = {}
    in_solution: Exercise | None = None
    for index, cell in enumerate(nb.cells):
        where = f"{name}, cell {index}"
        if cell.cell_type == "markdown":
            for label in _exercise_starts(cell.source):
                if label is None:
                    raise MarkupError(f"{where}: an exercise-start directive has no ':label: ex-...' option")
                if label in by_label:
                    raise MarkupError(f"{where}: exercise label {label!r} is used twice")
                by_label[label] = Exercise(label)
                found.append(by_label[label])
            was_inside = in_solution is not None
            for label in SOLUTION_START.findall(cell.source):
                if label not in by_label:
                    raise MarkupError(f"{where}: solution-start names {label!r}, which no exercise before it has")
                in_solution = by_label[label]
            if not _outside_solutions(cell.source, was_inside)[1]:
                in_solution = None
            continue
        if cell.cell_type != "code":
            continue
        tags = _tags(cell)
        if in_solution is not None:
            if "solution" not in tags:
                raise MarkupError(f"{where}: a code cell inside the solution of {in_solution.label} is not tagged "
                                  f"'solution'")
            in_solution.solution_cells.append(index)
        elif "solution" in tags:
            raise MarkupError(f"{where}: tagged 'solution' but not between solution-start and solution-end")
        if "check" in tags:
            if not found:
                raise MarkupError(f"{where}: a 'check' cell comes before any exercise")
            found[-1].check_cells.append(index)
            found[-1].points.append(check_points(cell))
    if in_solution is not None:
        raise MarkupError(f"{name}: the solution of {in_solution.label} has no solution-end")
    for exercise in found:
        if not exercise.solution_cells:
            raise MarkupError(f"{name}: exercise {exercise.label} has no code cell tagged 'solution'")
    return found


def _hints(source: str) -> list[str]:
    return [line.strip() for line in source.splitlines() if line.strip().startswith("# hint:")]


def _message(label: str, what: str, graded: bool) -> str:
    then = "then run the check below" if graded else "then explain what you find in a markdown cell (graded by hand)"
    return f"Exercise {label}: {what} (see the exercise above), {then}."


def stub(source: str, label: str, graded: bool = True) -> str:
    """The student's starting point for a solution cell: signatures, docstrings and hints; bodies that raise.
    ``graded``: whether a check follows (the message says what to do next)."""
    tree = ast.parse(source)
    functions = [node for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]
    hints = _hints(source)
    if not functions:
        message = _message(label, "replace this line with your code", graded)
        return "\n".join([*hints, f"# Exercise {label}: your code here.", f"raise NotImplementedError({message!r})"])
    lines = source.splitlines()
    parts = []
    for function in functions:
        first = function.decorator_list[0].lineno if function.decorator_list else function.lineno
        header = "\n".join(lines[first - 1:function.body[0].lineno - 1])
        body_indent = " " * function.body[0].col_offset
        docstring = ast.get_docstring(function, clean=False)
        text = [header]
        if docstring is not None:
            text.append("\n".join(lines[function.body[0].lineno - 1:function.body[0].end_lineno]))
        text += [f"{body_indent}{hint}" for hint in hints if function is functions[0]]
        message = _message(label, f"write {function.name}", graded)
        text.append(f"{body_indent}raise NotImplementedError({message!r})")
        parts.append("\n".join(text))
    return "\n\n\n".join(parts)


def _outside_solutions(source: str, inside: bool) -> tuple[str, bool]:
    """The text of a markdown cell outside solution blocks, and whether the cell ends inside one."""
    kept, position = [], 0
    while True:
        if inside:
            end = SOLUTION_END.search(source, position)
            if end is None:
                return "".join(kept).strip(), True
            position, inside = end.end(), False
        else:
            start = SOLUTION_START.search(source, position)
            if start is None:
                kept.append(source[position:])
                return "".join(kept).strip(), False
            kept.append(source[position:start.start()])
            position, inside = start.end(), True


def student_version(nb, chapter: str):
    """A copy of chapter notebook ``nb`` for students: solutions replaced by stubs, checks kept, outputs cleared."""
    found = exercises(nb, chapter)
    solution_of = {index: e for e in found for index in e.solution_cells}
    check_of = {index: (e.label, e.points[i]) for e in found for i, index in enumerate(e.check_cells)}
    student = copy.deepcopy(nb)
    cells = []
    inside_solution = False
    for index, cell in enumerate(student.cells):
        if cell.cell_type == "markdown":
            cell.source, inside_solution = _outside_solutions(cell.source, inside_solution)
            if cell.source:
                cells.append(cell)
            continue
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            if index in solution_of:
                exercise = solution_of[index]
                cell.source = stub(cell.source, exercise.label, exercise.graded)
                cell.metadata["tags"] = [t for t in _tags(cell) if t != "solution"] + ["answer"]
                cell.metadata["teachbind"] = {"exercise": exercise.label}
            if index in check_of:
                label, points = check_of[index]
                cell.metadata["teachbind"] = {"exercise": label, "points": points}
        cells.append(cell)
    student.cells = cells
    student.metadata["teachbind"] = {"chapter": chapter, "student_version": True}
    return student


def without_solutions(nb, chapter: str = "the notebook"):
    """A copy of chapter notebook ``nb``, executed or not, for the student edition of the website: the text inside
    solution blocks, the solution cells and the check cells left out; everything else, outputs included, kept."""
    left_out = {index for e in exercises(nb, chapter) for index in (*e.solution_cells, *e.check_cells)}
    page = copy.deepcopy(nb)
    cells = []
    inside_solution = False
    for index, cell in enumerate(page.cells):
        if cell.cell_type == "markdown":
            cell.source, inside_solution = _outside_solutions(cell.source, inside_solution)
            if cell.source:
                cells.append(cell)
        elif index not in left_out:
            cells.append(cell)
    page.cells = cells
    return page


def write_notebooks(notebooks: dict[Path, nbformat.NotebookNode], *, force: bool = False) -> list[Path]:
    """Write each notebook to its path; return the paths. Refuses (``FileExistsError``, nothing written) when a
    path exists, unless ``force``."""
    existing = [str(t) for t in notebooks if Path(t).exists()]
    if existing and not force:
        raise FileExistsError(f"{', '.join(existing)} already exist: choose another folder or pass --force to "
                              f"replace them")
    for target, notebook in notebooks.items():
        nbformat.validate(notebook)
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, target)
    return list(notebooks)


def write_assignments(chapters: list[Path], out_dir: Path, *, force: bool = False) -> list[Path]:
    """Write the student version of each chapter notebook into ``out_dir``; return the paths written.

    Refuses (``FileExistsError``, nothing written) when a file it would write exists, unless ``force``.
    """
    return write_notebooks({Path(out_dir) / Path(chapter).name:
                            student_version(nbformat.read(chapter, as_version=4), Path(chapter).stem)
                            for chapter in chapters}, force=force)
