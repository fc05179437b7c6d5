"""Execute the book's chapters with papermill and render the website from the executed copies.

``python -m teachbind.course.book [--scale book] [--out _build] [--jobs N] [--force]`` runs the chapters in
``nbs/`` with the given scale (default: each chapter's own default), writes the executed notebooks to
``<out>/executed/nbs/``, their recorded results to ``<out>/results/`` and their execution records (scale, status,
wall time, each cell's time, device, package versions) to ``<out>/execution/``, then builds the site into
``<out>/html/`` with Sphinx warnings treated as errors; the execution and reproduction pages are generated from
those records and from the run's own record, ``<out>/book-run.json`` (``--site-only`` renders again without
running the chapters).

A chapter is executed again only when something its result depends on changed since its last run in ``<out>``
(:mod:`teachbind.course.cache`): its code, the package modules it imported, the data files it fetched, the
installed packages, the scale. A prose edit only re-renders; ``--force`` executes everything. Chapters do not depend
on one another, so ``--jobs N`` runs N side by side, each in its own process with the cores shared out; the runner
prints each code cell as it starts, with an estimate of the time left from the previous run's cell times, and a
failing chapter names its cell while the others carry on. The tests call :func:`execute_chapter` directly, at
``--scale quick``, and so always execute afresh.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import yaml

from teachbind.course import cache, dependencies

ROOT = Path(__file__).resolve().parents[2]
SITE_FILES = ("_config.yml", "_toc.yml", "book")
REPOSITORY = "https://github.com/teachbind/teachbind"
COLAB_PROVIDES = frozenset({"torch", "numpy", "pandas", "matplotlib", "scikit-learn", "numba", "tqdm", "scipy",
                            "pyyaml", "packaging"})
"""Requirements of teachbind that a Colab runtime already has (its torch among them, which must not be replaced)."""


def requirement_names(extra: str | None = None) -> list[str]:
    """The names of teachbind's requirements, from its installed metadata (``pyproject.toml``, the one list of
    dependencies): the core ones, or those of ``extra`` (``"book"``, ``"test"``)."""
    from importlib.metadata import requires

    from packaging.requirements import Requirement

    names = []
    for line in requires("teachbind") or []:
        requirement = Requirement(line)
        wanted = requirement.marker is None if extra is None else (
            requirement.marker is not None and requirement.marker.evaluate({"extra": extra}))
        if wanted:
            names.append(requirement.name)
    return names


def colab_cell() -> str:
    """The first code cell of every chapter: on Colab it installs teachbind without its dependencies, then the
    dependencies Colab lacks (:data:`COLAB_PROVIDES`); anywhere else it does nothing."""
    missing = " ".join(name for name in requirement_names() if name not in COLAB_PROVIDES)
    return f"""# On Colab, this installs teachbind (Colab has PyTorch already); anywhere else it does nothing.
