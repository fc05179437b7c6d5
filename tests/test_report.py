import json

import pytest

from teachbind import report


@pytest.fixture
def results(tmp_path, monkeypatch):
    monkeypatch.setenv(report.RESULTS_ENV, str(tmp_path))
    monkeypatch.setenv(report.NOTEBOOK_ENV, "07_example.ipynb")
    return tmp_path


def test_record_writes_and_merges_a_flat_json(results):
    path = report.record(pwm_auc={"ELK1": 0.92, "REST": 0.96}, n=18)
    assert path == results / "07_example.json"
    report.record(n=17, mean=0.5)
    assert json.loads(path.read_text()) == {"pwm_auc": {"ELK1": 0.92, "REST": 0.96}, "n": 17, "mean": 0.5}
    assert report.load("07_example")["n"] == 17


def test_record_rejects_what_is_not_a_number(results):
    with pytest.raises(TypeError, match="'auc' must be a number"):
        report.record(auc="0.9")
    with pytest.raises(TypeError, match=r"auc\['x'\]"):
        report.record(auc={"x": [0.9]})
    with pytest.raises(ValueError, match="nan"):
        report.record(auc=float("nan"))
    assert not (results / "07_example.json").exists()


def test_the_notebook_must_be_known(monkeypatch):
    monkeypatch.delenv(report.NOTEBOOK_ENV, raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    with pytest.raises(RuntimeError, match="TEACHBIND_NOTEBOOK"):
        report.notebook_stem()
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/me/nbs/02_deepbind.ipynb")
    assert report.notebook_stem() == "02_deepbind"


def test_load_names_the_missing_chapter(results):
    with pytest.raises(FileNotFoundError, match="run that chapter first"):
        report.load("99_missing")


def test_default_folder_is_the_books_build_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(report.RESULTS_ENV, raising=False)
    (tmp_path / "_config.yml").write_text("title: x\n")
    (tmp_path / "nbs").mkdir()
    monkeypatch.chdir(tmp_path / "nbs")
    assert report.results_dir() == tmp_path.resolve() / "_build" / "results"
