"""Grade submitted chapter notebooks: each runs in its own process and folder, with a time and a memory limit.

For every submission the grader

1. reads the notebook (a file that is not a valid notebook gets a failure row);
2. puts back the instructor's check cells (a student cannot edit a check into passing; a deleted check is appended
   at the end), sets ``SCALE`` to the grading scale, and adds a first cell that confines the run (:func:`confine`);
3. executes it with every cell run even after an error, in a fresh temporary folder that is the run's working
   directory and home, in a child process whose memory (resident, whole process tree) and wall time are watched;
4. reads each check's result from the executed notebook: passed when the check printed its ✓ line and raised
   nothing, otherwise the check's message is the feedback.

A run that exceeds a limit, whose kernel dies, or that tries to write outside its folder (or the data cache) or
start a process, is stopped; each of its exercises gets 0 points and the reason. Nothing is written outside the
grader's temporary folders except the grades file and the feedback folder, which are never overwritten without
``force``.

This runs untrusted code. The confinement is a Python audit hook plus resource limits: it stops accidents and casual
misbehaviour, not a determined attacker (code in C extensions, ``ctypes``, or network sockets go past it). For a
real boundary run the grader inside a container with no network and only the submissions mounted, e.g.
``docker run --network none -v $PWD/submissions:/subs:ro ...``.
"""

from __future__ import annotations

import csv
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import nbformat

from teachbind import assignments

GRADE_COLUMNS = ["student", "exercise", "passed", "points", "max_points", "feedback"]
NOTEBOOK_ROW = "(notebook)"
PASS_MARK = "✓"
EXIT_CONFINED = 86
WRITE_EVENTS = {"os.remove", "os.rmdir", "os.mkdir", "os.truncate", "os.chmod", "os.chown", "os.utime",
                "os.link", "os.symlink", "shutil.rmtree", "os.rename"}
SPAWN_EVENTS = {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
                "pty.spawn"}
# Every thread pool a chapter may start (torch's OpenMP, numba's parallel loops in memelite, BLAS) is held to the
# submission's share of the cores. Without NUMBA_NUM_THREADS, two Chapter 2 submissions side by side on two cores
# took 120 s each instead of 37 s: numba's OpenMP threads kept spinning beside the other submission.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


def confine(folder: str, log: str, also_writable: tuple[str, ...] = ()) -> None:
    """From now on, in this process, stop at the first write outside ``folder`` (or ``also_writable``) and at any
    attempt to start a process: write one line saying what was tried to ``log``, then exit at once.

    Installed as an audit hook (``sys.addaudithook``), which cannot be removed. ``/dev/null`` stays writable.
    """
    roots = [os.path.realpath(path) for path in (folder, *also_writable)]
    record = open(log, "a", encoding="utf-8")  # opened before the hook, so writing to it raises no event

    def inside(path) -> bool:
        if isinstance(path, int):
            return True
        real = os.path.realpath(os.fsdecode(path))
        return real == os.devnull or any(real == root or real.startswith(root + os.sep) for root in roots)

    def stop(what: str) -> None:
        record.write(what + "\n" + "".join(traceback.format_stack(limit=8)[:-2]))
        record.flush()
        os._exit(EXIT_CONFINED)

    def hook(event: str, args: tuple) -> None:
        if event == "open":
            path, mode, flags = args
            writing = any(c in mode for c in "wax+") if isinstance(mode, str) else bool(flags & WRITE_FLAGS)
            if writing and path is not None and not inside(path):
                stop(f"tried to write outside its folder: {os.fsdecode(path)}")
        elif event in WRITE_EVENTS:
            for path in args[:2] if event == "os.rename" else args[:1]:
                if event == "os.mkdir" and os.path.isdir(os.fsdecode(path)):
                    continue
                if path is not None and not inside(path):
                    stop(f"tried to change a file outside its folder ({event}): {os.fsdecode(path)}")
        elif event in SPAWN_EVENTS:
            stop(f"tried to start a process ({event})")

    sys.addaudithook(hook)


@dataclass
class Submission:
    """One student's notebook: ``student`` is the file's stem, or its folder's name for ``folder/notebook.ipynb``."""

    student: str
    path: Path


