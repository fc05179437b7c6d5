"""The book runner's execution cache: a chapter is executed again only when something its result depends on changed.
Used by :mod:`teachbind.course.book` (``./scripts/book``); no chapter calls it.

A chapter's *inputs* (:func:`inputs`) name everything its executed notebook and recorded results depend on, each
with a digest or a version:

- its code cells (their sources and the tags that change how they run) and the parameters it is run with;
- every module of ``teachbind`` it imported when it last ran, and every file of the package that is not Python
  (``paper_numbers.yml``, the data registry);
- every registered data file it fetched when it last ran, by the sha256 the registry holds (and
  :func:`teachbind.data.registry.fetch` verifies);
- every existing file a parameter names;
- the Python version, the version of every installed distribution, and the device.

A chapter can import or fetch something new only if code it depends on changed, so the lists from its last run
decide soundly whether to run it again: editing a module that no chapter imported re-executes nothing, editing
``teachbind/models/ideep.py`` re-executes the chapters that imported it. Markdown is not an input: after a prose
edit the runner pastes the new markdown around the outputs already computed (:func:`with_current_prose`). Chapters
do not read one another's results, which is what lets the runner execute them side by side.

While a chapter runs, :mod:`teachbind.course.dependencies` logs the modules it imports and the data files it
fetches; :func:`teachbind.course.dependencies.read_log` reads that log.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
REGISTRY = Path("data", "registry.tsv")
RENDER_ONLY_TAGS = frozenset({"hide-input", "hide-output", "hide-cell", "remove-input", "remove-output",
                              "remove-cell", "full-width", "margin", "colab", "output_scroll", "scroll-output",
                              "scroll-input", "thebe-init"})
"""Cell tags that change only how a page shows a cell, never what the cell computes."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def module_file(name: str, package: Path) -> Path:
    """The source file of module ``name`` (``teachbind.models.ideep``) inside ``package`` (the ``teachbind``
    folder), whether or not it exists now."""
    parts = name.split(".")[1:]
    folder = package.joinpath(*parts)
    return folder / "__init__.py" if folder.is_dir() else folder.with_suffix(".py")


def _file_digest(path: Path) -> str:
    return sha256(path.read_bytes()) if path.is_file() else "missing"


def package_data(package: Path) -> list[Path]:
    """Every file of the package that is not Python source, a cache or the data registry (whose entries count one
    by one, for the files a chapter fetched)."""
    return sorted(p for p in package.rglob("*") if p.is_file() and p.suffix not in {".py", ".pyc", ".nbi", ".nbc"}
                  and "__pycache__" not in p.parts and p != package / REGISTRY)


def code_cells(notebook: Path) -> list[dict]:
    """What of each code cell can change its result: the source and the tags that are not only for the page."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    return [{"source": cell.source, "tags": sorted(set(cell.metadata.get("tags", [])) - RENDER_ONLY_TAGS)}
            for cell in nb.cells if cell.cell_type == "code"]


def _named_files(parameters: dict) -> list[Path]:
    values = [v for value in parameters.values() for v in (value if isinstance(value, (list, tuple)) else [value])]
    return sorted({Path(v).expanduser().resolve() for v in values if isinstance(v, str) and v
                   and Path(v).expanduser().is_file()})


def environment(device: str) -> dict[str, str]:
    """The Python version, the device, and the version of every installed distribution but teachbind's own."""
    import platform
    from importlib.metadata import distributions

    versions = {f"distribution {d.metadata['Name'].lower()}": d.version for d in distributions()
                if d.metadata["Name"] and d.metadata["Name"].lower() != "teachbind"}
    return {"python": platform.python_version(), "device": device, **dict(sorted(versions.items()))}


def inputs(notebook: Path, *, parameters: dict, modules: list[str] | None, data: list[str] | None, device: str,
           package: Path | None = None) -> dict[str, str]:
    """Everything a chapter's result depends on, name → digest or version.

    ``modules`` and ``data`` are the teachbind modules and registered data files the chapter used when it last ran
    (:func:`teachbind.course.dependencies.read_log`); ``None`` when unknown, and then every module of the package
    and the whole registry count.
    ``package``: the ``teachbind`` folder (default :data:`PACKAGE`, the one this module is in).
    """
    from teachbind.data import registry

    package = package or PACKAGE
    found = {f"code cell {i}": sha256(json.dumps(cell, sort_keys=True).encode())
             for i, cell in enumerate(code_cells(notebook), start=1)}
    found["parameters"] = json.dumps(parameters, sort_keys=True)
    sources = ([module_file(name, package) for name in modules] if modules is not None
               else sorted(package.rglob("*.py")))
    for path in [*sources, *package_data(package), *([package / REGISTRY] if data is None else [])]:
        found[f"package {path.relative_to(package.parent).as_posix()}"] = _file_digest(path)
    if data is not None:
        known = registry.registered()
        found.update({f"data {path}": known[path].sha256 if path in known else "unregistered" for path in data})
    for path in _named_files(parameters):
        found[f"file {path}"] = _file_digest(path)
    found.update(environment(device))
    return found


def changes(old: dict[str, str], new: dict[str, str]) -> list[str]:
    """The names of the inputs that differ between two :func:`inputs` (added, removed or changed)."""
    return sorted(name for name in old.keys() | new.keys() if old.get(name) != new.get(name))


def save(path: Path, *, inputs: dict[str, str], modules: list[str], data: list[str]) -> None:
    """Store a chapter's inputs and dependency lists at ``path`` (beside its executed notebook)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"modules": modules, "data": data, "inputs": inputs}, indent=1) + "\n")
    tmp.replace(path)


def load(path: Path) -> dict | None:
    """What :func:`save` stored at ``path``, or ``None`` when there is nothing readable there."""
    try:
        stored = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return stored if {"modules", "data", "inputs"} <= set(stored) else None


def with_current_prose(notebook: Path, executed: Path) -> None:
    """Rewrite ``executed`` as the current ``notebook`` (its markdown, its cells' tags) with the outputs the
    executed copy holds, cell for cell; papermill's injected-parameters cell stays after the parameters cell.
    ``ValueError`` when the two do not have the same code cells."""
    import nbformat

    current, done = nbformat.read(notebook, as_version=4), nbformat.read(executed, as_version=4)
    injected = [c for c in done.cells if "injected-parameters" in c.metadata.get("tags", [])]
    ran = [c for c in done.cells if c.cell_type == "code" and all(c is not i for i in injected)]
    code = [c for c in current.cells if c.cell_type == "code"]
    if [c.source for c in code] != [c.source for c in ran]:
        raise ValueError(f"{executed} does not hold the code cells of {notebook}")
    for cell, result in zip(code, ran):
        cell.outputs, cell.execution_count = result.outputs, result.execution_count
        if "papermill" in result.metadata:
            cell.metadata["papermill"] = result.metadata["papermill"]
    cells = []
    for cell in current.cells:
        cells.append(cell)
        if "parameters" in cell.metadata.get("tags", []):
            cells += injected
    current.cells = cells
    for key in ("papermill", "kernelspec", "language_info"):
        if key in done.metadata:
            current.metadata[key] = done.metadata[key]
    nbformat.write(current, executed)
