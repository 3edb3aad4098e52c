"""A normal run says nothing alarming: a small chain of DeepProspect algorithms (synthetic province →
IDW → stack → training points → train → predict → SHAP) and the plugin's start and stop, with
QGIS's message log, Python's warnings and every algorithm's feedback recorded, leave no warning
that comes from our package (tag "DeepProspect", a file of this checkout, or our feedback).

What counts as a warning: QgsMessageLog messages of level Warning or Critical, Python warnings
of any category (``simplefilter("always")``: deprecations included), and ``pushWarning`` /
``reportError`` in the Processing feedback.
"""
import json
import sys
import warnings
from pathlib import Path

from qgis.core import Qgis, QgsApplication, QgsProcessingFeedback

from reference import ROOT

LOG_TAG = "DeepProspect"
_PROVIDERS = []


class RecordingFeedback(QgsProcessingFeedback):
    """Processing feedback that keeps the warnings and errors an algorithm reports."""

    def __init__(self):
        super().__init__()
        self.warnings = []

    def pushWarning(self, text):  # noqa: N802 (QGIS's name)
        self.warnings.append(text)
        super().pushWarning(text)

    def reportError(self, text, fatal_error=False):  # noqa: N802
        self.warnings.append(text)
        super().reportError(text, fatal_error)


def is_ours(filename):
    """A Python file of this checkout, however it was imported (the checkout, or the "deepprospect" link)."""
    path = Path(filename)
    return "deepprospect" in path.parts or str(path).startswith(str(ROOT))


def _run_chain(folder, feedback):
    import processing

    def run(algorithm, parameters):
        return processing.run("deepprospect:" + algorithm, parameters, feedback=feedback)

    province = run("synthetic_province", {"SIZE_KM": 16, "SEED": 1, "OUTPUT_FOLDER": str(folder / "province")})
    extent = json.loads(Path(province["TRUTH"]).read_text())["extent"]
    # over the whole province, as the demo does (the samples' own extent would leave border deposits out)
    # 100 m cells: no two of the province's deposits share one (that note about the data is not noise)
    idw = run("idw", {"INPUT": province["GEOCHEMISTRY"], "FIELDS": ["Sb_con", "As_con"], "PIXEL_SIZE": 100.0,
                      "EXTENT": "{xmin},{xmax},{ymin},{ymax} [EPSG:32645]".format(**extent),
                      "POWER": 2.0, "NEIGHBORS": 8, "OUTPUT": str(folder / "idw.tif")})
    stack = run("stack", {"LAYERS": [idw["OUTPUT"], province["MAGNETIC"]], "REFERENCE": idw["OUTPUT"],
                          "OUTPUT": str(folder / "stack.tif")})
    points = run("sample_negatives", {"STACK": stack["OUTPUT"], "DEPOSITS": province["DEPOSITS"], "SEED": 2,
                                      "OUTPUT": str(folder / "training_points.gpkg")})
    model = run("train", {"STACK": stack["OUTPUT"], "POINTS": points["OUTPUT"], "EPOCHS": 5, "ENSEMBLE_SIZE": 2,
                          "SEED": 3, "OUTPUT_MODEL": str(folder / "model.dpm")})
    run("predict", {"STACK": stack["OUTPUT"], "MODEL": model["OUTPUT_MODEL"], "DEPOSITS": province["DEPOSITS"],
                    "OUTPUT": str(folder / "probability.tif")})
    run("shap", {"MODEL": model["OUTPUT_MODEL"], "STACK": stack["OUTPUT"], "POINTS": points["OUTPUT"],
                 "SAMPLE_SIZE": 150, "BACKGROUND_SIZE": 30, "OUTPUT_FOLDER": str(folder / "shap")})


def _start_and_stop_the_plugin(shap_folder):
    """The plugin as QGIS starts it (its own provider: the test session's is taken out meanwhile, as
    QGIS would warn about two), the inspector opened (it shows the last SHAP folder, so its engine is
    busy drawing) and at once unloaded; the session's provider and settings come back."""
    from qgis.core import QgsSettings
    from qgis_interface import QgisInterfaceStub

    from deepprospect import classFactory
    from deepprospect.plugin.dock_importance import LAST_FOLDER_KEY
    from deepprospect.processing_provider.provider import DeepProspectProvider

    registry = QgsApplication.processingRegistry()
    registry.removeProvider("deepprospect")
    saved_folder = QgsSettings().value(LAST_FOLDER_KEY, "")
    QgsSettings().setValue(LAST_FOLDER_KEY, str(shap_folder))
    try:
        iface = QgisInterfaceStub()
        plugin = classFactory(iface)
        plugin.initGui()
        plugin.show_inspector()
        plugin.unload()
    finally:
        QgsSettings().setValue(LAST_FOLDER_KEY, saved_folder)
        if registry.providerById("deepprospect") is None:
            _PROVIDERS.append(DeepProspectProvider())   # kept alive: QGIS calls back into it
            assert registry.addProvider(_PROVIDERS[-1])


def test_a_normal_run_logs_no_warning_from_our_code(qgis_app, tmp_path):
    sys.path.insert(0, str(ROOT / "tests"))   # qgis_interface.QgisInterfaceStub
    logged = []

    def listen(message, tag, level):
        if level in (Qgis.MessageLevel.Warning, Qgis.MessageLevel.Critical):
            logged.append((tag, message))

    log = QgsApplication.messageLog()
    log.messageReceived.connect(listen)
    feedback = RecordingFeedback()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _run_chain(tmp_path, feedback)
            _start_and_stop_the_plugin(tmp_path / "shap")
    finally:
        log.messageReceived.disconnect(listen)
    ours = [(tag, message) for tag, message in logged if tag == LOG_TAG or "deepprospect" in message.lower()]
    assert ours == []
    assert [str(warning.message) for warning in caught if is_ours(warning.filename)] == []
    assert feedback.warnings == []


def test_the_filters_see_what_they_should():
    assert is_ours(str(ROOT / "plugin" / "dock.py"))
    assert is_ours("/tmp/deepprospect-import-x/deepprospect/processing_provider/base.py")
    assert not is_ours("/usr/share/qgis/python/plugins/processing/core/Processing.py")
    feedback = RecordingFeedback()
    feedback.pushWarning("careful")
    feedback.reportError("broken")
    assert feedback.warnings == ["careful", "broken"]
