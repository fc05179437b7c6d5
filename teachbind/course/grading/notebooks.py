"""Submitted notebooks read as untrusted input, and the notebook the grader runs for each.

A submission is read as data: its cells' types and sources, and the chapter its metadata names; nothing else of it
(tags, metadata, outputs, kernelspec) is used. What runs comes from the instructor's notebook: its setup cells as
they are, its check cells rewritten to report what the answer returns (:mod:`teachbind.course.grading.inside`), and in
place of its solution cells the student's answer cells. Those are found by the instructor's exercise labels: the
code cells after the markdown cell that states the exercise, up to the first cell that the student version has
after its answer stubs (the check, the text after the solution, the rest of the chapter).
"""

from __future__ import annotations

import ast
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

import nbformat

from teachbind.course import assignments

MAX_BYTES = 64 * 2**20
MAX_CELLS = 2000
OBSERVATION = "application/vnd.teachbind.observation+json"
LABEL = re.compile(r"ex-[a-z0-9-]{1,40}")
MAX_LABELS = 10


class ReferenceError(ValueError):
    """An instructor's notebook the grader cannot use; the message names the cell and the rule."""


@dataclass(frozen=True)
class Submission:
    """One student: ``student`` is the file's stem, its folder's name for ``folder/notebook.ipynb`` (or
    ``folder/stem`` when the folder holds several), and ``problem`` says why it cannot be graded, if found while
    listing (a link, a folder, a pipe)."""

    student: str
    path: Path
    problem: str | None = None


def _kind(entry: os.DirEntry) -> str | None:
    """Why ``entry`` (named ``*.ipynb``) is not a notebook file, or ``None`` if it is a regular file."""
    if entry.is_symlink():
        return f"{entry.name} is a symbolic link, not a notebook: submit the notebook file itself"
    if entry.is_dir(follow_symlinks=False):
        return f"{entry.name} is a folder, not a notebook"
    if not entry.is_file(follow_symlinks=False):
        return f"{entry.name} is not a regular file (a pipe, socket or device)"
    return None


def _notebooks(folder: Path) -> list[tuple[os.DirEntry, str | None]]:
    with os.scandir(folder) as entries:
        return sorted(((e, _kind(e)) for e in entries if e.name.endswith(".ipynb") and not e.name.startswith(".")),
                      key=lambda pair: pair[0].name)


def find_submissions(folder: Path) -> list[Submission]:
    """One :class:`Submission` per ``*.ipynb`` in ``folder`` and in each of its direct subfolders (a subfolder
    without one is a student too, with that problem), sorted by student; names that would repeat are replaced by
    the paths."""
    folder = Path(folder)
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder} is not a folder of submissions")
    found = []
    with os.scandir(folder) as entries:
        top = sorted(entries, key=lambda e: e.name)
    for entry in top:
        if entry.name.startswith("."):
            continue
        path = folder / entry.name
        if entry.is_dir(follow_symlinks=False):
            inner = _notebooks(path)
            if not inner:
                found.append(Submission(entry.name, path, f"the folder {entry.name}/ holds no .ipynb file"))
            for sub, problem in inner:
                name = entry.name if len(inner) == 1 else f"{entry.name}/{Path(sub.name).stem}"
                found.append(Submission(name, path / sub.name, problem))
        elif entry.name.endswith(".ipynb"):
            found.append(Submission(Path(entry.name).stem, path, _kind(entry)))
    if not found:
        raise FileNotFoundError(f"{folder} holds no .ipynb files (looked in it and in its subfolders)")
    names = [s.student for s in found]
    found = [Submission(str(s.path.relative_to(folder)), s.path, s.problem) if names.count(s.student) > 1 else s
             for s in found]
    return sorted(found, key=lambda s: s.student)


class Unreadable(ValueError):
    """A submission that cannot be read as a notebook; the message says where and why."""


@dataclass(frozen=True)
class Submitted:
    """What the grader takes from a submission: each cell's type and source, and the chapter and the handout's
    exercise labels (``ex-...``) its metadata names."""

    cells: list[tuple[str, str]]
    chapter: str | None
    handout: tuple[str, ...] = ()


