"""Grade a folder of submitted notebooks: each in its own sandbox, judged outside it, and one grades file at the end.

For every submission the grader

1. reads the notebook as data (:mod:`teachbind.course.grading.notebooks`): a file that is not a readable notebook, a link,
   a folder or a pipe becomes a row with the reason;
2. builds the notebook to run from the instructor's: its setup cells, the student's answer cells in place of the
   solutions, its check cells rewritten to report what the answer returns;
3. runs it in a sandbox (:mod:`teachbind.course.grading.sandbox`) with a time, memory, disk, process and CPU limit, every
   cell even after an error; the sandbox hands back plain data (:mod:`teachbind.course.grading.inside`);
4. judges each check here, outside the sandbox, with the package's own references
   (:func:`teachbind.course.exercises.judge`): nothing the student's code does inside can change a verdict.

``grades.csv`` and the feedback folder are written by the grader alone, each atomically, after every run has ended;
they are never overwritten without ``force`` and never inside the submissions folder.
"""

from __future__ import annotations

import csv
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import nbformat

from teachbind.course import assignments, book, handouts
from teachbind.course.grading import notebooks, sandbox
from teachbind.course.grading.notebooks import Check, Submission

GRADE_COLUMNS = ["student", "exercise", "passed", "points", "max_points", "feedback"]
NOTEBOOK_ROW = "(notebook)"
MAX_RESULT = 256 * 2**20
MAX_MESSAGE = 300
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Limits:
    """What one submission may use: wall ``seconds``, resident ``memory`` and private ``disk`` (bytes), processes
    and threads, and CPU ``threads`` (``None``: the cores shared out among the submissions running at once)."""

    seconds: float = 600
    memory: int = 4 * 2**30
    threads: int | None = None
    disk: int = 2**30
    processes: int = 512


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


@dataclass(frozen=True)
class Reference:
    """An instructor's chapter: its notebook, chapter name and graded checks."""

    nb: nbformat.NotebookNode
    chapter: str
    checks: tuple[Check, ...]


def _known_check(name: str):
    from teachbind.course import exercises

    check = getattr(exercises, name, None)
    return check if name.startswith("check_") and callable(check) else None


def load_reference(path: Path, exercises: list[str] | None = None) -> Reference:
    """The instructor's notebook at ``path``, with its checks; :class:`notebooks.ReferenceError` if a check cell
    does anything but import and call checks the grader knows. With ``exercises``, the instructor's handout of
    those exercises (:func:`teachbind.course.handouts.instructor_handout`): only the cells they need run, and only
    their checks are graded."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"the reference chapter {path} does not exist")
    nb = nbformat.read(path, as_version=4)
    if exercises:
        nb = handouts.instructor_handout(nb, path.stem, list(exercises))
    return Reference(nb, path.stem, tuple(notebooks.reference_checks(nb, _known_check, path.name)))


def _references(chapters: list[Path], exercises: list[str] | None) -> dict[str, Reference]:
    """The reference of each chapter by name; with ``exercises``, the handouts of the chapters that hold them."""
    if not exercises:
        return {ref.chapter: ref for ref in map(load_reference, chapters)}
    held = {Path(chapter): [e.label for e in assignments.exercises(nbformat.read(chapter, as_version=4))]
            for chapter in chapters}
    unknown = [label for label in exercises if not any(label in labels for labels in held.values())]
    if unknown:
        raise KeyError(f"no chapter has exercise {', '.join(unknown)}")
    return {ref.chapter: ref for ref in (load_reference(chapter, [l for l in exercises if l in labels])
                                         for chapter, labels in held.items() if set(exercises) & set(labels))}


def _zero_rows(checks, reason: str) -> list[dict]:
    return [{"exercise": c.exercise, "passed": False, "points": 0, "max_points": c.points,
             "feedback": f"not graded: {reason}"} for c in checks]


def _short(text: str, limit: int = MAX_MESSAGE) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


class _Run:
    """One sandboxed run: its process, what it printed (capped), and its process tree's peak memory."""

    def __init__(self, argv: list[str], notebook: bytes, *, env, cwd, preexec, log: Path):
        self.output, self.overflow = bytearray(), False
        with open(log, "wb") as errors:
            self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors,
                                            env=env, cwd=cwd, preexec_fn=preexec, start_new_session=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        threading.Thread(target=self._write, args=(notebook,), daemon=True).start()

    def _write(self, notebook: bytes) -> None:
        try:
            self.process.stdin.write(notebook)
            self.process.stdin.close()
        except OSError:
            pass

    def _read(self) -> None:
        while chunk := self.process.stdout.read(2**20):
            if len(self.output) + len(chunk) > MAX_RESULT:
                self.overflow = True
                continue
            self.output += chunk

    def watch(self, limits: Limits, start: float, outcome: Outcome) -> str | None:
        """Wait for the run, recording its peak memory; stop it at a limit and say which (``None``: it ended)."""
        while self.process.poll() is None:
            processes = _tree(self.process.pid)
            outcome.peak_memory = max(outcome.peak_memory, _tree_memory(processes))
            stopped = None
            if outcome.peak_memory > limits.memory:
                stopped = f"used more than {limits.memory / 2**30:.1f} GB of memory"
            elif time.perf_counter() - start > limits.seconds:
                stopped = f"ran for more than {limits.seconds:.0f} s"
            elif self.overflow:
                stopped = f"handed back more than {MAX_RESULT // 2**20} MB of results"
            if stopped:
                self.end()
                return stopped
            time.sleep(0.2)
        self.end()
        return f"handed back more than {MAX_RESULT // 2**20} MB of results" if self.overflow else None

    def end(self) -> None:
        """Kill whatever of the run is left (the sandbox's PID namespace ends with it) and wait for it."""
        _kill(_tree(self.process.pid))
        try:
            os.killpg(self.process.pid, 9)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()
        self.reader.join(timeout=10)


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
class Setting:
    """How this batch runs each submission: its limits, scale, the prewarmed caches, the data folders, and
    whether it runs in the sandbox."""

    limits: Limits
    scale: str
    warm: Path
    sandboxed: bool = True


