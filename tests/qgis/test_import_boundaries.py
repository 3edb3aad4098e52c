"""The process boundary of issue 13, read from the source with ``ast``.

The QGIS front (processing_provider/, plugin/, the root __init__.py, engine_environment.py and
catalog.py, the registries both sides read)
imports only qgis, qgis.* (PyQt through qgis.PyQt), processing, the standard library, and itself:
never numpy, rasterio, TensorFlow, nor the engine's core/, models/, engine/ — those load in the
engine's process only. The engine: core/ imports neither qgis nor TensorFlow/Keras/shap; models/
and engine/ never import qgis; the layers point one way (engine → models → core).

Relative imports are resolved to the full module they name, so ``from .. import core``,
``from ..core import x`` and ``from . import x`` reaching outside the front are all caught.
Imports inside functions count too (``ast.walk`` sees every node).
"""
import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
PACKAGE = "deepprospect"
FRONT_FOLDERS = ("processing_provider", "plugin")
FRONT_FILES = ("__init__.py", "engine_environment.py", "catalog.py")
#: Top-level modules of the plugin that belong to the front. ``catalog`` (the registries) is
#: read by both sides, so it is held to the front's rule: standard library only.
FRONT_MODULES = {"processing_provider", "plugin", "engine_environment", "catalog"}
FRONT_ABSOLUTE = {"qgis", "processing"}
STDLIB = set(sys.stdlib_module_names)


