"""Which chapter introduces each public function of the package (d2l's "Defined in" habit), read from the chapters'
code rather than written by hand, so it cannot drift: :func:`chapters_using` finds the package names a chapter's
code cells call, and :func:`setup` makes it a Sphinx extension that ends every docstring on the API page with the
chapter that introduces the name and the chapters that use it again.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
from collections.abc import Iterable
from pathlib import Path

CHAPTER = re.compile(r"(\d\d)_[^/]*\.ipynb$")
MAGIC = re.compile(r"^(\s*)[%!].*$")


def as_python(source: str) -> str:
    """A code cell's source with each IPython magic or shell line (``%pip``, ``!ls``) read as ``pass``."""
    return "\n".join(MAGIC.sub(r"\1pass", line) for line in source.splitlines())


def code_of(notebook: Path) -> str:
    """The Python of a notebook's code cells (:func:`as_python`)."""
    cells = json.loads(Path(notebook).read_text())["cells"]
    return "\n".join(as_python("".join(c["source"])) for c in cells if c["cell_type"] == "code")


def package_names(source: str, package: str = "teachbind") -> set[str]:
    """The fully qualified names (``teachbind.seq.one_hot``) of the package's functions and classes that
    ``source`` refers to: through ``import teachbind``, ``from teachbind import seq`` or ``from teachbind.seq
    import one_hot`` (aliases included), then attribute access (``seq.one_hot``, ``protocols.deepbind.x``).
    Each is named where it is defined (``teachbind.models.DeepBind`` → ``teachbind.models.deepbind.DeepBind``)."""
    tree = ast.parse(source)
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == package:
                    bound[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else package
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == package:
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    found = set()
    for node in ast.walk(tree):
        chain = _dotted(node)
        if chain and chain[0] in bound:
            found.update(filter(None, (_defined_name(".".join([bound[chain[0]], *chain[1:i]]))
                                       for i in range(1, len(chain) + 1))))
    return found


def _dotted(node: ast.AST) -> list[str] | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return [node.id, *reversed(parts)] if isinstance(node, ast.Name) else None


def _defined_name(qualified: str) -> str | None:
    module, _, attribute = qualified.rpartition(".")
    try:
        value = getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError, ValueError):
        return None
    if not callable(value) or not hasattr(value, "__qualname__") or isinstance(value, type(importlib)):
        return None
    return f"{value.__module__}.{value.__qualname__}"


def chapters_using(notebooks: Iterable[Path]) -> dict[str, list[int]]:
    """``{qualified name: [chapter numbers, in order]}`` for every package function or class the chapters
    ``notebooks`` (files named ``NN_*.ipynb``) call."""
    uses: dict[str, list[int]] = {}
    for notebook in sorted(notebooks):
        chapter = int(CHAPTER.search(str(notebook)).group(1))
        for name in package_names(code_of(notebook)):
            uses.setdefault(name, []).append(chapter)
    return uses


def where_line(chapters: list[int]) -> str:
    """The sentence the API page ends a docstring with: ``Introduced in Chapter 2; used again in Chapters 3, 5.``"""
    again = chapters[1:]
    later = f"; used again in Chapter{'s' if len(again) > 1 else ''} {', '.join(map(str, again))}" if again else ""
    return f"Introduced in Chapter {chapters[0]}{later}."


def setup(app):
    """Sphinx extension: end the API page's docstring of each function, class or method that a chapter in ``nbs/``
    calls with :func:`where_line`, and say of each other function or class that no chapter calls it by name."""
    uses: dict[str, list[int]] = {}

    def read_chapters(app):
        uses.update(chapters_using(Path(app.srcdir, "nbs").glob("[0-9][0-9]_*.ipynb")))

    def add_where(app, what, name, obj, options, lines):
        if name in uses:
            lines.extend(["", where_line(uses[name])])
        elif what in ("function", "class"):
            lines.extend(["", "Not called by name in the chapters' code."])

    app.connect("builder-inited", read_chapters)
    app.connect("autodoc-process-docstring", add_where)
    return {"parallel_read_safe": True}
