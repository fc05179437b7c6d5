"""Student versions and grading: on a two-exercise chapter made here (seconds to run), and on Chapter 1 itself."""

import csv
import json
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT
from teachbind import assignments, book, grading

TINY_SOLUTION_ONE_HOT = '''def my_one_hot(sequence):
    """One-hot (4, L), channels A, C, G, T."""
    # hint: compare the letters with "ACGT"
    letters = np.array(list(sequence.upper()))
    x = (letters[None, :] == np.array(list("ACGT"))[:, None]).astype(float)
    x[:, letters == "N"] = 0.25
    return x'''
TINY_SOLUTION_SCAN = '''def my_pwm_scan(sequence, weights):
    return motifs.best_scores(seq.one_hot([sequence]), weights)[0].item()'''


def tiny_chapter() -> nbformat.NotebookNode:
    """A chapter in the book's exercise markup: two checked exercises and one graded by hand."""
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    cells = [
        md("# 99. A tiny chapter"),
        code('SCALE = "book"\nDEVICE = "auto"', metadata={"tags": ["parameters"]}),
        code("import numpy as np\nfrom teachbind import motifs, seq\nfrom teachbind.exercises import "
             "check_one_hot, check_pwm_scan"),
        md("```{exercise-start}\n:label: ex-one-hot\n```\n\nWrite `my_one_hot`.\n\n```{exercise-end}\n```\n\n"
           "```{solution-start} ex-one-hot\n:class: dropdown\n```"),
        code(TINY_SOLUTION_ONE_HOT, metadata={"tags": ["solution"]}),
        md("```{solution-end}\n```"),
        code("check_one_hot(my_one_hot)", metadata={"tags": ["check"]}),
        md("```{exercise-start}\n:label: ex-scan\n```\n\nWrite `my_pwm_scan`.\n\n```{exercise-end}\n```\n\n"
           "```{solution-start} ex-scan\n:class: dropdown\n```\n\nScan both strands:"),
        code(TINY_SOLUTION_SCAN, metadata={"tags": ["solution"]}),
        md("Taking the larger strand matters.\n\n```{solution-end}\n```\n\nAfter the solution."),
        code("check_pwm_scan(my_pwm_scan)", metadata={"tags": ["check", "points-2"]}),
        md("```{exercise-start}\n:label: ex-think\n```\n\nWhy?\n\n```{exercise-end}\n```\n\n"
           "```{solution-start} ex-think\n:class: dropdown\n```"),
        code("print('because')", metadata={"tags": ["solution"]}),
        md("```{solution-end}\n```"),
    ]
    return nbformat.v4.new_notebook(cells=cells)


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "99_tiny.ipynb"
    nbformat.write(tiny_chapter(), path)
    return path


def test_exercises_follow_the_markup():
    found = assignments.exercises(tiny_chapter())
    assert [(e.label, e.solution_cells, e.check_cells, e.points) for e in found] == [
        ("ex-one-hot", [4], [6], [1]), ("ex-scan", [8], [10], [2]), ("ex-think", [12], [], [])]


@pytest.mark.parametrize("notebook", book.chapters(), ids=lambda p: p.stem)
def test_every_chapter_follows_the_exercise_markup(notebook):
    nb = nbformat.read(notebook, as_version=4)
    found = assignments.exercises(nb, notebook.name)
    assert len(found) >= 3
    assert sum(e.graded for e in found) >= 2, "most exercises should have a check"
    for exercise in found:
        for index in exercise.check_cells:
            assert "check_" in nb.cells[index].source, f"{notebook.name} cell {index} calls no teachbind check"


@pytest.mark.parametrize("cells, message", [
    ([("code", "x = 1", ["solution"])], "not between solution-start and solution-end"),
    ([("markdown", "```{exercise-start}\n```", [])], "no ':label:"),
    ([("markdown", "```{solution-start} ex-nope\n```", [])], "which no exercise before it has"),
    ([("code", "check_one_hot(f)", ["check"])], "before any exercise"),
    ([("markdown", "```{exercise-start}\n:label: ex-a\n```\n```{solution-start} ex-a\n```", []),
      ("code", "x = 1", [])], "is not tagged 'solution'"),
])
def test_markup_errors_name_the_cell_and_the_rule(cells, message):
    nb = nbformat.v4.new_notebook(cells=[
        (nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell)(
            source, metadata={"tags": tags}) for kind, source, tags in cells])
    with pytest.raises(assignments.MarkupError, match=message):
        assignments.exercises(nb, "x.ipynb")


