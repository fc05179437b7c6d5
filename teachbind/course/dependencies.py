"""What a chapter used while the book runner executed it: the ``teachbind`` modules it imported and the registered
data files it fetched, for the execution cache (:mod:`teachbind.course.cache`).

The runner names a file in ``$TEACHBIND_DEPENDENCY_LOG`` for the chapter's kernel; ``teachbind``'s ``__init__``
calls :func:`log_imports`, and :func:`teachbind.data.registry.fetch` calls :func:`log`, so a line ``module <name>``
or ``data <path>`` is appended as each is first used, in the kernel and in any subprocess it starts (they inherit
the variable). Without the variable nothing is logged. This module imports nothing of teachbind's.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DEPENDENCY_LOG_ENV = "TEACHBIND_DEPENDENCY_LOG"


def log(kind: str, name: str) -> None:
    """Append ``<kind> <name>`` to the dependency log, when the book runner has set one."""
    path = os.environ.get(DEPENDENCY_LOG_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(f"{kind} {name}\n")


class _ImportLog:
    """A meta-path finder that finds nothing: it logs each ``teachbind`` module the first time it is imported."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.startswith("teachbind."):
            log("module", name)
        return None


def log_imports() -> None:
    """Log ``teachbind`` and every one of its modules imported from now on, when the book runner has set a log."""
    if os.environ.get(DEPENDENCY_LOG_ENV) and not any(isinstance(f, _ImportLog) for f in sys.meta_path):
        log("module", "teachbind")
        sys.meta_path.insert(0, _ImportLog())


def read_log(path: Path) -> tuple[list[str], list[str]]:
    """The modules and the data files a dependency log lists, each sorted and once."""
    lines = Path(path).read_text(encoding="utf-8").splitlines() if Path(path).exists() else []
    pairs = [line.split(" ", 1) for line in lines if " " in line]
    return (sorted({name for kind, name in pairs if kind == "module"}),
            sorted({name for kind, name in pairs if kind == "data"}))