def find_submissions(folder: Path) -> list[Submission]:
    """Every ``*.ipynb`` in ``folder`` and in its direct subfolders, sorted by student."""
    folder = Path(folder)
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder} is not a folder of submissions")
    found = [Submission(path.stem, path) for path in folder.glob("*.ipynb")]
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        found += [Submission(sub.name if len(list(sub.glob("*.ipynb"))) == 1 else f"{sub.name}/{path.stem}", path)
                  for path in sub.glob("*.ipynb")]
    if not found:
        raise FileNotFoundError(f"{folder} holds no .ipynb files (looked in it and in its subfolders)")
    return sorted(found, key=lambda s: s.student)


@dataclass
class Check:
    """One graded check of a reference chapter: its ``key`` (``label#k``), exercise, points and source."""

    key: str
    exercise: str
    points: int
    source: str


def reference_checks(reference) -> list[Check]:
    """The graded checks of a reference (instructor's) chapter notebook, in order."""
    checks = []
    for exercise in assignments.exercises(reference):
        for k, (index, points) in enumerate(zip(exercise.check_cells, exercise.points)):
            checks.append(Check(f"{exercise.label}#{k}", exercise.label, points, reference.cells[index].source))
    return checks


def with_reference_checks(nb, checks: list[Check]):
    """``nb`` with each check cell's source replaced by the reference's, and missing checks appended at the end.

    A check cell belongs to the exercise its metadata names (student versions carry it), else to the last exercise
    stated above it.
    """
    seen: dict[str, int] = {}
    placed = set()
    by_key = {check.key: check for check in checks}
    stated = None
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            labels = assignments.stated_labels(cell.source)
            stated = labels[-1] if labels else stated
            continue
        if cell.cell_type != "code" or "check" not in cell.metadata.get("tags", []):
            continue
        label = cell.metadata.get("teachbind", {}).get("exercise", stated)
        k = seen.get(label, 0)
        seen[label] = k + 1
        key = f"{label}#{k}"
        if key in by_key and key not in placed:
            cell.source = fresh_checks(by_key[key].source)
            cell.metadata["teachbind"] = {"exercise": label, "check": key}
            placed.add(key)
    for check in checks:
        if check.key not in placed:
            cell = nbformat.v4.new_code_cell(fresh_checks(check.source), metadata={
                "tags": ["check"], "teachbind": {"exercise": check.exercise, "check": check.key}})
            nb.cells.append(cell)
    return nb


def fresh_checks(source: str) -> str:
    """A check cell's source preceded by a fresh import of the checks it calls, so that a submission cannot
    replace or patch them."""
    from teachbind import exercises

    names = sorted({name for name in re.findall(r"\bcheck_\w+", source) if hasattr(exercises, name)})
    if not names:
        return source
    return ("import importlib as _importlib, teachbind.exercises as _exercises\n_importlib.reload(_exercises)\n"
            f"from teachbind.exercises import {', '.join(names)}\n{source}")


def prepared(nb, checks: list[Check], *, scale: str, work: Path, log: Path, writable: tuple[str, ...]):
    """The notebook to execute: reference checks, ``SCALE`` set, outputs cleared, and the confining first cell."""
    nb = with_reference_checks(nb, checks)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    tagged = [i for i, cell in enumerate(nb.cells) if "parameters" in cell.metadata.get("tags", [])]
    injected = nbformat.v4.new_code_cell(f"SCALE = {scale!r}", metadata={"tags": ["injected-parameters"]})
    nb.cells.insert(tagged[0] + 1 if tagged else 0, injected)
    guard = nbformat.v4.new_code_cell(
        f"from teachbind.grading import confine\nconfine({str(work)!r}, {str(log)!r}, {writable!r})\ndel confine",
        metadata={"tags": ["grader"]})
    nb.cells.insert(0, guard)
    return nb


def _output_text(cell) -> tuple[str, str | None]:
    """A cell's printed text, and its error as ``Name: message`` (``None`` if it raised nothing)."""
    printed, error = [], None
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            printed.append(output.get("text", ""))
        elif output.get("output_type") == "error":
            error = f"{output.get('ename')}: {output.get('evalue')}"
    return "".join(printed), error


