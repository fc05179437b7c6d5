"""Record each chapter's key results, for later chapters and for the book's reproduction page, and glue the numbers
the prose quotes.

``record("01_sequences", pwm_auc={...}, n_experiments=18)`` merges the values into ``<results>/01_sequences.json``
(see `results_dir`). The file is a flat JSON object whose values are numbers or ``{name: number}`` maps.
``glue(mean_auc=0.912)`` makes a value of the run available to the chapter's prose as ``{glue:text}`mean_auc:.3f```.
"""

from __future__ import annotations

import json
import math
import numbers
import os
from pathlib import Path

RESULTS_ENV = "TEACHBIND_RESULTS_DIR"
READER_FOLDER = "teachbind-results"
GLUE_PREFIX = "application/papermill.record/"


def results_dir() -> Path:
    """The folder results are written to.

    ``$TEACHBIND_RESULTS_DIR`` when it is set (the book's runner and the grader set it); else ``_build/results`` in
    the book's root, the nearest folder from the working directory up that holds ``_config.yml`` and ``nbs/`` (a
    chapter opened in Jupyter from ``nbs/`` writes where the book build does); else ``teachbind-results/`` in the
    working directory, which is the notebook's own folder in Jupyter and ``/content`` on Colab.
    """
    if os.environ.get(RESULTS_ENV):
        return Path(os.environ[RESULTS_ENV])
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "_config.yml").is_file() and (folder / "nbs").is_dir():
            return folder / "_build" / "results"
    return here / READER_FOLDER


def _check_number(key: str, value) -> float | int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"result {key!r} must be a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"result {key!r} is {value}")
    return int(value) if isinstance(value, numbers.Integral) else float(value)


def _check(key: str, value):
    if isinstance(value, dict):
        return {str(name): _check_number(f"{key}[{name!r}]", v) for name, v in value.items()}
    return _check_number(key, value)


def record(chapter: str, /, **metrics) -> Path:
    """Merge ``metrics`` (numbers or ``{name: number}`` maps) into the results file of ``chapter`` (a notebook's
    file stem, e.g. ``"01_sequences"``); return the file's path."""
    if not chapter or Path(chapter).name != chapter or chapter.endswith(".ipynb"):
        raise ValueError(f"chapter must be a notebook's file stem such as '01_sequences', got {chapter!r}")
    checked = {key: _check(key, value) for key, value in metrics.items()}
    path = results_dir() / f"{chapter}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    current = json.loads(path.read_text()) if path.exists() else {}
    current.update(checked)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)
    return path


def _plain(value):
    if isinstance(value, str):
        return value
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"glue takes numbers and strings, got {type(value).__name__}")
    if isinstance(value, numbers.Integral):
        return int(value)
    if not math.isfinite(value):
        raise ValueError(f"cannot glue {value}: the run produced no number")
    return float(value)


def glue(**values) -> None:
    """Make each value available to the prose of this notebook, by name, without showing it.

    The same output as myst-nb's ``glue(name, value, display=False)``, with NumPy and torch scalars turned into
    Python numbers first, so that ``{glue:text}`name:.3f``` formats them. Strings are pasted as they are.
    """
    from IPython.display import display

    for name, value in values.items():
        display({GLUE_PREFIX + "text/plain": repr(_plain(value))}, raw=True,
                metadata={"scrapbook": {"name": name, "mime_prefix": GLUE_PREFIX}})


def paper_numbers(chapter: str | None = None) -> list[dict]:
    """The published numbers in ``teachbind/paper_numbers.yml`` (all, or one chapter's): entries with ``chapter``,
    ``result``, optional ``item``, ``paper`` (a number or null), optional ``sd``, ``what``, ``source`` and, for a
    number the prose quotes, ``glue`` (the name it is glued under)."""
    import yaml

    entries = yaml.safe_load((Path(__file__).with_name("paper_numbers.yml")).read_text())
    return [entry for entry in entries if chapter is None or entry["chapter"] == chapter]


def glue_paper(chapter: str) -> None:
    """Glue every published number of ``chapter`` that has a ``glue`` name, and its ``sd`` as ``<name>_sd``."""
    for entry in paper_numbers(chapter):
        if entry.get("glue"):
            glue(**{entry["glue"]: entry["paper"]})
            if entry.get("sd") is not None:
                glue(**{entry["glue"] + "_sd": entry["sd"]})


def load(stem: str) -> dict:
    """The results recorded by notebook ``stem`` (e.g. ``"01_sequences"``); ``FileNotFoundError`` if none."""
    path = results_dir() / f"{stem}.json"
    if not path.exists():
        raise FileNotFoundError(f"no results recorded for {stem!r} at {path}: run that chapter first")
    return json.loads(path.read_text())