def test_student_version_keeps_statements_and_checks_and_stubs_the_solutions():
    student = assignments.student_version(tiny_chapter(), "99_tiny")
    text = "\n".join(cell.source for cell in student.cells)
    assert "solution-start" not in text and "solution-end" not in text
    assert "Scan both strands" not in text and "Taking the larger strand" not in text
    assert "After the solution." in text and "Write `my_pwm_scan`." in text
    assert "x[:, letters" not in text and "best_scores" not in text and "because" not in text
    assert text.count("check_one_hot(my_one_hot)") == 1 and "check_pwm_scan(my_pwm_scan)" in text
    one_hot = next(cell for cell in student.cells if "def my_one_hot" in cell.source)
    assert '"""One-hot (4, L), channels A, C, G, T."""' in one_hot.source
    assert "# hint: compare the letters" in one_hot.source
    namespace = {}
    exec(one_hot.source, namespace)
    with pytest.raises(NotImplementedError, match="Exercise ex-one-hot: write my_one_hot"):
        namespace["my_one_hot"]("ACGT")
    assert student.metadata["teachbind"]["chapter"] == "99_tiny"
    checks = [c.metadata["teachbind"] for c in student.cells if "check" in c.metadata.get("tags", [])]
    assert checks == [{"exercise": "ex-one-hot", "points": 1}, {"exercise": "ex-scan", "points": 2}]
    nbformat.validate(student)


def test_assignments_refuse_to_overwrite(tmp_path, tiny):
    written = assignments.write_assignments([tiny], tmp_path / "out")
    before = written[0].read_bytes()
    with pytest.raises(FileExistsError, match="--force"):
        assignments.write_assignments([tiny], tmp_path / "out")
    assert written[0].read_bytes() == before


def _submission(folder: Path, student: str, nb) -> None:
    nbformat.write(nb, folder / f"{student}.ipynb")


def _edit(nb, old: str, new: str):
    for cell in nb.cells:
        if old in cell.source:
            cell.source = cell.source.replace(old, new)
            return nb
    raise AssertionError(f"{old!r} not found")


@pytest.fixture
def graded(tmp_path, tiny):
    """Grade one good, one wrong and one unwritten submission of the tiny chapter, and eight that cheat, break or
    misbehave, in one batch."""
    subs = tmp_path / "submissions"
    subs.mkdir()
    student = assignments.student_version(nbformat.read(tiny, as_version=4), "99_tiny")
    solved = nbformat.read(tiny, as_version=4)
    solved.metadata["teachbind"] = student.metadata["teachbind"]
    for cell, student_cell in zip([c for c in solved.cells if "check" in c.metadata.get("tags", [])],
                                  [c for c in student.cells if "check" in c.metadata.get("tags", [])]):
        cell.metadata["teachbind"] = student_cell.metadata["teachbind"]
    _submission(subs, "ada", solved)
    _submission(subs, "bob", _edit(nbformat.from_dict(json.loads(json.dumps(solved))), "return x", "return x.T"))
    _submission(subs, "cy", student)
    cheat = _edit(nbformat.from_dict(json.loads(json.dumps(student))), "check_one_hot(my_one_hot)", "print('✓')")
    cheat.cells.insert(3, nbformat.v4.new_code_cell(
        "import teachbind.exercises\ncheck_pwm_scan = lambda fn: print('✓ pwm_scan: all 5 checks passed')\n"
        "teachbind.exercises.check_pwm_scan = check_pwm_scan"))
    _submission(subs, "dee", cheat)
    (subs / "eve.ipynb").write_text('{"cells": [', encoding="utf-8")
    outside = tmp_path / "instructor" / "grades-of-everyone.txt"
    outside.parent.mkdir()
    outside.write_text("keep me")
    hostile = {
        "fay": f"open({str(outside)!r}, 'w').write('gone')",
        "gus": "while True:\n    pass",
        "hal": "import numpy as np\nblocks = []\nwhile True:\n    blocks.append(np.ones(10**7))",
        "ivy": "raise RuntimeError('my own bug')",
        "jo": "import subprocess\nsubprocess.run(['true'])",
        "kim": "hoard = bytearray(100 * 2**30)",
    }
    for name, source in hostile.items():
        nb = nbformat.from_dict(json.loads(json.dumps(solved)))
        nb.cells.insert(3, nbformat.v4.new_code_cell(source))
        folder = subs / name
        folder.mkdir()
        _submission(folder, "chapter", nb)
    lines = []
    out = tmp_path / "grades.csv"
    outcomes = grading.grade(subs, out, chapters=[tiny], limits=grading.Limits(seconds=20, memory=2**30),
                             jobs=2, progress=lines.append)
    rows = list(csv.DictReader(out.open()))
    return {"rows": rows, "outcomes": {o.student: o for o in outcomes}, "lines": lines, "out": out,
            "outside": outside, "feedback": out.with_name("grades-feedback")}