def _read_bytes(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        raise Unreadable(f"{path.name} cannot be opened ({error.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Unreadable(f"{path.name} is not a regular file")
        if info.st_size > MAX_BYTES:
            raise Unreadable(f"{path.name} is {info.st_size / 2**20:.0f} MB; at most {MAX_BYTES // 2**20} MB "
                             f"are read (clear the outputs)")
        chunks, size = [], 0
        while size <= MAX_BYTES:
            chunk = os.read(fd, 2**20)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)[:MAX_BYTES + 1]
    finally:
        os.close(fd)


def _source(value, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(line, str) for line in value):
        return "".join(value)
    raise Unreadable(f"{where}: 'source' is a {type(value).__name__}, expected text or a list of lines")


def read_submission(path: Path) -> Submitted:
    """The cells and chapter of the notebook at ``path``; :class:`Unreadable` naming the byte, line or cell
    where it breaks."""
    raw = _read_bytes(Path(path))
    name = Path(path).name
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise Unreadable(f"{name} is not UTF-8 text (byte {error.start})") from None
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as error:
        raise Unreadable(f"{name} is not valid notebook JSON (line {error.lineno}, column {error.colno}: "
                         f"{error.msg})") from None
    except RecursionError:
        raise Unreadable(f"{name} is not a notebook: its JSON is nested too deeply") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise Unreadable(f"{name} is not a notebook: it has no list of cells")
    if len(nb["cells"]) > MAX_CELLS:
        raise Unreadable(f"{name} has {len(nb['cells'])} cells; at most {MAX_CELLS} are read")
    cells = []
    for index, cell in enumerate(nb["cells"]):
        where = f"{name}, cell {index}"
        if not isinstance(cell, dict):
            raise Unreadable(f"{where} is a {type(cell).__name__}, not a cell")
        kind = cell.get("cell_type")
        if kind not in ("code", "markdown", "raw"):
            raise Unreadable(f"{where} has cell_type {str(kind)[:40]!r}, expected code, markdown or raw")
        cells.append((kind, _source(cell.get("source", ""), where)))
    metadata = nb.get("metadata")
    book = metadata.get("teachbind") if isinstance(metadata, dict) else None
    chapter = book.get("chapter") if isinstance(book, dict) else None
    handout = book.get("handout") if isinstance(book, dict) else None
    labels = tuple(label for label in handout if isinstance(label, str) and LABEL.fullmatch(label)) if isinstance(
        handout, list) else ()
    return Submitted(cells, chapter if isinstance(chapter, str) else None, labels[:MAX_LABELS])


@dataclass(frozen=True)
class CheckCall:
    """One call in a check cell: the check's name, the source of the answer it is given, and its other arguments
    (literals)."""

    name: str
    answer: str
    args: tuple
    kwargs: dict


@dataclass(frozen=True)
class Check:
    """One graded check of the instructor's notebook: its ``key`` (``label#k``), exercise, points, the cell's
    index and source, and the check calls it makes."""

    key: str
    exercise: str
    points: int
    cell: int
    source: str
    calls: tuple[CheckCall, ...]


def _calls(source: str, where: str, known) -> tuple[tuple[CheckCall, ...], list[str]]:
    """The check calls of a check cell, and its import statements; :class:`ReferenceError` for anything else."""
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise ReferenceError(f"{where}: the check cell does not parse ({error.msg}, line {error.lineno})") from None
    calls, imports = [], []
    for statement in tree.body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            imports.append(ast.get_source_segment(source, statement))
            continue
        call = statement.value if isinstance(statement, ast.Expr) else None
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.args
                and not any(isinstance(a, ast.Starred) for a in call.args)
                and all(k.arg is not None for k in call.keywords)):
            raise ReferenceError(f"{where}: a check cell holds imports and calls `check_name(answer, ...)` only; "
                                 f"line {statement.lineno} is neither")
        if known(call.func.id) is None:
            raise ReferenceError(f"{where}: {call.func.id} is not a check in teachbind.course.exercises or in the "
                                 f"checks files given to the grader")
        try:
            args = tuple(ast.literal_eval(a) for a in call.args[1:])
            kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
        except ValueError:
            raise ReferenceError(f"{where}: the arguments after the answer in line {statement.lineno} must be "
                                 f"literals") from None
        calls.append(CheckCall(call.func.id, ast.get_source_segment(source, call.args[0]), args, kwargs))
    if not calls:
        raise ReferenceError(f"{where}: the check cell calls no check")
    return tuple(calls), imports


