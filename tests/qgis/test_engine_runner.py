"""The runner (processing_provider/engine_runner.py) under stress, through real algorithms.

* a worker killed mid-run gives one clear QgsProcessingException, leaves no partial output, and
  QGIS goes on running algorithms;
* Cancel at start-up (before the worker is ready), mid-run and near the end of every long-running
  algorithm gives "Canceled…", stops the worker, and leaves no partial output (the latency from
  the cancel to the exception is printed, not asserted);
* inputs that are not plain files: memory layers, "selected features only", a raster of a
  non-GDAL provider;
* stray prints inside the worker do not corrupt the protocol;
* an engine that is not installed gives a clear message saying how to install it.

Workers are found as the children of this process that run ``engine/worker.py`` (psutil).
"""
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from reference import CRS, ROOT, STACK_NODATA, bundle_metadata, engine_python, read_points, read_raster, \
    write_points

WORKER = str(ROOT / "engine" / "worker.py")
#: (algorithm, stage, seconds from Cancel to the exception), printed at the end of the module.
LATENCIES = []


# Helpers ------------------------------------------------------------------------------------

def worker_pids():
    """Engine workers running now as children of this test process."""
    pids = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE and WORKER in child.cmdline():
                pids.add(child.pid)
        except psutil.Error:
            pass
    return pids


def running(pid):
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def partial_files(*folders):
    """``core/atomic.py``'s temporary names (``.<name>.<8 hex>.partial…``) under ``folders``."""
    return sorted(str(path) for folder in folders if folder and Path(folder).exists()
                  for path in Path(folder).rglob(".*.partial*"))


def qgis_temp_folder():
    from qgis.core import QgsProcessingUtils

    return QgsProcessingUtils.tempFolder()


@pytest.fixture(autouse=True)
def fresh_worker_per_run(monkeypatch):
    """These tests find the run's worker among this process's children: no idle worker may be
    kept from one run to the next (test_an_idle_worker_serves_the_next_run tests keeping one)."""
    from deepprospect.processing_provider.engine_runner import close_idle_workers

    close_idle_workers()
    monkeypatch.setenv("DEEPPROSPECT_WORKER_IDLE_SECONDS", "0")
    yield
    close_idle_workers()


@pytest.fixture(scope="module", autouse=True)
def report_latencies():
    yield
    if LATENCIES:
        lines = ["{:24s} {:8s} {:6.2f} s".format(*row) for row in LATENCIES]
        print("\nCancel → QgsProcessingException latency:\n  " + "\n  ".join(lines))


# Inputs of a realistic size: each algorithm runs long enough to be canceled mid-run ----------

@pytest.fixture(scope="module")
def large_stack(province_stack, tmp_path_factory):
    """The province's 16-band stack resampled 8 × finer (640 × 640 px): a few seconds of prediction."""
    path = tmp_path_factory.mktemp("large_stack") / "stack25m.tif"
    subprocess.run(["gdal_translate", "-q", "-r", "bilinear", "-outsize", "800%", "800%", "-co", "TILED=YES",
                    province_stack, str(path)], check=True)
    return str(path)


@pytest.fixture(scope="module")
def wide_scene(spectral_data, tmp_path_factory):
    """The synthetic scene stretched to 1024 × 64 px: four 256-pixel blocks of preprocessing."""
    path = tmp_path_factory.mktemp("wide_scene") / "wide_scene.tif"
    subprocess.run(["gdal_translate", "-q", "-r", "near", "-outsize", "1024", "64", spectral_data["scene"], str(path)],
                   check=True)
    assert read_raster(path)[2] == read_raster(spectral_data["scene"])[2]     # band wavelengths kept
    return str(path)


@pytest.fixture(scope="module")
def classifier_bundle(spectral_classifier):
    """The session's spectral classifier bundle (conftest)."""
    return spectral_classifier[0]["OUTPUT"]


