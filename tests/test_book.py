"""The chapters as tests: committed clean, parametrised for papermill, executed at quick scale, rendered, browsed."""

import ast
import functools
import html.parser
import http.server
import json
import os
import re
import threading
import urllib.parse

import nbformat
import pytest

import conftest
from browser import Browser, chromium_path
from conftest import ROOT
from teachbind import data
from teachbind.course import book

OUT = ROOT / "_build" / "test"
CHAPTERS = book.chapters()
QUICK_TIMEOUT = 300


@functools.cache
def run_quick(name: str) -> dict:
    """Execute a chapter once per test session at SCALE="quick", with the session's seed (``--seed``)."""
    return book.execute_chapter(ROOT / "nbs" / name, OUT, scale="quick", timeout=QUICK_TIMEOUT,
                                parameters={"SEED": conftest.SEED})


def test_there_are_chapters():
    assert [nb.name for nb in CHAPTERS] == ["01_sequences.ipynb", "02_training.ipynb", "03_deepbind.ipynb",
                                            "04_basset.ipynb", "05_ideep.ipynb", "06_residualbind.ipynb",
                                            "07_attribution.ipynb"]


def test_every_chapter_is_in_the_table_of_contents_in_order():
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [chapter["file"] for part in toc["parts"] for chapter in part["chapters"]]
    assert [f for f in files if f.startswith("nbs/")] == [f"nbs/{nb.stem}" for nb in CHAPTERS]


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.stem)
def test_committed_without_outputs(notebook):
    nb = nbformat.read(notebook, as_version=4)
    dirty = [i for i, cell in enumerate(nb.cells)
             if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)]
    assert not dirty, f"{notebook.name}: cells {dirty} carry outputs; clear them before committing"


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.stem)
def test_opens_with_the_colab_install_cell_and_then_the_parameters(notebook):
    nb = nbformat.read(notebook, as_version=4)
    colab, parameters = [cell for cell in nb.cells if cell.cell_type == "code"][:2]
    assert colab.source == book.colab_cell(), "the first code cell installs teachbind on Colab: book.colab_cell()"
    assert {"colab", "remove-cell"} <= set(colab.metadata.get("tags", []))
    assert "parameters" in parameters.metadata.get("tags", []), "the second code cell must be tagged 'parameters'"
    values = {node.targets[0].id: ast.literal_eval(node.value) for node in ast.parse(parameters.source).body
              if isinstance(node, ast.Assign)}
    assert values.get("SCALE") == "book" and values.get("DEVICE") == "auto", values


def test_a_chapter_page_opens_with_what_it_was_executed_with(tmp_path):
    record = {"notebook": "01_sequences.ipynb", "scale": "quick", "seconds": 75.4, "device": "CPU: test, 2 cores"}
    book.with_header(CHAPTERS[0], tmp_path / "page.ipynb", book.execution_line(record))
    first = nbformat.read(tmp_path / "page.ipynb", as_version=4).cells[0].source
    title, line = first.splitlines()[0], first.splitlines()[2]
    assert title == nbformat.read(CHAPTERS[0], as_version=4).cells[0].source.splitlines()[0]
    assert line == ('*This page shows a run with `SCALE = "quick"`: 1 min 15 s on CPU: test, 2 cores '
                    '(see the {doc}`execution report <../book/execution>`).*')
    assert '```{note}\nThis page was executed with `SCALE = "quick"`' in first
    default = book.execution_line({**record, "scale": "default"})
    assert '`SCALE = "book"`' in default and "{note}" not in default


@pytest.mark.notebook
@pytest.mark.timeout(QUICK_TIMEOUT + 60)
@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.stem)
def test_runs_at_quick_scale(notebook):
    assert run_quick(notebook.name)["status"] == "ok"


@pytest.mark.notebook
def test_chapter_1_records_the_pwm_baseline_for_every_experiment():
    run_quick("01_sequences.ipynb")
    recorded = json.loads((OUT / "results" / "01_sequences.json").read_text())
    assert sorted(recorded["pwm_auc"]) == data.deepbind_chipseq_experiments()
    auc = recorded["pwm_auc"]
    assert all(0.3 < value <= 1 for value in auc.values())
    strong = [name for name in auc if name.startswith(("REST", "USF1", "USF2", "GABPA"))]
    assert min(auc[name] for name in strong) > 0.9, "factors with strong motifs are easy for a PWM"
    assert recorded["planted_motif_auc"] > 0.95


