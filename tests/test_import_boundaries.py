"""DESIGN.md's layers: core never imports qgis or tensorflow; models never imports qgis;
and the arrows point one way (plugin → processing_provider → models → core)."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imports(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [(alias.name, 0) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names.append((node.module or "", node.level))
    return names


def _offences(folder, forbidden_top_level, forbidden_relative):
    offences = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for module, level in _imports(path):
            top = module.split(".")[0]
            if level == 0 and top in forbidden_top_level:
                offences.append("{} imports {}".format(path.relative_to(ROOT), module))
            if level >= 2 and top in forbidden_relative:
                offences.append("{} imports ..{}".format(path.relative_to(ROOT), module))
    return offences


def test_core_imports_neither_qgis_nor_tensorflow():
    assert _offences("core", {"qgis", "tensorflow", "keras", "shap", "PyQt5"},
                     {"models", "processing_provider", "plugin"}) == []


def test_models_never_import_qgis():
    assert _offences("models", {"qgis", "PyQt5"}, {"processing_provider", "plugin"}) == []


def test_processing_provider_does_not_reach_into_the_gui():
    assert _offences("processing_provider", set(), {"plugin"}) == []


def test_the_checker_catches_an_offence(tmp_path):
    offender = tmp_path / "offender.py"
    offender.write_text("import numpy\nfrom qgis.core import QgsProject\nfrom ..plugin import dock\n")
    assert ("qgis.core", 0) in _imports(offender)
    assert ("plugin", 2) in _imports(offender)