def cancel_case(name, out, request):
    """(parameters, output paths) of ``name`` writing into the folder ``out``."""
    get = request.getfixturevalue
    province = get("province")
    if name == "idw":
        return {"INPUT": province["geochemistry"], "FIELDS": ["Sb_con", "Pb_con", "As_con"], "PIXEL_SIZE": 20.0,
                "OUTPUT": str(out / "idw.tif")}, [out / "idw.tif"]
    if name == "stack":
        return {"LAYERS": [province["magnetic"], province["bouguer"], province["clay"], province["silica"]],
                "REFERENCE": province["truth_probability"], "PIXEL_SIZE": 20.0,
                "OUTPUT": str(out / "stack.tif")}, [out / "stack.tif"]
    if name == "sample_negatives":
        return {"STACK": get("large_stack"), "DEPOSITS": province["deposits"], "COUNT": 3000, "MIN_DISTANCE": 300.0,
                "OUTPUT": str(out / "training.gpkg")}, [out / "training.gpkg"]
    if name == "train":
        # the paper's network for 30 epochs: a run long enough to be canceled or killed mid-way
        return {"STACK": get("province_stack"), "POINTS": get("province_training_points"), "ARCHITECTURE": 0,
                "EPOCHS": 30, "VALIDATION": 0, "OUTPUT_MODEL": str(out / "model.dpm"),
                "OUTPUT_REPORT": str(out / "model.html")}, \
            [out / "model.dpm", out / "model.html"]
    if name == "predict":
        return {"STACK": get("large_stack"), "MODEL": get("province_bundle"), "BLOCK_SIZE": 64,
                "DEPOSITS": province["deposits"], "OUTPUT": str(out / "p.tif"), "OUTPUT_CLASSES": str(out / "c.tif"),
                "OUTPUT_UNCERTAINTY": str(out / "u.tif")}, [out / "p.tif", out / "c.tif", out / "u.tif"]
    if name == "shap":
        return {"MODEL": get("province_bundle"), "STACK": get("province_stack"), "POINTS": province["deposits"],
                "SAMPLE_SIZE": 100, "BACKGROUND_SIZE": 30, "SEED": 3, "OUTPUT_FOLDER": str(out / "shap"),
                "OUTPUT_RASTER": str(out / "contributions.tif"), "MAP_REFERENCES": 4, "MAP_STEPS": 4}, \
            [out / "shap", out / "contributions.tif"]
    if name == "spectral_preprocess":
        return {"INPUT": get("wide_scene"), "DERIVATIVE": 0, "WINDOW": 80,
                "OUTPUT": str(out / "scene_cr.tif")}, [out / "scene_cr.tif", out / "scene_cr_spectra.png"]
    if name == "classify_hyperspectral":
        return {"MODEL": get("classifier_bundle"), "INPUT": get("wide_scene"), "BLOCK_SIZE": 64,
                "OUTPUT": str(out / "classes.tif")}, [out / "classes.tif"]
    raise ValueError(name)


# (b) Cancel at every stage -------------------------------------------------------------------

def _processing_feedback_class():
    from qgis.core import QgsProcessingFeedback

    class CancelingFeedback(QgsProcessingFeedback):
        """Presses Cancel (``QgsFeedback.cancel``, what the dialog's button does) at ``stage``:
        "startup" as soon as the worker process exists, before it is ready (a watcher thread);
        "mid" at the running task's first progress report; "end" at its first report ≥ 90 %."""

        THRESHOLDS = {"mid": 0.0, "end": 90.0}

        def __init__(self, stage):
            super().__init__()
            self.stage, self.progress, self.canceled_at, self.workers = stage, [], None, set()
            self.known = worker_pids()
            if stage == "startup":
                threading.Thread(target=self._watch_for_worker, daemon=True).start()

        def _watch_for_worker(self):
            deadline = time.monotonic() + 600
            while self.canceled_at is None and time.monotonic() < deadline:
                started = worker_pids() - self.known
                if started:
                    self.press_cancel(started)
                    return
                time.sleep(0.002)

        def setProgress(self, value):
            self.progress.append(value)
            super().setProgress(value)
            threshold = self.THRESHOLDS.get(self.stage)
            if threshold is not None and self.canceled_at is None and value > threshold:
                self.press_cancel(worker_pids() - self.known)

        def press_cancel(self, workers):
            self.workers |= workers
            self.canceled_at = time.monotonic()
            self.cancel()

    return CancelingFeedback


