"""Child process of test_dialog_path.py: train -> predict -> shap run from their algorithm dialogs,
several cycles in ONE GUI QgsApplication, as a geologist clicks Run in desktop QGIS.

usage (QGIS's Python, /usr/bin/python3):
  dialog_cycles.py prepare WORKDIR
      province (20 km, seed 1) and training points through processing.run on the main thread;
      prints one line "prepared: {json}" with the paths of stack, points and deposits.
  dialog_cycles.py cycles WORKDIR STACK POINTS DEPOSITS [CYCLES]
      CYCLES (3) x train -> predict -> shap through processing.createAlgorithmDialog(id, params)
      and dialog.runAlgorithm() (the Run button: QGIS runs the algorithm in a
      QgsProcessingAlgRunnerTask on a worker thread unless it is FlagNoThreading), waiting on
      the event loop; prints "run: {json}" per run and "dialog cycles: N cycles finished" last.

The plugin tree is $DEEPPROSPECT_PLUGIN_ROOT (default: the checkout holding this file), imported
as ``deepprospect`` and started through its classFactory/initProcessing as QGIS does, so the same
script drives today's tree and an old checkout. A crash kills this process (the test reports the
signal); faulthandler prints every thread's Python stack to stderr first, and its watchdog ends a
frozen GUI instead of letting it hang.
"""
import faulthandler
import json
import os
import sys
import tempfile
import time
from pathlib import Path

PLUGIN_ROOT = Path(os.environ.get("DEEPPROSPECT_PLUGIN_ROOT") or Path(__file__).resolve().parents[2]).resolve()
EPOCHS = 5
#: The cycle that trains the default model (ARCHITECTURE auto, spatial k-fold) instead of the network.
DEFAULT_MODEL_CYCLE = 2
RUN_TIMEOUT_S = 240      # one run, Run to finished, the engine's first start included: else frozen

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("PYTHONHASHSEED", "0")


def start_qgis():
    """A GUI QgsApplication with a desktop-like iface, Processing, and the plugin started by QGIS's way."""
    _import_plugin_as_deepprospect()
    from qgis.core import QgsApplication

    app = QgsApplication([], True)
    app.initQgis()
    # processing's modules read qgis.utils.iface when they are imported: set it before them
    import qgis.utils

    qgis.utils.iface = _Desktop()
    from processing.core.Processing import Processing

    Processing.initialize()
    import deepprospect

    plugin = deepprospect.classFactory(qgis.utils.iface)
    plugin.initProcessing()
    return app, plugin


def _import_plugin_as_deepprospect():
    """QGIS imports a plugin under its folder name, whatever the checkout is called."""
    folder = Path(tempfile.mkdtemp(prefix="dialog-cycles-import-"))
    (folder / "deepprospect").symlink_to(PLUGIN_ROOT, target_is_directory=True)
    sys.path.insert(0, str(folder))
    if "/usr/share/qgis/python/plugins" not in sys.path:
        sys.path.append("/usr/share/qgis/python/plugins")


class _Desktop:
    """What processing's dialogs ask of QGIS's main window: a parent window, a map canvas, the
    browser model, the layer tree view and the active layer. Standalone QgsApplication has no iface."""

    def __init__(self):
        from qgis.core import QgsLayerTreeModel, QgsProject
        from qgis.gui import QgsBrowserGuiModel, QgsLayerTreeView, QgsMapCanvas
        from qgis.PyQt.QtWidgets import QMainWindow

        self._window = QMainWindow()
        self._canvas = QgsMapCanvas(self._window)
        self._window.setCentralWidget(self._canvas)
        self._browser = QgsBrowserGuiModel(self._window)
        # QGIS 3.40's Processing places loaded results relative to the layer tree's current node.
        self._tree_model = QgsLayerTreeModel(QgsProject.instance().layerTreeRoot(), self._window)
        self._tree_view = QgsLayerTreeView(self._window)
        self._tree_view.setModel(self._tree_model)
        self._active_layer = None

    def mainWindow(self):  # noqa: N802 (QGIS's names)
        return self._window

    def mapCanvas(self):  # noqa: N802
        return self._canvas

    def browserModel(self):  # noqa: N802
        return self._browser

    def activeLayer(self):  # noqa: N802
        return self._active_layer

    def setActiveLayer(self, layer):  # noqa: N802
        self._active_layer = layer
        return True

    def layerTreeView(self):  # noqa: N802
        return self._tree_view