@pytest.mark.notebook
def test_chapter_2_trains_a_model_that_learns_finds_the_leak_and_records_intervals():
    """Thresholds from quick runs with seeds 0-4: planted AUROC 0.949-0.974, noise labels after a random split of
    overlapping windows 0.998-1.000 and after a split by source 0.462-0.546, the cross-validated choice 0.906-0.969,
    ELK1 0.912-0.935."""
    run_quick("02_training.ipynb")
    recorded = json.loads((OUT / "results" / "02_training.json").read_text())
    assert recorded["planted_auc"] > 0.9
    assert recorded["planted_auc_low"] < recorded["planted_auc"] < recorded["planted_auc_high"]
    assert recorded["noise_random_split_auc"] > 0.95, "overlapping windows on both sides of a split leak noise labels"
    assert 0.35 < recorded["noise_group_split_auc"] < 0.65, "kept apart, noise labels score chance"
    assert recorded["chosen_test_auc"] > 0.8, "the retrained winner of the search learned"
    assert recorded["encode_auc"] > 0.85
    assert recorded["encode_difference_low"] < recorded["encode_auc"] - recorded["encode_pwm_auc"] < recorded[
        "encode_difference_high"]


@pytest.mark.notebook
def test_chapter_3_recovers_the_planted_motif_and_records_deepbind_beside_the_pwm():
    run_quick("03_deepbind.ipynb")
    recorded = json.loads((OUT / "results" / "03_deepbind.json").read_text())
    assert recorded["planted_motif_tomtom_q"] < 0.05, "a learned detector must match the planted CTCF motif"
    assert recorded["planted_motif_auc"] > 0.95
    assert set(recorded["deepbind_auc"]) == set(recorded["pwm_auc"]) and len(recorded["deepbind_auc"]) >= 2
    elk1 = next(name for name in recorded["deepbind_auc"] if name.startswith("ELK1"))
    assert recorded["deepbind_auc"][elk1] > 0.85, "even the quick ELK1 model separates peaks from shuffles"
    assert set(recorded["rnacompete_pearson"]) <= set(data.rnacompete_proteins())
    assert all(0.2 < r < 1 for r in recorded["rnacompete_pearson"].values())


@pytest.mark.notebook
def test_chapter_4_records_basset_on_the_compendium_and_beside_the_kmer_baseline():
    run_quick("04_basset.ipynb")
    recorded = json.loads((OUT / "results" / "04_basset.json").read_text())
    assert len(recorded["synthetic_auroc"]) == 24 and all("|" in task for task in recorded["synthetic_auroc"])
    mean = sum(recorded["synthetic_auroc"].values()) / 24
    assert abs(recorded["synthetic_auroc_mean"] - mean) < 1e-9
    assert recorded["synthetic_auroc_mean"] > 0.6, "even the quick model learns part of the rule"
    assert 0 <= recorded["planted_motifs_found"] <= 1 and 0 <= recorded["filters_annotated_fraction"] <= 1
    assert 0.6 < recorded["kmer_auroc"] < 1 and 0.55 < recorded["dhs_auroc"] < 1
    assert 0.5 < recorded["dhs_auprc"] < 1
    assert recorded["dhs_auroc"] > recorded["dhs_auroc_published"] - 0.03, "augmentation must not cost accuracy"
    assert recorded["filters_annotated_fraction"] < 0.5, "a briefly trained model's diffuse filters name little"