import sys
if "google.colab" in sys.modules:
    %pip install --quiet --no-deps "teachbind @ git+{REPOSITORY}@main"
    %pip install --quiet {missing}"""


# Every thread pool a chapter may start (torch's OpenMP, numba's parallel loops in memelite, BLAS) is held to its
# share of the cores. Without NUMBA_NUM_THREADS, two Chapter 3 runs side by side on two cores took 120 s each instead
# of 37 s: numba's OpenMP threads kept spinning beside the other run.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")
VERSIONS_OF = ("python", "teachbind", "torch", "numpy", "pandas", "scikit-learn", "matplotlib", "memelite",
               "pyjaspar", "optuna", "papermill", "jupyter-book")


def chapters(root: Path = ROOT) -> list[Path]:
    """The chapter notebooks, in order."""
    return sorted((root / "nbs").glob("[0-9][0-9]_*.ipynb"))


@contextmanager
def _environment(**values: str):
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def execute_chapter(notebook: Path, out: Path, *, scale: str | None = None, timeout: int = 1800,
                    parameters: dict | None = None, threads: int | None = None,
                    on_cell: Callable[[int, int], None] | None = None) -> dict:
    """Run one chapter with papermill into ``out/executed/nbs/``; return and save its execution record.

    ``scale`` sets ``SCALE`` and ``parameters`` any other value of the chapter's parameters cell; ``threads`` caps
    every thread pool the chapter starts (:data:`THREAD_VARIABLES`); ``on_cell(cell, cells)`` is called as each code
    cell starts (1-based, of the notebook's code cells). The record (``out/execution/<stem>.json``) holds the
    notebook, the scale, the other parameters given, the status (``"ok"`` or the cell that failed and its error),
    the wall time in seconds, each code cell's seconds, when it finished, the device and the package versions. Results
    the chapter records go to ``out/results/``. A run that succeeds stores its inputs beside the executed notebook
    (:mod:`teachbind.course.cache`), so that :func:`still_valid` can tell later whether it needs running again;
    when the notebook's code, the package or the installed packages changed while it ran, it warns and stores none.
    Raises ``papermill.PapermillExecutionError`` when a cell fails, after saving the partly executed notebook.
    """
    import papermill

    notebook = Path(notebook)
    executed = executed_path(notebook, out)
    executed.parent.mkdir(parents=True, exist_ok=True)
    inputs_file, log = executed.with_suffix(".inputs.json"), executed.with_suffix(".dependencies.log")
    inputs_file.unlink(missing_ok=True)
    log.unlink(missing_ok=True)
    parameters = run_parameters(scale, parameters)
    record = {"notebook": notebook.name, "scale": scale or "default", "status": "ok", "device": device_name(),
              "versions": package_versions(), **({"parameters": parameters} if set(parameters) - {"SCALE"} else {}),
              **({"threads": threads} if threads else {})}
    environment = {"TEACHBIND_RESULTS_DIR": str((out / "results").resolve()), dependencies.DEPENDENCY_LOG_ENV: str(log)}
    if os.environ.get("TEACHBIND_DATA_DIR"):
        environment["TEACHBIND_DATA_DIR"] = str(Path(os.environ["TEACHBIND_DATA_DIR"]).expanduser().resolve())
    if threads:
        environment.update(dict.fromkeys(THREAD_VARIABLES, str(threads)))
    everything_before = cache.inputs(notebook, parameters=parameters, modules=None, data=None,
                                     device=record["device"])
    current = [0]

    def started(cell: int, cells: int) -> None:
        current[0] = cell
        if on_cell is not None:
            on_cell(cell, cells)

    start = time.perf_counter()
    try:
        with _environment(**environment):
            papermill.execute_notebook(str(notebook), str(executed), parameters=parameters, kernel_name="python3",
                                       cwd=str(notebook.parent), execution_timeout=timeout, progress_bar=False,
                                       engine_name=reporting_engine(), on_cell=started)
    except Exception as error:
        message = getattr(error, "evalue", None) or (str(error).strip().splitlines() or [""])[-1]
        name = getattr(error, "ename", None) or type(error).__name__
        record["status"] = f"code cell {current[0]} failed: {name}: {message}"
        raise
    finally:
        record["seconds"] = round(time.perf_counter() - start, 1)
        record["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        if executed.exists():
            record["cell_seconds"] = cell_seconds(executed)
        record["results"] = (out / "results" / f"{notebook.stem}.json").exists()
        write_json(out / "execution" / f"{notebook.stem}.json", record)
    modules, data = dependencies.read_log(log)
    log.unlink(missing_ok=True)
    meanwhile = cache.changes(everything_before, cache.inputs(notebook, parameters=parameters, modules=None,
                                                              data=None, device=record["device"]))
    if meanwhile:
        warnings.warn(f"{notebook.name}: {', '.join(meanwhile[:3])} changed while it ran; this run is not cached and "
                      f"the next build executes the chapter again", stacklevel=2)
    else:
        cache.save(inputs_file, inputs=cache.inputs(notebook, parameters=parameters, modules=modules, data=data,
                                                    device=record["device"]), modules=modules, data=data)
    return record


def executed_path(notebook: Path, out: Path) -> Path:
    """Where the book runner writes the executed copy of ``notebook``."""
    return out / "executed" / "nbs" / Path(notebook).name


def run_parameters(scale: str | None, parameters: dict | None = None) -> dict:
    """The values papermill gives a chapter's parameters cell: ``parameters``, and ``SCALE`` when given."""
    return {**(parameters or {}), **({"SCALE": scale} if scale else {})}


def write_json(path: Path, value: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2) + "\n")


