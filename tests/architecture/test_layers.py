"""The layers of ARCHITECTURE.md hold: every ``import sda2...`` in the package points to its own layer or one above it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "sda2"
# In import order: a layer may import only itself and the layers before it.
ORDER = ["analysis", "store", "compute", "curation", "issues", "explore", "report", "ui", "entry"]
FOLDERS = {"analysis", "compute", "curation", "issues", "explore", "report", "ui"}
ENTRY = {"cli", "doctor"}


def layer_of(module: str) -> str:
    """The layer of a dotted module name inside sda2 (top-level foundation modules and ingest are 'store')."""
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in FOLDERS:
        return parts[1]
    if len(parts) > 1 and parts[1] in ENTRY:
        return "entry"
    return "store"


def imports(path: Path) -> list[str]:
    """Every sda2 module (or module.attribute) the file imports, at the top or inside functions."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "sda2":
            found += [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.split(".")[0] == "sda2"]
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_up_the_layers(path):
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
    own = ORDER.index(layer_of(module))
    wrong = [target for target in imports(path) if ORDER.index(layer_of(target)) > own]
    assert not wrong, f"{module} ({layer_of(module)}) imports from a later layer: {wrong}"


@pytest.mark.parametrize("path", sorted((PACKAGE / "analysis").glob("*.py")), ids=lambda p: p.name)
def test_analysis_never_imports_fiftyone_or_streamlit(path):
    tree = ast.parse(path.read_text())
    roots = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    roots |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert not roots & {"fiftyone", "streamlit", "plotly"}, f"{path.name} imports {roots & {'fiftyone', 'streamlit'}}"


def test_only_the_ui_imports_streamlit():
    users = [p.relative_to(PACKAGE) for p in PACKAGE.rglob("*.py") if "ui" not in p.relative_to(PACKAGE).parts
             and any(isinstance(n, (ast.Import, ast.ImportFrom)) and "streamlit" in ast.unparse(n).split()[1]
                     for n in ast.walk(ast.parse(p.read_text())))]
    assert users == []


def test_layer_of_a_module_is_read_from_its_folder():
    assert layer_of("sda2.analysis.duplicates") == "analysis" and layer_of("sda2.store") == "store"
    assert layer_of("sda2.ingest.folder") == "store" and layer_of("sda2.cli") == "entry"
    assert layer_of("sda2.explore.browse.page_rows") == "explore"
