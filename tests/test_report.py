import json

import numpy as np
import pytest
import torch

from teachbind.course import book, report


@pytest.fixture
def results(tmp_path, monkeypatch):
    monkeypatch.setenv(report.RESULTS_ENV, str(tmp_path))
    return tmp_path


def test_record_writes_and_merges_a_flat_json(results):
    path = report.record("07_example", pwm_auc={"ELK1": 0.92, "REST": 0.96}, n=18)
    assert path == results / "07_example.json"
    report.record("07_example", n=17, mean=0.5)
    assert json.loads(path.read_text()) == {"pwm_auc": {"ELK1": 0.92, "REST": 0.96}, "n": 17, "mean": 0.5}


def test_record_rejects_what_is_not_a_number(results):
    with pytest.raises(TypeError, match="'auc' must be a number"):
        report.record("07_example", auc="0.9")
    with pytest.raises(TypeError, match=r"auc\['x'\]"):
        report.record("07_example", auc={"x": [0.9]})
    with pytest.raises(ValueError, match="nan"):
        report.record("07_example", auc=float("nan"))
    assert not (results / "07_example.json").exists()


@pytest.mark.parametrize("chapter", ["", "01_sequences.ipynb", "../01_sequences", "nbs/01_sequences"])
def test_the_chapter_is_a_notebook_stem(results, chapter):
    with pytest.raises(ValueError, match="file stem"):
        report.record(chapter, auc=0.9)
    assert not list(results.iterdir())


def test_default_folder_is_the_books_build_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(report.RESULTS_ENV, raising=False)
    (tmp_path / "_config.yml").write_text("title: x\n")
    (tmp_path / "nbs").mkdir()
    monkeypatch.chdir(tmp_path / "nbs")
    assert report.results_dir() == tmp_path.resolve() / "_build" / "results"


def test_without_a_book_results_go_beside_the_notebook(tmp_path, monkeypatch):
    monkeypatch.delenv(report.RESULTS_ENV, raising=False)
    (tmp_path / "_config.yml").write_text("title: not a book: it has no nbs/ folder\n")
    monkeypatch.chdir(tmp_path)
    assert report.results_dir() == tmp_path.resolve() / "teachbind-results"


def test_glue_shows_nothing_and_gives_myst_nb_plain_numbers(monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kw: shown.append((objs, kw)))
    report.glue(auc=np.float32(0.25), wins=np.int64(11), name="ELK1", q=torch.tensor(1e-5))
    bundles = {kw["metadata"]["scrapbook"]["name"]: objs[0] for objs, kw in shown}
    assert all(kw["raw"] and kw["metadata"]["scrapbook"]["mime_prefix"] == report.GLUE_PREFIX for _, kw in shown)
    assert all(list(bundle) == [report.GLUE_PREFIX + "text/plain"] for bundle in bundles.values())
    plain = {name: bundle[report.GLUE_PREFIX + "text/plain"] for name, bundle in bundles.items()}
    assert plain["auc"] == "0.25" and plain["wins"] == "11" and plain["name"] == "'ELK1'"
    from myst_nb.core.variables import format_plain_text

    assert format_plain_text(plain["q"], ".1e") == "1.0e-05" and format_plain_text(plain["name"], "") == "ELK1"


@pytest.mark.parametrize("value, error", [(float("nan"), ValueError), (True, TypeError), ([0.5], TypeError)])
def test_glue_refuses_what_the_prose_cannot_quote(value, error):
    with pytest.raises(error):
        report.glue(x=value)


