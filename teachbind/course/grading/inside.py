"""The grader's side inside the sandbox: run the prepared notebook and hand back plain results.

``python -m teachbind.course.grading.inside WARM_DIR < PREPARED.ipynb`` copies the prewarmed caches (numba's compiled
functions, matplotlib's font list) from ``WARM_DIR`` into this run's own folders, executes every cell of the
notebook it reads from its standard input (after errors too), and writes one JSON document to its standard
output: for each cell whether it ran, its error (``Name: message``) and the observations its checks reported
(:func:`report`). Everything here runs beside the student's code and is trusted by nobody: the grader outside reads
the document as data.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from teachbind.course.grading.notebooks import OBSERVATION

MAX_ERROR = 2000


def report(key: str, k: int, name: str, answer, *args, **kwargs) -> None:
    """Run check ``name`` on ``answer`` (:func:`teachbind.course.exercises.observe`) and show what the answer returned
    as an output of the cell, for the grader."""
    from IPython.display import display

    from teachbind.course import exercises

    observed = exercises.observe(getattr(exercises, name), answer, *args, **kwargs)
    display({OBSERVATION: {"key": key, "k": k, "observed": observed}}, raw=True)


def _seed_caches(warm: Path) -> None:
    for name, variable in (("numba", "NUMBA_CACHE_DIR"), ("matplotlib", "MPLCONFIGDIR")):
        if (warm / name).is_dir() and os.environ.get(variable):
            shutil.copytree(warm / name, os.environ[variable], dirs_exist_ok=True)


def _summary(cell) -> dict:
    error, observations = None, []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            error = f"{output.get('ename')}: {output.get('evalue')}"[:MAX_ERROR]
        elif OBSERVATION in output.get("data", {}):
            observations.append(output["data"][OBSERVATION])
    return {"ran": cell.get("execution_count") is not None, "error": error, "observations": observations}


def main(warm: Path) -> None:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.reads(sys.stdin.read(), as_version=4)
    results = os.fdopen(os.dup(1), "w", encoding="utf-8")
    log = os.open("run.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    _seed_caches(warm)
    client = NotebookClient(nb, timeout=None, allow_errors=True, kernel_name="python3",
                            resources={"metadata": {"path": os.getcwd()}})
    status = "ok"
    try:
        client.execute()
    except Exception as error:
        lines = str(error).strip().splitlines() or [""]
        status = f"the run stopped: {type(error).__name__}: {lines[-1][:300]}"
    json.dump({"status": status, "cells": [_summary(cell) for cell in nb.cells]}, results)
    results.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