def results_of(executed, checks: list[Check]) -> tuple[list[dict], list[str]]:
    """Per-check rows (exercise, passed, points, max_points, feedback) and the errors of other cells (an answer
    stub left unwritten is not an error: its check, if any, says so)."""
    cells = {cell.metadata.get("teachbind", {}).get("check"): cell for cell in executed.cells
             if cell.cell_type == "code"}
    rows = []
    for check in checks:
        cell = cells.get(check.key)
        printed, error = _output_text(cell) if cell is not None else ("", None)
        if cell is None or cell.get("execution_count") is None:
            passed, feedback = False, "the check did not run"
        elif error:
            passed, feedback = False, error.removeprefix("ExerciseFailed: ")
        elif PASS_MARK in printed:
            passed, feedback = True, printed.strip().splitlines()[-1]
        else:
            passed, feedback = False, "the check printed no result"
        rows.append({"exercise": check.exercise, "passed": passed, "points": check.points if passed else 0,
                     "max_points": check.points, "feedback": feedback})
    errors = []
    for cell in executed.cells:
        if cell.cell_type == "code" and not cell.metadata.get("teachbind", {}).get("check"):
            error = _output_text(cell)[1]
            unwritten = "answer" in cell.metadata.get("tags", []) and error and \
                error.startswith("NotImplementedError")
            if error and not unwritten:
                first_line = cell.source.strip().splitlines()[0][:60] if cell.source.strip() else ""
                errors.append(f"{error} (in the cell starting {first_line!r})")
    return rows, errors


@dataclass
class Outcome:
    """What grading one submission gave: its rows, the notebook-level problems, seconds and peak memory (bytes)."""

    student: str
    rows: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    peak_memory: int = 0

    @property
    def score(self) -> tuple[int, int]:
        return sum(r["points"] for r in self.rows), sum(r["max_points"] for r in self.rows)


def _zero_rows(checks: list[Check], reason: str) -> list[dict]:
    return [{"exercise": c.exercise, "passed": False, "points": 0, "max_points": c.points,
             "feedback": f"not graded: {reason}"} for c in checks]


def _tree(pid: int):
    import psutil

    try:
        parent = psutil.Process(pid)
        return [parent, *parent.children(recursive=True)]
    except psutil.Error:
        return []


def _tree_memory(processes) -> int:
    import psutil

    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.Error:
            pass
    return total


def _kill(processes) -> None:
    import psutil

    for process in processes:
        try:
            process.kill()
        except psutil.Error:
            pass


@dataclass(frozen=True)
class Limits:
    """Wall time in seconds and resident memory in bytes allowed to one submission, and its CPU threads (``None``:
    the cores shared out among the submissions running at once)."""

    seconds: float = 600
    memory: int = 4 * 2**30
    threads: int | None = None


def _environment(work: Path, limits: Limits) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("JPY_", "TEACHBIND_"))}
    env.update(HOME=str(work), TMPDIR=str(work / "tmp"), MPLCONFIGDIR=_matplotlib_dir(),
               PYTHONDONTWRITEBYTECODE="1", **{name: str(limits.threads) for name in THREAD_VARIABLES},
               TEACHBIND_RESULTS_DIR=str(work / "results"))
    for key in ("TEACHBIND_DATA_DIR", "TEACHBIND_CACHE_DIR"):
        if os.environ.get(key):
            env[key] = str(Path(os.environ[key]).expanduser().resolve())
    env["NUMBA_CACHE_DIR"] = _numba_dir()
    return env


def _numba_dir() -> str:
    """Where confined runs keep numba's compiled functions: a folder of the data cache, shared between runs."""
    from teachbind.data.registry import cache_dir

    return str((cache_dir() / "numba").resolve())


def _address_space_limit(limit: int):
    headroom = 4 * 2**30  # torch and numba reserve about 3 GB of address space they never touch

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit + headroom, limit + headroom))

    return apply