CANCEL_ALGORITHMS = ["idw", "stack", "sample_negatives", "train", "predict", "shap", "spectral_preprocess",
                     "classify_hyperspectral"]


@pytest.mark.parametrize("stage", ["startup", "mid", "end"])
@pytest.mark.parametrize("name", CANCEL_ALGORITHMS)
def test_cancel_at_every_stage(qgis_app, name, stage, request, tmp_path):
    import processing
    from qgis.core import QgsProcessingException

    out = tmp_path / "out"
    out.mkdir()
    parameters, outputs = cancel_case(name, out, request)
    feedback = _processing_feedback_class()(stage)
    try:
        result = processing.run("deepprospect:" + name, parameters, feedback=feedback)
    except QgsProcessingException as error:
        message = str(error)
    else:
        pytest.fail("Cancel at {} ({}; progress seen {}) was not honoured: the algorithm returned {}".format(
            stage, "pressed" if feedback.canceled_at else "never pressed", feedback.progress, sorted(result)))
    assert feedback.canceled_at is not None, "failed before Cancel was pressed: " + message
    LATENCIES.append((name, stage, time.monotonic() - feedback.canceled_at))
    assert message.startswith("Canceled"), message
    assert feedback.workers, "no engine worker was seen"
    assert not [pid for pid in feedback.workers if running(pid)], "the worker still runs after the cancel"
    if stage == "startup":
        assert feedback.progress == []          # the task never started
    assert partial_files(out, qgis_temp_folder()) == []
    assert not [str(path) for path in outputs if Path(path).exists()]


# (a) The worker killed mid-run ---------------------------------------------------------------

def _killing_feedback(kill_when):
    """A feedback that SIGKILLs the worker from a timer thread once ``kill_when(progress)`` holds,
    remembering the partial files present at that moment."""
    from qgis.core import QgsProcessingFeedback

    class KillingFeedback(QgsProcessingFeedback):
        def __init__(self):
            super().__init__()
            self.known, self.killed, self.partials_at_kill = worker_pids(), set(), None

        def setProgress(self, value):
            super().setProgress(value)
            if not self.killed and kill_when(value):
                self.killed = worker_pids() - self.known
                self.partials_at_kill = kill_when.partials()
                for pid in self.killed:
                    threading.Timer(0.05, os.kill, (pid, signal.SIGKILL)).start()

    return KillingFeedback()


class _Trigger:
    def __init__(self, threshold, folder, need_partials):
        self.threshold, self.folder, self.need_partials = threshold, folder, need_partials

    def partials(self):
        return partial_files(self.folder)

    def __call__(self, progress):
        return progress >= self.threshold and (not self.need_partials or bool(self.partials()))


@pytest.mark.parametrize("name, threshold, need_partials", [("train", 10.0, False), ("predict", 20.0, True)])
def test_worker_killed_mid_run_is_one_clear_error_and_qgis_goes_on(qgis_app, name, threshold, need_partials,
                                                                   request, province, province_stack, tmp_path):
    import processing
    from qgis.core import QgsProcessingException

    out = tmp_path / "out"
    out.mkdir()
    parameters, outputs = cancel_case(name, out, request)
    feedback = _killing_feedback(_Trigger(threshold, out, need_partials))
    with pytest.raises(QgsProcessingException) as error:
        processing.run("deepprospect:" + name, parameters, feedback=feedback)
    message = str(error.value)
    assert feedback.killed, "the worker was never killed"
    assert message.count("DeepProspect engine") == 1 and "before it finished" in message, message
    assert "killed by signal 9" in message and "QGIS is fine" in message
    assert "Traceback" not in message and 'File "' not in message
    if need_partials:
        assert feedback.partials_at_kill, "the worker was killed before it wrote anything"
    assert partial_files(out) == []
    assert not [str(path) for path in outputs if Path(path).exists()]
    assert not [pid for pid in feedback.killed if running(pid)]
    # QGIS is alive: the next algorithm runs normally
    again = processing.run("deepprospect:sample_negatives", {
        "STACK": province_stack, "DEPOSITS": province["deposits"], "COUNT": 20, "SEED": 1,
        "OUTPUT": str(tmp_path / "after.gpkg")})
    assert again["NON_DEPOSIT_COUNT"] == 20


