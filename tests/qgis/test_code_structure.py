"""One way through the code (issue 14), read from the source with ``ast``: one block loop, one
point reader, choices declared once in ``catalog.py``, charts off pyplot, small modules and
functions. Each rule has a self-test that feeds its checker a module breaking it.

Runs in any Python (no imports of the plugin), so it sits with the front's tests.
"""
import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
ENGINE_FOLDERS = ("core", "models", "engine")
SOURCE_FOLDERS = ENGINE_FOLDERS + ("processing_provider", "plugin")
#: Where raster windows may be iterated or cut: the pipeline and its window arithmetic.
PIPELINE_FILES = {Path("core/pipeline.py"), Path("core/blocks.py")}
#: Where vector files (points, polygons) may be opened: the data-access layer for vectors.
POINT_READER = Path("core/points.py")
MODULE_LINES, FUNCTION_LINES = 400, 60


def _sources(*folders):
    for folder in folders:
        for file in sorted((ROOT / folder).rglob("*.py")):
            yield file.relative_to(ROOT), file.read_text(encoding="utf-8")


def _catalog_names(registry):
    tree = ast.parse((ROOT / "catalog.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == registry:
            choices = node.value.args[1].elts
            return [choice.args[0].value for choice in choices]
    raise AssertionError("catalog.py has no registry " + registry)


def _docstrings(tree):
    nodes = [tree] + [node for node in ast.walk(tree)
                      if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    found = set()
    for node in nodes:
        if node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant):
            found.add(id(node.body[0].value))
    return found


# Checkers ----------------------------------------------------------------------------------

WINDOW_LOOP = re.compile(r"\bWindow\(|\biter_blocks\(|\bblock_windows\(|\.block_window\(")


def window_offences(path, source):
    """Lines that cut raster windows outside the pipeline (a second block loop in the making)."""
    if path in PIPELINE_FILES:
        return []
    return ["{}:{} {}".format(path, number, line.strip()) for number, line in enumerate(source.splitlines(), 1)
            if WINDOW_LOOP.search(line) and not line.lstrip().startswith("#")]


def point_reader_offences(path, source):
    """Definitions of a point reader, or calls opening vector files, outside core/points.py."""
    if path == POINT_READER:
        return []
    offences = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef) and node.name == "read_points":
            offences.append("{}:{} defines read_points".format(path, node.lineno))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ("read_file", "read_dataframe"):
            offences.append("{}:{} opens a vector file with {}".format(path, node.lineno, node.func.attr))
    return offences


def literal_offences(path, source, names):
    """String literals (docstrings aside) that contain one of ``names``."""
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    offences = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            hits = [name for name in names if re.search(r"\b{}\b".format(re.escape(name)), node.value)]
            if hits:
                offences.append("{}:{} names {}".format(path, node.lineno, ", ".join(hits)))
    return offences


def list_offences(path, source, names):
    """Tuple, list or set literals holding two or more of ``names``: a copied choice list."""
    offences = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            held = [item.value for item in node.elts if isinstance(item, ast.Constant) and item.value in names]
            if len(held) >= 2:
                offences.append("{}:{} copies {}".format(path, node.lineno, ", ".join(held)))
    return offences


def size_offences(path, source, module_lines=MODULE_LINES, function_lines=FUNCTION_LINES):
    lines = source.count("\n") + (not source.endswith("\n"))
    offences = ["{} has {} lines".format(path, lines)] if lines > module_lines else []
    if function_lines:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > function_lines:
                    offences.append("{}:{} {} has {} lines".format(path, node.lineno, node.name, length))
    return offences


def pyplot_offences(path, source):
    offences = []
    for node in ast.walk(ast.parse(source)):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module + "." + alias.name for alias in node.names]
        offences += ["{}:{} imports pyplot".format(path, node.lineno) for name in names
                     if name.startswith("matplotlib.pyplot")]
    return offences


def sys_path_offences(path, source):
    """Changes to sys.path (the engine's environment decides what is importable, not a module)."""
    return ["{}:{} changes sys.path".format(path, number) for number, line in enumerate(source.splitlines(), 1)
            if re.search(r"sys\.path\.(insert|append|extend)|sys\.path\s*[+]?=", line)]


# The checkout ------------------------------------------------------------------------------

def test_one_block_loop():
    offences = [o for path, source in _sources(*ENGINE_FOLDERS) for o in window_offences(path, source)]
    assert offences == []


def test_one_point_reader_and_vectors_opened_in_one_place():
    offences = [o for path, source in _sources(*ENGINE_FOLDERS) for o in point_reader_offences(path, source)]
    assert offences == []


#: Architecture names that are ordinary words too.
ORDINARY_ARCHITECTURE_NAMES = ("auto",)