@pytest.mark.notebook
def test_chapter_5_records_ideep_and_each_modality_on_the_quick_experiments():
    run_quick("05_ideep.ipynb")
    recorded = json.loads((OUT / "results" / "05_ideep.json").read_text())
    assert set(recorded["ideep_auc"]) == {"23_PARCLIP_PUM2_hg19", "24_PARCLIP_QKI_hg19", "11_CLIPSEQ_ELAVL1_hg19"}
    assert recorded["ideep_auc"]["23_PARCLIP_PUM2_hg19"] > 0.9, "3 epochs on PUM2 already reach the paper's range"
    assert set(recorded["modality_auc"]) == {"sequence", "region", "cobinding", "structure", "motif"}
    assert all(0.5 < v < 1 for v in recorded["modality_auc"].values())
    assert 0.5 < recorded["ideep_auc_mean_no_pretraining"] < 1 and 0 <= recorded["motifs_recovered"] <= 2
    synthetic = recorded["synthetic_auc"]
    assert synthetic["iDeep"] > max(synthetic[m] for m in recorded["modality_auc"]), "fusion adds the causes up"
    assert synthetic["iDeep"] < synthetic["the true log-odds (ceiling)"]
    assert 0 < recorded["structure_correlation"] < 0.6, "RNAplfold and the provided RNAfold matrix differ"


@pytest.mark.notebook
def test_chapter_6_records_residualbind_beside_deepbind_and_gia_against_the_planted_rule():
    run_quick("06_residualbind.ipynb")
    recorded = json.loads((OUT / "results" / "06_residualbind.json").read_text())
    assert set(recorded["residualbind_pearson"]) == set(recorded["deepbind_pearson"]) == {"VTS1"}
    assert 0.2 < recorded["residualbind_pearson"]["VTS1"] < 1, "even 2 epochs on 3,000 probes learn VTS1's motif"
    planted, estimated = recorded["gia_planted"], recorded["gia_estimated"]
    assert set(planted) == set(estimated) and len(planted) == 7 and 0 <= recorded["gia_recovered"] <= 7
    assert 0.9 < planted["one copy"] < 1.1, "the rule's own global importance of one copy is its planted 1.0"
    assert planted["two copies, 4 nt apart"] - planted["two copies, 5 nt apart"] > 0.5, "the spacing bonus"
    assert planted["motif with AU-rich flanks"] > planted["motif with GC-rich flanks"], "the GC penalty"
    assert estimated["one copy"] > 0.5, "the quick grammar models already credit one copy"
    assert isinstance(recorded["vts1_loop_minus_stem"], float) and recorded["kmer_scan_seconds"] > 0


@pytest.mark.notebook
def test_chapter_7_records_attributions_scored_against_the_planted_sites():
    run_quick("07_attribution.ipynb")
    recorded = json.loads((OUT / "results" / "07_attribution.json").read_text())
    methods = {"saliency", "gradient x input", "corrected gradient x input", "ISM", "integrated gradients",
               "DeepLIFT/SHAP"}
    assert set(recorded["attribution_aupr"]) == set(recorded["ctcf_attribution_aupr"]) == methods
    chance = recorded["ctcf_planted_share"]
    assert min(recorded["ctcf_attribution_aupr"][m] for m in ("ISM", "DeepLIFT/SHAP")) > 5 * chance, (
        "on planted CTCF even the quick model's ISM and DeepLIFT maps mark the sites")
    assert recorded["variant_spearman"] > 0.5, "variant effects follow the planted PWM"
    assert recorded["ism_tangermeme_difference"] < 1e-4 and recorded["gia_marginalize_difference"] < 1e-5
    assert 0 <= recorded["modisco_planted_found"] <= 11 and 0 <= recorded["filters_planted_found"] <= 11


@pytest.fixture(scope="session")
def site():
    for notebook in CHAPTERS:
        run_quick(notebook.name)
    stage = book.stage_site(OUT, OUT / "site")
    return book.build_site(stage, OUT / "html")


