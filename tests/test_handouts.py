"""Handouts: an exercise with only the chapter cells it needs, run on its own and graded the same way."""

import nbformat
import pytest

from conftest import ROOT
from teachbind.course import assignments, book, grading, handouts
from test_grading import tiny_chapter

OUT = ROOT / "_build" / "test-handouts"
HANDOUT_SECONDS = 120
EXERCISES = [(chapter, e.label) for chapter in book.chapters()
             for e in assignments.exercises(nbformat.read(chapter, as_version=4), chapter.name)]


def _names(source, modules=frozenset()):
    found = handouts.cell_names(source, frozenset(modules))
    return {key: set(getattr(found, key)) for key in ("binds", "replaces", "changes", "reads")}


def test_a_cell_binds_what_it_assigns_defines_and_imports_and_reads_only_what_it_takes_from_earlier_cells():
    found = _names("import numpy as np\nx = np.ones(3)\ny = f(x)\n\ndef g(a):\n    b = a + w\n    return b\n"
                   "for i in range(3):\n    acc.append(i)\nz = [k * v for k in ks]\n%matplotlib inline\n")
    assert {"np", "x", "y", "g", "z", "acc"} <= found["binds"]
    assert found["reads"] - {"range"} == {"f", "w", "acc", "v", "ks"}
    assert {"np", "x", "y", "g", "z"} <= found["replaces"] and "acc" not in found["replaces"]


def test_inside_a_loop_a_name_bound_before_it_is_read_is_not_read_from_earlier_cells():
    found = _names("for name in names:\n    start = clock()\n    rows.append(name, start)\n"
                   "    if start:\n        late = start\nprint(late)\n")
    assert found["reads"] - {"print"} == {"names", "clock", "rows", "late"}


def test_changing_an_object_in_place_reads_and_changes_it_but_calling_a_module_does_not():
    found = _names("model.load_state_dict(state)\nscores[0] = 1\nconfig.width = 4\ntorch.manual_seed(0)\n",
                   {"torch"})
    assert found["changes"] == {"model", "scores", "config"}
    assert found["reads"] == {"model", "scores", "config", "state", "torch"}
    assert "torch" not in found["binds"]


def _chapter(*sources):
    cells = [nbformat.v4.new_markdown_cell("# 99. Planted"),
             nbformat.v4.new_code_cell('SCALE = "book"', metadata={"tags": ["parameters"]})]
    for source in sources:
        tags = []
        if isinstance(source, tuple):
            source, tags = source
        cell = (nbformat.v4.new_markdown_cell if source.startswith("```") else nbformat.v4.new_code_cell)(source)
        if tags:
            cell.metadata["tags"] = tags
        cells.append(cell)
    return nbformat.v4.new_notebook(cells=cells)


def _exercise(label, answer, check):
    return (f"```{{exercise-start}}\n:label: {label}\n```\n\nDo it.\n\n```{{exercise-end}}\n```\n\n"
            f"```{{solution-start}} {label}\n```", (answer, ["solution"]), "```{solution-end}\n```",
            (check, ["check"]))


def test_the_slice_keeps_the_chain_an_exercise_needs_and_drops_the_rest():
    nb = _chapter("import numpy as np",             # 2: needed (np)
                  "data = np.arange(10)",           # 3: replaced by cell 6, so not needed
                  "plot(np.sin(3))",                # 4: binds nothing
                  "unused = 5",                     # 5: nobody reads it
                  "data = np.arange(4)",            # 6: needed
                  "data[0] = 7",                    # 7: changes data in place: needed
                  "scale = SCALE",                  # 8: reads the parameter
                  *_exercise("ex-sum", "total = data.sum() * len(scale)", "check(total)"))
    keep = handouts.handout_cells(nb, ["ex-sum"], "99_planted")
    assert [i for i in keep if nb.cells[i].cell_type == "code"] == [1, 2, 6, 7, 8, 10, 12]


def test_an_exercise_that_needs_another_exercises_answer_is_a_markup_error():
    nb = _chapter("import numpy as np", *_exercise("ex-a", "def f(x):\n    return x", "check(f)"),
                  *_exercise("ex-b", "y = f(2)", "check(y)"))
    with pytest.raises(assignments.MarkupError, match="ex-b needs cell 4, part of exercise ex-a"):
        handouts.handout_cells(nb, ["ex-b"], "99_planted")
    assert handouts.handout_cells(nb, ["ex-a", "ex-b"], "99_planted")