def _data_binds() -> dict[str, str]:
    from teachbind.data import registry

    binds = {}
    mirror = registry.mirror_dir()
    if mirror is not None and Path(mirror).is_dir():
        binds["/data/mirror"] = str(Path(mirror).resolve())
    if registry.cache_dir().is_dir():
        binds["/data/cache"] = str(registry.cache_dir().resolve())
    return binds


def _environment(home: str, work: str, threads: int, data: dict[str, str]) -> dict[str, str]:
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": home, "TMPDIR": str(Path(work).parent),
           "USER": "student", "LOGNAME": "student", "LANG": "C.UTF-8", "MPLBACKEND": "Agg",
           "PYTHONDONTWRITEBYTECODE": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1", "JUPYTER_PLATFORM_DIRS": "1",
           "NUMBA_CACHE_DIR": f"{home}/.cache/numba", "MPLCONFIGDIR": f"{home}/.config/matplotlib",
           "TEACHBIND_RESULTS_DIR": f"{work}/results", **{name: str(threads) for name in book.THREAD_VARIABLES}}
    if "/data/mirror" in data:
        env["TEACHBIND_DATA_DIR"] = data["/data/mirror"]
    if "/data/cache" in data:
        env["TEACHBIND_CACHE_DIR"] = data["/data/cache"]
    return env


def _run(prepared: bytes, scratch: Path, setting: Setting, slot: int, start: float, outcome: Outcome):
    """Run the prepared notebook; return the run's reply (bytes) and what stopped it (``None`` if nothing)."""
    limits = setting.limits
    caps = sandbox.Caps(memory=limits.memory, disk=limits.disk, processes=limits.processes,
                        cpu_seconds=int(limits.seconds * max(limits.threads, 1) * 2) + 60)
    if setting.sandboxed:
        data = _data_binds()
        env = _environment(sandbox.HOME, sandbox.WORK, limits.threads, {key: key for key in data})
        inside = [sys.executable, "-m", "teachbind.course.grading.inside", "/grader/warm"]
        argv = sandbox.command(inside, binds={"/grader/warm": str(setting.warm), **data}, caps=caps, env=env,
                               slot=slot)
        cwd, per_user = "/", os.geteuid() == 0
    else:
        work = scratch / "work"
        (work / "home").mkdir(parents=True)
        env = _environment(str(work / "home"), str(work / "run"), limits.threads, _data_binds())
        (work / "run").mkdir()
        argv = [sys.executable, "-m", "teachbind.course.grading.inside", str(setting.warm)]
        cwd, per_user = str(work / "run"), False
    run = _Run(argv, prepared, env=env, cwd=cwd, preexec=sandbox.limiter(caps, per_user=per_user),
               log=scratch / "sandbox.log")
    stopped = run.watch(limits, start, outcome)
    if stopped is None and run.process.returncode != 0:
        stopped = f"ended with exit status {run.process.returncode} before handing back its results"
        log = (scratch / "sandbox.log").read_text(errors="replace").strip()
        if log.startswith("bwrap:"):
            stopped += f" ({_short(log)})"
    return bytes(run.output), stopped