def _row(rows, student, exercise):
    return next(r for r in rows if r["student"] == student and r["exercise"] == exercise)


@pytest.mark.timeout(300)
def test_grading_a_batch(graded):
    rows, outcomes = graded["rows"], graded["outcomes"]
    assert sorted(outcomes) == ["ada", "bob", "cy", "dee", "eve", "fay", "gus", "hal", "ivy", "jo", "kim"]
    assert outcomes["ada"].score == (3, 3) and not outcomes["ada"].problems, (outcomes["ada"], graded["lines"])
    assert _row(rows, "bob", "ex-one-hot")["passed"] == "False"
    assert "Channels come first" in _row(rows, "bob", "ex-one-hot")["feedback"]
    assert _row(rows, "bob", "ex-scan")["points"] == "2"
    assert outcomes["cy"].score == (0, 3)
    assert "my_one_hot is not written yet" in _row(rows, "cy", "ex-one-hot")["feedback"]
    assert outcomes["dee"].score == (0, 3), "an edited or replaced check is put back before grading"
    assert "not a valid notebook" in _row(rows, "eve", grading.NOTEBOOK_ROW)["feedback"]
    assert "write outside its folder" in _row(rows, "fay", grading.NOTEBOOK_ROW)["feedback"]
    assert graded["outside"].read_text() == "keep me"
    assert "ran for more than 20 s" in _row(rows, "gus", grading.NOTEBOOK_ROW)["feedback"]
    assert "memory" in _row(rows, "hal", grading.NOTEBOOK_ROW)["feedback"]
    assert outcomes["ivy"].score == (3, 3), "an error elsewhere does not stop the checks"
    assert "RuntimeError: my own bug (in the cell starting \"raise RuntimeError('my own bug')\")" in \
        _row(rows, "ivy", grading.NOTEBOOK_ROW)["feedback"]
    assert "start a process" in _row(rows, "jo", grading.NOTEBOOK_ROW)["feedback"]
    assert "ran out of memory (a MemoryError" in _row(rows, "kim", grading.NOTEBOOK_ROW)["feedback"]
    for student in ("fay", "gus", "hal", "jo", "kim"):
        assert outcomes[student].score == (0, 3)
    assert len(graded["lines"]) == 11 and all("points in" in line for line in graded["lines"])
    feedback = (graded["feedback"] / "bob.md").read_text()
    assert "Score: 2 / 3" in feedback and "Channels come first" in feedback
    with pytest.raises(FileExistsError, match="already exist"):
        grading.grade(graded["out"].parent / "submissions", graded["out"], chapters=[])


@pytest.mark.notebook
@pytest.mark.timeout(600)
def test_chapter_1_student_version_grades_zero_and_the_book_full_marks(tmp_path):
    chapter = ROOT / "nbs" / "01_sequences.ipynb"
    subs = tmp_path / "submissions"
    student = assignments.write_assignments([chapter], subs / "student")[0]
    solved = nbformat.read(chapter, as_version=4)
    solved.metadata["teachbind"] = {"chapter": "01_sequences"}
    nbformat.write(solved, subs / "teacher.ipynb")
    assert student.exists()
    outcomes = {o.student: o for o in grading.grade(subs, tmp_path / "grades.csv", jobs=2, progress=print)}
    assert outcomes["teacher"].score == (3, 3), outcomes["teacher"]
    assert outcomes["student"].score == (0, 3)
    assert all("not written yet" in row["feedback"] for row in outcomes["student"].rows)
