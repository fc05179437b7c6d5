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


def _package_imports():
    """{module: the package's modules it imports}, read from the source with ast (imports inside functions too)."""
    import ast

    files = {}
    for path in (ROOT / "teachbind").rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {}
    for name, path in files.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.update(f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in files else node.module
                             for alias in node.names)
        graph[name] = {module for module in found if module in files and module != name}
    return graph


def test_the_package_imports_itself_without_a_cycle_and_models_stand_alone():
    graph = _package_imports()
    assert "teachbind.models.deepbind" in graph and "teachbind.seq" in graph["teachbind.models.deepbind"]

    acyclic = set()

    def cycle_from(module, path):
        for imported in graph[module] - acyclic:
            if imported in path:
                return path[path.index(imported):] + [imported]
            found = cycle_from(imported, path + [imported])
            if found:
                return found
        acyclic.add(module)
        return None

    for module in graph:
        cycle = cycle_from(module, [module])
        assert cycle is None, " -> ".join(cycle)
    for module, imported in graph.items():
        if module.startswith("teachbind.models"):
            leaks = sorted(m for m in imported
                           if m.split(".")[1] in ("data", "structure", "motifs", "plot", "protocols"))
            assert not leaks, f"{module} imports {leaks}: models hold models, not data, folding or motif mining"


def test_importing_the_models_loads_neither_matplotlib_nor_the_data_layer():
    import subprocess
    import sys

    script = ("import sys, teachbind.models; print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib' "
              "or m.startswith(('teachbind.data', 'teachbind.motifs', 'teachbind.plot', 'teachbind.structure'))))")
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]", loaded