def _reply(raw: bytes, n_cells: int) -> tuple[str, list[dict]]:
    """The run's status and per-cell results, checked against the shape the grader expects."""
    try:
        reply = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ValueError("handed back no readable results") from None
    cells = reply.get("cells") if isinstance(reply, dict) else None
    if not (isinstance(cells, list) and len(cells) == n_cells and all(isinstance(c, dict) for c in cells)):
        raise ValueError("handed back results that do not match its notebook")
    status = reply.get("status")
    return status if isinstance(status, str) else "ok", cells


def _error(cell: dict) -> str | None:
    error = cell.get("error")
    return _short(error) if isinstance(error, str) else None


def _verdict(check: Check, cell: dict) -> tuple[bool, str]:
    from teachbind.course import exercises

    if cell.get("ran") is not True:
        return False, "the check did not run"
    reported = cell.get("observations")
    observations = [o for o in reported if isinstance(o, dict) and o.get("key") == check.key] \
        if isinstance(reported, list) else []
    verdicts = []
    for k, call in enumerate(check.calls):
        mine = [o for o in observations if o.get("k") == k]
        if len(mine) != 1:
            error = _error(cell)
            return False, f"the check did not run: {error}" if error and not mine else "the check did not report"
        verdicts.append(exercises.judge(_known_check(call.name), mine[0].get("observed"), *call.args,
                                        **call.kwargs))
    passed = all(ok for ok, _ in verdicts)
    return passed, " ".join(message for ok, message in verdicts if ok or not passed)