def grade_one(submission: Submission, reference: Path | None, chapters: dict[str, Path], scratch: Path, *,
              scale: str = "quick", limits: Limits = Limits()) -> Outcome:
    """Grade one submission in the folder ``scratch``: its ``work/`` is the run's folder, its ``grader/`` holds the
    prepared and the executed notebook and the run's output. ``chapters`` maps chapter names to reference notebooks
    for a submission whose metadata names its chapter; ``reference``, when given, is used instead."""
    from teachbind.data.registry import cache_dir

    outcome = Outcome(submission.student)
    start = time.perf_counter()
    try:
        nb = nbformat.read(submission.path, as_version=4)
    except Exception as error:
        outcome.problems.append(f"{submission.path.name} is not a valid notebook ({type(error).__name__}: "
                                f"{str(error).splitlines()[0][:200]})")
        return outcome
    chapter = nb.metadata.get("teachbind", {}).get("chapter")
    if reference is None:
        if chapter not in chapters:
            outcome.problems.append(f"cannot tell which chapter {submission.path.name} is (its metadata names "
                                    f"{chapter!r}): pass --reference CHAPTER.ipynb")
            return outcome
        reference = chapters[chapter]
    checks = reference_checks(nbformat.read(reference, as_version=4))
    work, grader = scratch / "work", scratch / "grader"
    for folder in (work / "tmp", grader):
        folder.mkdir(parents=True, exist_ok=True)
    log = grader / "confined.log"
    log.touch()
    writable = (str(cache_dir().resolve()), _matplotlib_dir())
    ready = prepared(nb, checks, scale=scale, work=work, log=log, writable=writable)
    nbformat.write(ready, grader / "prepared.ipynb")
    with open(grader / "output.log", "w") as output:
        child = subprocess.Popen([sys.executable, "-m", "teachbind.grading", str(grader), str(work)], cwd=work,
                                 env=_environment(work, limits), stdout=output,
                                 stderr=subprocess.STDOUT, start_new_session=True,
                                 preexec_fn=_address_space_limit(limits.memory))
        stopped = _watch(child, limits, start, outcome)
    outcome.seconds = time.perf_counter() - start
    confined = log.read_text().strip()
    if confined:
        stopped = confined.splitlines()[0]
    executed_path = grader / "executed.ipynb"
    if stopped is None and not executed_path.exists():
        stopped = f"the grading process failed: {(grader / 'output.log').read_text()[-300:]}"
    if stopped is None:
        executed = nbformat.read(executed_path, as_version=4)
        rows, errors = results_of(executed, checks)
        if any(error.startswith("MemoryError") for error in errors):
            stopped = f"ran out of memory (a MemoryError at the {limits.memory / 2**30:.1f} GB limit)"
    if stopped:
        outcome.problems.append(f"stopped: it {stopped}")
        outcome.rows = _zero_rows(checks, f"the notebook {stopped}")
        return outcome
    outcome.rows = rows
    status = executed.metadata.get("teachbind_grading", {}).get("status")
    if status and status != "ok":
        outcome.problems.append(status)
    outcome.problems += errors
    return outcome


def _watch(child: subprocess.Popen, limits: Limits, start: float, outcome: Outcome) -> str | None:
    """Wait for ``child``, recording its process tree's peak memory in ``outcome``; kill the tree when it passes
    a limit, and return what it did then (``None`` if it finished within the limits)."""
    while child.poll() is None:
        processes = _tree(child.pid)
        memory = _tree_memory(processes)
        outcome.peak_memory = max(outcome.peak_memory, memory)
        stopped = None
        if memory > limits.memory:
            stopped = f"used more than {limits.memory / 2**30:.1f} GB of memory"
        elif time.perf_counter() - start > limits.seconds:
            stopped = f"ran for more than {limits.seconds:.0f} s"
        if stopped:
            _kill(processes)
            child.wait()
            return stopped
        time.sleep(0.2)
    return None


def feedback_text(outcome: Outcome) -> str:
    """A student's feedback as Markdown: the score, each check's result and message, and the notebook's errors."""
    got, possible = outcome.score
    lines = [f"# Feedback for {outcome.student}", "", f"Score: {got} / {possible}", ""]
    for row in outcome.rows:
        mark = "passed" if row["passed"] else "failed"
        lines.append(f"- **{row['exercise']}** ({row['points']}/{row['max_points']}, {mark}): {row['feedback']}")
    if outcome.problems:
        lines += ["", "## Problems with the notebook", ""] + [f"- {problem}" for problem in outcome.problems]
    lines += ["", "Exercises without a check are graded by hand.", ""]
    return "\n".join(lines)


def _rows(outcome: Outcome) -> list[dict]:
    rows = [{"student": outcome.student, **row} for row in outcome.rows]
    if outcome.problems:
        rows.append({"student": outcome.student, "exercise": NOTEBOOK_ROW, "passed": False, "points": 0,
                     "max_points": 0, "feedback": "; ".join(outcome.problems)})
    return rows


