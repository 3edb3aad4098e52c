"""The five spectral algorithms through QGIS Processing, as a user's script calls them."""
import csv

import numpy as np
import pytest

from deepprospect.core import spectral, synthetic_spectra

WAVELENGTHS = synthetic_spectra.imaging_wavelengths(80, 400.0, 2380.0)


@pytest.fixture(scope="module")
def spectral_data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("spectral_algorithms")
    soil, truth = synthetic_spectra.write_soil_library(folder / "soil.csv", 120, seed=4,
                                                       wavelengths=np.arange(350.0, 2501.0, 5.0))
    library = synthetic_spectra.write_mineral_library(folder / "library.csv", 30, seed=4, wavelengths=WAVELENGTHS)
    scene = synthetic_spectra.generate_scene(folder / "scene.tif", size=30, seed=5, wavelengths=WAVELENGTHS)
    return dict(folder=folder, soil=soil, library=library, scene=scene)


def test_algorithms_are_registered_in_the_spectral_group(qgis_app):
    from qgis.core import QgsApplication

    registry = QgsApplication.processingRegistry()
    for name in ("spectral_preprocess", "train_spectral_regressor", "predict_spectral",
                 "train_spectral_classifier", "classify_hyperspectral"):
        algorithm = registry.algorithmById("deepprospect:" + name)
        assert algorithm is not None, name
        assert algorithm.groupId() == "spectral" and len(algorithm.shortHelpString()) > 200


def test_preprocess_table_and_raster(qgis_app, spectral_data):
    import processing
    import rasterio

    folder = spectral_data["folder"]
    parameters = dict(MIN_WAVELENGTH=400, MAX_WAVELENGTH=2400, CONTINUUM_REMOVAL=True, ABSORBANCE=True,
                      SMOOTHING=True, WINDOW=31, POLYORDER=2, DERIVATIVE=1)
    result = processing.run("deepprospect:spectral_preprocess",
                            dict(parameters, INPUT=spectral_data["soil"], OUTPUT=str(folder / "soil_d1.csv")))
    processed = spectral.read_spectra_table(result["OUTPUT"])
    raw = spectral.read_spectra_table(spectral_data["soil"])
    assert processed.wavelengths[0] == 400 and processed.wavelengths[-1] == 2400
    expected = spectral.preprocess(raw.wavelengths, raw.spectra, spectral.PreprocessSettings())[1]
    np.testing.assert_allclose(processed.spectra, expected, rtol=1e-6, atol=1e-12)
    assert list(processed.censored["Sb"]) == list(raw.censored["Sb"])  # censored values travel as written
    assert (folder / "soil_d1_spectra.png").stat().st_size > 10000
    result = processing.run("deepprospect:spectral_preprocess",
                            dict(parameters, DERIVATIVE=0, WINDOW=80, INPUT=spectral_data["scene"]["scene"],
                                 OUTPUT=str(folder / "scene_cr.tif")))
    with rasterio.open(result["OUTPUT"]) as dataset:
        assert dataset.count == 80 and float(dataset.descriptions[0]) == pytest.approx(WAVELENGTHS[0])
    assert (folder / "scene_cr_spectra.png").exists()


def test_preprocess_rejects_a_raster_without_wavelengths(qgis_app, spectral_data, province_stack):
    import processing
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException, match="no band wavelengths"):
        processing.run("deepprospect:spectral_preprocess",
                       {"INPUT": province_stack, "OUTPUT": str(spectral_data["folder"] / "x.tif")})


def test_regressor_train_and_predict_table(qgis_app, spectral_data):
    import processing

    folder = spectral_data["folder"]
    result = processing.run("deepprospect:train_spectral_regressor", {
        "INPUT": spectral_data["soil"], "TARGET": "Sb", "EPOCHS": 4, "FRAME_LENGTH": 32, "FRAME_STEP": 16,
        "BASELINES": True, "OUTPUT": str(folder / "sb.dpm")})
    for key in ("OUTPUT", "METRICS", "SCATTER", "LEARNING_CURVES"):
        assert (folder / result[key]).exists(), key
    assert "PLS_R2_VALIDATION" in result and np.isfinite(result["R2_VALIDATION"])
    with open(result["METRICS"]) as handle:
        rows = list(csv.DictReader(handle))
    assert [row["method"] for row in rows] == ["CNN", "PLS", "RF"]
    predicted = processing.run("deepprospect:predict_spectral", {
        "MODEL": result["OUTPUT"], "INPUT": spectral_data["soil"], "OUTPUT": str(folder / "sb_predicted.csv")})
    with open(predicted["OUTPUT"]) as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 120 and all(float(row["predicted_Sb_ppm"]) > 0 for row in rows)
    assert any(row["measured_Sb"].startswith(">") for row in rows)


def test_classifier_train_classify_and_style(qgis_app, spectral_data):
    import processing
    from qgis.core import QgsProcessingException, QgsRasterLayer

    folder = spectral_data["folder"]
    result = processing.run("deepprospect:train_spectral_classifier", {
        "INPUT": spectral_data["library"], "CLASS_FIELD": "class", "EPOCHS": 30, "OUTPUT": str(folder / "c.dpm")})
    assert 0 <= result["SAM_ACCURACY_VALIDATION"] <= 1 and result["ACCURACY_VALIDATION"] > 0.5
    assert (folder / "c_report.csv").exists()
    classified = processing.run("deepprospect:classify_hyperspectral", {
        "MODEL": result["OUTPUT"], "INPUT": spectral_data["scene"]["scene"], "METHOD": 0,
        "OUTPUT": str(folder / "classes.tif")})
    layer = QgsRasterLayer(classified["OUTPUT"], "classes")
    assert layer.isValid() and layer.bandCount() == 2
    message, ok = layer.loadNamedStyle(str(folder / "classes.qml"))
    assert ok, message
    assert layer.renderer().type() == "paletted"
    labels = [entry.label for entry in layer.renderer().classes()]
    assert labels == sorted(synthetic_spectra.CLASS_NAMES)
    other = synthetic_spectra.generate_scene(folder / "other.tif", size=20, seed=1,
                                             wavelengths=synthetic_spectra.imaging_wavelengths(60, 400.0, 2380.0))
    with pytest.raises(QgsProcessingException, match="same spectral range and band count"):
        processing.run("deepprospect:classify_hyperspectral", {
            "MODEL": result["OUTPUT"], "INPUT": other["scene"], "OUTPUT": str(folder / "bad.tif")})
    assert not (folder / "bad.tif").exists()
    sam = processing.run("deepprospect:predict_spectral", {
        "MODEL": result["OUTPUT"], "INPUT": spectral_data["library"], "OUTPUT": str(folder / "c.csv")})
    with open(sam["OUTPUT"]) as handle:
        rows = list(csv.DictReader(handle))
    assert {row["predicted_class"] for row in rows} <= set(synthetic_spectra.CLASS_NAMES)