# ----------------------------------------------------------------------------- prepare

def prepare(workdir):
    """Province and training points with the public algorithms, on the main thread (processing.run)."""
    import processing

    workdir = Path(workdir)
    province = processing.run("deepprospect:synthetic_province", {
        "SIZE_KM": 20, "SEED": 1, "OUTPUT_FOLDER": str(workdir / "province")})
    files = json.loads(Path(province["TRUTH"]).read_text())["files"]
    folder = Path(province["OUTPUT_FOLDER"])
    stack, deposits = str(folder / files["truth_evidence"]), str(folder / files["deposits"])
    points = processing.run("deepprospect:sample_negatives", {
        "STACK": stack, "DEPOSITS": deposits, "MIN_DISTANCE": 500, "SEED": 1,
        "OUTPUT": str(workdir / "training_points.gpkg")})["OUTPUT"]
    print("prepared: " + json.dumps({"stack": stack, "points": points, "deposits": deposits}), flush=True)


# ----------------------------------------------------------------------------- cycles

def plan(workdir, stack, points, deposits, cycles):
    """(cycle, step, algorithm id, parameters) of every run; small settings keep a cycle short."""
    runs = []
    for cycle in range(1, cycles + 1):
        folder = Path(workdir) / "cycle{}".format(cycle)
        folder.mkdir(parents=True, exist_ok=True)
        model = str(folder / "model.dpm")
        training = {"ARCHITECTURE": 0, "EPOCHS": EPOCHS, "VALIDATION": 0}
        if cycle == DEFAULT_MODEL_CYCLE:       # the default model, as a user gets it: calibrated on 2 folds
            training = {"FOLDS": 2, "PRIOR": 0.06}
        runs += [
            (cycle, "train", "deepprospect:train", dict({
                "STACK": stack, "POINTS": points, "LABEL_FIELD": "label", "ENSEMBLE_SIZE": 2, "SEED": 42,
                "OUTPUT_MODEL": model, "OUTPUT_REPORT": str(folder / "report.html")}, **training)),
            (cycle, "predict", "deepprospect:predict", {
                "STACK": stack, "MODEL": model, "DEPOSITS": deposits, "OUTPUT": str(folder / "probability.tif"),
                "OUTPUT_UNCERTAINTY": str(folder / "uncertainty.tif"),
                "OUTPUT_CLASSES": str(folder / "classes.tif")}),
            (cycle, "shap", "deepprospect:shap", {
                "MODEL": model, "STACK": stack, "POINTS": deposits, "SAMPLE_SIZE": 40, "BACKGROUND_SIZE": 20,
                "EXPLAINER": 0, "SEED": 1, "MAP_REFERENCES": 2, "MAP_STEPS": 4,
                "OUTPUT_FOLDER": str(folder / "shap"), "OUTPUT_RASTER": str(folder / "shap_maps.tif")}),
        ]
    return runs


