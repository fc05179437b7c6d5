"""Handouts: one exercise of a chapter as a notebook that runs on its own.

A handout holds the chapter's opening cells (title, Colab install, parameters), then only the code cells the
exercise needs, then the exercise itself. The cells it needs are found from the code, not written by hand: a
backward slice over the names each cell binds and reads (:func:`cell_names`), starting from the exercise's own
cells. A cell is kept when it binds a name a kept cell reads, or changes one in place (``x[i] = ...``,
``x.attr = ...``, ``x.method(...)`` as a statement, for ``x`` that is not an imported module). Cells that only draw,
glue or record are left out, which is what makes a section fast at quick scale.

The grader runs a handout the same way (``teachbind grade --exercises``: the instructor's handout is the notebook it
runs), so a handout is graded without executing the rest of its chapter, and out of its exercises' points.
"""

from __future__ import annotations

import ast
import copy
import re
import symtable
from dataclasses import dataclass
from pathlib import Path

import nbformat

from teachbind.course import assignments
from teachbind.course.chapters import as_python

@dataclass(frozen=True)
class Names:
    """What a code cell does with module-level names: ``binds`` (assigns, defines, imports), ``replaces`` (binds
    unconditionally at the top level, so earlier values are not needed), ``changes`` (mutates in place) and
    ``reads``."""

    binds: frozenset[str]
    replaces: frozenset[str]
    changes: frozenset[str]
    reads: frozenset[str]


def _reads(table: symtable.SymbolTable) -> set[str]:
    """Names ``table`` reads from the module's namespace, at its own level and below (functions, classes,
    comprehensions)."""
    found = {s.get_name() for s in table.get_symbols() if s.is_referenced() and
             (table.get_type() == "module" or s.is_global())}
    for child in table.get_children():
        found |= _reads(child)
    return found