def grade(submissions_dir: Path, out: Path, *, reference: Path | None = None, chapters: list[Path] | None = None,
          scale: str = "quick", limits: Limits | None = None, jobs: int | None = None, force: bool = False,
          progress=print) -> list[Outcome]:
    """Grade every notebook in ``submissions_dir``; write ``out`` (CSV, one row per student and check, plus a
    ``(notebook)`` row for a notebook with problems) and ``<out stem>-feedback/<student>.md``.

    ``chapters`` are the reference notebooks a submission's metadata may name (default: the book's). Runs ``jobs``
    submissions at once (default: one per CPU core), each with ``limits``.
    """
    from teachbind import book

    out = Path(out)
    feedback_dir = out.with_name(f"{out.stem}-feedback")
    existing = [str(p) for p in (out, feedback_dir) if p.exists()]
    if existing and not force:
        raise FileExistsError(f"{' and '.join(existing)} already exist: choose another --out or pass --force")
    found = find_submissions(submissions_dir)
    if reference is not None:
        if not Path(reference).is_file():
            raise FileNotFoundError(f"the reference chapter {reference} does not exist")
        reference_checks(nbformat.read(reference, as_version=4))
    jobs = jobs or os.cpu_count() or 1
    limits = limits or Limits()
    if limits.threads is None:
        limits = replace(limits, threads=max(1, (os.cpu_count() or 1) // jobs))
    known = {path.stem: path for path in (chapters if chapters is not None else book.chapters())}
    _warm_caches()
    done, lock = [0], threading.Lock()

    def run(submission: Submission) -> Outcome:
        with tempfile.TemporaryDirectory(prefix="teachbind-grade-") as scratch:
            outcome = grade_one(submission, reference, known, Path(scratch), scale=scale, limits=limits)
        with lock:
            done[0] += 1
            got, possible = outcome.score
            note = f"; {outcome.problems[0][:80]}" if outcome.problems else ""
            progress(f"[{done[0]}/{len(found)}] {outcome.student}: {got}/{possible} points in "
                     f"{outcome.seconds:.0f} s, peak {outcome.peak_memory / 2**30:.2f} GB{note}")
        return outcome

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        outcomes = list(pool.map(run, found))
    feedback_dir.mkdir(parents=True, exist_ok=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=GRADE_COLUMNS)
        writer.writeheader()
        for outcome in outcomes:
            writer.writerows(_rows(outcome))
            name = outcome.student.replace("/", "_")
            (feedback_dir / f"{name}.md").write_text(feedback_text(outcome), encoding="utf-8")
    return outcomes


def _matplotlib_dir() -> str:
    """Matplotlib's cache folder, the confined runs' MPLCONFIGDIR: they read the font list built here."""
    import matplotlib

    return str(Path(matplotlib.get_cachedir()).resolve())


def _warm_caches() -> None:
    """Build matplotlib's font list here and compile TomTom and teachbind's numba functions into the shared numba
    cache in a child process, once, so that confined runs read those caches instead of each building them."""
    import matplotlib.font_manager  # noqa: F401

    warm = ("import warnings, numpy as np\nfrom memelite import tomtom\nfrom teachbind import seq\n"
            "warnings.simplefilter('ignore')\nm = np.eye(4, 6)\ntomtom([m], [m])\n"
            "seq.dinucleotide_shuffle(['ACGTACGT'], seed=0)\n"
            "seq.dinucleotide_shuffle(seq.one_hot(['ACGTAC']), seed=0)\n")
    subprocess.run([sys.executable, "-c", warm], env={**os.environ, "NUMBA_CACHE_DIR": _numba_dir()}, check=True,
                   capture_output=True)


def _execute(grader: Path, work: Path) -> None:
    """Child process: execute ``grader/prepared.ipynb`` in ``work``, every cell even after errors, into
    ``grader/executed.ipynb`` (also when the kernel dies)."""
    from nbclient import NotebookClient

    nb = nbformat.read(grader / "prepared.ipynb", as_version=4)
    client = NotebookClient(nb, timeout=None, allow_errors=True, kernel_name="python3",
                            resources={"metadata": {"path": str(work)}})
    status = "ok"
    try:
        client.execute()
    except Exception as error:
        status = f"the run stopped: {type(error).__name__}: {str(error).strip().splitlines()[-1][:300]}"
    nb.metadata["teachbind_grading"] = {"status": status}
    nbformat.write(nb, grader / "executed.ipynb")


if __name__ == "__main__":
    _execute(Path(sys.argv[1]), Path(sys.argv[2]))
