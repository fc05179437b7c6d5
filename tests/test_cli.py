"""The ``teachbind`` command line: each subcommand's help, its output, and its errors."""

import csv
import shutil
import subprocess
import sys

import nbformat
import pytest

from conftest import ROOT, requires_mirror
from teachbind.course import assignments, cli, handouts
from test_grading import tiny_chapter

SMALL = "basset_metadata/targets.txt"


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "teachbind.course.cli", *args], capture_output=True, text=True, env=env)


@pytest.mark.parametrize("command", [[], ["assignments"], ["grade"], ["data"]])
def test_every_command_has_help(command):
    with pytest.raises(SystemExit) as exit_:
        cli.main([*command, "--help"])
    assert exit_.value.code == 0


def test_entry_point_is_installed():
    assert shutil.which("teachbind", path=str(__import__("pathlib").Path(sys.executable).parent))


def test_assignments_writes_student_notebooks_and_never_overwrites(tmp_path, capsys):
    chapter = nbformat.read(ROOT / "nbs" / "01_sequences.ipynb", as_version=4)
    found = assignments.exercises(chapter, "01_sequences")
    assert len(found) >= 4
    assert cli.main(["assignments", str(tmp_path / "out"), "--chapters", "01_sequences"]) == 0
    assert f"{len(found)} exercises, {sum(e.graded for e in found)} graded by a check" in capsys.readouterr().out
    written = tmp_path / "out" / "01_sequences.ipynb"
    nb = nbformat.read(written, as_version=4)
    assert nb.metadata["teachbind"]["chapter"] == "01_sequences"
    assert not any("solution" in cell.metadata.get("tags", []) for cell in nb.cells)
    written.write_text("my work")
    assert cli.main(["assignments", str(tmp_path / "out"), "--chapters", "01_sequences"]) == 2
    assert "pass --force" in capsys.readouterr().err
    assert written.read_text() == "my work"
    assert cli.main(["assignments", str(tmp_path / "x"), "--chapters", "09_nothing"]) == 2
    assert "no chapter 09_nothing; the chapters are 01_sequences" in capsys.readouterr().err


def test_grade_command_writes_grades_and_feedback(tmp_path):
    reference = tmp_path / "99_tiny.ipynb"
    nbformat.write(tiny_chapter(), reference)
    subs = tmp_path / "subs"
    assignments.write_assignments([reference], subs)
    result = run("grade", str(subs), "--out", str(tmp_path / "grades.csv"), "--reference", str(reference),
                 "--timeout", "60", "--jobs", "1")
    assert result.returncode == 0, result.stderr
    assert "[1/1] 99_tiny: 0/3 points" in result.stdout
    rows = list(csv.DictReader((tmp_path / "grades.csv").open()))
    assert [(r["student"], r["exercise"], r["points"], r["max_points"]) for r in rows] == [
        ("99_tiny", "ex-one-hot", "0", "1"), ("99_tiny", "ex-scan", "0", "2")]
    assert (tmp_path / "grades-feedback" / "99_tiny.md").exists()
    again = run("grade", str(subs), "--out", str(tmp_path / "grades.csv"), "--reference", str(reference))
    assert again.returncode == 2 and "already exist" in again.stderr


def test_handouts_are_written_one_per_exercise_and_graded_on_their_exercise(tmp_path, capsys):
    reference = tmp_path / "chapters" / "99_tiny.ipynb"
    reference.parent.mkdir()
    nbformat.write(tiny_chapter(), reference)
    assert cli.main(["assignments", str(tmp_path / "subs"), "--handouts", "--chapters", "01_sequences"]) == 0
    count = len(assignments.exercises(nbformat.read(ROOT / "nbs" / "01_sequences.ipynb", as_version=4)))
    assert f"{count} handouts in" in capsys.readouterr().out
    assert len(list((tmp_path / "subs").glob("01_sequences-ex-*.ipynb"))) == count
    subs = tmp_path / "tiny"
    subs.mkdir()
    nbformat.write(handouts.handout(tiny_chapter(), "99_tiny", ["ex-scan"]), subs / "ada.ipynb")
    result = run("grade", str(subs), "--out", str(tmp_path / "grades.csv"), "--reference", str(reference),
                 "--exercises", "ex-scan", "--timeout", "60", "--jobs", "1")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader((tmp_path / "grades.csv").open()))
    assert [(r["student"], r["exercise"], r["points"], r["max_points"]) for r in rows] == [
        ("ada", "ex-scan", "0", "2")]
    wrong = run("grade", str(subs), "--out", str(tmp_path / "g2.csv"), "--reference", str(reference),
                "--exercises", "ex-nope")
    assert wrong.returncode == 2 and "has no exercise 'ex-nope'" in wrong.stderr


def test_grade_names_a_missing_folder_or_reference(tmp_path, capsys):
    assert cli.main(["grade", str(tmp_path / "none"), "--out", str(tmp_path / "g.csv")]) == 2
    assert "is not a folder of submissions" in capsys.readouterr().err
    (tmp_path / "subs").mkdir()
    nbformat.write(tiny_chapter(), tmp_path / "subs" / "a.ipynb")
    assert cli.main(["grade", str(tmp_path / "subs"), "--out", str(tmp_path / "g.csv"), "--reference",
                     str(tmp_path / "missing.ipynb")]) == 2
    assert "the reference chapter" in capsys.readouterr().err and not (tmp_path / "g.csv").exists()


def test_data_list_summarises_folders_and_lists_files(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("TEACHBIND_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TEACHBIND_CACHE_DIR", str(tmp_path / "cache"))
    assert cli.main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert "deepbind_encode_chipseq/" in out and "36  36 missing" in out
    assert cli.main(["data", "list", "motifs"]) == 0
    assert "motifs/CISBP_1.02_Homo_sapiens.meme" in capsys.readouterr().out
    assert cli.main(["data", "list", "nothing_here"]) == 2
    assert "not a registered file or folder" in capsys.readouterr().err


def test_data_verify_reports_a_corrupt_mirror_file_and_leaves_it(tmp_path, monkeypatch, capsys):
    corrupt = tmp_path / SMALL
    corrupt.parent.mkdir(parents=True)
    corrupt.write_text("not the targets\n")
    monkeypatch.setenv("TEACHBIND_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TEACHBIND_CACHE_DIR", str(tmp_path / "cache"))
    assert cli.main(["data", "verify", SMALL]) == 1
    captured = capsys.readouterr()
    assert "the registry expects" in captured.err and "0 of 1 files verified" in captured.out
    assert corrupt.read_text() == "not the targets\n"


@requires_mirror
def test_data_verify_and_fetch_from_the_mirror(capsys):
    assert cli.main(["data", "verify", "basset_metadata"]) == 0
    assert "1 of 1 files verified" in capsys.readouterr().out
    assert cli.main(["data", "fetch", SMALL]) == 0
    assert "1 of 1 files ready" in capsys.readouterr().out