def _base(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _top_statements(body: list[ast.stmt]):
    """Statements run at the top level of a cell, including those inside ``if``/``for``/``with``/``try`` blocks."""
    for statement in body:
        yield statement
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        for name in ("body", "orelse", "finalbody"):
            yield from _top_statements(getattr(statement, name, []) or [])
        for handler in getattr(statement, "handlers", []) or []:
            yield from _top_statements(handler.body)


def _changed(statement: ast.stmt) -> set[str]:
    targets: list[ast.AST] = []
    if isinstance(statement, ast.Assign):
        targets = statement.targets
    elif isinstance(statement, ast.AugAssign | ast.AnnAssign):
        targets = [statement.target]
    elif isinstance(statement, ast.Delete):
        targets = statement.targets
    elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        function = statement.value.func
        targets = [function.value] if isinstance(function, ast.Attribute) else []
    found = set()
    for target in targets:
        for node in ast.walk(target) if isinstance(target, ast.Tuple | ast.List) else [target]:
            if isinstance(node, ast.Attribute | ast.Subscript) or (
                    isinstance(statement, ast.Expr) and isinstance(node, ast.Name)):
                name = _base(node)
                if name:
                    found.add(name)
    return found


def _replaced(statement: ast.stmt) -> set[str]:
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {statement.name}
    if isinstance(statement, ast.Import | ast.ImportFrom):
        return {(alias.asname or alias.name).split(".")[0] for alias in statement.names}
    if isinstance(statement, ast.Assign):
        return {node.id for target in statement.targets for node in ast.walk(target)
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    return set()


def _expression_reads(node: ast.AST) -> set[str]:
    return _reads(symtable.symtable(ast.unparse(node), "expression", "exec"))


def _target_names(node: ast.AST | None) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} if node is not None else set()


def _block_reads(statements: list[ast.stmt], bound: set[str], modules: frozenset[str]) -> set[str]:
    """Names a block reads before it binds them, in the order it runs: a name bound earlier in the block (or by a
    ``for``/``with`` header around it) is not read from outside."""
    reads, bound = set(), set(bound)
    for statement in statements:
        if isinstance(statement, ast.For | ast.AsyncFor):
            reads |= _expression_reads(statement.iter) - bound
            reads |= _block_reads(statement.body, bound | _target_names(statement.target), modules)
            reads |= _block_reads(statement.orelse, bound, modules)
        elif isinstance(statement, ast.If | ast.While):
            reads |= _expression_reads(statement.test) - bound
            reads |= _block_reads(statement.body, bound, modules) | _block_reads(statement.orelse, bound, modules)
        elif isinstance(statement, ast.With | ast.AsyncWith):
            for item in statement.items:
                reads |= _expression_reads(item.context_expr) - bound
            inner = bound | {name for item in statement.items for name in _target_names(item.optional_vars)}
            reads |= _block_reads(statement.body, inner, modules)
        elif isinstance(statement, ast.Try):
            for block in (statement.body, statement.orelse, statement.finalbody):
                reads |= _block_reads(block, bound, modules)
            for handler in statement.handlers:
                if handler.type is not None:
                    reads |= _expression_reads(handler.type) - bound
                reads |= _block_reads(handler.body, bound | ({handler.name} if handler.name else set()), modules)
        else:
            changed = _changed(statement) - modules
            reads |= (_expression_reads(statement) | changed) - bound
            bound |= _replaced(statement) - changed
    return reads


def cell_names(source: str, modules: frozenset[str] = frozenset()) -> Names:
    """The :class:`Names` of one code cell's ``source`` (IPython magics read as ``pass``); a method call on one of
    ``modules`` (``torch.manual_seed(0)``) does not count as changing it. A name the cell binds before it reads it
    is not read from earlier cells."""
    python = as_python(source)
    tree = ast.parse(python)
    table = symtable.symtable(python, "cell", "exec")
    binds = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}
    changes = {name for statement in _top_statements(tree.body) for name in _changed(statement)} - modules
    replaces = set()
    for statement in tree.body:
        replaces |= _replaced(statement) - _changed(statement)
    reads = _block_reads(tree.body, set(), modules)
    return Names(frozenset(binds | changes), frozenset(replaces - reads), frozenset(changes), frozenset(reads))


def _imported(nb) -> frozenset[str]:
    found = set()
    for cell in nb.cells:
        if cell.cell_type == "code":
            for node in ast.walk(ast.parse(as_python(cell.source))):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    found |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return frozenset(found)


def opening_cells(nb) -> list[int]:
    """The cells up to and including the parameters cell (title, install, parameters)."""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            return list(range(index + 1))
    raise assignments.MarkupError("the notebook has no code cell tagged 'parameters'")


def section_cells(nb, label: str, chapter: str = "the notebook") -> list[int]:
    """The cells of exercise ``label``: from the markdown cell that states it to the end of its solution and its
    last check cell."""
    found = {e.label: e for e in assignments.exercises(nb, chapter)}
    if label not in found:
        raise KeyError(f"{chapter} has no exercise {label!r}; its exercises are {', '.join(found)}")
    start = next(i for i, c in enumerate(nb.cells)
                 if c.cell_type == "markdown" and label in assignments.stated_labels(c.source))
    last_solution = max(found[label].solution_cells)
    closing = next(i for i in range(last_solution + 1, len(nb.cells))
                   if nb.cells[i].cell_type == "markdown" and assignments.SOLUTION_END.search(nb.cells[i].source))
    return list(range(start, max([closing, *found[label].check_cells]) + 1))


def needed_cells(nb, targets: list[int]) -> list[int]:
    """The code cells before the last of ``targets`` that those cells need, by a backward slice over names."""
    modules = _imported(nb)
    needed: set[str] = set()
    kept = set()
    targets = set(targets)
    for index in range(max(targets), -1, -1):
        cell = nb.cells[index]
        if cell.cell_type != "code":
            continue
        names = cell_names(cell.source, modules)
        if index in targets or names.binds & needed:
            kept.add(index)
            needed = (needed - names.replaces) | names.reads
    return sorted(kept - targets)


