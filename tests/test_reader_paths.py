"""A chapter runs to its last cell the ways a reader runs it, with no teachbind or Jupyter variable telling it which
notebook it is: plain papermill from the repository root and from ``nbs/`` (as JupyterLab, Notebook and VS Code
start a kernel, in the notebook's folder), and plain nbclient in a folder that is no book (as on Colab)."""

import json
import os
import shutil
import subprocess
import sys

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import ROOT

CHAPTER = "01_sequences"
EXPERIMENTS = ["ELK1_GM12878_ELK1_(1277-1)_Stanford", "REST_GM12878_NRSF_HudsonAlpha"]
pytestmark = [pytest.mark.notebook, pytest.mark.timeout(300)]


def reader_environment() -> dict[str, str]:
    """This process's environment without Jupyter's session variables or teachbind's, except where the data are."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("JPY_", "TEACHBIND_"))}
    if os.environ.get("TEACHBIND_DATA_DIR"):
        env["TEACHBIND_DATA_DIR"] = os.path.abspath(os.environ["TEACHBIND_DATA_DIR"])
    return env


@pytest.fixture
def checkout(tmp_path):
    """A copy of the book's root as a reader's clone has it: ``_config.yml`` and the chapter under ``nbs/``."""
    (tmp_path / "nbs").mkdir()
    shutil.copy2(ROOT / "_config.yml", tmp_path)
    shutil.copy2(ROOT / "nbs" / f"{CHAPTER}.ipynb", tmp_path / "nbs")
    return tmp_path


def papermill(notebook: str, out: str, cwd) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "papermill", notebook, out, "-p", "SCALE", "quick",
               "-y", json.dumps({"EXPERIMENTS": EXPERIMENTS}), "--no-progress-bar"]
    return subprocess.run(command, cwd=cwd, env=reader_environment(), capture_output=True, text=True)


def recorded(path) -> dict:
    assert path.is_file(), f"no results at {path}"
    results = json.loads(path.read_text())
    assert sorted(results["pwm_auc"]) == sorted(EXPERIMENTS)
    return results


def last_cell_ran(notebook_path) -> bool:
    nb = nbformat.read(notebook_path, as_version=4)
    last = [cell for cell in nb.cells if cell.cell_type == "code"][-1]
    return last.execution_count is not None and not any(o.output_type == "error" for o in last.outputs)


def test_papermill_from_the_repository_root(checkout):
    run = papermill(f"nbs/{CHAPTER}.ipynb", "out.ipynb", cwd=checkout)
    assert run.returncode == 0, run.stderr[-3000:]
    assert last_cell_ran(checkout / "out.ipynb")
    recorded(checkout / "_build" / "results" / f"{CHAPTER}.json")


def test_papermill_from_the_chapters_folder(checkout):
    run = papermill(f"{CHAPTER}.ipynb", "out.ipynb", cwd=checkout / "nbs")
    assert run.returncode == 0, run.stderr[-3000:]
    assert last_cell_ran(checkout / "nbs" / "out.ipynb")
    recorded(checkout / "_build" / "results" / f"{CHAPTER}.json")


def test_nbclient_in_a_folder_that_is_no_book_writes_beside_the_notebook_and_says_where(tmp_path, monkeypatch):
    reader = reader_environment()
    for key in set(os.environ) - set(reader):
        monkeypatch.delenv(key)
    for key, value in reader.items():
        monkeypatch.setenv(key, value)
    nb = nbformat.read(ROOT / "nbs" / f"{CHAPTER}.ipynb", as_version=4)
    parameters = next(cell for cell in nb.cells if "parameters" in cell.metadata.get("tags", []))
    parameters.source += f'\nSCALE = "quick"\nEXPERIMENTS = {EXPERIMENTS!r}\n'
    NotebookClient(nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    where = tmp_path / "teachbind-results" / f"{CHAPTER}.json"
    recorded(where)
    printed = "".join(o.get("text", "") for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs)
    assert f"recorded in {where}" in printed, "the chapter must say where it wrote its results"