def test_execution_page_lists_each_chapter_and_the_versions(tmp_path):
    for stem, seconds, status in (("01_a", 75.4, "ok"), ("02_b", 3600, "PapermillExecutionError: boom"),
                                  ("02_renamed", 10, "ok")):
        (tmp_path / f"{stem}.json").write_text(json.dumps({
            "notebook": f"{stem}.ipynb", "scale": "quick", "status": status, "seconds": seconds,
            "device": "CPU: test, 2 cores", "versions": {"python": "3.11.7", "torch": "2.13.0"}}))
    titles = {"01_a": "1. A", "02_b": "2. B"}
    page = report.execution_page(tmp_path, titles)
    assert "| [1. A](../nbs/01_a.ipynb) | quick | ok | 1 min 15 s | CPU: test, 2 cores |" in page
    assert "| [2. B](../nbs/02_b.ipynb) | quick | **failed**: PapermillExecutionError: boom | 60 min 00 s |" in page
    assert "02_renamed" not in page, "a record of a notebook the book no longer has is left out"
    assert "| torch | 2.13.0 |" in page and "Total: 61.3 minutes for 2 chapters." in page
    (tmp_path / "01_a.json").write_text(json.dumps({**json.loads((tmp_path / "01_a.json").read_text()),
                                                    "finished": "2026-11-30T10:00:00+00:00",
                                                    "peak_memory_gb": 2.345}))
    run = {"chapters_seconds": 95.0, "jobs": 2, "threads": 1, "cores": 2, "executed": ["02_b"], "reused": ["01_a"]}
    page = report.execution_page(tmp_path, titles, run=run)
    assert "| 1 min 15 s | CPU: test, 2 cores | 2026-11-30, reused | 2.3 GB |" in page
    assert "| 60 min 00 s | CPU: test, 2 cores | in this build | — |" in page
    assert ("one `./scripts/book` run with `--jobs 2` (1 CPU thread per chapter on 2 cores): it executed 1 chapter "
            "in 1.6 minutes of wall time and reused 1") in page


def test_reproduction_page_sets_each_result_beside_the_paper(tmp_path):
    (tmp_path / "02_b.json").write_text(json.dumps({"auc": {"ELK1": 0.95, "SP1": 0.75}, "q": 1.5e-24,
                                                    "new_result": 3}))
    paper = [{"chapter": "02_b", "result": "auc", "item": "ELK1", "paper": 0.90, "what": "AUROC on ELK1",
              "source": "repro"},
             {"chapter": "02_b", "result": "auc", "paper": None, "what": "AUROCs"},
             {"chapter": "02_b", "result": "q", "paper": None, "what": "TomTom q"}]
    (tmp_path / "01_gone.json").write_text(json.dumps({"auroc": 0.5}))
    page = report.reproduction_page(tmp_path, paper, {"02_b": "2. B"}, figure="reproduction.png")
    assert "## [2. B](../nbs/02_b.ipynb)" in page
    assert "01_gone" not in page, "results of a notebook the book no longer has are left out"
    assert "| AUROCs | mean 0.850 over 2 (0.750–0.950) | — | — |" in page
    assert "| AUROC on ELK1 | 0.950 | 0.900 | +0.050 |" in page
    assert "| TomTom q | 1.50e-24 | — | — |" in page
    assert "| `new_result` (not described in teachbind/paper_numbers.yml) | 3 | — | — |" in page
    per_experiment = page[page.index("Per-experiment values"):page.index("Sources")]
    assert "| `SP1` | 0.750 |" in per_experiment and "| `ELK1` | 0.950 |" in per_experiment
    assert "- AUROC on ELK1: repro" in page[page.index("Sources"):]
    assert "```{figure} reproduction.png" in page and ":alt:" in page
    assert all(len(row.split("|")) == 6 for row in page.splitlines() if row.startswith("| ") and "ours −" in row)

    figure = report.reproduction_figure(tmp_path, paper, tmp_path / "site" / "reproduction.png")
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert report.reproduction_figure(tmp_path, paper[1:], tmp_path / "none.png") is None
    assert not (tmp_path / "none.png").exists()


def test_every_chapters_paper_numbers_that_the_prose_quotes_have_glue_names():
    entries = report.paper_numbers()
    names = [e["glue"] for e in entries if e.get("glue")]
    assert len(names) == len(set(names)), "a glue name is used twice"
    assert all(e["paper"] is not None for e in entries if e.get("glue")), "a glued paper number must be a number"
    assert {e["chapter"] for e in entries} == {nb.stem for nb in book.chapters()}
