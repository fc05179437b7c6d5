"""Student versions and grading: on a two-exercise chapter made here (seconds to run), and on Chapter 1 itself."""

import base64
import csv
import json
import os
import re
import time
from pathlib import Path

import nbformat
import numpy as np
import psutil
import pytest
import torch

from conftest import ROOT
from teachbind.course import assignments, book, grading
from teachbind.data import registry
from teachbind.course.grading import exchange, sandbox

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
        code("import numpy as np\nfrom teachbind import motifs, seq\nfrom teachbind.course.exercises import "
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


def test_the_student_edition_of_a_page_leaves_out_solutions_and_checks_and_keeps_outputs():
    nb = tiny_chapter()
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output("stream", text=f"output of {cell.source[:12]}")]
    page = assignments.without_solutions(nb, "99_tiny")
    text = "\n".join(cell.source for cell in page.cells)
    assert "solution-start" not in text and "Scan both strands" not in text and "Taking the larger strand" not in text
    assert "x[:, letters" not in text and "because" not in text
    assert "check_one_hot(my_one_hot)" not in text and "check_pwm_scan(my_pwm_scan)" not in text
    assert "After the solution." in text and "Write `my_pwm_scan`." in text
    kept = [cell for cell in page.cells if cell.cell_type == "code"]
    assert [cell.source[:6] for cell in kept] == ["SCALE ", "import"] and all(cell.outputs for cell in kept)
    assert len(nb.cells) == len(tiny_chapter().cells), "the chapter itself is left as it was"


def test_assignments_refuse_to_overwrite(tmp_path, tiny):
    written = assignments.write_assignments([tiny], tmp_path / "out")
    before = written[0].read_bytes()
    with pytest.raises(FileExistsError, match="--force"):
        assignments.write_assignments([tiny], tmp_path / "out")
    assert written[0].read_bytes() == before


def _copy(nb):
    return nbformat.from_dict(json.loads(json.dumps(nb)))


def _edit(nb, old: str, new: str):
    for cell in nb.cells:
        if old in cell.source:
            cell.source = cell.source.replace(old, new)
            return nb
    raise AssertionError(f"{old!r} not found")


def _with_cell(nb, source: str, *, after: str = "def my_one_hot", **metadata):
    """``nb`` with a code cell holding ``source`` inserted after the cell containing ``after``."""
    nb = _copy(nb)
    index = next(i for i, cell in enumerate(nb.cells) if after in cell.source)
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(source, metadata=metadata))
    return nb


def _versions(tiny: Path):
    """The tiny chapter's student version and a solved copy of it (the solutions in the answer cells)."""
    student = assignments.student_version(nbformat.read(tiny, as_version=4), "99_tiny")
    solved = _copy(student)
    for cell in solved.cells:
        if "def my_one_hot" in cell.source:
            cell.source = TINY_SOLUTION_ONE_HOT + "\n# ADA-ANSWER-MARK"
        elif "def my_pwm_scan" in cell.source:
            cell.source = TINY_SOLUTION_SCAN
    return student, solved