def grade_one(submission: Submission, reference: Reference | None, chapters: dict[str, Reference],
              scratch: Path, setting: Setting, slot: int = 0) -> Outcome:
    """Grade one submission with ``scratch`` as its folder of the grader's files. ``reference``, when given, is the
    chapter to grade against; otherwise the one of ``chapters`` the submission's metadata names."""
    outcome = Outcome(submission.student)
    start = time.perf_counter()
    if submission.problem:
        outcome.problems.append(submission.problem)
        outcome.rows = _zero_rows(reference.checks, submission.problem) if reference else []
        return outcome
    try:
        submitted = notebooks.read_submission(submission.path)
    except notebooks.Unreadable as error:
        outcome.problems.append(str(error))
        outcome.rows = _zero_rows(reference.checks, str(error)) if reference else []
        return outcome
    if reference is None:
        if submitted.chapter not in chapters:
            outcome.problems.append(f"cannot tell which chapter {submission.path.name} is (its metadata names "
                                    f"{_short(repr(submitted.chapter), 60)}): pass --reference CHAPTER.ipynb")
            return outcome
        reference = chapters[submitted.chapter]
    answers = notebooks.answer_cells(reference.nb, reference.chapter, submitted)
    beyond = sorted({check.exercise for check in reference.checks} - set(submitted.handout))
    if submitted.handout and beyond:
        outcome.problems.append(f"this notebook is the handout of {', '.join(submitted.handout)}, graded here on "
                                f"{', '.join(beyond)} too: to grade it on its own exercises, pass --exercises "
                                f"{' '.join(submitted.handout)}")
    for label in sorted({check.exercise for check in reference.checks} - set(answers)):
        outcome.problems.append(f"the statement of exercise {label} is not in the notebook, so its answer was not "
                                f"found (answers go in the cells between an exercise and its check)")
    nb, roles = notebooks.to_run(reference.nb, list(reference.checks), answers, scale=setting.scale)
    raw, stopped = _run(nbformat.writes(nb).encode("utf-8"), scratch, setting, slot, start, outcome)
    outcome.seconds = time.perf_counter() - start
    cells = []
    if stopped is None:
        try:
            status, cells = _reply(raw, len(roles))
        except ValueError as error:
            stopped = str(error)
    if stopped is None:
        errors = [(index, _error(cell)) for index, cell in enumerate(cells)
                  if roles[index].kind != "check" and _error(cell)]
        if any(error.startswith("MemoryError") for _, error in errors):
            stopped = f"ran out of memory (a MemoryError at the {setting.limits.memory / 2**30:.1f} GB limit)"
    if stopped:
        outcome.problems.append(f"stopped: it {stopped}")
        outcome.rows = _zero_rows(reference.checks, f"the notebook {stopped}")
        return outcome
    by_key = {role.key: cell for role, cell in zip(roles, cells) if role.kind == "check"}
    for check in reference.checks:
        passed, feedback = _verdict(check, by_key[check.key])
        outcome.rows.append({"exercise": check.exercise, "passed": passed, "points": check.points if passed else 0,
                             "max_points": check.points, "feedback": feedback})
    if status != "ok":
        outcome.problems.append(_short(status))
    for index, error in errors:
        role, source = roles[index], nb.cells[index].source
        if role.kind == "answer" and error.startswith("NotImplementedError"):
            continue
        first = source.strip().splitlines()[0][:60] if source.strip() else ""
        where = f"in your answer to {role.exercise}" if role.kind == "answer" else "in a cell of the chapter"
        outcome.problems.append(f"{error} ({where}, the cell starting {first!r})")
    return outcome


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
    if outcome.problems or not rows:
        rows.append({"student": outcome.student, "exercise": NOTEBOOK_ROW, "passed": False, "points": 0,
                     "max_points": 0, "feedback": "; ".join(outcome.problems)})
    return rows


def csv_field(value) -> str:
    """``value`` as a CSV field a spreadsheet shows as text: a leading ``= + - @``, tab or return is quoted
    with ``'`` (formula injection)."""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _file_names(students: list[str]) -> dict[str, str]:
    names, used = {}, set()
    for student in students:
        base = re.sub(r"[^A-Za-z0-9._-]", "_", student).lstrip(".-") or "student"
        name, n = base[:100], 2
        while name.lower() in used:
            name, n = f"{base[:96]}-{n}", n + 1
        used.add(name.lower())
        names[student] = name
    return names


def _write_results(outcomes: list[Outcome], out: Path, feedback_dir: Path) -> None:
    """Write the feedback folder and the grades file, each complete or not at all."""
    staging = Path(tempfile.mkdtemp(prefix=f".{feedback_dir.name}-", dir=out.parent))
    names = _file_names([o.student for o in outcomes])
    for outcome in outcomes:
        (staging / f"{names[outcome.student]}.md").write_text(feedback_text(outcome), encoding="utf-8")
    partial = out.with_name(f".{out.name}.{os.getpid()}.partial")
    with open(partial, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=GRADE_COLUMNS)
        writer.writeheader()
        for outcome in outcomes:
            writer.writerows({key: csv_field(value) for key, value in row.items()} for row in _rows(outcome))
    if feedback_dir.exists():
        old = feedback_dir.with_name(f".{feedback_dir.name}.{os.getpid()}.old")
        feedback_dir.rename(old)
        staging.rename(feedback_dir)
        shutil.rmtree(old)
    else:
        staging.rename(feedback_dir)
    os.replace(partial, out)


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve() == folder.resolve() or folder.resolve() in path.resolve().parents


