"""The book runner's execution cache, its chapters side by side and its progress, on small notebooks of our own
(tests/test_book.py runs the real chapters, always afresh)."""

import json
import os
import shutil

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from conftest import ROOT
from teachbind.course import book, cache, dependencies
from teachbind.data import registry

DATA_FILE = "basset_metadata/targets.txt"


def small_chapter(path, *, body="print(metrics.auroc([0, 1], [0.1, 0.9]))", prose="Some prose."):
    """A chapter like the book's: a title, a parameters cell, code that imports teachbind, fetches a registered
    file and records a result."""
    nb = new_notebook(cells=[
        new_markdown_cell("# A small chapter\n\n" + prose),
        new_code_cell('SCALE = "book"', metadata={"tags": ["parameters"]}),
        new_code_cell("import os\nimport torch\nfrom teachbind import metrics\nfrom teachbind.course import report\n"
                      f"from teachbind.data import registry\nregistry.fetch({DATA_FILE!r})\n"
                      "print(os.environ['OMP_NUM_THREADS'] if 'OMP_NUM_THREADS' in os.environ else 'unset', "
                      "torch.get_num_threads())"),
        new_markdown_cell("More prose."),
        new_code_cell(body),
        new_code_cell(f"report.record({path.stem!r}, n=1)"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def edit(path, change):
    nb = nbformat.read(path, as_version=4)
    change(nb.cells)
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """One chapter executed once by the runner; tests that edit it work on copies."""
    root = tmp_path_factory.mktemp("book")
    notebook = small_chapter(root / "nbs" / "01_small.ipynb")
    record = book.execute_chapter(notebook, root / "out")
    return root, record


@pytest.fixture
def run(executed, tmp_path):
    root, record = executed
    shutil.copytree(root, tmp_path / "book")
    return tmp_path / "book" / "nbs" / "01_small.ipynb", tmp_path / "book" / "out", record


@pytest.mark.notebook
def test_a_run_records_the_modules_and_data_it_used_beside_the_executed_notebook(run):
    notebook, out, record = run
    stored = cache.load(book.executed_path(notebook, out).with_suffix(".inputs.json"))
    assert {"teachbind", "teachbind.metrics", "teachbind.data.registry", "teachbind.course.report"} <= set(
        stored["modules"])
    assert "teachbind.interpret.gia" not in stored["modules"] and "teachbind.protocols.basset" not in stored["modules"]
    assert stored["data"] == [DATA_FILE]
    assert stored["inputs"][f"data {DATA_FILE}"] == registry.entry(DATA_FILE).sha256
    assert record["status"] == "ok" and len(record["cell_seconds"]) == 4 and record["results"]
    assert book.still_valid(notebook, out) == (True, "")


@pytest.mark.notebook
def test_a_prose_edit_is_pasted_around_the_outputs_already_computed(run):
    notebook, out, _ = run
    edit(notebook, lambda cells: (setattr(cells[3], "source", "Rewritten prose."),
                                  cells[4].metadata.setdefault("tags", []).append("hide-input"),
                                  cells.insert(4, new_markdown_cell("A new paragraph."))))
    assert book.still_valid(notebook, out) == (True, "")
    assert book.plan([notebook], out, scale=None) == ([], ["01_small"])
    shown = nbformat.read(book.executed_path(notebook, out), as_version=4)
    assert [c.source for c in shown.cells if c.cell_type == "markdown"][1:] == ["Rewritten prose.", "A new paragraph."]
    assert "injected-parameters" not in json.dumps([c.metadata for c in shown.cells]), "no parameters were given"
    auroc = [c for c in shown.cells if c.cell_type == "code"][2]
    assert auroc.outputs[0]["text"].strip() == "1.0" and auroc.metadata["tags"] == ["hide-input"]


@pytest.mark.notebook
@pytest.mark.parametrize("change, reason", [
    (lambda cells: setattr(cells[4], "source", "print(2)"), "code cell 3"),
    (lambda cells: cells[4].metadata.setdefault("tags", []).append("raises-exception"), "code cell 3"),
    (lambda cells: cells.append(new_code_cell("print(3)")), "code cell 5"),
])
def test_a_code_edit_re_executes(run, change, reason):
    notebook, out, _ = run
    edit(notebook, change)
    valid, why = book.still_valid(notebook, out)
    assert not valid and reason in why
    assert book.plan([notebook], out, scale=None)[0] == [notebook]


@pytest.mark.notebook
def test_another_scale_a_lost_result_or_a_failed_run_re_executes(run):
    notebook, out, _ = run
    assert book.still_valid(notebook, out, scale="quick") == (False, "changed: parameters")
    assert book.still_valid(notebook, out, parameters={"SEED": 1}) == (False, "changed: parameters")
    (out / "results" / "01_small.json").unlink()
    assert book.still_valid(notebook, out) == (False, "its results file is gone")
    record_file = out / "execution" / "01_small.json"
    record_file.write_text(json.dumps({**json.loads(record_file.read_text()), "status": "code cell 2 failed"}))
    book.executed_path(notebook, out).with_suffix(".inputs.json").unlink()
    assert book.still_valid(notebook, out) == (False, "its last run failed")


@pytest.mark.notebook
def test_a_package_edit_re_executes_only_the_chapters_that_imported_the_module(run, tmp_path, monkeypatch):
    notebook, out, _ = run
    package = tmp_path / "teachbind"
    shutil.copytree(ROOT / "teachbind", package, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(cache, "PACKAGE", package)
    assert book.still_valid(notebook, out) == (True, "")
    (package / "interpret" / "gia.py").write_text((package / "interpret" / "gia.py").read_text() + "\n# edited\n")
    (package / "data" / "registry.tsv").write_text((package / "data" / "registry.tsv").read_text() + "\n")
    assert book.still_valid(notebook, out) == (True, ""), "the chapter never imported teachbind.interpret.gia"
    (package / "metrics.py").write_text((package / "metrics.py").read_text() + "\n# edited\n")
    assert book.still_valid(notebook, out) == (False, "changed: package teachbind/metrics.py")
    shutil.copy2(ROOT / "teachbind" / "metrics.py", package / "metrics.py")
    (package / "paper_numbers.yml").write_text((package / "paper_numbers.yml").read_text() + "\n")
    assert book.still_valid(notebook, out) == (False, "changed: package teachbind/paper_numbers.yml")


@pytest.mark.notebook
def test_a_data_file_with_another_checksum_or_another_installed_package_re_executes(run, monkeypatch):
    notebook, out, _ = run
    entries = dict(registry.registered())
    other = next(path for path in entries if path != DATA_FILE)
    entries[other] = registry.Entry(other, "0" * 64, "", "")
    monkeypatch.setattr(registry, "registered", lambda: entries)
    assert book.still_valid(notebook, out) == (True, ""), "the chapter never fetched that file"
    entries[DATA_FILE] = registry.Entry(DATA_FILE, "0" * 64, "", "")
    assert book.still_valid(notebook, out) == (False, f"changed: data {DATA_FILE}")
    monkeypatch.undo()
    environment = cache.environment
    monkeypatch.setattr(cache, "environment", lambda device: {**environment(device), "distribution numpy": "0.1"})
    assert book.still_valid(notebook, out) == (False, "changed: distribution numpy")


@pytest.mark.notebook
def test_a_run_during_which_its_code_changed_is_not_cached(tmp_path):
    edit_itself = ("import nbformat\nnb = nbformat.read('01_small.ipynb', as_version=4)\n"
                   "nb.cells[-1].source += '\\n# edited while running'\nnbformat.write(nb, '01_small.ipynb')")
    notebook = small_chapter(tmp_path / "nbs" / "01_small.ipynb", body=edit_itself)
    with pytest.warns(UserWarning, match="code cell 4 changed while it ran; this run is not cached"):
        record = book.execute_chapter(notebook, tmp_path / "out")
    assert record["status"] == "ok"
    assert book.still_valid(notebook, tmp_path / "out") == (False, "no earlier run in this folder")


@pytest.mark.notebook
def test_chapters_run_side_by_side_with_the_cores_shared_and_a_failure_names_its_cell(tmp_path, capsys):
    good = small_chapter(tmp_path / "nbs" / "01_good.ipynb")
    bad = small_chapter(tmp_path / "nbs" / "02_bad.ipynb", body="x = 1\n1 / 0")
    out = tmp_path / "out"
    records = book.execute_chapters([good, bad], out, scale=None, timeout=120, jobs=2)
    assert records["01_good"]["status"] == "ok" and records["01_good"]["threads"] == book.threads_per_job(2)
    assert 0.05 < records["01_good"]["peak_memory_gb"] < 4, "a kernel that imported torch"
    assert records["02_bad"]["status"] == "code cell 3 failed: ZeroDivisionError: division by zero"
    threads = [c for c in nbformat.read(book.executed_path(good, out), as_version=4).cells if c.cell_type == "code"]
    assert threads[1].outputs[0]["text"].split() == [str(book.threads_per_job(2))] * 2
    assert book.still_valid(good, out) == (True, "")
    assert book.still_valid(bad, out) == (False, "its last run failed")
    printed = capsys.readouterr().out
    assert "01_good: code cell 1 of 4" in printed and "02_bad: code cell 1 of 4" in printed
    assert "02_bad: FAILED after" in printed and "code cell 3 failed: ZeroDivisionError" in printed
    assert "2 of 2 chapters done" in printed


@pytest.mark.parametrize("cores, jobs, limit", [(2, 1, 1800), (2, 2, 3600), (16, 4, 7200), (1, 2, 1800)])
def test_a_chapter_sharing_the_cores_gets_a_cell_limit_in_proportion(monkeypatch, cores, jobs, limit):
    """The measured failure behind it: on two cores with --jobs 2, Chapter 5's benchmark cell (one process per
    thread) ran past the 1,800 s that it keeps well within with both cores."""
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    assert book.cell_timeout(1800, book.threads_per_job(jobs)) == limit


def test_the_time_left_comes_from_the_previous_run_of_each_cell():
    previous = {"a": [10.0, 20.0, 30.0], "b": [5.0, 5.0]}
    assert book.estimate_left(previous, {"a": (2, 5.0)}, jobs=1) == 15 + 30 + 10
    assert book.estimate_left(previous, {"a": (2, 5.0)}, jobs=2) == 45, "the longest chapter bounds it"
    assert book.estimate_left(previous, {"a": (2, 25.0), "b": (2, 1.0)}, jobs=2) == 30
    assert book.estimate_left({**previous, "c": None}, {}, jobs=2) is None
    progress = book.Progress(["a", "b"], previous, jobs=1, start=100.0)
    line = progress.cell("a", 2, 3, now=165.0)
    assert line == "[  1:05] a: code cell 2 of 3 · 0 of 2 chapters done · about 60 s left"


def test_the_code_a_chapter_depends_on_is_its_code_cells_and_their_tags_that_change_a_run(tmp_path):
    notebook = small_chapter(tmp_path / "01_small.ipynb")
    before = cache.code_cells(notebook)
    edit(notebook, lambda cells: (cells[2].metadata.setdefault("tags", []).extend(["hide-input", "remove-output"]),
                                  setattr(cells[0], "source", "# Retitled")))
    assert cache.code_cells(notebook) == before
    edit(notebook, lambda cells: cells[4].metadata.setdefault("tags", []).append("skip-execution"))
    assert cache.code_cells(notebook)[2]["tags"] == ["skip-execution"]


def test_the_prose_cannot_be_pasted_onto_other_code(tmp_path):
    notebook = small_chapter(tmp_path / "nbs" / "01_small.ipynb")
    executed = small_chapter(tmp_path / "out" / "01_small.ipynb", body="print(2)")
    with pytest.raises(ValueError, match="does not hold the code cells"):
        cache.with_current_prose(notebook, executed)


def test_module_files_and_the_dependency_log(tmp_path, monkeypatch):
    assert cache.module_file("teachbind", cache.PACKAGE) == cache.PACKAGE / "__init__.py"
    assert cache.module_file("teachbind.models", cache.PACKAGE) == cache.PACKAGE / "models" / "__init__.py"
    assert cache.module_file("teachbind.models.ideep", cache.PACKAGE) == cache.PACKAGE / "models" / "ideep.py"
    log = tmp_path / "log"
    dependencies.log("data", "x/y.gz")
    assert not log.exists(), "nothing is logged without the variable"
    monkeypatch.setenv(dependencies.DEPENDENCY_LOG_ENV, str(log))
    for kind, name in [("module", "teachbind.seq"), ("data", "x/y.gz"), ("module", "teachbind"),
                       ("module", "teachbind.seq")]:
        dependencies.log(kind, name)
    assert dependencies.read_log(log) == (["teachbind", "teachbind.seq"], ["x/y.gz"])
    assert dependencies.read_log(tmp_path / "none") == ([], [])


def test_staging_rewrites_only_what_changed(tmp_path):
    source, target = tmp_path / "source", tmp_path / "target"
    for name, text in [("a.md", "a"), ("book/b.md", "b"), ("book/c.md", "c")]:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text(text)
    book._sync(source, target)
    (target / "_build").mkdir()
    (target / "_build" / "kept").write_text("sphinx's")
    os.utime(target / "a.md", (1, 1))
    (source / "book" / "b.md").write_text("b, edited")
    (source / "book" / "c.md").unlink()
    book._sync(source, target)
    assert (target / "a.md").stat().st_mtime == 1, "an unchanged file is not written again"
    assert (target / "book" / "b.md").read_text() == "b, edited" and not (target / "book" / "c.md").exists()
    assert (target / "_build" / "kept").exists()