@pytest.mark.parametrize("chapter, label", EXERCISES, ids=lambda v: getattr(v, "stem", v))
def test_every_exercise_of_every_chapter_has_a_handout_with_its_stubs_and_checks_and_no_other_exercise(chapter,
                                                                                                      label):
    nb = nbformat.read(chapter, as_version=4)
    student = handouts.handout(nb, chapter.stem, [label])
    stated = [found for cell in student.cells if cell.cell_type == "markdown"
              for found in assignments.stated_labels(cell.source)]
    assert stated == [label]
    answers = [c for c in student.cells if "answer" in c.metadata.get("tags", [])]
    assert answers and all(c.metadata["teachbind"]["exercise"] == label for c in answers)
    exercise = next(e for e in assignments.exercises(nb, chapter.name) if e.label == label)
    checks = [c for c in student.cells if "check" in c.metadata.get("tags", [])]
    assert len(checks) == len(exercise.check_cells)
    parameters = next(c for c in student.cells if "parameters" in c.metadata.get("tags", []))
    assert 'SCALE = "quick"' in parameters.source
    assert student.metadata["teachbind"] == {"chapter": chapter.stem, "handout": [label], "student_version": True}
    nbformat.validate(student)


def test_write_handouts_writes_one_per_exercise_and_never_overwrites(tmp_path):
    written = handouts.write_handouts([book.chapters()[0]], tmp_path)
    labels = [label for chapter, label in EXERCISES if chapter == book.chapters()[0]]
    assert [p.name for p in written] == [f"01_sequences-{label}.ipynb" for label in labels]
    before = written[0].read_bytes()
    written[0].write_text("my work")
    with pytest.raises(FileExistsError, match="pass --force"):
        handouts.write_handouts([book.chapters()[0]], tmp_path)
    assert written[0].read_text() == "my work"
    handouts.write_handouts([book.chapters()[0]], tmp_path, force=True)
    assert written[0].read_bytes() == before


def _tiny_with_a_cell_only_the_chapter_runs():
    nb = tiny_chapter()
    marker = nbformat.v4.new_code_cell("raise RuntimeError('a cell outside the handout ran')")
    nb.cells.insert(7, marker)
    return nb


def test_a_handout_is_graded_by_running_only_what_its_exercise_needs(tmp_path):
    chapter = tmp_path / "99_tiny.ipynb"
    nbformat.write(_tiny_with_a_cell_only_the_chapter_runs(), chapter)
    subs = tmp_path / "subs"
    subs.mkdir()
    nb = nbformat.read(chapter, as_version=4)
    nbformat.write(handouts.handout(nb, "99_tiny", ["ex-scan"]), subs / "student.ipynb")
    solved = handouts.instructor_handout(nb, "99_tiny", ["ex-scan"])
    nbformat.write(solved, subs / "solved.ipynb")
    dropped = nbformat.read(subs / "student.ipynb", as_version=4)
    dropped.cells = [c for c in dropped.cells if "ex-scan" not in c.source]
    nbformat.write(dropped, subs / "no_statement.ipynb")
    outcomes = {o.student: o for o in grading.grade(subs, tmp_path / "g.csv", reference=chapter,
                                                    exercises=["ex-scan"], jobs=1)}
    assert outcomes["solved"].score == (2, 2) and not outcomes["solved"].problems, outcomes["solved"]
    assert outcomes["student"].score == (0, 2) and "not written yet" in outcomes["student"].rows[0]["feedback"]
    assert outcomes["no_statement"].score == (0, 2), "leaving the exercise out does not shrink what it is out of"
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "student.ipynb").write_bytes((subs / "student.ipynb").read_bytes())
    [student] = grading.grade(alone, tmp_path / "whole.csv", reference=chapter, jobs=1)
    assert student.score == (0, 3)
    assert any("pass --exercises ex-scan" in problem for problem in student.problems), student.problems
    assert any("a cell outside the handout ran" in problem for problem in student.problems)
    with pytest.raises(KeyError, match="ex-nope"):
        grading.grade(subs, tmp_path / "h.csv", chapters=[chapter], exercises=["ex-nope"], jobs=1)


@pytest.mark.notebook
@pytest.mark.timeout(HANDOUT_SECONDS + 180)
@pytest.mark.parametrize("chapter, label", EXERCISES, ids=lambda v: getattr(v, "stem", v))
def test_each_handout_runs_on_its_own_at_quick_scale_in_two_minutes(chapter, label):
    """The instructor's handout (the solution in place of the stub) runs its checks at quick scale without the rest
    of the chapter, within the two minutes a class can wait for."""
    path = OUT / "nbs" / f"{chapter.stem}-{label}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(handouts.instructor_handout(nbformat.read(chapter, as_version=4), chapter.stem, [label]), path)
    record = book.execute_chapter(path, OUT, scale="quick", timeout=HANDOUT_SECONDS + 60)
    assert record["status"] == "ok"
    assert record["seconds"] <= HANDOUT_SECONDS, record["cell_seconds"]
