"""The desktop road (issue 13): train -> predict -> shap three times from their algorithm dialogs
in one GUI QgsApplication, the way the Run button runs them (QgsProcessingAlgRunnerTask on a
worker thread), and QGIS stays alive with valid outputs.

The cycles run in a child QGIS Python (dialog_cycles.py) because the failure this guards against
kills the interpreter (double free / SIGSEGV when TensorFlow ran on Processing's worker threads,
or a GUI frozen on the Python thread state): here it becomes a test failure quoting the child's
signal and stderr. The outputs are checked from this process with GDAL's own bindings, not
through the plugin.

DEEPPROSPECT_PLUGIN_ROOT points the child at another plugin tree (default: this checkout), e.g.
an old checkout to see the test fail there.
"""
import csv
import json
import os
import signal
import subprocess
import zipfile
from pathlib import Path

import pytest

CHILD = Path(__file__).resolve().parent / "dialog_cycles.py"
DEFAULT_MODEL_CYCLE = 2          # dialog_cycles.DEFAULT_MODEL_CYCLE: this cycle trains the default model
CYCLES = 3
CYCLES_TIMEOUT_S = 1500  # the child's own watchdog ends a frozen run well before this


def _run_child(*arguments, timeout):
    environment = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONHASHSEED="0", TF_CPP_MIN_LOG_LEVEL="2")
    try:
        return subprocess.run(["/usr/bin/python3", str(CHILD), *arguments], capture_output=True, text=True,
                              timeout=timeout, env=environment)
    except subprocess.TimeoutExpired as expired:
        pytest.fail("dialog_cycles.py {} still running after {} s; stderr tail:\n{}".format(
            arguments[0], timeout, _tail(expired.stderr)))


#: stderr lines that say nothing about a crash (QGIS start-up chatter, faulthandler's module list)
NOISE = ("proj_create:", "This plugin does not support propagateSizeHints", "QStandardPaths:", "Extension modules:")


def _tail(text, lines=40):
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    kept = [line for line in (text or "").splitlines() if not line.startswith(NOISE)]
    return "\n".join(kept[-lines:])


def _how_it_ended(completed):
    """"killed by SIGABRT", "frozen (faulthandler watchdog)" or "exit code N", for the message."""
    if completed.returncode < 0:
        return "killed by " + signal.Signals(-completed.returncode).name
    if "Timeout (" in completed.stderr:
        return "frozen: a run did not end, the child's faulthandler watchdog stopped it"
    return "exit code {}".format(completed.returncode)


@pytest.fixture(scope="module")
def prepared(province, province_stack, province_training_points, tmp_path_factory):
    """The session's province (20 km, seed 1) and training points (conftest), made by the plugin's
    algorithms; ``dialog_cycles.py prepare`` makes the same data alone, for running it by hand."""
    workdir = tmp_path_factory.mktemp("dialog_path")
    return workdir, {"stack": province_stack, "points": province_training_points, "deposits": province["deposits"]}


@pytest.fixture(scope="module")
def cycles(prepared):
    workdir, paths = prepared
    completed = _run_child("cycles", str(workdir), paths["stack"], paths["points"], paths["deposits"], str(CYCLES),
                           timeout=CYCLES_TIMEOUT_S)
    runs = [json.loads(line[len("run: "):]) for line in completed.stdout.splitlines() if line.startswith("run: ")]
    return workdir, paths, completed, runs


def test_three_dialog_cycles_leave_qgis_alive(cycles):
    _, _, completed, runs = cycles
    done = ["cycle {cycle} {step}: {state}".format(state="ok" if run["ok"] else "FAILED " + run["error"], **run)
            for run in runs]
    finished = "dialog cycles: {} cycles finished, QGIS alive".format(CYCLES)
    if completed.returncode != 0 or finished not in completed.stdout:
        pytest.fail("QGIS did not survive {} dialog cycles ({}) after {} of {} runs:\n{}\nstderr tail:\n{}".format(
            CYCLES, _how_it_ended(completed), len(runs), 3 * CYCLES, "\n".join(done), _tail(completed.stderr)))


@pytest.mark.parametrize("cycle", range(1, CYCLES + 1))
def test_each_cycle_wrote_valid_outputs(cycles, cycle):
    workdir, paths, _, runs = cycles
    if not any(run["cycle"] == cycle and run["step"] == "shap" and run["ok"] for run in runs):
        pytest.fail("cycle {} did not finish (see test_three_dialog_cycles_leave_qgis_alive)".format(cycle))
    folder = workdir / "cycle{}".format(cycle)
    factors = _band_count(paths["stack"])
    _check_bundle(folder / "model.dpm", "auto" if cycle == DEFAULT_MODEL_CYCLE else "pradhan2022_dense")
    assert (folder / "report.html").stat().st_size > 1000
    probability = _values(folder / "probability.tif", paths["stack"])
    assert 0.0 <= probability.min() and probability.max() <= 1.0
    assert probability.max() - probability.min() > 1e-3, "a flat probability map"
    assert _values(folder / "uncertainty.tif", paths["stack"]).min() >= 0.0
    assert set(_values(folder / "classes.tif", paths["stack"]).tolist()) <= {1, 2, 3, 4}
    _check_shap(folder, factors, paths["stack"])


def _check_bundle(path, architecture):
    with zipfile.ZipFile(path) as archive:
        metadata = json.loads(archive.read("metadata.json"))
    assert metadata["architecture"] == architecture and len(metadata["factor_names"]) == 16
    if architecture == "auto":               # calibrated on the folds, to the prior the dialog stated
        assert metadata["cross_validation"]["calibration"]["prior"] == 0.06


def _check_shap(folder, factors, stack):
    import numpy as np

    shap = folder / "shap"
    assert (shap / "explanation.html").is_file() and (shap / "importance_bar.png").is_file()
    with open(shap / "importance.csv", newline="") as table:
        rows = list(csv.reader(table))[1:]
    assert len(rows) == factors
    maps = _values(folder / "shap_maps.tif", stack, bands=factors)
    assert np.isfinite(maps).all()


def _band_count(path):
    from osgeo import gdal

    return gdal.Open(str(path)).RasterCount


def _values(path, stack, bands=1):
    """Valid values of a raster on the stack's grid, read with GDAL (nodata left out)."""
    import numpy as np
    from osgeo import gdal

    reference, raster = gdal.Open(str(stack)), gdal.Open(str(path))
    assert raster is not None, "{} is missing or unreadable".format(path)
    assert (raster.RasterXSize, raster.RasterYSize, raster.RasterCount) == (
        reference.RasterXSize, reference.RasterYSize, bands), "{} is not on the stack's grid".format(path)
    values = []
    for index in range(1, bands + 1):
        band = raster.GetRasterBand(index)
        array, nodata = band.ReadAsArray().astype(float), band.GetNoDataValue()
        keep = np.isfinite(array) if nodata is None else (array != nodata) & ~np.isnan(array)
        values.append(array[keep])
    values = np.concatenate(values)
    assert values.size, "{} has no valid pixel".format(path)
    return values