def reference_checks(reference, known, name: str = "the reference") -> list[Check]:
    """The graded checks of the instructor's notebook ``reference``, in order; ``known(name)`` resolves a check's
    name to the check (or ``None``)."""
    checks = []
    for exercise in assignments.exercises(reference, name):
        for k, (index, points) in enumerate(zip(exercise.check_cells, exercise.points)):
            source = reference.cells[index].source
            calls, _ = _calls(source, f"{name}, cell {index}", known)
            checks.append(Check(f"{exercise.label}#{k}", exercise.label, points, index, source, calls))
    return checks


def answer_cells(reference, chapter: str, submitted: Submitted) -> dict[str, list[tuple[int, str]]]:
    """For each exercise label of ``reference``, the student's answer cells as ``(cell index, source)``; a label
    whose statement the submission lacks is missing from the result."""
    pristine = assignments.student_version(reference, chapter)
    found = {}
    for exercise in assignments.exercises(reference, chapter):
        answers = [i for i, c in enumerate(pristine.cells) if "answer" in c.metadata.get("tags", [])
                   and c.metadata.get("teachbind", {}).get("exercise") == exercise.label]
        after = {c.source.strip() for c in pristine.cells[answers[-1] + 1:] if c.source.strip()} if answers else set()
        start = next((i for i, (kind, source) in enumerate(submitted.cells)
                      if kind == "markdown" and exercise.label in assignments.stated_labels(source)), None)
        if start is None:
            continue
        cells = []
        for index in range(start + 1, len(submitted.cells)):
            kind, source = submitted.cells[index]
            if source.strip() in after or (kind == "markdown" and assignments.stated_labels(source)):
                break
            if kind == "code":
                cells.append((index, source))
        found[exercise.label] = cells
    return found


@dataclass(frozen=True)
class Role:
    """What a cell of the notebook the grader runs is: ``"setup"`` (the instructor's), ``"answer"`` (the student's,
    for ``exercise``) or ``"check"`` (``key``)."""

    kind: str
    exercise: str | None = None
    key: str | None = None


def observing_source(check: Check) -> str:
    """A check cell rewritten to report, for each check call, what the answer returns on the check's cases."""
    _, imports = _calls(check.source, check.key, lambda name: True)
    lines = list(imports)
    for k, call in enumerate(check.calls):
        lines.append(f"__import__('teachbind.course.grading.inside', fromlist=['report']).report({check.key!r}, {k}, "
                     f"{call.name!r}, {call.answer}, *{call.args!r}, **{call.kwargs!r})")
    return "\n".join(lines)


def to_run(reference, checks: list[Check], answers: dict[str, list[tuple[int, str]]], *, scale: str):
    """The notebook the grader runs and the role of each of its cells: the instructor's code cells, the
    student's answers in place of the solutions, the checks rewritten, and ``SCALE`` set after the parameters."""
    solution_of = {}
    for exercise in assignments.exercises(reference):
        for position, index in enumerate(exercise.solution_cells):
            solution_of[index] = (exercise.label, position == 0)
    check_at = {check.cell: check for check in checks}
    cells, roles = [], []
    for index, cell in enumerate(reference.cells):
        if cell.cell_type != "code":
            continue
        if index in solution_of:
            label, first = solution_of[index]
            for _, source in answers.get(label, []) if first else []:
                cells.append(nbformat.v4.new_code_cell(source))
                roles.append(Role("answer", exercise=label))
        elif index in check_at:
            cells.append(nbformat.v4.new_code_cell(observing_source(check_at[index])))
            roles.append(Role("check", exercise=check_at[index].exercise, key=check_at[index].key))
        else:
            cells.append(nbformat.v4.new_code_cell(cell.source))
            roles.append(Role("setup"))
            if "parameters" in cell.metadata.get("tags", []):
                cells.append(nbformat.v4.new_code_cell(f"SCALE = {scale!r}"))
                roles.append(Role("setup"))
    if not any(cell.source == f"SCALE = {scale!r}" for cell in cells):
        cells.insert(0, nbformat.v4.new_code_cell(f"SCALE = {scale!r}"))
        roles.insert(0, Role("setup"))
    nb = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "language": "python",
                                                                        "display_name": "Python 3"}})
    return nb, roles