def imports(source, relative_path):
    """(kind, module, line) of every import in ``source``: kind "absolute" with the dotted name,
    "relative" with the resolved module path as a tuple from the plugin root (None when it
    climbs above the plugin); ``from <root> import a, b`` gives one entry per name, as each
    name is then a top-level module of the plugin. String-literal ``importlib.import_module``/``__import__`` calls
    count as absolute imports."""
    package = _package_of(relative_path)
    found = []
    for node in ast.walk(ast.parse(source, filename=str(relative_path))):
        if isinstance(node, ast.Import):
            found += [("absolute", alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.append(("absolute", node.module, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(package, node.level, node.module)
            if base == ():
                found += [("relative", (alias.name,), node.lineno) for alias in node.names]
            else:
                found.append(("relative", base, node.lineno))
        elif isinstance(node, ast.Call) and _is_dynamic_import(node):
            found.append(("absolute", node.args[0].value, node.lineno))
    return found


def _package_of(relative_path):
    """The package a file belongs to, as a tuple from the plugin root: () for the root's modules."""
    parts = Path(relative_path).parts[:-1]
    return tuple(parts)


def _resolve(package, level, module):
    """``from <level dots><module> import …`` in ``package`` → module path tuple, None if above the root."""
    if level - 1 > len(package):
        return None
    base = package[:len(package) - (level - 1)]
    return base + tuple(module.split(".")) if module else base


def _is_dynamic_import(node):
    function = node.func
    name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", None)
    return (name in ("import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str) and not node.args[0].value.startswith("."))


def front_offences(source, relative_path):
    """Why ``source`` (a front module at ``relative_path`` in the plugin) breaks the boundary."""
    offences = []
    for kind, module, line in imports(source, relative_path):
        where = "{}:{}".format(relative_path, line)
        if kind == "absolute":
            top = module.split(".")[0]
            if top == "PyQt5" or top == "PyQt6":
                offences.append("{} imports {} directly (use qgis.PyQt)".format(where, module))
            elif top not in FRONT_ABSOLUTE and top not in STDLIB:
                offences.append("{} imports {} (not qgis, processing or the standard library)".format(where, module))
        elif module is None:
            offences.append("{} imports relatively from above the plugin folder".format(where))
        elif module and module[0] not in FRONT_MODULES:
            offences.append("{} imports {}.{} (outside the QGIS front)".format(where, PACKAGE, ".".join(module)))
    return offences


def engine_offences(source, relative_path, forbidden_absolute, forbidden_relative):
    """Absolute imports whose top-level name is in ``forbidden_absolute``; relative ones whose
    first component (under the plugin root) is in ``forbidden_relative``."""
    offences = []
    for kind, module, line in imports(source, relative_path):
        where = "{}:{}".format(relative_path, line)
        if kind == "absolute" and module.split(".")[0] in forbidden_absolute:
            offences.append("{} imports {}".format(where, module))
        elif kind == "relative" and module is None:
            offences.append("{} imports relatively from above the plugin folder".format(where))
        elif kind == "relative" and module and module[0] in forbidden_relative:
            offences.append("{} imports {}.{}".format(where, PACKAGE, ".".join(module)))
    return offences


def _sources(*folders_or_files):
    for entry in folders_or_files:
        path = ROOT / entry
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            yield file.read_text(encoding="utf-8"), file.relative_to(ROOT)


# The checkout ------------------------------------------------------------------------------

def test_front_imports_only_qgis_processing_and_the_standard_library():
    sources = list(_sources(*FRONT_FOLDERS, *FRONT_FILES))
    assert len(sources) > 15
    offences = [offence for source, path in sources for offence in front_offences(source, path)]
    assert offences == []


QT_AND_QGIS = {"qgis", "processing", "PyQt5", "PyQt6"}


def test_catalog_imports_only_the_standard_library():
    """Both processes import the registries, so they may need nothing either side lacks."""
    found = imports((ROOT / "catalog.py").read_text(encoding="utf-8"), Path("catalog.py"))
    assert found and all(kind == "absolute" and module.split(".")[0] in STDLIB for kind, module, _ in found), found


def test_core_imports_neither_qgis_nor_tensorflow():
    forbidden = QT_AND_QGIS | {"tensorflow", "keras", "shap"}
    offences = [offence for source, path in _sources("core") for offence in engine_offences(
        source, path, forbidden, {"models", "engine", "processing_provider", "plugin"})]
    assert offences == []


def test_models_never_import_qgis():
    offences = [offence for source, path in _sources("models") for offence in engine_offences(
        source, path, QT_AND_QGIS, {"engine", "processing_provider", "plugin"})]
    assert offences == []


def test_engine_never_imports_qgis_or_the_front():
    offences = [offence for source, path in _sources("engine") for offence in engine_offences(
        source, path, QT_AND_QGIS, {"processing_provider", "plugin"})]
    assert offences == []


# The checker itself ------------------------------------------------------------------------

FRONT_FILE = Path("processing_provider") / "some_algorithm.py"


@pytest.mark.parametrize("source, path, caught", [
    ("import numpy\n", FRONT_FILE, "imports numpy"),
    ("import numpy as np\n", Path("plugin") / "dock.py", "imports numpy"),
    ("from rasterio.windows import Window\n", FRONT_FILE, "imports rasterio.windows"),
    ("def f():\n    import tensorflow\n", FRONT_FILE, "imports tensorflow"),
    ("from PyQt5.QtCore import Qt\n", FRONT_FILE, "directly (use qgis.PyQt)"),
    ("import PyQt5\n", Path("engine_environment.py"), "directly (use qgis.PyQt)"),
    ("from .. import core\n", FRONT_FILE, "deepprospect.core"),
    ("from .. import engine_environment, models\n", FRONT_FILE, "deepprospect.models"),
    ("from ..core import raster\n", FRONT_FILE, "deepprospect.core"),
    ("from ..models.bundle import load_bundle\n", FRONT_FILE, "deepprospect.models.bundle"),
    ("from ..engine import tasks\n", Path("plugin") / "dock.py", "deepprospect.engine"),
    ("from . import core\n", Path("__init__.py"), "deepprospect.core"),
    ("from .models import bundle\n", Path("engine_environment.py"), "deepprospect.models"),
    ("from ... import anything\n", FRONT_FILE, "above the plugin folder"),
    ("import importlib\nimportlib.import_module('numpy')\n", FRONT_FILE, "imports numpy"),
])
def test_checker_catches_each_forbidden_front_pattern(source, path, caught):
    offences = front_offences(source, path)
    assert len(offences) == 1 and caught in offences[0], offences


def test_checker_lets_a_good_front_module_pass():
    good = ("import os\nimport json, subprocess\nfrom pathlib import Path\nimport processing\n"
            "from processing.core.Processing import Processing\nfrom qgis.core import QgsProject\n"
            "from qgis.PyQt.QtCore import Qt\nfrom qgis.PyQt import QtWidgets\n"
            "from .. import engine_environment\nfrom . import engine_runner\nfrom .base import X\n"
            "from ..plugin import dock\nfrom ..processing_provider.base import Y\nfrom ..catalog import EXPLAINERS\n"
            "def later():\n    from ..plugin.tasks import run\n")
    assert front_offences(good, FRONT_FILE) == []
    assert front_offences("from .plugin.plugin import DeepProspectPlugin\n", Path("__init__.py")) == []


@pytest.mark.parametrize("source, folder, caught", [
    ("import qgis\n", "core", "imports qgis"),
    ("from qgis.core import QgsProject\n", "core", "imports qgis.core"),
    ("import tensorflow as tf\n", "core", "imports tensorflow"),
    ("from keras import layers\n", "core", "imports keras"),
    ("def f():\n    import shap\n", "core", "imports shap"),
    ("from ..models import bundle\n", "core", "deepprospect.models"),
    ("from .. import models\n", "core", "deepprospect.models"),
    ("from qgis.PyQt.QtCore import Qt\n", "models", "imports qgis.PyQt.QtCore"),
    ("from ..plugin.dock import Dock\n", "models", "deepprospect.plugin"),
    ("from qgis.core import Qgis\n", "engine", "imports qgis.core"),
    ("from ..processing_provider import engine_runner\n", "engine", "deepprospect.processing_provider"),
])
def test_checker_catches_each_forbidden_engine_pattern(source, folder, caught):
    rules = {"core": (QT_AND_QGIS | {"tensorflow", "keras", "shap"}, {"models", "engine", "processing_provider", "plugin"}),
             "models": (QT_AND_QGIS, {"engine", "processing_provider", "plugin"}),
             "engine": (QT_AND_QGIS, {"processing_provider", "plugin"})}
    offences = engine_offences(source, Path(folder) / "module.py", *rules[folder])
    assert len(offences) == 1 and caught in offences[0], offences
    good = "import numpy as np\nfrom ..core.errors import DeepProspectError\nfrom . import sibling\n"
    assert engine_offences(good, Path(folder) / "module.py", *rules[folder]) == []