def cell_seconds(executed: Path) -> list[float]:
    """How long each code cell of the source notebook took in an executed copy (papermill's injected-parameters
    cell left out; a cell that did not run counts 0)."""
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    return [round(cell.metadata.get("papermill", {}).get("duration") or 0.0, 2) for cell in nb.cells
            if cell.cell_type == "code" and "injected-parameters" not in cell.metadata.get("tags", [])]


@functools.cache
def reporting_engine() -> str:
    """Register, once, papermill's nbclient engine made to call ``on_cell(cell, cells)`` (a keyword argument of
    ``papermill.execute_notebook``) as each code cell of the source notebook starts; return its name."""
    from papermill.engines import NBClientEngine, papermill_engines

    class ReportingEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, on_cell=None, **kwargs):
            code = [i for i, c in enumerate(nb_man.nb.cells) if c.cell_type == "code"
                    and "injected-parameters" not in c.metadata.get("tags", [])]
            ordinal = {index: n for n, index in enumerate(code, start=1)}
            cell_start = nb_man.cell_start

            def reporting_start(cell, cell_index=None, **more):
                if on_cell is not None and cell_index in ordinal:
                    on_cell(ordinal[cell_index], len(code))
                return cell_start(cell, cell_index, **more)

            nb_man.cell_start = reporting_start
            return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)

    papermill_engines.register("teachbind", ReportingEngine)
    return "teachbind"


def still_valid(notebook: Path, out: Path, *, scale: str | None = None,
                parameters: dict | None = None) -> tuple[bool, str]:
    """Whether the run of ``notebook`` in ``out`` still holds: ``(True, "")``, or ``(False, why not)`` — never run,
    its last run failed, its results file is gone, or the inputs that changed (:mod:`teachbind.course.cache`)."""
    notebook = Path(notebook)
    executed = executed_path(notebook, out)
    stored = cache.load(executed.with_suffix(".inputs.json"))
    record_file = out / "execution" / f"{notebook.stem}.json"
    record = json.loads(record_file.read_text()) if record_file.exists() else {}
    if record and record.get("status") != "ok":
        return False, "its last run failed"
    if stored is None or not executed.exists() or not record:
        return False, "no earlier run in this folder"
    if record.get("results", True) and not (out / "results" / f"{notebook.stem}.json").exists():
        return False, "its results file is gone"
    now = cache.inputs(notebook, parameters=run_parameters(scale, parameters), modules=stored["modules"],
                       data=stored["data"], device=device_name())
    changed = cache.changes(stored["inputs"], now)
    if changed:
        shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
        return False, f"changed: {shown}"
    return True, ""


def device_name() -> str:
    """What the chapters' ``DEVICE = "auto"`` runs on here: the GPU's name, or the CPU's model and core count."""
    import platform

    import torch

    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)} (CUDA)"
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        model = names[0] if names else model
    return f"CPU: {model}, {os.cpu_count()} cores"


def package_versions() -> dict[str, str]:
    """Versions of Python and of the packages the chapters depend on."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for name in VERSIONS_OF[1:]:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def stage_site(out: Path, stage: Path, root: Path = ROOT, *, student: bool = False) -> Path:
    """Make ``stage`` a book source folder: the site files, the executed chapters from ``out/executed/nbs``
    (execution off), and the execution and reproduction pages generated from ``out/execution``,
    ``out/book-run.json`` and ``out/results``. With ``student``, the student edition: the same pages with every
    exercise's solution and check left out (:func:`teachbind.course.assignments.without_solutions`). Only files whose
    bytes changed are written (and files no longer part of the book removed), so that the site build renders again
    only the pages that changed."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="teachbind-stage-") as scratch:
        fresh = Path(scratch)
        _assemble_site(out, fresh, root, student)
        _sync(fresh, stage)
    return stage


