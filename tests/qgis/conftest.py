"""Harness for the QGIS front's tests: import the checkout as ``deepprospect`` (as QGIS does)
and run QGIS headless. Run with QGIS's Python: ``/usr/bin/python3 -m pytest tests/qgis``.

Fixtures:
* ``qgis_app`` — a QgsApplication (offscreen) with Processing initialised and the DeepProspect
  provider registered, so tests call ``processing.run("deepprospect:…", {...})`` like a user.
"""
import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYTHONHASHSEED", "0")

# QGIS imports the plugin under its folder name, whatever the checkout is called.
IMPORT_DIR = Path(tempfile.mkdtemp(prefix="deepprospect-import-"))
(IMPORT_DIR / "deepprospect").symlink_to(ROOT, target_is_directory=True)
sys.path.insert(0, str(IMPORT_DIR))
QGIS_PLUGINS = "/usr/share/qgis/python/plugins"
if QGIS_PLUGINS not in sys.path:
    sys.path.append(QGIS_PLUGINS)

_QGIS = {}


@pytest.fixture(scope="session")
def qgis_app():
    """A running headless QGIS with Processing and the DeepProspect provider."""
    if "app" not in _QGIS:
        from qgis.core import QgsApplication

        app = QgsApplication([], True)
        app.initQgis()
        from processing.core.Processing import Processing

        Processing.initialize()
        from deepprospect.processing_provider.provider import DeepProspectProvider

        provider = DeepProspectProvider()
        QgsApplication.processingRegistry().addProvider(provider)
        _QGIS.update(app=app, provider=provider)
    return _QGIS["app"]


@pytest.fixture(scope="session")
def province(tmp_path_factory):
    """A 20 km synthetic province (seed 1), made by the engine: dict of file paths plus the truth."""
    from deepprospect.processing_provider.engine_runner import run_task

    folder = tmp_path_factory.mktemp("province20")
    return run_task("synthetic_province", {"folder": str(folder), "size_km": 20, "seed": 1})


@pytest.fixture(scope="session")
def province_stack(province):
    """Path of the province's noise-free 16-band evidence stack (factor names as band descriptions)."""
    return province["truth_evidence"]


@pytest.fixture(scope="session")
def province_training_points(qgis_app, province, province_stack, tmp_path_factory):
    """GeoPackage of the province's deposits (label 1) and 150 non-deposits ≥ 500 m from them
    (label 0), with the stack's values: deepprospect:sample_negatives, seed 7. Its layer is
    ``training_points`` (the file's name)."""
    import processing

    folder = tmp_path_factory.mktemp("province_training")
    return processing.run("deepprospect:sample_negatives", {
        "STACK": province_stack, "DEPOSITS": province["deposits"], "COUNT": 150, "MIN_DISTANCE": 500.0, "SEED": 7,
        "OUTPUT": str(folder / "training_points.gpkg")})["OUTPUT"]


@pytest.fixture(scope="session")
def province_bundle(qgis_app, province_stack, province_training_points, tmp_path_factory):
    """A two-member pradhan2022_dense ensemble briefly trained on the province (deepprospect:train,
    20 epochs, seed 3): a real bundle for predict, shap and the runner's tests."""
    import processing

    folder = tmp_path_factory.mktemp("province_bundle")
    return processing.run("deepprospect:train", {
        "STACK": province_stack, "POINTS": province_training_points, "ARCHITECTURE": 0, "EPOCHS": 20,
        "VALIDATION": 0, "ENSEMBLE_SIZE": 2, "SEED": 3, "OUTPUT_MODEL": str(folder / "province.dpm")})["OUTPUT_MODEL"]


_SPECTRAL_DATA = """
import json
import numpy as np
from deepprospect.core import synthetic_spectra as s
folder = {folder!r}
wavelengths = s.imaging_wavelengths(80, 400.0, 2380.0)
soil, _ = s.write_soil_library(folder + "/soil.csv", 120, seed=4, wavelengths=np.arange(350.0, 2501.0, 5.0))
library = s.write_mineral_library(folder + "/library.csv", 30, seed=4, wavelengths=wavelengths)
scene = s.generate_scene(folder + "/scene.tif", size=30, seed=5, wavelengths=wavelengths)
other = s.generate_scene(folder + "/other.tif", size=20, seed=1, wavelengths=s.imaging_wavelengths(60, 400.0, 2380.0))
print(json.dumps(dict(soil=str(soil), library=str(library), scene=scene["scene"], other=other["scene"])))
"""


@pytest.fixture(scope="session")
def spectral_data(tmp_path_factory):
    """Synthetic spectra from the engine's generators (core/synthetic_spectra.py), run in the
    engine's Python: ``soil`` (120 soil spectra with Sb, As, Pb, Mn, some censored), ``library``
    (30 mineral spectra with a class column), ``scene`` (30 × 30 px, 80 bands 400–2380 nm),
    ``other`` (a 60-band scene), ``folder``."""
    import json

    from reference import run_in_engine_python

    folder = tmp_path_factory.mktemp("spectral_data")
    paths = json.loads(run_in_engine_python(_SPECTRAL_DATA.format(folder=str(folder))).splitlines()[-1])
    return dict(paths, folder=folder)


@pytest.fixture(scope="session")
def spectral_regressor(qgis_app, spectral_data, tmp_path_factory):
    """deepprospect:train_spectral_regressor on the soil spectra (Sb, 15 epochs, 32-band frames every
    16, baselines, seed 1), trained once for every test that needs one: (results, folder)."""
    import processing

    folder = tmp_path_factory.mktemp("spectral_regressor")
    return processing.run("deepprospect:train_spectral_regressor", {
        "INPUT": spectral_data["soil"], "TARGET": "Sb", "EPOCHS": 15, "FRAME_LENGTH": 32, "FRAME_STEP": 16,
        "BASELINES": True, "SEED": 1, "OUTPUT": str(folder / "sb.dpm")}), folder


@pytest.fixture(scope="session")
def spectral_classifier(qgis_app, spectral_data, tmp_path_factory):
    """deepprospect:train_spectral_classifier on the mineral library (30 epochs, default seed), trained
    once for every test that needs one: (results, folder)."""
    import processing

    folder = tmp_path_factory.mktemp("spectral_classifier")
    return processing.run("deepprospect:train_spectral_classifier", {
        "INPUT": spectral_data["library"], "CLASS_FIELD": "class", "EPOCHS": 30,
        "OUTPUT": str(folder / "c.dpm")}), folder


# The ``bad_input`` fixture and its ``-m bad_input`` marker, shared by both suites.
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))
from bad_input_log import bad_input, pytest_collection_modifyitems, pytest_configure  # noqa: E402,F401
