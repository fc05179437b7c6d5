"""teachbind's dependencies are listed once, in pyproject.toml; the pins, Binder's list and the Colab cell follow it."""

import tomllib

from packaging.requirements import Requirement

from conftest import ROOT
from teachbind.course import book


def _pins(path):
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            requirement = Requirement(line)
            pins[requirement.name.lower()] = requirement
    return pins


def test_every_dependency_of_pyproject_is_pinned_at_a_version_it_accepts():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(r) for r in project["dependencies"]]
    wanted += [Requirement(r) for extra in project["optional-dependencies"].values() for r in extra]
    pins = _pins(ROOT / "requirements.txt")
    for requirement in wanted:
        pin = pins.get(requirement.name.lower())
        assert pin is not None, f"{requirement.name} is in pyproject.toml but not pinned in requirements.txt"
        version = next(iter(pin.specifier)).version
        assert requirement.specifier.contains(version, prereleases=True), \
            f"requirements.txt pins {pin}, which pyproject.toml's {requirement} does not accept"
    assert str(pins["torch"].specifier) == "==2.13.0"


def test_binder_installs_the_same_pins():
    lines = [line for line in (ROOT / "binder" / "requirements.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert "-r ../requirements.txt" in lines
    assert all(line.startswith("-") for line in lines), "Binder's list adds no package of its own"


def test_the_colab_cell_installs_what_pyproject_lists_and_colab_lacks():
    cell = book.colab_cell()
    installed = cell.splitlines()[-1].split("--quiet", 1)[1].split()
    assert installed == [n for n in book.requirement_names() if n not in book.COLAB_PROVIDES]
    assert "torch" not in installed and "memelite" in installed
    assert set(book.requirement_names("book")) >= {"papermill", "jupyter-book"}