@pytest.mark.site
@pytest.mark.timeout(QUICK_TIMEOUT * len(CHAPTERS) + 300)
def test_site_builds_with_warnings_as_errors(site):
    assert (site / "index.html").exists()
    for notebook in CHAPTERS:
        page = (site / "nbs" / f"{notebook.stem}.html").read_text()
        assert "Traceback" not in page and 'class="output error"' not in page
        assert f"colab.research.google.com/github/teachbind/teachbind/blob/main/nbs/{notebook.name}" in page
        assert f"mybinder.org/v2/gh/teachbind/teachbind/main?urlpath=tree/nbs/{notebook.name}" in page
        assert 'This page shows a run with <code class="docutils literal notranslate"><span class="pre">SCALE' in page
        assert "This page was executed with" in page, "a quick build says its prose describes the book scale"
        assert "{glue" not in page and "glue:text" not in page, "every glued number is pasted"


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.stem)
def test_every_chapter_opens_with_its_objectives_what_it_assumes_and_its_study_time(notebook):
    from teachbind.course import study

    glance = nbformat.read(notebook, as_version=4).cells[1].source
    assert glance.startswith("```{admonition} At a glance"), "the cell after the title is the at-a-glance block"
    objectives = glance.split("**After this chapter you can**")[1].split("**It assumes**")[0]
    assert len(re.findall(r"^- ", objectives, flags=re.M)) >= 4, "four or more things a reader can do after it"
    assert re.search(r"\*\*It assumes\*\* \S.{40,}", glance, flags=re.S)
    stated = re.search(r"\*\*Study time\*\*: (about [^ ]+ hours?) ", glance)
    assert stated and stated.group(1) == study.study_time(notebook), (
        f"{notebook.name} states {stated and stated.group(1)!r}; teachbind.course.study estimates "
        f"{study.study_time(notebook)!r}: update the block")


def test_every_term_the_chapters_link_is_in_the_glossary_and_every_glossary_term_is_linked_from_its_first_use():
    glossary = (ROOT / "book" / "glossary.md").read_text()
    defined = set(re.findall(r"^(\S[^\n]*)\n  \S", glossary.split("```{glossary}")[1], flags=re.M))
    linked = {}
    for notebook in CHAPTERS:
        for cell in nbformat.read(notebook, as_version=4).cells:
            if cell.cell_type == "markdown":
                for text, target in re.findall(r"\{term\}`([^`<]*?)(?: <([^>]+)>)?`", cell.source):
                    linked.setdefault((target or text).strip(), notebook.stem)
    assert set(linked) <= defined, f"linked but not defined: {sorted(set(linked) - defined)}"
    assert defined <= set(linked), f"defined but never linked from a chapter: {sorted(defined - set(linked))}"
    for term, stem in linked.items():
        entry = glossary.split(f"\n{term}\n", 1)[1].split("\n\n", 1)[0]
        assert f"<../nbs/{stem}>" in entry, f"{term}: the glossary should name {stem}, the chapter that links it first"


def test_the_ten_week_plan_assigns_every_exercise_once():
    from teachbind.course import assignments

    plan = (ROOT / "book" / "syllabus.md").read_text()
    weeks = [line for line in plan.splitlines() if re.match(r"\| \d+ \|", line)]
    assert [int(line.split("|")[1]) for line in weeks] == list(range(1, 11))
    for notebook in CHAPTERS:
        for exercise in assignments.exercises(nbformat.read(notebook, as_version=4), notebook.name):
            assert sum(f"`{exercise.label}`" in line for line in weeks) == 1, f"{exercise.label}: assign it once"
            open_mark = f"`{exercise.label}` (*open*)" in plan
            assert open_mark == (not exercise.graded), f"{exercise.label}: mark it (*open*) exactly when unchecked"


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.stem)
def test_every_chapter_has_six_exercises_and_every_open_one_a_rubric_and_no_quoted_run(notebook):
    """Six or more exercises; an open exercise (no check) has a rubric in its solution, and the numbers its
    solution states come from the run (glued), not typed in."""
    from teachbind.course import assignments

    nb = nbformat.read(notebook, as_version=4)
    found = assignments.exercises(nb, notebook.stem)
    assert len(found) >= 6, f"{notebook.stem} has {len(found)} exercises"
    for exercise in found:
        if exercise.graded:
            continue
        start = next(i for i, c in enumerate(nb.cells) if f":label: {exercise.label}" in c.source)
        end = next(i for i in range(start, len(nb.cells)) if "```{solution-end}" in nb.cells[i].source)
        prose = " ".join(c.source.split("```{solution-start}")[-1] for c in nb.cells[start:end + 1]
                         if c.cell_type == "markdown")
        assert "A rubric" in prose, f"{exercise.label}: an open exercise needs a rubric in its solution"
        unglued = re.sub(r"\{glue:text\}`[^`]*`|\$[^$]*\$|`[^`]*`", "", prose)
        assert not re.search(r"\b0?\.\d{2,}\b", unglued), f"{exercise.label}: a result typed into the solution"