def _assemble_site(out: Path, stage: Path, root: Path, student: bool) -> None:
    from teachbind.course import report

    for name in SITE_FILES:
        source = root / name
        if source.is_dir():
            shutil.copytree(source, stage / name)
        else:
            shutil.copy2(source, stage / name)
    config = yaml.safe_load((stage / "_config.yml").read_text())
    config["execute"]["execute_notebooks"] = "off"
    (stage / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    (stage / "nbs").mkdir()
    for notebook in chapters(root):
        executed = executed_path(notebook, out)
        if not executed.exists():
            raise FileNotFoundError(f"{notebook.name} has not been executed: no {executed}")
        record = json.loads((out / "execution" / f"{notebook.stem}.json").read_text())
        with_header(executed, stage / "nbs" / notebook.name, execution_line(record, student=student),
                    student=student)
    titles = {nb.stem: chapter_title(nb) for nb in chapters(root)}
    run_file = out / "book-run.json"
    run = json.loads(run_file.read_text()) if run_file.exists() else None
    (stage / "book" / "execution.md").write_text(report.execution_page(out / "execution", titles, run=run))
    paper = report.paper_numbers()
    figure = report.reproduction_figure(out / "results", paper, stage / "book" / "reproduction.png")
    (stage / "book" / "reproduction.md").write_text(
        report.reproduction_page(out / "results", paper, titles, figure=figure.name if figure else None))


def _sync(source: Path, target: Path) -> None:
    """Make ``target`` hold exactly ``source``'s files, its own ``_build/`` aside, writing only those that differ."""
    wanted = {path.relative_to(source) for path in source.rglob("*") if path.is_file()}
    if target.exists():
        for path in sorted(target.rglob("*"), reverse=True):
            relative = path.relative_to(target)
            if relative.parts[0] == "_build":
                continue
            if path.is_file() and relative not in wanted:
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    for relative in sorted(wanted):
        new, old = source / relative, target / relative
        if not old.is_file() or old.read_bytes() != new.read_bytes():
            old.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(new, old)


def execution_line(record: dict, *, student: bool = False) -> str:
    """What a chapter page says under its title about the run it shows (Markdown), from its execution record: the
    scale, the wall time and the device, and a note when the scale is not the book's default or, with ``student``,
    that this is the student edition."""
    scale = "book" if record.get("scale", "default") == "default" else record["scale"]
    minutes, seconds = divmod(round(record.get("seconds", 0)), 60)
    line = (f"*This page shows a run with `SCALE = \"{scale}\"`: {minutes} min {seconds:02d} s on "
            f"{record.get('device', 'an unrecorded device')} (see the {{doc}}`execution report <../book/execution>`).*")
    if scale != "book":
        line += ("\n\n```{note}\nThis page was executed with `SCALE = \"" + scale + "\"`, not the book's default "
                 "`\"book\"`. Every number on it comes from this run; what the prose says was seen \"at book scale\" "
                 "describes the book-scale run.\n```")
    if student:
        line += ("\n\n```{note}\nThe student edition: the exercises are stated, their solutions and checks are left "
                 "out. Your handout notebook has the checks.\n```")
    return line


def with_header(executed: Path, staged: Path, header: str, *, student: bool = False) -> None:
    """Copy the executed chapter to ``staged`` with ``header`` placed under its title, and with ``student`` its
    solutions and checks left out."""
    import nbformat

    from teachbind.course import assignments

    nb = nbformat.read(executed, as_version=4)
    if student:
        nb = assignments.without_solutions(nb, executed.stem)
    first = nb.cells[0]
    title, _, rest = first.source.partition("\n")
    if first.cell_type != "markdown" or not title.startswith("# "):
        raise ValueError(f"{executed.name}: the first cell must be the chapter's title, '# ...'")
    first.source = f"{title}\n\n{header}\n{rest}"
    nbformat.write(nb, staged)


def chapter_title(notebook: Path) -> str:
    """The first heading of a chapter notebook."""
    import nbformat

    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type == "markdown" and cell.source.startswith("# "):
            return cell.source.splitlines()[0][2:].strip()
    return notebook.stem


def build_site(stage: Path, html: Path) -> Path:
    """Render the staged book with Jupyter Book (warnings are errors) and copy the HTML to ``html``."""
    command = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(stage), "--warningiserror",
               "--keep-going", "--quiet"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"the site build failed:\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}")
    if html.exists():
        shutil.rmtree(html)
    shutil.copytree(stage / "_build" / "html", html)
    return html