# (c) Inputs that are not plain files ---------------------------------------------------------

def _memory_points(name, xy, fields):
    """A memory point layer in EPSG:32645 with double fields ``fields`` (name → values)."""
    from qgis.core import QgsFeature, QgsField, QgsGeometry, QgsPointXY, QgsVectorLayer
    from qgis.PyQt.QtCore import QVariant

    layer = QgsVectorLayer("Point?crs={}".format(CRS), name, "memory")
    provider = layer.dataProvider()
    provider.addAttributes([QgsField(field, QVariant.Double) for field in fields])
    layer.updateFields()
    features = []
    for index, (x, y) in enumerate(xy):
        feature = QgsFeature(layer.fields())
        feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(float(x), float(y))))
        feature.setAttributes([float(values[index]) for values in fields.values()])
        features.append(feature)
    assert provider.addFeatures(features)
    assert layer.isValid() and layer.featureCount() == len(xy)
    return layer


def _samples(seed=21, n=80):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 3000, (n, 2)) + [400000.0, 2300000.0], rng.lognormal(1.0, 0.8, n)


IDW_EXTENT = "400000,403000,2300000,2303000 [{}]".format(CRS)


def _idw(source, output):
    import processing

    result = processing.run("deepprospect:idw", {
        "INPUT": source, "FIELDS": ["Sb_con"], "PIXEL_SIZE": 100.0, "EXTENT": IDW_EXTENT, "NEIGHBORS": 6,
        "OUTPUT": str(output)})
    return read_raster(result["OUTPUT"])[0]


def test_idw_reads_a_memory_layer_as_its_file_twin(qgis_app, tmp_path):
    xy, values = _samples()
    memory = _memory_points("samples", xy, {"Sb_con": values})
    from_memory = _idw(memory, tmp_path / "memory.tif")
    from_file = _idw(write_points(tmp_path / "samples.gpkg", xy, {"Sb_con": values}) + "|layername=samples",
                     tmp_path / "file.tif")
    assert (from_memory != STACK_NODATA).all()
    np.testing.assert_array_equal(from_memory, from_file)


def test_relative_paths_mean_the_same_files_to_qgis_and_the_engine(qgis_app, tmp_path, monkeypatch, bad_input):
    """``qgis_process run deepprospect:idw -- INPUT=samples.gpkg OUTPUT=sb.tif`` from a terminal:
    the engine used to run in the plugin's engine/ folder, so it could not find the samples, and a
    relative output was written among the plugin's files."""
    from deepprospect.processing_provider.engine_runner import WORKER

    xy, values = _samples()
    write_points(tmp_path / "samples.gpkg", xy, {"Sb_con": values})
    monkeypatch.chdir(tmp_path)
    relative = _idw("samples.gpkg", "maps/sb.tif")
    absolute = _idw(str(tmp_path / "samples.gpkg"), tmp_path / "absolute.tif")
    np.testing.assert_array_equal(relative, absolute)
    assert (tmp_path / "maps" / "sb.tif").is_file() and not (Path(WORKER).parent / "maps").exists()
    bad_input("Relative input and output paths (qgis_process … OUTPUT=sb.tif in a terminal)", "handled",
              "read and written in the current folder, as QGIS reads them")