def grade(submissions_dir: Path, out: Path, *, reference: Path | None = None, chapters: list[Path] | None = None,
          scale: str = "quick", limits: Limits | None = None, jobs: int | None = None, force: bool = False,
          sandboxed: bool = True, exercises: list[str] | None = None, progress=print) -> list[Outcome]:
    """Grade every notebook in ``submissions_dir``; write ``out`` (CSV, one row per student and check, plus a
    ``(notebook)`` row for a notebook with problems) and ``<out stem>-feedback/<student>.md``.

    ``chapters`` are the reference notebooks a submission's metadata may name (default: the book's; with
    ``exercises``, the book's chapters that hold them). ``exercises`` grades handouts: only those exercises' cells
    run and only their checks count (:func:`load_reference`). Runs ``jobs``
    submissions at once (default: one per CPU core), each with ``limits``, in a sandbox; without one
    (:class:`sandbox.SandboxUnavailable`) nothing runs unless ``sandboxed=False``, for trusted notebooks only.
    """

    out, submissions_dir = Path(out), Path(submissions_dir)
    feedback_dir = out.with_name(f"{out.stem}-feedback")
    if _inside(out.parent, submissions_dir):
        raise ValueError(f"{out} is inside the submissions folder {submissions_dir}: write the grades elsewhere")
    existing = [str(p) for p in (out, feedback_dir) if p.exists()]
    if existing and not force:
        raise FileExistsError(f"{' and '.join(existing)} already exist: choose another --out or pass --force")
    found = notebooks.find_submissions(submissions_dir)
    if sandboxed and (reason := sandbox.unavailable()):
        raise sandbox.SandboxUnavailable(f"cannot start a sandbox: {reason}. Untrusted notebooks are never run "
                                         f"outside one; to grade trusted notebooks without it, pass --no-sandbox")
    given = load_reference(reference, exercises) if reference is not None else None
    known = {} if given else _references(chapters if chapters is not None else book.chapters(), exercises)
    jobs = jobs or os.cpu_count() or 1
    limits = limits or Limits()
    if limits.threads is None:
        limits = replace(limits, threads=max(1, (os.cpu_count() or 1) // jobs))
    out.parent.mkdir(parents=True, exist_ok=True)
    slots = queue.Queue()
    for slot in range(jobs):
        slots.put(slot)
    done, lock = [0], threading.Lock()
    with tempfile.TemporaryDirectory(prefix="teachbind-grade-") as batch:
        setting = Setting(limits, scale, _warm_caches(), sandboxed)

        def run(submission: Submission) -> Outcome:
            slot = slots.get()
            try:
                with tempfile.TemporaryDirectory(prefix="run-", dir=batch) as scratch:
                    outcome = grade_one(submission, given, known, Path(scratch), setting, slot)
            except Exception as error:
                outcome = Outcome(submission.student, problems=[
                    f"the grader could not grade this notebook ({type(error).__name__}: {_short(error)})"])
            finally:
                slots.put(slot)
            with lock:
                done[0] += 1
                got, possible = outcome.score
                note = f"; {outcome.problems[0][:80]}" if outcome.problems else ""
                progress(f"[{done[0]}/{len(found)}] {outcome.student}: {got}/{possible} points in "
                         f"{outcome.seconds:.0f} s, peak {outcome.peak_memory / 2**30:.2f} GB{note}")
            return outcome

        with ThreadPoolExecutor(max_workers=jobs) as pool:
            outcomes = list(pool.map(run, found))
    _write_results(outcomes, out, feedback_dir)
    return outcomes


def _warm_caches() -> Path:
    """Compile TomTom and teachbind's numba functions and build matplotlib's font list, in a child process of the
    grader's, into the folder ``grading-warm`` of the data cache, and return it. Runs mount it read-only and copy
    it into their own folders: no run ever writes a cache another run reads."""
    from teachbind.data.registry import cache_dir

    warm = cache_dir().resolve() / "grading-warm"
    for name in ("numba", "matplotlib"):
        (warm / name).mkdir(parents=True, exist_ok=True)
    script = ("import warnings, numpy as np, matplotlib.font_manager\nfrom memelite import tomtom\n"
              "from teachbind import seq\nwarnings.simplefilter('ignore')\nm = np.eye(4, 6)\ntomtom([m], [m])\n"
              "seq.dinucleotide_shuffle(['ACGTACGT'], seed=0)\n"
              "seq.dinucleotide_shuffle(seq.one_hot(['ACGTAC']), seed=0)\n")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(warm / "numba"), "MPLCONFIGDIR": str(warm / "matplotlib")}
    subprocess.run([sys.executable, "-c", script], env=env, check=True, capture_output=True, cwd=warm)
    for path in [warm, *warm.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return warm