def _number(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    return f"{value:.2e}" if value != 0 and abs(value) < 0.01 else f"{value:.3f}"


def _chapter_link(stem: str, titles: dict[str, str]) -> str:
    return f"[{titles.get(stem, stem)}](../nbs/{stem}.ipynb)"


def execution_page(execution_dir: Path, titles: dict[str, str]) -> str:
    """The execution report (Markdown): each chapter's scale, status, wall time and device, and the package
    versions, from the runner's records in ``execution_dir`` (one ``<stem>.json`` per chapter)."""
    records = [json.loads(path.read_text()) for path in sorted(Path(execution_dir).glob("*.json"))]
    lines = ["# Execution report", "",
             "Generated when the book was built (`scripts/book`), from the record the runner writes for each chapter "
             "it executes. The website shows this run.", "",
             "| chapter | scale | status | wall time | device |", "|---|---|---|---|---|"]
    for record in records:
        stem = record["notebook"].removesuffix(".ipynb")
        scale = "book (the default)" if record.get("scale") == "default" else record.get("scale")
        status = "ok" if record.get("status") == "ok" else f"**failed**: {record.get('status')}"
        minutes, seconds = divmod(round(record.get("seconds", 0)), 60)
        lines.append(f"| {_chapter_link(stem, titles)} | {scale} | {status} | {minutes} min {seconds:02d} s | "
                     f"{record.get('device', 'not recorded')} |")
    total = sum(record.get("seconds", 0) for record in records)
    lines += ["", f"Total: {total / 60:.1f} minutes for {len(records)} chapters.", "", "## Package versions", ""]
    versions = [record.get("versions", {}) for record in records]
    names = list(dict.fromkeys(name for v in versions for name in v))
    if all(v == versions[0] for v in versions):
        lines += ["| package | version |", "|---|---|"] + [f"| {n} | {versions[0][n]} |" for n in names]
    else:
        stems = [record["notebook"].removesuffix(".ipynb") for record in records]
        lines += ["| package | " + " | ".join(stems) + " |", "|---" * (len(stems) + 1) + "|"]
        lines += [f"| {n} | " + " | ".join(v.get(n, "") for v in versions) + " |" for n in names]
    return "\n".join(lines) + "\n"


def reproduction_page(results_dir: Path, paper: list[dict], titles: dict[str, str]) -> str:
    """The reproduction report (Markdown): every result each chapter recorded in ``results_dir``, beside the
    published number from ``paper`` (entries with ``chapter``, ``result``, optional ``item``, ``paper`` (a number
    or null), ``what`` and ``source``), with the difference."""
    described = {(e["chapter"], e["result"], e.get("item")): e for e in paper}
    lines = ["# Reproduction report", "",
             "Generated when the book was built, from the results each chapter recorded in this run, beside the "
             "published numbers gathered in `teachbind/paper_numbers.yml` (each with its source). \"—\" means no "
             "published number to compare with: a baseline or synthetic check of ours, or a number that could not "
             "be verified against a primary source. Each chapter explains its gaps.", ""]
    for path in sorted(Path(results_dir).glob("*.json")):
        stem = path.stem
        results = json.loads(path.read_text())
        lines += [f"## {_chapter_link(stem, titles)}", "",
                  "| result | ours | paper | ours − paper | what it is; source |", "|---|---|---|---|---|"]
        for key, value in results.items():
            rows = [(key, None, value)]
            if isinstance(value, dict):
                rows += [(key, item, value[item]) for (chapter, result, item) in described
                         if chapter == stem and result == key and item in value]
            for key_, item, ours in rows:
                entry = described.get((stem, key_, item), {})
                if isinstance(ours, dict):
                    numbers = list(ours.values())
                    shown = (f"mean {_number(sum(numbers) / len(numbers))} over {len(numbers)} "
                             f"({_number(min(numbers))}–{_number(max(numbers))})")
                    ours_value = sum(numbers) / len(numbers)
                else:
                    shown, ours_value = _number(ours), ours
                published = entry.get("paper")
                difference = f"{ours_value - published:+.3f}" if published is not None else "—"
                name = f"`{key_}[{item}]`" if item else f"`{key_}`"
                note = "; ".join(part for part in (entry.get("what"), entry.get("source")) if part) or \
                    "not described in teachbind/paper_numbers.yml"
                lines.append(f"| {name} | {shown} | {_number(published) if published is not None else '—'} | "
                             f"{difference} | {note} |")
        lines.append("")
    return "\n".join(lines)