def test_idw_uses_only_the_selected_features(qgis_app, tmp_path):
    from qgis.core import QgsProcessingFeatureSourceDefinition, QgsProject, QgsVectorLayer

    xy, values = _samples()
    layer = QgsVectorLayer(write_points(tmp_path / "all.gpkg", xy, {"Sb_con": values}) + "|layername=samples",
                           "all samples", "ogr")
    QgsProject.instance().addMapLayer(layer)
    try:
        west = [feature.id() for feature in layer.getFeatures() if feature.geometry().asPoint().x() < 401500]
        layer.selectByIds(west)
        assert 10 < layer.selectedFeatureCount() < len(xy)
        selected = _idw(QgsProcessingFeatureSourceDefinition(layer.id(), True), tmp_path / "selected.tif")
    finally:
        QgsProject.instance().removeMapLayer(layer.id())
    keep = xy[:, 0] < 401500
    only = _idw(write_points(tmp_path / "west.gpkg", xy[keep], {"Sb_con": values[keep]}) + "|layername=samples",
                tmp_path / "west.tif")
    everything = _idw(str(tmp_path / "all.gpkg") + "|layername=samples", tmp_path / "everything.tif")
    np.testing.assert_array_equal(selected, only)
    assert not np.array_equal(selected, everything)


def test_sample_negatives_reads_deposits_from_a_memory_layer(qgis_app, province, province_stack, tmp_path):
    import processing

    deposit_xy, _ = read_points(province["deposits"])
    memory = _memory_points("deposits", deposit_xy, {})
    runs = []
    for deposits, name in ((memory, "memory.gpkg"), (province["deposits"], "file.gpkg")):
        result = processing.run("deepprospect:sample_negatives", {
            "STACK": province_stack, "DEPOSITS": deposits, "COUNT": 60, "SEED": 9, "OUTPUT": str(tmp_path / name)})
        runs.append(read_points(result["OUTPUT"]))
    (memory_xy, memory_table), (file_xy, file_table) = runs
    np.testing.assert_array_equal(memory_xy, file_xy)
    assert memory_table == file_table and memory_table["label"].count(1) == len(deposit_xy)


def _train(stack, points, output):
    """A quick training (logistic regression: what is checked is which points reached the engine)."""
    import processing

    processing.run("deepprospect:train", {"STACK": stack, "POINTS": points, "ARCHITECTURE": 3, "SEED": 4,
                                          "VALIDATION": 0, "OUTPUT_MODEL": str(output)})
    return bundle_metadata(output)


def test_train_reads_a_memory_layer_and_only_the_selection(qgis_app, province_stack, province_training_points,
                                                           tmp_path):
    from qgis.core import QgsProcessingFeatureSourceDefinition, QgsProject, QgsVectorLayer

    xy, table = read_points(province_training_points)
    labels = np.array(table["label"])
    memory = _memory_points("training points", xy, {"label": labels})
    metadata = _train(province_stack, memory, tmp_path / "memory.dpm")
    assert metadata["class_balance"] == {"deposit": int((labels == 1).sum()), "non_deposit": int((labels == 0).sum())}

    layer = QgsVectorLayer(province_training_points, "training points", "ogr")
    QgsProject.instance().addMapLayer(layer)
    try:
        chosen = [feature.id() for index, feature in enumerate(layer.getFeatures()) if index % 3 != 0]
        layer.selectByIds(chosen)
        selected = [feature["label"] for feature in layer.selectedFeatures()]
        metadata = _train(province_stack, QgsProcessingFeatureSourceDefinition(layer.id(), True), tmp_path / "selected.dpm")
    finally:
        QgsProject.instance().removeMapLayer(layer.id())
    assert metadata["class_balance"] == {"deposit": selected.count(1), "non_deposit": selected.count(0)}
    assert len(selected) < len(labels)