@pytest.mark.parametrize("registry", ["ARCHITECTURES", "EXPLAINERS", "VALIDATION_SCHEMES", "CLASSIFICATION_METHODS"])
def test_choices_are_named_only_in_the_catalog(registry):
    names = _catalog_names(registry)
    if registry != "ARCHITECTURES":
        # "gradient", "random", "cnn" are ordinary words and a scheme's own code names it: what
        # must not exist is a copy of the list (a tuple, list or set literal of two or more names)
        offences = [o for path, source in _sources(*SOURCE_FOLDERS) for o in list_offences(path, source, names)]
    else:
        # "auto" (the default model) is also an ordinary word (GDAL's "auto", automatic bounds): for it,
        # as for the other registries, only a copied list counts
        code_names = [name for name in names if name not in ORDINARY_ARCHITECTURE_NAMES]
        offences = [o for path, source in _sources(*SOURCE_FOLDERS) for o in literal_offences(path, source, code_names)]
        offences += [o for path, source in _sources(*SOURCE_FOLDERS) for o in list_offences(path, source, names)]
    assert offences == []


def test_small_modules_and_functions():
    offences = [o for path, source in _sources(*ENGINE_FOLDERS) for o in size_offences(path, source)]
    offences += [o for path, source in _sources("processing_provider", "plugin")
                 for o in size_offences(path, source, function_lines=None)]
    assert offences == []


def test_charts_use_the_object_api():
    offences = [o for path, source in _sources(*ENGINE_FOLDERS) for o in pyplot_offences(path, source)]
    assert offences == []


def test_no_module_changes_sys_path():
    offences = [o for path, source in _sources(*SOURCE_FOLDERS) if path != Path("engine/worker.py")
                for o in sys_path_offences(path, source)]
    assert offences == []


def test_no_reference_to_a_missing_design_document():
    offences = []
    for path in sorted(ROOT.rglob("*")):
        relative = path.relative_to(ROOT)
        if path.is_file() and path.suffix in (".py", ".md", ".txt", ".html") and relative.parts[0] not in (
                "demo_output", "tests") and not relative.name.startswith("."):
            text = path.read_text(encoding="utf-8", errors="replace")
            if "DESIGN.md" in text or "DESIGN document" in text:
                offences.append(str(relative))
    assert offences == []


# The checkers themselves -------------------------------------------------------------------

def test_window_checker_catches_a_second_loop():
    bad = "from rasterio.windows import Window\nfor r in range(9):\n    d.read(window=Window(0, r, 5, 1))\n"
    assert len(window_offences(Path("models/new.py"), bad)) == 1
    assert window_offences(Path("models/new.py"), "for block in iter_blocks(9, 9, 4):\n    pass\n")
    assert window_offences(Path("core/pipeline.py"), bad) == []


def test_point_reader_checker_catches_a_second_reader():
    assert point_reader_offences(Path("core/idw.py"), "def read_points(p):\n    return gpd.read_file(p)\n") \
        == ["core/idw.py:1 defines read_points", "core/idw.py:2 opens a vector file with read_file"]
    assert point_reader_offences(Path("core/points.py"), "def read_points(p):\n    return gpd.read_file(p)\n") == []


def test_literal_checker_catches_a_copied_choice_list():
    bad = '"""Docs may name cnn1d."""\nARCHITECTURES = ("pradhan2022_dense", "cnn1d")\nHELP = "use cnn1d here"\n'
    assert len(literal_offences(Path("plugin/x.py"), bad, ["pradhan2022_dense", "cnn1d"])) == 3
    assert literal_offences(Path("plugin/x.py"), '"""cnn1d"""\nx = "cnn1dx"\n', ["cnn1d"]) == []


def test_list_checker_catches_a_copied_list_only():
    names = ["gradient", "deep", "kernel"]
    assert list_offences(Path("plugin/x.py"), 'EXPLAINERS = ("gradient", "deep", "kernel")\n', names) \
        == ["plugin/x.py:1 copies gradient, deep, kernel"]
    assert list_offences(Path("plugin/x.py"), 'if name == "gradient":\n    pass\n', names) == []


def test_size_checker_catches_long_modules_and_functions():
    long_function = "def f():\n" + "    x = 1\n" * 61
    assert size_offences(Path("core/x.py"), long_function) == ["core/x.py:1 f has 62 lines"]
    assert size_offences(Path("core/x.py"), "x = 1\n" * 401) == ["core/x.py has 401 lines"]


def test_pyplot_and_sys_path_checkers():
    assert pyplot_offences(Path("models/c.py"), "import matplotlib.pyplot as plt\n")
    assert pyplot_offences(Path("models/c.py"), "from matplotlib import pyplot\n")
    assert pyplot_offences(Path("models/c.py"), "from matplotlib.figure import Figure\n") == []
    assert sys_path_offences(Path("models/__init__.py"), "import sys\nsys.path.insert(0, 'x')\n")
    assert sys_path_offences(Path("models/__init__.py"), "import sys\nprint(sys.path)\n") == []
