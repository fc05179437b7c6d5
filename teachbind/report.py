"""Record each chapter's key results, for later chapters and for the book's reproduction page.

``record(pwm_auc={...}, n_experiments=18)`` merges the values into ``$TEACHBIND_RESULTS_DIR/<stem>.json``
(default ``_build/results/`` in the book's root), where ``<stem>`` is the running notebook's file name without ``.ipynb``. The file
is a flat JSON object whose values are numbers or ``{name: number}`` maps.
"""

from __future__ import annotations

import json
import math
import numbers
import os
from pathlib import Path

RESULTS_ENV = "TEACHBIND_RESULTS_DIR"
NOTEBOOK_ENV = "TEACHBIND_NOTEBOOK"


def results_dir() -> Path:
    """The folder results are written to: ``$TEACHBIND_RESULTS_DIR``, else ``_build/results`` in the book's root.

    The book's root is the nearest folder, from the working directory up, that holds ``_config.yml``; a chapter
    opened in Jupyter from ``nbs/`` writes to the same place as the book build.
    """
    if os.environ.get(RESULTS_ENV):
        return Path(os.environ[RESULTS_ENV])
    here = Path.cwd().resolve()
    root = next((folder for folder in (here, *here.parents) if (folder / "_config.yml").is_file()), here)
    return root / "_build" / "results"


def notebook_stem() -> str:
    """File stem of the running notebook.

    Taken from ``$TEACHBIND_NOTEBOOK`` (set by the book's runner), else from the notebook session that Jupyter
    reports (``__session__`` in IPython, ``JPY_SESSION_NAME``).
    """
    candidates = [os.environ.get(NOTEBOOK_ENV), os.environ.get("JPY_SESSION_NAME")]
    try:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:
            candidates.insert(1, shell.user_ns.get("__session__"))
    except ImportError:
        pass
    for candidate in candidates:
        if candidate:
            return Path(candidate).name.removesuffix(".ipynb")
    raise RuntimeError(f"cannot tell which notebook is running: set {NOTEBOOK_ENV} to its file name")


def _check_number(key: str, value) -> float | int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"result {key!r} must be a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"result {key!r} is {value}")
    return int(value) if isinstance(value, numbers.Integral) else float(value)


def _check(key: str, value):
    if isinstance(value, dict):
        return {str(name): _check_number(f"{key}[{name!r}]", v) for name, v in value.items()}
    return _check_number(key, value)


def record(**metrics) -> Path:
    """Merge ``metrics`` (numbers or ``{name: number}`` maps) into this notebook's results file; return its path."""
    checked = {key: _check(key, value) for key, value in metrics.items()}
    path = results_dir() / f"{notebook_stem()}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    current = json.loads(path.read_text()) if path.exists() else {}
    current.update(checked)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)
    return path


def load(stem: str) -> dict:
    """The results recorded by notebook ``stem`` (e.g. ``"01_sequences"``); ``FileNotFoundError`` if none."""
    path = results_dir() / f"{stem}.json"
    if not path.exists():
        raise FileNotFoundError(f"no results recorded for {stem!r} at {path}: run that chapter first")
    return json.loads(path.read_text())