def test_stack_takes_a_virtual_raster_layer(qgis_app, province, tmp_path):
    """A raster of QGIS's "virtualraster" provider (a raster-calculator layer, no file behind it)
    goes to the engine as a GeoTIFF written by QGIS; its values arrive intact."""
    import processing
    from qgis.core import QgsProject, QgsRasterDataProvider, QgsRasterLayer

    clay = QgsRasterLayer(province["clay"], "clay", "gdal")
    parameters = QgsRasterDataProvider.VirtualRasterParameters()
    parameters.crs, parameters.extent = clay.crs(), clay.extent()
    parameters.width, parameters.height = clay.width(), clay.height()
    parameters.formula = '"clay@1" * 2'
    reference = QgsRasterDataProvider.VirtualRasterInputLayers()
    reference.name, reference.uri, reference.provider = "clay", province["clay"], "gdal"
    parameters.rInputLayers = [reference]
    virtual = QgsRasterLayer(QgsRasterDataProvider.encodeVirtualRasterProviderUri(parameters), "Clay_double",
                             "virtualraster")
    assert virtual.isValid() and virtual.providerType() == "virtualraster"
    QgsProject.instance().addMapLayer(virtual)
    try:
        doubled = processing.run("deepprospect:stack", {
            "LAYERS": [virtual], "REFERENCE": province["truth_probability"], "OUTPUT": str(tmp_path / "virtual.tif")})
    finally:
        QgsProject.instance().removeMapLayer(virtual.id())
    plain = processing.run("deepprospect:stack", {
        "LAYERS": [province["clay"]], "REFERENCE": province["truth_probability"], "OUTPUT": str(tmp_path / "clay.tif")})
    assert doubled["FACTOR_NAMES"] == "Clay_double"
    twice, _, _, _ = read_raster(doubled["OUTPUT"])
    once, _, _, _ = read_raster(plain["OUTPUT"])
    valid = once != STACK_NODATA
    assert valid.mean() > 0.5
    np.testing.assert_array_equal(twice == STACK_NODATA, ~valid)
    np.testing.assert_allclose(twice[valid], 2 * once[valid], rtol=1e-6)


# (d) Stray prints do not corrupt the protocol -------------------------------------------------

NOISY_WORKER = r'''
import os, runpy, sys
worker = runpy.run_path(sys.argv[1], run_name="noisy_worker")     # defines, does not serve
worker["_import_as_deepprospect"]()
from deepprospect.engine.tasks import task

@task("noisy_ping")
def noisy_ping(args, feedback):
    """A task whose libraries print: Python prints, C-level writes to file descriptor 1, lines
    that look like the protocol's."""
    for index in range(50):
        print("stray print %d {not json" % index)
        print('{"id": %d, "result": {"forged": true}}' % args["forge_id"])
        os.write(1, b"stray C-level write\n")
        feedback.set_progress(2 * index)
    os.write(1, b"a partial line without a newline")
    return {"echo": args["echo"]}

@task("stubborn")
def stubborn(args, feedback):
    """Ignores cancel requests but keeps reporting, like a long library call with a progress
    callback and no cancel check; finishes after ``seconds``."""
    import time
    started = time.monotonic()
    while time.monotonic() - started < args["seconds"]:
        feedback.info("still busy")
        feedback.set_progress(100 * (time.monotonic() - started) / args["seconds"])
        time.sleep(0.05)
    return {"finished": True}

@task("not_finite")
def not_finite(args, feedback):
    """Numbers JSON cannot carry, in a result, progress and log lines (IDW's CV_RMSE on 1 sample)."""
    import numpy as np
    feedback.set_progress(float("nan"))
    feedback.set_progress(50)
    feedback.set_progress(float("inf"))
    feedback.warning("RMSE: {}".format(float("nan")))
    return {"nan": float("nan"), "inf": float("inf"), "minus_inf": -np.inf, "float32": np.float32("nan"),
            "array": np.array([1.5, np.nan, np.inf]), "nested": {"rmse": [{"Sb": np.float64("nan")}]},
            "fine": np.float32(0.25)}

# Before the protocol starts, a library's output lands on the real standard output.
print("garbage before the protocol {[")
sys.stdout.flush()
#BEFORE#
from deepprospect.engine.protocol import serve
sys.exit(serve())
'''


def _noisy_python(tmp_path, before=""):
    """An executable that runs the real worker (engine/worker.py) in the engine's Python with a
    task that prints, and ``before`` (code) run just before the protocol starts."""
    script = tmp_path / "noisy_worker.py"
    script.write_text(NOISY_WORKER.replace("#BEFORE#", before))
    launcher = tmp_path / "noisy_python"
    launcher.write_text('#!/bin/sh\nexec "{}" "{}" "$@"\n'.format(engine_python(), script))
    launcher.chmod(0o755)
    return str(launcher)


