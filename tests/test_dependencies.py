"""The plugin without tensorflow/shap: it loads, says what is missing and how to install it,
and the algorithms that do not need them keep working. Runs in a subprocess whose
dependency folder is empty, so the modules are really absent."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent("""
    import sys, json, time
    sys.path.insert(0, {import_dir!r})
    sys.path.append("/usr/share/qgis/python/plugins")
    from qgis.core import QgsApplication, QgsMessageLog
    app = QgsApplication([], True); app.initQgis()
    messages = []
    QgsApplication.messageLog().messageReceived.connect(lambda m, tag, level: messages.append((tag, m)))
    from processing.core.Processing import Processing
    Processing.initialize()
    sys.path.insert(0, {tests_dir!r})
    from qgis_interface import QgisInterfaceStub
    iface = QgisInterfaceStub()
    started = time.perf_counter()
    import deepprospect
    plugin = deepprospect.classFactory(iface)
    plugin.initGui()
    load_seconds = time.perf_counter() - started
    import processing
    from qgis.core import QgsProcessingException
    from deepprospect.processing_provider.base import DeepProspectAlgorithm

    class NeedsTensorflow(DeepProspectAlgorithm):
        NAME, DISPLAY_NAME, REQUIRES = "needs_tensorflow", "Needs TensorFlow", ("tensorflow", "shap")
        def initAlgorithm(self, config=None):
            pass
        def execute(self, parameters, context, feedback, qgis_feedback):
            import tensorflow
            return {{}}

    algorithm = NeedsTensorflow()
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback
    try:
        algorithm.processAlgorithm({{}}, QgsProcessingContext(), QgsProcessingFeedback())
        error = None
    except QgsProcessingException as exception:
        error = str(exception)
    result = processing.run("deepprospect:synthetic_province", {{"SIZE_KM": 6, "SEED": 1, "OUTPUT_FOLDER": {out!r}}})
    provider = QgsApplication.processingRegistry().providerById("deepprospect")
    try:
        processing.run("deepprospect:train", {{"STACK": result["TRUTH_EVIDENCE"], "POINTS": result["DEPOSITS"],
                                               "OUTPUT_MODEL": {out!r} + "/model.dpm"}})
        train_error = None
    except QgsProcessingException as exception:
        train_error = str(exception)
    unavailable = sorted(a.id() for a in provider.algorithms() if "Not available yet" in a.shortHelpString())
    print(json.dumps({{
        "train_error": train_error, "unavailable": unavailable,
        "error": error, "help": algorithm.shortHelpString(), "deposits": result["DEPOSIT_COUNT"],
        "provider": provider is not None, "menu_actions": len(plugin.actions),
        "heavy_loaded": sorted(m for m in ("tensorflow", "shap", "keras") if m in sys.modules),
        "log": [m for tag, m in messages if tag == "DeepProspect"], "load_seconds": load_seconds}}))
    plugin.unload()
    print("UNLOADED", QgsApplication.processingRegistry().providerById("deepprospect") is None)
""")


def _run(tmp_path, deps_folder):
    import json

    import_dir = tmp_path / "import"
    import_dir.mkdir()
    (import_dir / "deepprospect").symlink_to(ROOT, target_is_directory=True)
    script = tmp_path / "script.py"
    script.write_text(SCRIPT.format(import_dir=str(import_dir), tests_dir=str(ROOT / "tests"), out=str(tmp_path / "province")))
    environment = dict(os.environ, QT_QPA_PLATFORM="offscreen", DEEPPROSPECT_DEPS=str(deps_folder))
    completed = subprocess.run(["/usr/bin/python3", str(script)], capture_output=True, text=True,
                               env=environment, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    lines = completed.stdout.strip().splitlines()
    return json.loads(lines[-2]), lines[-1]


def test_plugin_without_tensorflow_loads_and_explains_how_to_install(tmp_path):
    empty = tmp_path / "empty_deps"
    empty.mkdir()
    report, unloaded = _run(tmp_path, empty)
    assert report["provider"] and report["menu_actions"] == 2
    assert report["deposits"] > 0                      # algorithms without TF keep working
    assert report["error"] is not None
    assert "tensorflow" in report["error"] and "shap" in report["error"]
    assert "Install dependencies" in report["error"] and str(empty) in report["error"]
    assert "-m pip install" in report["error"] and "--target {}".format(empty) in report["error"]
    assert "Not available yet" in report["help"]
    assert any("tensorflow" in message for message in report["log"])   # QGIS message log
    assert report["heavy_loaded"] == []                # nothing heavy imported at load
    assert unloaded == "UNLOADED True"
    # the real algorithms that need TensorFlow say so, and stop before touching any data
    assert "tensorflow" in report["train_error"] and "Install dependencies" in report["train_error"]
    assert not (tmp_path / "province" / "model.dpm").exists()
    assert {"deepprospect:train", "deepprospect:predict", "deepprospect:shap"} <= set(report["unavailable"])
    assert not {"deepprospect:idw", "deepprospect:stack", "deepprospect:sample_negatives",
                "deepprospect:synthetic_province", "deepprospect:spectral_preprocess"} & set(report["unavailable"])


def test_install_command_pins_the_running_python():
    sys.path.insert(0, str(ROOT.parent))
    from deepprospect import dependencies
    import numpy

    pins = dependencies.running_python_constraints()
    assert "numpy=={}".format(numpy.__version__) in pins
    command = dependencies.install_command("/some/folder", "/tmp/c.txt", python="/usr/bin/python3")
    assert command[:4] == ["/usr/bin/python3", "-m", "pip", "install"]
    assert command[command.index("--target") + 1] == "/some/folder"
    assert command[command.index("-c") + 1] == "/tmp/c.txt"
    assert command[-1].endswith("requirements.txt")


def test_dependency_folder_is_appended_never_prepended(monkeypatch, tmp_path):
    from deepprospect import dependencies

    monkeypatch.setenv("DEEPPROSPECT_DEPS", str(tmp_path))
    monkeypatch.setattr(sys, "path", list(sys.path))
    first = sys.path[0]
    dependencies.add_dependency_folder_to_path()
    dependencies.add_dependency_folder_to_path()
    assert sys.path[-1] == str(tmp_path) and sys.path[0] == first
    assert sys.path.count(str(tmp_path)) == 1