def test_the_course_page_states_the_study_time_rates_the_estimate_uses():
    from teachbind.course import study

    page = " ".join((ROOT / "book" / "course.md").read_text().split())
    assert f"{study.WORDS_PER_MINUTE} words a minute" in page
    assert f"{study.CODE_LINES_PER_MINUTE} lines a minute" in page
    assert f"{study.MINUTES_PER_EXERCISE} minutes for each exercise" in page


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.stem)
def test_every_figure_has_alt_text_saying_what_it_shows(notebook):
    nb = nbformat.read(notebook, as_version=4)
    missing = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code" and "plt.show()" in cell.source
               and len(cell.metadata.get("mystnb", {}).get("image", {}).get("alt", "").split()) < 12]
    assert not missing, (f"{notebook.name}: cells {missing} draw figures without alt text (cell metadata "
                         "mystnb.image.alt, a dozen words or more: what the figure shows and what to see in it)")


class _Images(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.images = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.images.append(dict(attrs))


@pytest.mark.site
def test_every_image_of_the_built_chapters_has_its_alt_text(site):
    for notebook in CHAPTERS:
        parser = _Images()
        parser.feed((site / "nbs" / f"{notebook.stem}.html").read_text())
        figures = [image for image in parser.images if "_images/" in image.get("src", "")]
        assert figures, f"{notebook.stem}: no figure found"
        bare = [image["src"] for image in figures if len(image.get("alt", "").split()) < 12]
        assert not bare, f"{notebook.stem}: figures without alt text: {bare[:5]}"


def _concept_modules():
    import pkgutil

    import teachbind

    names = [m.name for m in pkgutil.walk_packages(teachbind.__path__, "teachbind.")
             if not m.name.startswith("teachbind.course") and not (m.ispkg and _only_hands_names_on(m.name))]
    return names + ["teachbind.course.exercises", "teachbind.course.report"]


def _only_hands_names_on(package):
    import importlib
    import inspect

    module = importlib.import_module(package)
    return not any(getattr(v, "__module__", None) == package for v in vars(module).values()
                   if inspect.isfunction(v) or inspect.isclass(v))


def test_every_module_says_which_chapter_introduces_it():
    import importlib

    silent = [name for name in _concept_modules()
              if not re.search(r"Chapters? \d", importlib.import_module(name).__doc__ or "")]
    assert not silent, f"name the chapter that introduces each of these modules in its docstring: {silent}"


@pytest.mark.site
def test_the_api_reference_documents_every_public_name_of_every_module(site):
    import importlib
    import inspect

    page = (site / "book" / "api.html").read_text()
    missing = []
    for name in _concept_modules():
        module = importlib.import_module(name)
        if f'id="module-{name}"' not in page:
            missing.append(name)
            continue
        for attribute, value in vars(module).items():
            defined_here = getattr(value, "__module__", None) == name
            if not attribute.startswith("_") and defined_here and (inspect.isfunction(value) or inspect.isclass(value)):
                if f'id="{name}.{attribute}"' not in page:
                    missing.append(f"{name}.{attribute}")
    assert not missing, f"not on the API page (book/api.md): {missing}"


def test_chapters_using_reads_every_way_a_chapter_names_a_package_function(tmp_path):
    from teachbind.course.chapters import chapters_using, package_names, where_line

    source = """
import teachbind
import teachbind.motifs as m
from teachbind import seq, protocols
from teachbind.models import DeepBind as DB
if True:
    %pip install nothing
x = seq.one_hot(["ACGT"])
teachbind.interpret.ism, DB(), m.read_meme, protocols.deepbind.train_chipseq, seq.not_a_function, len(x)
"""
    assert package_names(source.replace("%pip", "pass  #")) == {
        "teachbind.seq.one_hot", "teachbind.interpret.ism", "teachbind.models.deepbind.DeepBind",
        "teachbind.motifs.read_meme", "teachbind.protocols.deepbind.train_chipseq"}
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nbformat.write(notebook, tmp_path / "07_new.ipynb")
    assert chapters_using([tmp_path / "07_new.ipynb"])["teachbind.seq.one_hot"] == [7], "magics are read as pass"
    assert where_line([2]) == "Introduced in Chapter 2."
    assert where_line([2, 3, 5]) == "Introduced in Chapter 2; used again in Chapters 3, 5."
    uses = chapters_using(CHAPTERS)
    assert uses["teachbind.models.deepbind.DeepBind"] == [3]
    assert uses["teachbind.interpret.filter_motifs"] == [3, 4, 7]
    assert uses["teachbind.protocols.ideep.run_benchmark"] == [5]


@pytest.mark.site
def test_the_api_page_says_which_chapter_introduces_each_function(site):
    page = (site / "book" / "api.html").read_text()
    entry = page.split('id="teachbind.models.deepbind.DeepBind"')[1].split('<dt class="sig')[0]
    assert "Introduced in Chapter 3" in entry
    entry = page.split('id="teachbind.interpret.filter_motifs"')[1].split('<dt class="sig')[0]
    assert "Introduced in Chapter 3; used again in Chapters 4, 7." in entry
    assert "Not called by name in the chapters" in page.split('id="teachbind.seq.encode"')[1].split('<dt class="sig')[0]


@pytest.mark.site
def test_the_prose_quotes_this_runs_numbers(site):
    pasted = {}
    for notebook in CHAPTERS:
        page = (site / "nbs" / f"{notebook.stem}.html").read_text()
        pasted[notebook.stem] = re.findall(r'<span class="pasted-text">([^<]*)</span>', page)
    assert all(len(values) >= 5 for values in pasted.values()), {k: len(v) for k, v in pasted.items()}
    chapter_1 = json.loads((OUT / "results" / "01_sequences.json").read_text())
    chapter_2 = json.loads((OUT / "results" / "03_deepbind.json").read_text())
    assert f"{chapter_1['pwm_auc_mean']:.3f}" in pasted["01_sequences"]
    assert f"{chapter_2['deepbind_auc_mean']:.3f}" in pasted["03_deepbind"]


def _serve(folder):
    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(QuietHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


@pytest.fixture(scope="session")
def served(site):
    yield from _serve(site)


@pytest.fixture(scope="session")
def student_site(site):
    stage = book.stage_site(OUT, OUT / "student" / "site", student=True)
    return book.build_site(stage, OUT / "student" / "html")


@pytest.fixture(scope="session")
def served_student(student_site):
    yield from _serve(student_site)


PAGE_STATE = """
new Promise(resolve => {
  const images = [...document.querySelectorAll("div.cell_output img")];
  Promise.all(images.map(img => img.decode().catch(() => null))).then(() => resolve({
    title: document.querySelector("h1")?.textContent ?? "",
    code: document.querySelectorAll("div.cell_input pre").length,
    images: images.map(img => ({src: img.getAttribute("src"), width: img.naturalWidth})),
    exercises: document.querySelectorAll(".exercise").length,
    solutions: document.querySelectorAll(".solution.dropdown").length,
  }));
});
"""


PAGES = {  # page: (title, at least this many code cells, at least this many figures, what the figures are)
    "01_sequences": ("1. Sequences, PWMs and logos", 15, 4, "logo, scan track, baseline bars and ROC curve"),
    "03_deepbind": ("3. DeepBind", 25, 9, "threshold track, calibrations, logos, AUROC bars, mutation map"),
    "04_basset": ("4. Basset", 25, 10, "AI-TAC targets, rule, curves, AUROCs, logos, influence, search, ROC, maps"),
}
PROSE_PAGES = {"book/course": "Using teachbind in a course", "book/syllabus": "A ten-week course",
               "book/reproduction": "Reproduction report", "book/execution": "Execution report",
               "book/setup": "Running the book"}


@pytest.mark.site
@pytest.mark.skipif(chromium_path() is None and not os.environ.get("CI"),
                    reason="no chromium: scripts/test installs it (Debian package 'chromium')")
@pytest.mark.parametrize("page", PAGES)
def test_chapter_renders_in_a_real_browser(served, page):
    title, code, images, figures = PAGES[page]
    browser = Browser()
    try:
        browser.open(f"{served}/nbs/{page}.html")
        state = browser.evaluate(PAGE_STATE)
        browser.screenshot(OUT / "screenshots" / f"{page}.png")
    finally:
        browser.close()
    assert state["title"].startswith(title), state
    assert state["code"] >= code
    assert len(state["images"]) >= images, figures
    assert all(image["width"] > 100 for image in state["images"]), state["images"]
    assert state["exercises"] == state["solutions"] >= 3


@pytest.mark.site
@pytest.mark.skipif(chromium_path() is None and not os.environ.get("CI"),
                    reason="no chromium: scripts/test installs it (Debian package 'chromium')")
@pytest.mark.parametrize("page", PAGES)
def test_the_student_edition_renders_in_a_real_browser_with_no_solution(served_student, page):
    title = PAGES[page][0]
    browser = Browser()
    try:
        browser.open(f"{served_student}/nbs/{page}.html")
        state = browser.evaluate(PAGE_STATE)
    finally:
        browser.close()
    assert state["title"].startswith(title), state
    assert state["images"] and all(image["width"] > 100 for image in state["images"]), state["images"]
    assert state["exercises"] >= 3 and state["solutions"] == 0, state


class _Text(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts = []

    def handle_data(self, data):
        self.parts.append(data)

    def text(self):
        return " ".join("".join(self.parts).split())


def _page_text(path):
    parser = _Text()
    parser.feed(path.read_text())
    return parser.text()


def _solution_lines(notebook):
    """Lines only a solution or a check holds: each solution or check cell's code lines of 25 characters or more
    that no other cell of the chapter holds (a page's text runs lines together), and each sentence of eight words
    or more, free of markup, inside a solution block."""
    from teachbind.course import assignments

    nb = nbformat.read(notebook, as_version=4)
    found = assignments.exercises(nb, notebook.stem)
    cells = {index for e in found for index in (*e.solution_cells, *e.check_cells)}
    elsewhere = " ".join(" ".join(cell.source.split()) for index, cell in enumerate(nb.cells) if index not in cells)
    lines = [" ".join(line.split()) for index in sorted(cells) for line in nb.cells[index].source.splitlines()
             if len(line.strip()) >= 25 and not line.strip().startswith("#")
             and " ".join(line.split()) not in elsewhere]
    inside = False
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        kept, ends_inside = assignments._outside_solutions(cell.source, inside)
        kept = " ".join(kept.split())
        solution = cell.source if inside or assignments.SOLUTION_START.search(cell.source) else ""
        inside = ends_inside
        for sentence in re.split(r"(?<=[.!?])\s+", " ".join(solution.split())):
            markup = re.search(r"[{}`$*_\[\]|:<>'\"]|--", sentence)
            if len(sentence.split()) >= 8 and not markup and sentence not in kept:
                lines.append(sentence)
    return lines


@pytest.mark.site
def test_the_student_edition_holds_no_solution_and_no_check(site, student_site):
    for notebook in CHAPTERS:
        lines = _solution_lines(notebook)
        instructor = _page_text(site / "nbs" / f"{notebook.stem}.html")
        student = _page_text(student_site / "nbs" / f"{notebook.stem}.html")
        assert len(lines) >= 5 and sum(line in instructor for line in lines) >= 0.8 * len(lines), (
            f"{notebook.stem}: the instructor's site should show its solutions; the lines to look for are wrong")
        leaked = [line for line in lines if line in student]
        assert not leaked, f"{notebook.stem}: the student edition shows {leaked[:3]}"
        assert "The student edition" in student and "check_" not in student


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.targets = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("href", "src"):
            if attrs.get(name) and not (tag == "link" and attrs.get("rel") in ("canonical", "preconnect")):
                self.targets.append(attrs[name])


@pytest.mark.site
def test_every_internal_link_and_image_resolves(site):
    broken = []
    pages = sorted(p for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts)
    assert len(pages) >= 7
    for page in pages:
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8"))
        for target in parser.targets:
            parts = urllib.parse.urlsplit(target)
            if parts.scheme or parts.netloc or target.startswith(("#", "mailto:", "data:", "javascript:")):
                continue
            path = urllib.parse.unquote(parts.path)
            resolved = (page.parent / path).resolve() if path else page
            if resolved.is_dir():
                resolved = resolved / "index.html"
            if not resolved.exists():
                broken.append(f"{page.relative_to(site)} -> {target}")
    assert not broken, broken[:20]


@pytest.mark.site
def test_reproduction_and_execution_pages_come_from_this_build(site):
    reproduction = (site / "book" / "reproduction.html").read_text()
    recorded = json.loads((OUT / "results" / "03_deepbind.json").read_text())
    assert f"{recorded['deepbind_auc_mean']:.3f}" in reproduction
    assert "ELK1_GM12878" in reproduction and "0.900" in reproduction
    assert '<img alt="Each result that has a published number' in reproduction
    assert (site / "_images" / "reproduction.png").exists()
    assert "not described in teachbind/paper_numbers.yml" not in reproduction, "describe every recorded result"
    execution = (site / "book" / "execution.html").read_text()
    for notebook in CHAPTERS:
        seconds = json.loads((OUT / "execution" / f"{notebook.stem}.json").read_text())["seconds"]
        minutes, rest = divmod(round(seconds), 60)
        assert f"{minutes} min {rest:02d} s" in execution
    assert "quick" in execution and "torch" in execution and "2.13.0" in execution
    assert "Using teachbind in a course" in (site / "book" / "course.html").read_text()


WIDGETS = """
(window.MathJax?.startup?.promise ?? Promise.resolve()).then(() => new Promise(resolve => {
  const deadline = Date.now() + 20000;
  const look = () => {
    const images = [...document.querySelectorAll(".jupyter-widgets img, .widget-image")];
    const ready = images.filter(img => img.complete && img.naturalWidth > 100);
    if (ready.length >= 2 || Date.now() > deadline) {
      resolve({images: ready.length, math: document.querySelectorAll("mjx-container").length,
               dropdowns: document.querySelectorAll(".widget-dropdown select").length,
               texts: document.querySelectorAll(".widget-textarea textarea").length,
               scripts: [...document.scripts].map(s => s.src).filter(src => src && !src.startsWith(location.origin))});
    } else {
      setTimeout(look, 200);
    }
  };
  look();
}));
"""


@pytest.mark.site
@pytest.mark.skipif(chromium_path() is None and not os.environ.get("CI"),
                    reason="no chromium: scripts/test installs it (Debian package 'chromium')")
def test_widgets_and_math_render_offline(served):
    """The widgets from their saved state, and the math, with no script from outside the site."""
    browser = Browser()
    try:
        browser.open(f"{served}/nbs/03_deepbind.html")
        state = browser.evaluate(WIDGETS)
        browser.screenshot(OUT / "screenshots" / "03_deepbind_widgets.png")
    finally:
        browser.close()
    assert state["scripts"] == [], "every script comes from the site itself"
    assert state["images"] >= 2 and state["dropdowns"] >= 1 and state["texts"] >= 1, state
    assert state["math"] >= 5, state


@pytest.mark.site
@pytest.mark.skipif(chromium_path() is None and not os.environ.get("CI"),
                    reason="no chromium: scripts/test installs it (Debian package 'chromium')")
@pytest.mark.parametrize("page", PROSE_PAGES)
def test_prose_page_renders_in_a_real_browser(served, page):
    browser = Browser()
    try:
        browser.open(f"{served}/{page}.html")
        state = browser.evaluate("({title: document.querySelector('h1')?.textContent ?? '', "
                                 "text: document.body.innerText, tables: document.querySelectorAll('table').length})")
        browser.screenshot(OUT / "screenshots" / f"{page.replace('/', '_')}.png")
    finally:
        browser.close()
    assert state["title"].startswith(PROSE_PAGES[page])
    assert "Traceback" not in state["text"]
    if page != "book/setup":
        assert state["tables"] >= 1
