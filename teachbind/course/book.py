"""Execute the book's chapters with papermill and render the website from the executed copies.

``python -m teachbind.course.book [--scale book] [--out _build]`` runs every chapter in ``nbs/`` with the given scale
(default: each chapter's own default), writes the executed notebooks to ``<out>/executed/nbs/``, their recorded
results to ``<out>/results/`` and their execution records (scale, status, wall time, device, package versions) to
``<out>/execution/``, then builds the site into ``<out>/html/`` with Sphinx warnings treated as errors; the
execution and reproduction pages are generated from those records (``--site-only`` renders again without running
the chapters). The tests call the same functions at ``--scale quick``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import yaml

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
                    parameters: dict | None = None) -> dict:
    """Run one chapter with papermill into ``out/executed/nbs/``; return and save its execution record.

    ``scale`` sets ``SCALE`` and ``parameters`` any other value of the chapter's parameters cell. The record
    (``out/execution/<stem>.json``) holds the notebook, the scale, the other parameters given, the wall time in
    seconds and the status (``"ok"`` or the error). Results the chapter records go to ``out/results/``. Raises
    ``papermill.PapermillExecutionError`` when a cell fails, after saving the partly executed notebook.
    """
    import papermill

    notebook = Path(notebook)
    executed = out / "executed" / "nbs" / notebook.name
    executed.parent.mkdir(parents=True, exist_ok=True)
    parameters = {**(parameters or {}), **({"SCALE": scale} if scale else {})}
    record = {"notebook": notebook.name, "scale": scale or "default", "status": "ok", "device": device_name(),
              "versions": package_versions(), **({"parameters": parameters} if set(parameters) - {"SCALE"} else {})}
    environment = {"TEACHBIND_RESULTS_DIR": str((out / "results").resolve())}
    if os.environ.get("TEACHBIND_DATA_DIR"):
        environment["TEACHBIND_DATA_DIR"] = str(Path(os.environ["TEACHBIND_DATA_DIR"]).expanduser().resolve())
    start = time.perf_counter()
    try:
        with _environment(**environment):
            papermill.execute_notebook(str(notebook), str(executed), parameters=parameters, kernel_name="python3",
                                       cwd=str(notebook.parent), execution_timeout=timeout, progress_bar=False)
    except Exception as error:
        record["status"] = f"{type(error).__name__}: {str(error).strip().splitlines()[-1] if str(error) else ''}"
        raise
    finally:
        record["seconds"] = round(time.perf_counter() - start, 1)
        log = out / "execution" / f"{notebook.stem}.json"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(json.dumps(record, indent=2) + "\n")
    return record


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


def stage_site(out: Path, stage: Path, root: Path = ROOT) -> Path:
    """Assemble a book source folder at ``stage``: the site files, the executed chapters from ``out/executed/nbs``
    (execution off), and the execution and reproduction pages generated from ``out/execution`` and
    ``out/results``."""
    from teachbind.course import report

    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
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
        executed = out / "executed" / "nbs" / notebook.name
        if not executed.exists():
            raise FileNotFoundError(f"{notebook.name} has not been executed: no {executed}")
        record = json.loads((out / "execution" / f"{notebook.stem}.json").read_text())
        with_header(executed, stage / "nbs" / notebook.name, execution_line(record))
    titles = {nb.stem: chapter_title(nb) for nb in chapters(root)}
    (stage / "book" / "execution.md").write_text(report.execution_page(out / "execution", titles))
    paper = report.paper_numbers()
    figure = report.reproduction_figure(out / "results", paper, stage / "book" / "reproduction.png")
    (stage / "book" / "reproduction.md").write_text(
        report.reproduction_page(out / "results", paper, titles, figure=figure.name if figure else None))
    return stage


def execution_line(record: dict) -> str:
    """What a chapter page says under its title about the run it shows (Markdown), from its execution record: the
    scale, the wall time and the device, and a note when the scale is not the book's default."""
    scale = "book" if record.get("scale", "default") == "default" else record["scale"]
    minutes, seconds = divmod(round(record.get("seconds", 0)), 60)
    line = (f"*This page shows a run with `SCALE = \"{scale}\"`: {minutes} min {seconds:02d} s on "
            f"{record.get('device', 'an unrecorded device')} (see the {{doc}}`execution report <../book/execution>`).*")
    if scale != "book":
        line += ("\n\n```{note}\nThis page was executed with `SCALE = \"" + scale + "\"`, not the book's default "
                 "`\"book\"`. Every number on it comes from this run; what the prose says was seen \"at book scale\" "
                 "describes the book-scale run.\n```")
    return line


def with_header(executed: Path, staged: Path, header: str) -> None:
    """Copy the executed chapter to ``staged`` with ``header`` placed under its title."""
    import nbformat

    nb = nbformat.read(executed, as_version=4)
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m teachbind.course.book", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=["quick", "book", "paper"], default=None,
                        help="SCALE for every chapter (default: each chapter's own default, 'book')")
    parser.add_argument("--out", type=Path, default=ROOT / "_build", help="output folder (default: _build)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds allowed for any one cell")
    parser.add_argument("--site-only", action="store_true",
                        help="render the website from the chapters already executed in OUT, without running them")
    args = parser.parse_args(argv)
    total = time.perf_counter()
    for notebook in [] if args.site_only else chapters():
        print(f"executing {notebook.name} ...", flush=True)
        record = execute_chapter(notebook, args.out, scale=args.scale, timeout=args.timeout)
        print(f"  {record['status']} in {record['seconds']:.0f} s", flush=True)
    print("building the website ...", flush=True)
    html = build_site(stage_site(args.out, args.out / "site"), args.out / "html")
    print(f"done in {time.perf_counter() - total:.0f} s: open {html / 'index.html'}")


if __name__ == "__main__":
    main()