FAKE_PASS = "print('✓ one_hot: all 6 checks passed')"
ONES = base64.b64encode(np.ones(4).tobytes()).decode()
# Each of these, added to the unsolved student version, tries to get marks without solving.
UNSOLVED_ATTACKS = {
    "t_transformer": "get_ipython().input_transformers_post.append(lambda lines: ['" + FAKE_PASS.replace("'", '"')
                     + "\\n'] if any('check' in l or 'report' in l for l in lines) else lines)",
    "t_printed": f"get_ipython().showtraceback = lambda *a, **k: None\n{FAKE_PASS}",
    "t_sysmodules": "import sys, types\nfake = types.ModuleType('teachbind.course.exercises')\n"
                    "fake.__getattr__ = lambda name: (lambda *a, **k: print('✓ passed'))\n"
                    "sys.modules['teachbind.course.exercises'] = fake\nimport teachbind\nteachbind.course.exercises = fake",
    "t_import": "import builtins, types\nreal = builtins.__import__\n"
                "fake = types.SimpleNamespace(report=lambda *a, **k: None, check_one_hot=lambda f: print('✓'),\n"
                "                             check_pwm_scan=lambda f: print('✓'))\n"
                "builtins.__import__ = lambda name, *a, **k: fake if 'teachbind' in name else real(name, *a, **k)",
    "t_metapath": "import sys, types, importlib.abc, importlib.util\nfrom IPython.display import display\n"
                  "def report(key, k, name, answer, *a, **kw):\n"
                  f"    calls = [{{'array': ['float64', [4, 1], {ONES!r}, False]}}] * 6 if 'one' in key else "
                  "[{'array': ['object', [1], 'gASVAAAAAAAAAAA=', False]}] * 5\n"
                  "    display({'application/vnd.teachbind.observation+json': {'key': key, 'k': k, 'observed': "
                  "{'answer': 'my_one_hot', 'calls': calls}}}, raw=True)\n"
                  "class Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):\n"
                  "    def find_spec(self, name, path, target=None):\n"
                  "        return importlib.util.spec_from_loader(name, self) if name == 'teachbind.course.grading.inside' "
                  "else None\n"
                  "    def create_module(self, spec):\n        return types.SimpleNamespace(report=report)\n"
                  "    def exec_module(self, module):\n        pass\n"
                  "sys.modules.pop('teachbind.course.grading.inside', None)\nsys.meta_path.insert(0, Finder())",
    "t_patched": "import numpy as np\nfrom teachbind import seq, motifs\n"
                 "seq.one_hot = lambda s, **k: np.zeros((4, len(s)))\nmy_one_hot = lambda s: np.zeros((4, len(s)))\n"
                 "motifs.best_scores = lambda *a, **k: np.zeros(1)\nmy_pwm_scan = lambda s, w: 0.0",
}


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """One batch of the tiny chapter: a solved, a wrong and an unwritten submission, notebooks that break the
    rules of a notebook file, and submissions that attack the grader, their classmates or the instructor."""
    root = tmp_path_factory.mktemp("batch")
    tiny = root / "99_tiny.ipynb"
    nbformat.write(tiny_chapter(), tiny)
    subs, outside = root / "submissions", root / "instructor"
    subs.mkdir()
    outside.mkdir()
    (outside / "grades-of-everyone.txt").write_text("keep me")
    student, solved = _versions(tiny)
    write = lambda name, nb: nbformat.write(nb, subs / f"{name}.ipynb")  # noqa: E731
    write("ada", solved)
    write("bob", _edit(_copy(solved), "return x\n", "return x.T\n"))
    write("cy", student)
    write("ivy", _with_cell(solved, "raise RuntimeError('my own bug')"))
    for name, source in UNSOLVED_ATTACKS.items():
        write(name, _with_cell(student, source))
    metadata_check = _copy(student)
    metadata_check.cells.append(nbformat.v4.new_code_cell(FAKE_PASS, metadata={
        "tags": ["check"], "teachbind": {"exercise": "ex-one-hot", "check": "ex-one-hot#0"}}))
    write("t_metadata", metadata_check)
    edited_check = _edit(_copy(student), "check_one_hot(my_one_hot)", FAKE_PASS)
    write("t_edited_check", edited_check)

    grades = root / "out" / "grades.csv"
    marker = root / "detached-marker"
    escape = {
        "open": f"open({str(outside / 'grades-of-everyone.txt')!r}, 'w').write('gone')",
        "dir_fd": f"import os\nd = os.open({str(outside)!r}, os.O_RDONLY)\n"
                  f"os.open('planted', os.O_WRONLY | os.O_CREAT, dir_fd=d)",
        "link": f"import os\nos.link('/proc/self/exe', {str(subs / 'solved-copy.ipynb')!r})",
        "fifo": f"import os\nos.mkfifo({str(outside / 'fifo')!r})",
        "cache": "import os\nfor d in ('/grader/warm', '/data/cache', os.environ['NUMBA_CACHE_DIR']):\n"
                 "    try:\n        open(os.path.join(d, 'poison.py'), 'w').write('raise SystemExit')\n"
                 "    except OSError as e:\n        print(e)",
    }
    escaping = solved
    for source in escape.values():
        escaping = _with_cell(escaping, source)
    write("e_escape", escaping)
    alone = {
        "e_detached": f"import os, subprocess, multiprocessing\nlater = 'sleep 4; echo x > {grades}; touch {marker}'\n"
                      f"subprocess.Popen(['sh', '-c', later], start_new_session=True)\n"
                      f"multiprocessing.get_context('spawn').Process(target=os.system, args=(later,)).start()\n"
                      f"if os.fork() == 0:\n    os.setsid()\n"
                      f"    import time; time.sleep(4)\n    open({str(grades)!r}, 'w').write('x')\n    os._exit(0)",
        "e_disk": "with open('big', 'wb') as f:\n    for _ in range(400):\n        f.write(bytes(2**20))",
        "e_threads": "import threading, time\nwhile True:\n"
                     "    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()",
    }
    for name, source in alone.items():
        write(name, _with_cell(solved, source))
    # the secrets are put together at run time, so that the spy's own code (in its kernel's history) holds none
    cut = len(str(root)) // 2
    spy = ("import os\nfound, kernels = set(), 0\n"
           f"secrets = ['ADA-ANSWER-' + 'MARK', 'x[:, ' + 'letters', 's3cr3t-of-' + 'the-grader', 'py' + 'test', "
           f"{str(root)[:cut]!r} + {str(root)[cut:]!r}]\n"
           "import sys\nskip = ('/usr', '/sys', '/dev', '/proc', sys.prefix, sys.base_prefix)\n"
           "for top, dirs, files in os.walk('/'):\n"
           "    dirs[:] = [d for d in dirs if os.path.join(top, d) not in skip]\n"
           "    for f in files:\n        try:\n"
           "            text = open(os.path.join(top, f), errors='ignore').read(10**6)\n"
           "        except OSError:\n            continue\n"
           "        found |= {s for s in secrets if s in text}\n"
           "        kernels += f.startswith('kernel-') and f.endswith('.json')\n"
           "pids = [int(p) for p in os.listdir('/proc') if p.isdigit()]\n"
           "for pid in pids:\n    for part in ('environ', 'cmdline'):\n        try:\n"
           "            text = open(f'/proc/{pid}/{part}', errors='ignore').read()\n"
           "        except OSError:\n            continue\n"
           "        found |= {s for s in secrets if s in text}\n"
           "killed = 0\nfor pid in pids:\n"
           "    if pid not in (os.getpid(), os.getppid(), 1):\n        try:\n            os.kill(pid, 9)\n"
           "            killed += 1\n        except OSError:\n            pass\n"
           "raise RuntimeError(f'SPY found {sorted(found)} killed {killed} kernels {kernels}')")
    write("aa_spy", _with_cell(student, spy))
    broken = {"m_chapter_str": {"cells": [], "metadata": {"teachbind": "x"}, "nbformat": 4, "nbformat_minor": 5},
              "m_source_int": {"cells": [{"cell_type": "code", "source": 5}], "metadata": {}},
              "m_list": [1, 2], "m_cells": {"cells": [{"cell_type": "code", "source": ""}] * 3000}}
    for name, content in broken.items():
        (subs / f"{name}.ipynb").write_text(json.dumps(content))
    (subs / "m_json.ipynb").write_text('{"cells": [')
    (subs / "m_bytes.ipynb").write_bytes(b'{"cells": ["\xff"]}')
    os.mkfifo(subs / "m_fifo.ipynb")
    (subs / "m_folder.ipynb").mkdir()
    (subs / "m_link.ipynb").symlink_to(subs / "ada.ipynb")
    (subs / "dup").mkdir()
    (subs / "dup.ipynb").write_text("{")
    nbformat.write(solved, subs / "dup" / "chapter.ipynb")
    (subs / "=HYPERLINK(1).ipynb").write_text("{")
    foreign = _copy(solved)
    foreign.metadata["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
    write("m_kernelspec", foreign)
    before = sorted(p.name for p in subs.rglob("*"))
    lines = []
    os.environ["TEACHBIND_GRADER_SECRET"] = "s3cr3t-of-the-grader"
    try:
        outcomes = grading.grade(subs, grades, chapters=[tiny], jobs=2, progress=lines.append,
                                 limits=grading.Limits(seconds=40, memory=2**30, disk=64 * 2**20, processes=256))
    finally:
        del os.environ["TEACHBIND_GRADER_SECRET"]
    csv_text = grades.read_text()
    time.sleep(6)
    return {"outcomes": {o.student: o for o in outcomes}, "rows": list(csv.DictReader(grades.open())),
            "csv_text": csv_text, "grades": grades, "lines": lines, "outside": outside, "marker": marker,
            "subs": subs, "before": before, "feedback": grades.with_name("grades-feedback")}


def _row(rows, student, exercise):
    return next(r for r in rows if r["student"] == student and r["exercise"] == exercise)


def _problems(batch, student) -> str:
    return _row(batch["rows"], student, grading.NOTEBOOK_ROW)["feedback"]


@pytest.mark.timeout(600)
def test_a_batch_grades_the_honest_submissions(batch):
    rows, outcomes = batch["rows"], batch["outcomes"]
    assert outcomes["ada"].score == (3, 3) and not outcomes["ada"].problems, outcomes["ada"]
    assert _row(rows, "ada", "ex-one-hot")["feedback"] == "✓ one_hot: all 6 checks passed"
    assert _row(rows, "bob", "ex-one-hot")["passed"] == "False"
    assert "Channels come first" in _row(rows, "bob", "ex-one-hot")["feedback"]
    assert _row(rows, "bob", "ex-scan")["points"] == "2"
    assert outcomes["cy"].score == (0, 3)
    assert "my_one_hot is not written yet" in _row(rows, "cy", "ex-one-hot")["feedback"]
    assert outcomes["ivy"].score == (3, 3), "an error elsewhere does not stop the checks"
    assert "RuntimeError: my own bug (in your answer to ex-one-hot" in _problems(batch, "ivy")
    assert outcomes["m_kernelspec"].score == (3, 3), "the submission's kernelspec is not used"
    feedback = (batch["feedback"] / "bob.md").read_text()
    assert "Score: 2 / 3" in feedback and "Channels come first" in feedback


@pytest.mark.parametrize("student", [*UNSOLVED_ATTACKS, "t_metadata", "t_edited_check"])
def test_no_marks_without_solving(batch, student):
    assert batch["outcomes"][student].score == (0, 3), batch["outcomes"][student]


def test_nothing_outside_the_sandbox_is_written(batch):
    assert sorted(p.name for p in batch["outside"].iterdir()) == ["grades-of-everyone.txt"]
    assert (batch["outside"] / "grades-of-everyone.txt").read_text() == "keep me"
    assert sorted(p.name for p in batch["subs"].rglob("*")) == batch["before"]
    assert not list(Path(registry.cache_dir()).rglob("poison.py"))
    for student in ("e_escape", "e_detached", "e_disk"):
        assert batch["outcomes"][student].score == (3, 3), (student, batch["outcomes"][student])
    assert _problems(batch, "e_escape").count("No such file or directory") == 4, _problems(batch, "e_escape")
    assert "No space left on device" in _problems(batch, "e_disk") or "File too large" in _problems(batch, "e_disk")


def test_nothing_of_a_run_outlives_the_batch(batch):
    assert batch["grades"].read_text() == batch["csv_text"], "grades.csv changed after grade() returned"
    assert not batch["marker"].exists()
    left = [p.info for p in psutil.process_iter(["pid", "uids", "cmdline"])
            if p.info["uids"] and sandbox.UID_BASE <= p.info["uids"].real < sandbox.UID_BASE + 16]
    assert not left, left
    assert "can't start new thread" in _problems(batch, "e_threads"), batch["outcomes"]["e_threads"]


def test_a_run_sees_no_one_elses_files_environment_or_processes(batch):
    seen = re.search(r"SPY found \[\] killed 0 kernels (\d+)", _problems(batch, "aa_spy"))
    assert seen and int(seen.group(1)) <= 1, _problems(batch, "aa_spy")
    assert batch["outcomes"]["ada"].score == (3, 3), "the classmate graded beside the spy"


def test_every_input_is_one_student_and_the_batch_finishes(batch):
    outcomes, rows = batch["outcomes"], batch["rows"]
    expected = {"m_chapter_str": "cannot tell which chapter", "m_source_int": "'source' is a int",
                "m_list": "has no list of cells", "m_cells": "3000 cells", "m_json": "not valid notebook JSON",
                "m_bytes": "not UTF-8", "m_fifo": "not a regular file", "m_folder.ipynb": "holds no .ipynb file",
                "m_link": "symbolic link"}
    for student, reason in expected.items():
        assert reason in _problems(batch, student), (student, _problems(batch, student))
    assert {"dup.ipynb", "dup/chapter.ipynb"} <= set(outcomes)
    assert outcomes["dup/chapter.ipynb"].score == (3, 3) and outcomes["dup.ipynb"].score == (0, 0)
    assert len(batch["lines"]) == len(outcomes) == len({r["student"] for r in rows})
    assert set(expected) <= {r["student"] for r in rows}
    assert "'=HYPERLINK(1)" in {r["student"] for r in rows}, "a formula is quoted"
    assert all(not r["student"].startswith(("=", "+", "-", "@")) for r in rows)
    assert (batch["feedback"] / "_HYPERLINK_1_.md").exists()
    with pytest.raises(FileExistsError, match="already exist"):
        grading.grade(batch["subs"], batch["grades"], chapters=[])


def test_a_check_cell_the_grader_cannot_judge_is_refused_before_anything_runs(tmp_path):
    nb = tiny_chapter()
    _edit(nb, "check_one_hot(my_one_hot)", "assert my_one_hot('A').shape == (4, 1)")
    nbformat.write(nb, tmp_path / "99_tiny.ipynb")
    with pytest.raises(grading.ReferenceError, match="cell 6: a check cell holds imports and calls"):
        grading.load_reference(tmp_path / "99_tiny.ipynb")


def test_grade_refuses_without_a_sandbox_unless_told(tmp_path, tiny, monkeypatch):
    subs = tmp_path / "subs"
    assignments.write_assignments([tiny], subs)
    monkeypatch.setattr(sandbox, "unavailable", lambda: "bubblewrap is not installed")
    with pytest.raises(grading.SandboxUnavailable, match="pass --no-sandbox"):
        grading.grade(subs, tmp_path / "out" / "g.csv", reference=tiny)
    assert not (tmp_path / "out" / "g.csv").exists()
    outcomes = grading.grade(subs, tmp_path / "out" / "g.csv", reference=tiny, sandboxed=False, jobs=1)
    assert outcomes[0].score == (0, 3) and "not written yet" in outcomes[0].rows[0]["feedback"]
    with pytest.raises(ValueError, match="inside the submissions folder"):
        grading.grade(subs, subs / "g.csv", reference=tiny, sandboxed=False)


def _checked_points(notebook):
    found = assignments.exercises(nbformat.read(notebook, as_version=4), notebook.stem)
    return sum(sum(e.points) for e in found if e.graded)


@pytest.mark.notebook
@pytest.mark.timeout(900)
def test_the_books_chapters_grade_full_marks_and_their_student_versions_zero(tmp_path):
    """Chapters 1 and 3 as the book has them (the instructor's solutions in the answers' place) get every point;
    Chapter 1's student version gets none, each check saying the function is not written yet."""
    subs = tmp_path / "submissions"
    student = assignments.write_assignments([ROOT / "nbs" / "01_sequences.ipynb"], subs / "student")[0]
    for name in ("01_sequences", "03_deepbind"):
        solved = nbformat.read(ROOT / "nbs" / f"{name}.ipynb", as_version=4)
        solved.metadata["teachbind"] = {"chapter": name}
        nbformat.write(solved, subs / f"teacher_{name}.ipynb")
    assert student.exists()
    outcomes = {o.student: o for o in grading.grade(subs, tmp_path / "grades.csv", jobs=2, progress=print)}
    points = {name: _checked_points(ROOT / "nbs" / f"{name}.ipynb") for name in ("01_sequences", "03_deepbind")}
    assert min(points.values()) >= 3
    assert outcomes["teacher_01_sequences"].score == (points["01_sequences"],) * 2, outcomes["teacher_01_sequences"]
    assert outcomes["teacher_03_deepbind"].score == (points["03_deepbind"],) * 2, outcomes["teacher_03_deepbind"]
    assert outcomes["student"].score == (0, points["01_sequences"])
    assert all("not written yet" in row["feedback"] for row in outcomes["student"].rows)


@pytest.mark.parametrize("value", [None, True, 3, -2.5, float("inf"), "ACGT", [1, "a"], (1, 2.0), {"a": [None]},
                                   np.arange(6, dtype=np.int32).reshape(2, 3), torch.ones(2, 2, dtype=torch.float16)])
def test_the_exchange_carries_plain_values(value):
    back = exchange.decode(json.loads(json.dumps(exchange.encode(value))))
    if isinstance(value, (np.ndarray, torch.Tensor)):
        assert type(back) is type(value) and back.dtype == value.dtype and (back == value).all()
    else:
        assert back == value and type(back) is type(value)


def test_the_exchange_keeps_only_names_of_other_objects_and_refuses_anything_else():
    assert repr(exchange.decode(exchange.encode(object()))) == "<a object>"
    assert isinstance(exchange.decode(exchange.encode(ValueError("no"))), exchange.Raised)
    for data in ({"array": ["object", [1], "AA==", False]}, {"array": ["float64", [2], "AAAAAAAA8D8=", False]},
                 {"array": ["float64", [1], "not base64!", False]}, {"pickle": "gASV"}, {"a": 1, "b": 2}):
        with pytest.raises(exchange.ExchangeError):
            exchange.decode(data)
