"""Numbers in the chapters' prose come from the run: a markdown cell may not type a value that another run could
change (decimals with two or more places, percentages, "N of M" counts); it glues it instead
(``report.glue`` in a code cell, ``{glue:text}`name``` in the prose). Method constants may stay typed, each listed
below with the reason it cannot change between runs."""

import re

import nbformat
import pytest

from teachbind.course import book

NUMBER_WORDS = "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|sixteen|eighteen|twenty"
COUNT = rf"(?:\d[\d,]*|{NUMBER_WORDS})"
RUN_DEPENDENT = re.compile(
    rf"(?<![\w.])\d*\.\d{{2,}}(?![\w.])"      # 0.86, .913
    rf"|(?<![\w.])\d+(?:\.\d+)?\s?%"          # 45%, 2.5 %
    rf"|\b{COUNT}\s+of\s+(?:the\s+|its\s+)?{COUNT}\b",  # 6 of 11, seven of the eight
    re.IGNORECASE)
NOT_PROSE = [r"```.*?```", r"`[^`]*`", r"\$\$.*?\$\$", r"\$[^$]*\$", r"\]\([^)]*\)", r"\{cite\}"]

# Method constants, by chapter: (text, why it may stay typed).
ALLOWED = {
    "01_sequences": [
        ("0.005", "the tolerance within which the chapter counts a chosen motif as good as the factor's own"),
    ],
    "*": [
        ("0.25", "the one-hot code of N and of padding, a constant of the encoding"),
        ("95%", "the level of a confidence interval, a choice of the method"),
    ],
    "02_training": [
        ("60%", "the share of the planted sequences the chapter trains on, a choice of the split"),
        ("20%", "the shares held out for validation and test, a choice of the split"),
        ("80%", "an example of what a calibrated probability of 0.8 means"),
        ("1.96", "the normal quantile of a 95% interval, a constant"),
    ],
    "04_basset": [
        ("0.002", "Basset's RMSprop learning rate, from the paper"),
        ("0.95", "the simulator's penetrance, set in data.simulate_compendium"),
        ("0.02", "the simulator's leak, set in data.simulate_compendium"),
        ("5%", "the simulator's label noise, set in data.simulate_compendium"),
        ("2%", "the simulator's label noise, set in data.simulate_compendium"),
        ("0.05", "the TomTom q-value below which the chapter counts a planted motif as found"),
        ("one of the two", "the DHS data set's definition: each site is accessible in one cell type only"),
    ],
    "05_ideep": [
        ("0.001", "iDeep's RMSprop learning rate, from the paper's code"),
        ("0.90", "the AUROC threshold the paper counts its experiments above"),
    ],
    "06_residualbind": [
        ("1%", "the top percentile the chapter quotes the threshold of, a choice of the text"),
        ("10%", "the share of Set A held out for early stopping, as in the released code"),
        ("0.001", "ResidualBind's Adam learning rate, from the paper's code"),
    ],
    "07_attribution": [
        ("0.05", "the TomTom q-value below which the chapter counts a planted motif as found, as Chapter 4 does"),
        ("1%", "the tolerance to which an exercise asks integrated gradients to add up, a choice of the text"),
    ],
}


def typed_numbers(markdown: str) -> list[str]:
    text = markdown
    for pattern in NOT_PROSE:
        text = re.sub(pattern, " ", text, flags=re.S)
    return [match.group(0) for match in RUN_DEPENDENT.finditer(text)]


def test_the_scan_finds_what_it_should_and_skips_glue_and_code():
    prose = ("AUROC fell from 0.86 to .51 (17%), 6 of 11 motifs and seven of the eight proteins; "
             "{glue:text}`mean:.3f` and `x = 0.123` and $p < 0.05$ and one of 16 detectors")
    assert typed_numbers(prose) == ["0.86", ".51", "17%", "6 of 11", "seven of the eight", "one of 16"]
    assert typed_numbers("width 0.5, 1,000 windows, in 2016, 16 detectors of width 24") == []


@pytest.mark.parametrize("notebook", book.chapters(), ids=lambda p: p.stem)
def test_no_run_dependent_number_is_typed_into_the_prose(notebook):
    allowed = {text for text, _ in ALLOWED["*"] + ALLOWED.get(notebook.stem, [])}
    nb = nbformat.read(notebook, as_version=4)
    typed = [(index, number) for index, cell in enumerate(nb.cells) if cell.cell_type == "markdown"
             for number in typed_numbers(cell.source) if number not in allowed]
    assert not typed, (f"{notebook.name}: glue these from the run (report.glue) or, for a constant of the method, "
                       f"add them to ALLOWED with the reason: {typed}")