def test_stray_prints_do_not_corrupt_the_protocol(tmp_path):
    from deepprospect.processing_provider.engine_runner import EngineProcess

    class Progress:
        def __init__(self):
            self.values = []

        def setProgress(self, value):
            self.values.append(value)

        def pushInfo(self, text):
            pass

        def reportError(self, text, fatal=False):
            pass

        def isCanceled(self):
            return False

    engine = EngineProcess(python=_noisy_python(tmp_path))
    try:
        for call in (1, 2, 3):
            feedback = Progress()
            # the forged id is this call's: a line that leaked through would be taken as its result
            assert engine.call("noisy_ping", {"echo": call, "forge_id": call}, feedback, timeout=300) == {"echo": call}
            assert feedback.values == sorted(feedback.values) and len(feedback.values) > 10
        assert engine.call("ping", {}, timeout=300)["python"]
        assert "stray print 49" in engine.stderr_tail()       # the prints went to standard error
    finally:
        engine.close()


def test_the_protocol_never_carries_nan_or_infinity(tmp_path, bad_input):
    """Every line the worker writes is strict JSON (RFC 8259 has no NaN/Infinity, which other
    readers reject): non-finite numbers in results become null, non-finite progress is dropped."""
    def strict(text):
        raise ValueError("not JSON: " + text)

    from deepprospect import engine_environment
    from deepprospect.processing_provider.engine_runner import WORKER

    worker = subprocess.Popen([_noisy_python(tmp_path), str(WORKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True, env=engine_environment.child_environment())
    try:
        worker.stdin.write(json.dumps({"id": 1, "task": "not_finite", "args": {}}) + "\n")
        worker.stdin.flush()
        messages = []
        for line in worker.stdout:
            if line.strip().startswith('{"'):
                messages.append(json.loads(line, parse_constant=strict))   # raises on NaN/Infinity
                if "result" in messages[-1] or "error" in messages[-1]:
                    break
    finally:
        worker.stdin.close()
        worker.kill()
        worker.wait()
    result = messages[-1]["result"]
    assert result == {"nan": None, "inf": None, "minus_inf": None, "float32": None, "array": [1.5, None, None],
                      "nested": {"rmse": [{"Sb": None}]}, "fine": 0.25}
    assert [m["progress"] for m in messages if "progress" in m] == [50.0]
    assert [m["warning"] for m in messages if "warning" in m] == ["RMSE: nan"]
    bad_input("A number the engine cannot compute (NaN/infinity) in a result or progress", "handled",
              "sent as null (JSON has no NaN); non-finite progress is not sent")


def test_cancel_stops_a_task_that_ignores_it_but_keeps_reporting(tmp_path):
    """The runner's grace period runs from the first cancel request, however many progress and log
    messages the task sends meanwhile: a 20 s task that never checks for cancel is killed."""
    from deepprospect.processing_provider.engine_runner import EngineCanceled, EngineProcess

    class CancelOnFirstProgress:
        canceled_at = None

        def setProgress(self, value):
            if self.canceled_at is None:
                self.canceled_at = time.monotonic()

        def pushInfo(self, text):
            pass

        def reportError(self, text, fatal=False):
            pass

        def isCanceled(self):
            return self.canceled_at is not None

    engine = EngineProcess(python=_noisy_python(tmp_path))
    feedback = CancelOnFirstProgress()
    try:
        with pytest.raises(EngineCanceled):
            engine.call("stubborn", {"seconds": 20}, feedback)
        LATENCIES.append(("runner: stubborn task", "mid", time.monotonic() - feedback.canceled_at))
        assert not engine.alive()
    finally:
        engine.kill()
        engine.close()


def test_a_partial_line_before_the_protocol_starts_does_not_hide_the_ready_message(tmp_path):
    """A library that writes to standard output without a newline while the worker starts (a
    progress bar, a banner) must not glue its text to the worker's first protocol line."""
    from deepprospect.processing_provider.engine_runner import EngineProcess

    engine = EngineProcess(python=_noisy_python(tmp_path, 'os.write(1, b"loading... 42%")'))
    answers = []
    thread = threading.Thread(target=lambda: answers.append(engine.call("ping", {}, timeout=120)), daemon=True)
    thread.start()
    thread.join(120)   # a guard against a hang, not a timing assertion: the answer takes < 1 s
    try:
        assert not thread.is_alive(), ("no answer: the partial line swallowed the worker's ready message; "
                                      "worker output: " + engine.stderr_tail()[-500:])
        assert answers and answers[0]["python"]
    finally:
        engine.kill()
        engine.close()


# (e) No engine installed ---------------------------------------------------------------------

def test_missing_engine_is_a_clear_message(qgis_app, province, tmp_path, monkeypatch):
    import processing
    from qgis.core import QgsProcessingException

    from deepprospect.processing_provider.engine_runner import EngineNotReady, run_task

    empty = tmp_path / "no_engine"
    empty.mkdir()
    monkeypatch.setenv("DEEPPROSPECT_ENV", str(empty))
    with pytest.raises(EngineNotReady) as direct:
        run_task("ping", {})
    assert "Plugins > DeepProspect > Install the engine…" in str(direct.value)
    with pytest.raises(QgsProcessingException) as through_qgis:
        processing.run("deepprospect:idw", {"INPUT": province["geochemistry"], "FIELDS": ["Sb_con"],
                                            "OUTPUT": str(tmp_path / "idw.tif")})
    assert "Plugins > DeepProspect > Install the engine…" in str(through_qgis.value)
    assert "Traceback" not in str(through_qgis.value)
    assert not (tmp_path / "idw.tif").exists()


def test_missing_engine_in_qgis_process(province, tmp_path):
    """qgis_process in a fresh process with DEEPPROSPECT_ENV pointing at an empty folder."""
    empty = tmp_path / "no_engine"
    empty.mkdir()
    environment = dict(os.environ, QT_QPA_PLATFORM="offscreen", DEEPPROSPECT_ENV=str(empty))
    completed = subprocess.run(
        ["/usr/bin/qgis_process.bin", "run", "deepprospect:idw", "--", "INPUT=" + province["geochemistry"],
         "FIELDS=Sb_con", "OUTPUT=" + str(tmp_path / "idw.tif")],
        capture_output=True, text=True, timeout=300, env=environment)
    output = completed.stdout + completed.stderr
    assert completed.returncode != 0
    assert "Plugins > DeepProspect > Install the engine…" in output, output[-2000:]
    assert "Traceback" not in output
    assert not (tmp_path / "idw.tif").exists()


def test_the_installed_engine_answers(qgis_app):
    """The contrary: with the real environment the same call works (what the tests above rely on)."""
    from deepprospect.processing_provider.engine_runner import run_task

    versions = run_task("ping", {"modules": ["numpy", "no_such_module"]})
    assert versions["python"] and versions["numpy"] and versions["no_such_module"] is None


def test_an_idle_worker_serves_the_next_run_and_leaves_after_its_idle_time(qgis_app, monkeypatch):
    """train → predict → shap in a row pay TensorFlow's import once: the worker that finished a run
    serves the next; a dead idle worker is replaced; an idle worker exits after its idle time."""
    from deepprospect.processing_provider import engine_runner

    for pid in worker_pids():  # earlier runs' workers may still be shutting down TensorFlow
        psutil.Process(pid).wait(30)
    monkeypatch.setenv("DEEPPROSPECT_WORKER_IDLE_SECONDS", "30")
    engine_runner.run_task("ping", {})
    first = worker_pids()
    engine_runner.run_task("ping", {})
    assert worker_pids() == first and len(first) == 1      # the same process served both
    os.kill(next(iter(first)), signal.SIGKILL)
    psutil.Process(next(iter(first))).wait(10)
    engine_runner.run_task("ping", {})                          # not the dead one: a new worker
    second = worker_pids()
    assert len(second) == 1 and second != first
    monkeypatch.setenv("DEEPPROSPECT_WORKER_IDLE_SECONDS", "0.5")
    engine_runner.run_task("ping", {})
    (pid,) = worker_pids()
    psutil.Process(pid).wait(20)                                # exits once its idle time is over
    assert worker_pids() == set()
