"""Record each chapter's key results, for the book's reproduction page, and glue the numbers the prose quotes. Every
chapter calls it, from Chapter 1 (``nbs/01_sequences.ipynb``) on; no chapter reads another's results.

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

    entries = yaml.safe_load((Path(__file__).parents[1] / "paper_numbers.yml").read_text())
    return [entry for entry in entries if chapter is None or entry["chapter"] == chapter]


def glue_paper(chapter: str) -> None:
    """Glue every published number of ``chapter`` that has a ``glue`` name, and its ``sd`` as ``<name>_sd``."""
    for entry in paper_numbers(chapter):
        if entry.get("glue"):
            glue(**{entry["glue"]: entry["paper"]})
            if entry.get("sd") is not None:
                glue(**{entry["glue"] + "_sd": entry["sd"]})


def _number(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    return f"{value:.2e}" if value != 0 and abs(value) < 0.01 else f"{value:.3f}"


def _chapter_link(stem: str, titles: dict[str, str]) -> str:
    return f"[{titles.get(stem, stem)}](../nbs/{stem}.ipynb)"


def execution_page(execution_dir: Path, titles: dict[str, str], run: dict | None = None) -> str:
    """The execution report (Markdown): each chapter's scale, status, wall time, device, when it was executed and
    its peak memory, and the package versions, from the runner's records in ``execution_dir`` (one
    ``<stem>.json`` per chapter), and, given the runner's ``run`` record (``book-run.json``), the wall time of the
    build as one run. Records of notebooks that are not among ``titles`` (a chapter renamed since) are left out."""
    records = [json.loads(path.read_text()) for path in sorted(Path(execution_dir).glob("*.json"))
               if path.stem in titles]
    lines = ["# Execution report", "",
             "Generated when the book was built (`scripts/book`), from the record the runner writes for each chapter "
             "it executes. The website shows this run.", "",
             "| chapter | scale | status | wall time | device | executed | peak memory |",
             "|---|---|---|---|---|---|---|"]
    for record in records:
        stem = record["notebook"].removesuffix(".ipynb")
        scale = "book (the default)" if record.get("scale") == "default" else record.get("scale")
        status = "ok" if record.get("status") == "ok" else f"**failed**: {record.get('status')}"
        minutes, seconds = divmod(round(record.get("seconds", 0)), 60)
        when = record.get("finished", "")[:10] or "—"
        if run is not None:
            when = "in this build" if stem in run.get("executed", []) else f"{when}, reused"
        memory = f"{record['peak_memory_gb']:.1f} GB" if "peak_memory_gb" in record else "—"
        lines.append(f"| {_chapter_link(stem, titles)} | {scale} | {status} | {minutes} min {seconds:02d} s | "
                     f"{record.get('device', 'not recorded')} | {when} | {memory} |")
    total = sum(record.get("seconds", 0) for record in records)
    lines += ["", f"Total: {total / 60:.1f} minutes for {len(records)} chapters.", ""]
    if run is not None:
        lines += [f"This build was one `./scripts/book` run with `--jobs {run['jobs']}` ({run['threads']} CPU "
                  f"thread{'s' if run['threads'] != 1 else ''} per chapter on {run['cores']} cores): it executed "
                  f"{len(run['executed'])} chapter{'s' if len(run['executed']) != 1 else ''} in "
                  f"{run['chapters_seconds'] / 60:.1f} minutes of wall time and reused {len(run['reused'])} whose "
                  "code, imported package modules, data files and installed packages had not changed since they "
                  "last ran (their prose is always the current one).", ""]
    lines += ["## Package versions", ""]
    versions = [record.get("versions", {}) for record in records]
    names = list(dict.fromkeys(name for v in versions for name in v))
    if all(v == versions[0] for v in versions):
        lines += ["| package | version |", "|---|---|"] + [f"| {n} | {versions[0][n]} |" for n in names]
    else:
        stems = [record["notebook"].removesuffix(".ipynb") for record in records]
        lines += ["| package | " + " | ".join(stems) + " |", "|---" * (len(stems) + 1) + "|"]
        lines += [f"| {n} | " + " | ".join(v.get(n, "") for v in versions) + " |" for n in names]
    return "\n".join(lines) + "\n"


def _published_pairs(results_dir: Path, paper: list[dict]) -> list[tuple[str, dict, float]]:
    """(chapter, entry, ours) for every recorded result, or item of one, that has a published number."""
    pairs = []
    for entry in paper:
        path = Path(results_dir) / f"{entry['chapter']}.json"
        if entry.get("paper") is None or not path.exists():
            continue
        value = json.loads(path.read_text()).get(entry["result"])
        if entry.get("item") is not None:
            value = value.get(entry["item"]) if isinstance(value, dict) else None
        if isinstance(value, (int, float)):
            pairs.append((entry["chapter"], entry, value))
    return pairs


def _row(label: str, ours: str, entry: dict, ours_value: float | None) -> str:
    published = entry.get("paper")
    difference = f"{ours_value - published:+.3f}" if published is not None and ours_value is not None else "—"
    return f"| {label} | {ours} | {_number(published) if published is not None else '—'} | {difference} |"


def _dropdown(title: str, lines: list[str]) -> list[str]:
    return [f":::{{admonition}} {title}", ":class: dropdown", "", *lines, ":::", ""]


def reproduction_page(results_dir: Path, paper: list[dict], titles: dict[str, str], figure: str | None = None) -> str:
    """The reproduction report (Markdown): every result each chapter recorded in ``results_dir``, labelled by what
    it is and set beside the published number from ``paper`` (entries as `paper_numbers` returns them) with the
    difference. A per-experiment map shows as its mean in the table and in full in a dropdown; the sources are in a
    dropdown too. Only chapters among ``titles`` are shown. ``figure``, a path relative to the page, is shown at the top: ours against the paper's."""
    described = {(e["chapter"], e["result"], e.get("item")): e for e in paper}
    lines = ["# Reproduction report", "",
             "Generated when the book was built, from the results each chapter recorded in this run, beside the "
             "published numbers gathered in `teachbind/paper_numbers.yml` (each with its source). \"—\" means no "
             "published number to compare with: a baseline or synthetic check of ours, or a number that could not "
             "be verified against a primary source. Each chapter explains its gaps.", ""]
    if figure:
        lines += [f"```{{figure}} {figure}", ":alt: Each result that has a published number, ours on the vertical "
                  "axis against the paper's on the horizontal, one marker per chapter, with the diagonal where they "
                  "would be equal.", ":width: 420px", "",
                  "Every recorded result that has a published number: ours against the paper's. Points on the "
                  "diagonal reproduce the paper; several compare different tasks or data, as the table notes say.",
                  "```", ""]
    for path in sorted(path for path in Path(results_dir).glob("*.json") if path.stem in titles):
        stem, results = path.stem, json.loads(path.read_text())
        lines += [f"## {_chapter_link(stem, titles)}", "", "| result | ours | paper | ours − paper |",
                  "|---|---|---|---|"]
        sources, maps = [], []
        for key, value in results.items():
            entry = described.get((stem, key, None), {})
            label = entry.get("what") or f"`{key}` (not described in teachbind/paper_numbers.yml)"
            if isinstance(value, dict):
                numbers = list(value.values())
                mean = sum(numbers) / len(numbers)
                shown = f"mean {_number(mean)} over {len(numbers)} ({_number(min(numbers))}–{_number(max(numbers))})"
                lines.append(_row(label, shown, entry, mean if entry.get("paper") is not None else None))
                for item, ours in value.items():
                    item_entry = described.get((stem, key, item))
                    if item_entry is not None:
                        lines.append(_row(item_entry.get("what") or f"{label}: {item}", _number(ours), item_entry, ours))
                        sources.append((item_entry.get("what"), item_entry.get("source")))
                maps += [f"**{label}**", "", "| | ours |", "|---|---|"]
                maps += [f"| `{item}` | {_number(ours)} |" for item, ours in value.items()] + [""]
            else:
                lines.append(_row(label, _number(value), entry, value))
            sources.append((entry.get("what") or f"`{key}`", entry.get("source")))
        lines.append("")
        if maps:
            lines += _dropdown("Per-experiment values", maps)
        lines += _dropdown("Sources", [f"- {what}: {source or 'no source given'}" for what, source in sources])
    return "\n".join(lines)


def reproduction_figure(results_dir: Path, paper: list[dict], path: Path) -> Path | None:
    """Save the reproduction page's summary figure to ``path`` (PNG): every recorded result that has a published
    number, ours against the paper's. None, and no file, when there is no such result."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs = [(chapter, entry["paper"], ours) for chapter, entry, ours in _published_pairs(results_dir, paper)
             if 0 <= entry["paper"] <= 1 and 0 <= ours <= 1]
    if not pairs:
        return None
    fig, ax = plt.subplots(figsize=(4.2, 4.2))
    for chapter in dict.fromkeys(chapter for chapter, _, _ in pairs):
        xs, ys = zip(*[(published, ours) for c, published, ours in pairs if c == chapter])
        ax.scatter(xs, ys, label=chapter, s=30)
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
    low = min(min(p, o) for _, p, o in pairs) - 0.05
    ax.set(xlim=(low, 1), ylim=(low, 1), xlabel="published", ylabel="this build", aspect="equal")
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