class Progress:
    """What the runner prints while chapters execute: a line as each code cell starts, with the time elapsed, the
    chapters done, and an estimate of the time left from each chapter's cell times in its previous run's record at
    the same scale (:func:`estimate_left`)."""

    def __init__(self, stems: list[str], previous: dict[str, list[float]], jobs: int, start: float):
        self.stems, self.previous, self.jobs, self.start = stems, previous, jobs, start
        self.position: dict[str, tuple[int, float]] = {}
        self.done: set[str] = set()

    def cell(self, stem: str, cell: int, cells: int, now: float) -> str:
        self.position[stem] = (cell, now)
        return f"{self._clock(now)} {stem}: code cell {cell} of {cells}{self._left(now)}"

    def finished(self, stem: str, status: str, seconds: float, now: float) -> str:
        self.done.add(stem)
        self.position.pop(stem, None)
        outcome = f"done in {_duration(seconds)}" if status == "ok" else f"FAILED after {_duration(seconds)}: {status}"
        return f"{self._clock(now)} {stem}: {outcome}{self._left(now)}"

    def _clock(self, now: float) -> str:
        minutes, seconds = divmod(round(now - self.start), 60)
        return f"[{minutes:3d}:{seconds:02d}]"

    def _left(self, now: float) -> str:
        waiting = [stem for stem in self.stems if stem not in self.done]
        left = estimate_left({stem: self.previous.get(stem) for stem in waiting},
                             {stem: (cell, now - since) for stem, (cell, since) in self.position.items()}, self.jobs)
        count = f" · {len(self.done)} of {len(self.stems)} chapters done"
        return count + (f" · about {_duration(left)} left" if left is not None and waiting else "")


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def estimate_left(previous: dict[str, list[float] | None], running: dict[str, tuple[int, float]],
                  jobs: int) -> float | None:
    """Seconds left, estimated from each unfinished chapter's code-cell times in its previous run (``previous``:
    stem → seconds per code cell, ``None`` when unknown; ``running``: stem → (the code cell it is in, 1-based,
    seconds since that cell started)); ``None`` when a chapter has no previous times. The larger of the longest
    chapter's remainder and the whole remainder shared among ``jobs``."""
    if any(times is None for times in previous.values()):
        return None
    remainders = []
    for stem, times in previous.items():
        cell, in_cell = running.get(stem, (1, 0.0))
        remainders.append(max(0.0, times[cell - 1] - in_cell) + sum(times[cell:]) if cell <= len(times) else 0.0)
    return max([*remainders, sum(remainders) / max(1, jobs)], default=0.0)


_events = None


def _listen(events) -> None:
    global _events
    _events = events