def handout_cells(nb, labels: list[str], chapter: str = "the notebook") -> list[int]:
    """The cells of the handout for ``labels``: the opening cells, the cells the exercises need, the exercises."""
    sections = sorted({i for label in labels for i in section_cells(nb, label, chapter)})
    code = [i for i in sections if nb.cells[i].cell_type == "code"]
    needed = needed_cells(nb, code)
    for exercise in assignments.exercises(nb, chapter):
        answer = set(exercise.solution_cells + exercise.check_cells) & set(needed)
        if exercise.label not in labels and answer:
            raise assignments.MarkupError(
                f"{chapter}: {', '.join(labels)} needs cell {min(answer)}, part of exercise {exercise.label}; an "
                f"exercise must not depend on another's answer (define what it needs outside the solution)")
    return sorted(set(opening_cells(nb)) | set(needed) | set(sections))


def _title(nb, chapter: str) -> str:
    first = next((c.source for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("# ")), None)
    return f"Chapter {first.splitlines()[0][2:].strip()}" if first else chapter


def _intro(title: str, labels: list[str], setup: int) -> str:
    which = ", ".join(f"`{label}`" for label in labels)
    needs = ("It needs nothing else from the chapter." if not setup else
             f"The {setup} code cell{'s' if setup > 1 else ''} after this one, before the exercise, "
             f"{'are' if setup > 1 else 'is'} the chapter's that the exercise reads from; run "
             f"{'them' if setup > 1 else 'it'} first, at `SCALE = \"quick\"`.")
    return f"**Handout: {which} from {title}.** {needs} The rest of the chapter is left out."


def instructor_handout(nb, chapter: str, labels: list[str]):
    """The handout for exercises ``labels`` with their solutions: the chapter's cells the exercises need, at quick
    scale."""
    keep = handout_cells(nb, labels, chapter)
    opening = opening_cells(nb)
    sections = {i for label in labels for i in section_cells(nb, label, chapter)}
    setup = sum(nb.cells[i].cell_type == "code" for i in keep if i not in opening and i not in sections)
    handout = copy.deepcopy(nb)
    cells = [handout.cells[i] for i in keep]
    for cell in cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            cell.source = re.sub(r'^SCALE\s*=\s*"[a-z]+"', 'SCALE = "quick"', cell.source, flags=re.MULTILINE)
    position = len([i for i in keep if i in opening])
    cells.insert(position, nbformat.v4.new_markdown_cell(_intro(_title(nb, chapter), labels, setup), id="handout"))
    handout.cells = cells
    handout.metadata["teachbind"] = {"chapter": chapter, "handout": list(labels)}
    return handout


def handout(nb, chapter: str, labels: list[str]):
    """The student's handout for exercises ``labels``: :func:`instructor_handout` with the solutions replaced by
    stubs (:func:`teachbind.course.assignments.student_version`)."""
    student = assignments.student_version(instructor_handout(nb, chapter, labels), chapter)
    student.metadata["teachbind"]["handout"] = list(labels)
    return student


def write_handouts(chapters: list[Path], out_dir: Path, *, force: bool = False) -> list[Path]:
    """Write one student handout per exercise of each chapter notebook, as ``out_dir/<chapter>-<label>.ipynb``;
    return the paths. Refuses (``FileExistsError``, nothing written) when a file it would write exists, unless
    ``force``."""
    handouts = {}
    for chapter in map(Path, chapters):
        nb = nbformat.read(chapter, as_version=4)
        for exercise in assignments.exercises(nb, chapter.name):
            handouts[Path(out_dir) / f"{chapter.stem}-{exercise.label}.ipynb"] = handout(nb, chapter.stem,
                                                                                       [exercise.label])
    return assignments.write_notebooks(handouts, force=force)