def run_dialog(algorithm_id, parameters):
    """Open the algorithm's dialog with ``parameters``, press Run, spin the event loop until the
    run is over. Returns (ok, results, error)."""
    import processing
    from qgis.core import QgsApplication
    from qgis.PyQt.QtCore import QEventLoop, QTimer

    dialog = processing.createAlgorithmDialog(algorithm_id, parameters)
    if dialog is None:
        return False, {}, "no algorithm " + algorithm_id
    dialog.show()
    state = {"ran": False}
    dialog.algorithmFinished.connect(lambda ok, results: state.update(done=(bool(ok), dict(results))))
    loop = QEventLoop()
    timer = QTimer()
    timer.timeout.connect(lambda: _poll(dialog, state, loop))
    timer.start(100)  # started before Run: a refusing message box is modal and runs its own loop
    dialog.runAlgorithm()  # what the Run button calls
    state["ran"] = True
    if not _over(dialog, state) and QgsApplication.taskManager().countActiveTasks() == 0:
        # Run queues the task before it returns; neither a task nor a result: it refused to start
        state["refused"] = "the dialog did not start the run: " + " | ".join(_message_bar(dialog))
    if not _over(dialog, state):
        loop.exec_()
    timer.stop()
    ok, results = state.get("done", (False, {}))
    error = state.get("refused") or ("" if ok else " | ".join(_log_tail(dialog)))
    dialog.close()
    dialog.deleteLater()
    return ok, results, error


def _poll(dialog, state, loop):
    from qgis.PyQt.QtWidgets import QApplication, QMessageBox

    modal = QApplication.activeModalWidget()
    if isinstance(modal, QMessageBox):  # the dialog refused the parameters (or asks about CRSs)
        state["refused"] = "message box: " + modal.text()
        modal.reject()
    if state["ran"] and _over(dialog, state):
        loop.quit()


def _over(dialog, state):
    # a failed run may not emit algorithmFinished, but it always drops the dialog's feedback
    return "done" in state or "refused" in state or dialog.feedback is None


def _log_tail(dialog):
    from qgis.PyQt.QtWidgets import QTextEdit

    lines = [line.strip() for edit in dialog.findChildren(QTextEdit) for line in edit.toPlainText().splitlines()]
    return [line for line in lines if line][-6:]


def _message_bar(dialog):
    from qgis.PyQt.QtWidgets import QLabel

    return [label.text() for label in dialog.messageBar().findChildren(QLabel) if label.text()]


def cycles(workdir, stack, points, deposits, count):
    runs = plan(workdir, stack, points, deposits, count)
    for cycle, step, algorithm_id, parameters in runs:
        # a GUI frozen by a dead-locked worker runs no Python: this C watchdog still ends it
        faulthandler.dump_traceback_later(RUN_TIMEOUT_S, exit=True)
        started = time.time()
        ok, results, error = run_dialog(algorithm_id, parameters)
        faulthandler.cancel_dump_traceback_later()
        print("run: " + json.dumps({"cycle": cycle, "step": step, "ok": ok, "seconds": round(time.time() - started, 1),
                                    "results": {k: str(v) for k, v in results.items()}, "error": error[-800:]}),
              flush=True)
        if not ok:
            print("dialog cycles: cycle {} {} failed: {}".format(cycle, step, error[-800:]), flush=True)
            return 1
    _alive()
    print("dialog cycles: {} cycles finished, QGIS alive".format(count), flush=True)
    return 0


def _alive():
    """The GUI still turns its event loop and Processing still answers."""
    from qgis.core import QgsApplication

    QgsApplication.processEvents()
    assert QgsApplication.processingRegistry().algorithmById("deepprospect:train") is not None


def main(argv):
    faulthandler.enable(all_threads=True)
    mode = argv[1] if len(argv) > 1 else ""
    if mode not in ("prepare", "cycles"):
        sys.exit(__doc__)
    app, plugin = start_qgis()
    if mode == "prepare":
        prepare(argv[2])
        code = 0
    else:
        code = cycles(argv[2], argv[3], argv[4], argv[5], int(argv[6]) if len(argv) > 6 else 3)
    sys.stdout.flush()
    # Leave without tearing QGIS down: teardown is not what this script checks, and a crash in
    # exitQgis after every run succeeded would hide the answer behind an unrelated signal.
    os._exit(code)


if __name__ == "__main__":
    main(sys.argv)