def _execute_in_worker(notebook: Path, out: Path, scale: str | None, timeout: int, threads: int) -> dict:
    """Run in a worker process of its own: :func:`execute_chapter` reporting each cell to the runner; the record,
    failed or not, with the peak resident memory of the chapter's kernel and the processes it waited for."""
    import resource

    try:
        record = execute_chapter(notebook, out, scale=scale, timeout=timeout, threads=threads,
                                 on_cell=lambda cell, cells: _events.put((notebook.stem, cell, cells, time.time())))
    except Exception as error:
        record_file = out / "execution" / f"{notebook.stem}.json"
        if not record_file.exists() or json.loads(record_file.read_text()).get("status") == "ok":
            return {"notebook": notebook.name, "status": f"{type(error).__name__}: {error}", "seconds": 0.0}
        record = json.loads(record_file.read_text())
    record["peak_memory_gb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20, 2)
    write_json(out / "execution" / f"{notebook.stem}.json", record)
    return record


def execute_chapters(notebooks: list[Path], out: Path, *, scale: str | None, timeout: int, jobs: int,
                     start: float | None = None) -> dict[str, dict]:
    """Execute ``notebooks`` with ``jobs`` of them at a time, each in its own process with the cores shared out
    (``THREAD_VARIABLES``), the longest first by their previous records; print :class:`Progress` as they go.
    ``timeout`` is a cell's limit with every core; a chapter with a share of them gets :func:`cell_timeout`. A
    failing chapter does not stop the others. Return each chapter's execution record, by stem."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from queue import Empty

    start = time.time() if start is None else start
    previous = {nb.stem: previous_cell_seconds(nb, out, scale) for nb in notebooks}
    order = sorted(notebooks, key=lambda nb: -sum(previous[nb.stem] or [float("inf")]))
    threads = threads_per_job(jobs)
    progress = Progress([nb.stem for nb in notebooks], previous, jobs, start)
    context = multiprocessing.get_context("spawn")
    events = context.Queue()
    records = {}
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_listen, initargs=(events,),
                             max_tasks_per_child=1) as pool:
        running = {pool.submit(_execute_in_worker, nb, out, scale, cell_timeout(timeout, threads), threads): nb
                   for nb in order}
        while running:
            finished, _ = wait(running, timeout=1.0, return_when=FIRST_COMPLETED)
            while True:
                try:
                    stem, cell, cells, when = events.get_nowait()
                except Empty:
                    break
                if stem not in progress.done:
                    print(progress.cell(stem, cell, cells, when), flush=True)
            for future in finished:
                notebook = running.pop(future)
                try:
                    record = future.result()
                except Exception as error:
                    record = {"notebook": notebook.name, "seconds": 0.0,
                              "status": f"its worker process died ({type(error).__name__}: {error}), out of memory?"}
                records[notebook.stem] = record
                print(progress.finished(notebook.stem, record["status"], record["seconds"], time.time()), flush=True)
    return records


def previous_cell_seconds(notebook: Path, out: Path, scale: str | None) -> list[float] | None:
    """Each code cell's seconds in the chapter's last successful run in ``out`` at ``scale``, if it has the
    same number of code cells now."""
    record_file = out / "execution" / f"{Path(notebook).stem}.json"
    if not record_file.exists():
        return None
    record = json.loads(record_file.read_text())
    times = record.get("cell_seconds")
    if record.get("status") != "ok" or record.get("scale") != (scale or "default") or not times:
        return None
    return times if len(times) == len(cache.code_cells(notebook)) else None


def plan(notebooks: list[Path], out: Path, *, scale: str | None, force: bool = False) -> tuple[list[Path], list[str]]:
    """Which of ``notebooks`` to execute, and the stems of those whose run in ``out`` still holds
    (:func:`still_valid`), whose executed copies get the current prose (:func:`cache.with_current_prose`); print
    why each one is executed or reused."""
    to_run, reused = [], []
    for notebook in notebooks:
        why = reason_to_execute(notebook, out, scale=scale, force=force)
        if why is None:
            try:
                cache.with_current_prose(notebook, executed_path(notebook, out))
            except ValueError as error:
                why = str(error)
        if why is None:
            reused.append(notebook.stem)
            print(f"{notebook.stem}: unchanged since its last run; its outputs are reused", flush=True)
        else:
            to_run.append(notebook)
            print(f"{notebook.stem}: to execute ({why})", flush=True)
    return to_run, reused


def reason_to_execute(notebook: Path, out: Path, *, scale: str | None, force: bool = False) -> str | None:
    """Why ``notebook`` must be executed again (``"--force"`` or what :func:`still_valid` says), or ``None``."""
    if force:
        return "--force"
    valid, why = still_valid(notebook, out, scale=scale)
    return None if valid else why


def threads_per_job(jobs: int) -> int:
    """The CPU threads each of ``jobs`` chapters running at once may use: the cores shared out, at least one."""
    return max(1, (os.cpu_count() or 1) // jobs)


def cell_timeout(timeout: int, threads: int) -> int:
    """A cell's limit for a chapter given ``threads`` of the machine's cores, from ``timeout``, its limit with all
    of them: a cell that shares its work out over the cores (Chapter 5's benchmark runs one process per thread)
    takes as many times longer as it has fewer cores."""
    return round(timeout * max(1, (os.cpu_count() or 1) / threads))


def default_jobs() -> int:
    """How many chapters run at once by default: one per CPU core, up to the number of chapters."""
    return max(1, min(os.cpu_count() or 1, len(chapters())))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m teachbind.course.book", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=["quick", "book", "paper"], default=None,
                        help="SCALE for every chapter (default: each chapter's own default, 'book')")
    parser.add_argument("--out", type=Path, default=ROOT / "_build", help="output folder (default: _build)")
    parser.add_argument("--timeout", type=int, default=1800,
                        help="seconds allowed for any one cell with every core (longer in proportion for a chapter "
                             "that shares the cores with others)")
    parser.add_argument("--jobs", type=int, default=default_jobs(),
                        help="chapters executed at once, the cores shared among them (default: one per core, "
                             f"{default_jobs()} here)")
    parser.add_argument("--force", action="store_true",
                        help="execute every chapter, even those whose earlier run in OUT still holds")
    parser.add_argument("--site-only", action="store_true",
                        help="render the website from the chapters already executed in OUT, without running them")
    parser.add_argument("--student", action="store_true",
                        help="build the student edition, without the exercises' solutions and checks, into "
                             "OUT/student/html")
    parser.add_argument("--dry-run", action="store_true",
                        help="say which chapters would be executed and why, then stop")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    start = time.time()
    if args.dry_run:
        for notebook in chapters():
            why = reason_to_execute(notebook, args.out, scale=args.scale, force=args.force)
            print(f"{notebook.stem}: {f'would be executed ({why})' if why else 'would be reused'}")
        return
    to_run, reused = ([], []) if args.site_only else plan(chapters(), args.out, scale=args.scale, force=args.force)
    jobs = min(args.jobs, max(1, len(to_run)))
    records = execute_chapters(to_run, args.out, scale=args.scale, timeout=args.timeout, jobs=jobs,
                               start=start) if to_run else {}
    failed = {stem: record["status"] for stem, record in records.items() if record["status"] != "ok"}
    run_file = args.out / "book-run.json"
    if not args.site_only:
        write_json(run_file, {"chapters_seconds": round(time.time() - start, 1), "jobs": jobs,
                              "threads": threads_per_job(jobs),
                              "cores": os.cpu_count(), "executed": sorted(records), "reused": reused,
                              "failed": sorted(failed)})
    if failed:
        for stem, status in failed.items():
            print(f"{stem} failed, {status}; its partly executed notebook is "
                  f"{executed_path(Path(stem + '.ipynb'), args.out)}", file=sys.stderr)
        print(f"the website was not built. The other chapters' runs are kept in {args.out} and reused next time.",
              file=sys.stderr)
        sys.exit(1)
    print(f"building the {'student edition of the ' if args.student else ''}website ...", flush=True)
    where = args.out / "student" if args.student else args.out
    html = build_site(stage_site(args.out, where / "site", student=args.student), where / "html")
    if not args.site_only:
        write_json(run_file, {**json.loads(run_file.read_text()), "seconds": round(time.time() - start, 1)})
    print(f"done in {time.time() - start:.0f} s ({len(records)} chapters executed, {len(reused)} reused): open "
          f"{html / 'index.html'}")


if __name__ == "__main__":
    main()
