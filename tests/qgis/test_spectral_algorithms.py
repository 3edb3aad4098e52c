"""The five spectral algorithms through QGIS Processing, as a user's script calls them.

Test data (the ``spectral_data`` fixture) come from the engine's own generators, run in the engine's
Python; the preprocessing chain is checked against a reference written here with the system's
numpy and scipy (monotone-chain hull, log10, scipy's Savitzky–Golay, numpy's gradient). The models'
accuracy is checked in tests/engine/test_spectral_models.py.
"""
import csv

import numpy as np
import pytest

from reference import read_raster


def read_table(path):
    """(ids, {target column: cells}, wavelengths (m,), spectra (n, m)) of a spectra CSV."""
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    spectral_columns = [i for i, name in enumerate(header) if _is_number(name)]
    wavelengths = np.array([float(header[i]) for i in spectral_columns])
    spectra = np.array([[float(row[i]) for i in spectral_columns] for row in rows[1:]])
    others = {header[i]: [row[i] for row in rows[1:]] for i in range(1, spectral_columns[0])}
    return [row[0] for row in rows[1:]], others, wavelengths, spectra


def _is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


def upper_hull(x, y):
    """The upper convex hull of one spectrum at every band (Andrew's monotone chain, then linear)."""
    hull = []
    for point in zip(x, y):
        while len(hull) >= 2 and ((hull[-1][0] - hull[-2][0]) * (point[1] - hull[-2][1])
                                  - (hull[-1][1] - hull[-2][1]) * (point[0] - hull[-2][0])) >= 0:
            hull.pop()
        hull.append(point)
    xs, ys = zip(*hull)
    return np.interp(x, xs, ys)


def reference_chain(wavelengths, spectra, window_bands, lo=400.0, hi=2400.0):
    """Trim → continuum removal → log10(1/R) → Savitzky–Golay (order 2) → first derivative."""
    from scipy.signal import savgol_filter

    keep = (wavelengths >= lo) & (wavelengths <= hi)
    x, y = wavelengths[keep], spectra[:, keep]
    removed = np.array([row / upper_hull(x, row) for row in y])
    absorbance = -np.log10(np.clip(removed, 1e-6, None))
    smooth = savgol_filter(absorbance, window_bands, 2, axis=1, mode="interp")
    return x, np.gradient(smooth, x, axis=1, edge_order=2)


def test_algorithms_are_registered_in_the_spectral_group(qgis_app):
    from qgis.core import QgsApplication

    registry = QgsApplication.processingRegistry()
    for name in ("spectral_preprocess", "train_spectral_regressor", "predict_spectral",
                 "train_spectral_classifier", "classify_hyperspectral"):
        algorithm = registry.algorithmById("deepprospect:" + name)
        assert algorithm is not None, name
        assert algorithm.groupId() == "spectral" and len(algorithm.shortHelpString()) > 200


def test_methods_and_defaults_come_from_the_catalog(qgis_app):
    from dataclasses import asdict

    from qgis.core import QgsApplication

    from deepprospect.catalog import CLASSIFICATION_METHODS, TRIM_ONLY_PREPROCESSING, PreprocessingSettings

    registry = QgsApplication.processingRegistry()
    method = registry.algorithmById("deepprospect:classify_hyperspectral").parameterDefinition("METHOD")
    assert method.options() == [choice.label for choice in CLASSIFICATION_METHODS] and method.defaultValue() == 0
    parameters = dict(MIN_WAVELENGTH="min_wavelength", MAX_WAVELENGTH="max_wavelength", WINDOW="window_nm",
                      CONTINUUM_REMOVAL="continuum_removal", ABSORBANCE="absorbance", SMOOTHING="smoothing",
                      POLYORDER="polyorder", DERIVATIVE="derivative")
    for name, defaults in (("spectral_preprocess", PreprocessingSettings()),
                           ("train_spectral_regressor", PreprocessingSettings()),
                           ("train_spectral_classifier", TRIM_ONLY_PREPROCESSING)):
        algorithm = registry.algorithmById("deepprospect:" + name)
        found = {field: algorithm.parameterDefinition(parameter).defaultValue()
                 for parameter, field in parameters.items()}
        assert found == asdict(defaults), name
    assert not asdict(TRIM_ONLY_PREPROCESSING)["continuum_removal"]
    assert asdict(PreprocessingSettings())["window_nm"] == 31.0      # Carvalho et al.'s chain


def test_preprocess_table_and_raster(qgis_app, spectral_data):
    import processing

    folder = spectral_data["folder"]
    parameters = dict(MIN_WAVELENGTH=400, MAX_WAVELENGTH=2400, CONTINUUM_REMOVAL=True, ABSORBANCE=True,
                      SMOOTHING=True, WINDOW=31, POLYORDER=2, DERIVATIVE=1)
    result = processing.run("deepprospect:spectral_preprocess",
                            dict(parameters, INPUT=spectral_data["soil"], OUTPUT=str(folder / "soil_d1.csv")))
    ids, targets, wavelengths, processed = read_table(result["OUTPUT"])
    raw_ids, raw_targets, raw_wavelengths, raw = read_table(spectral_data["soil"])
    assert ids == raw_ids and wavelengths[0] == 400 and wavelengths[-1] == 2400
    # 31 nm at 5 nm spacing is 6.2 bands: the nearest odd window is 7 bands
    x, expected = reference_chain(raw_wavelengths, raw, window_bands=7)
    np.testing.assert_array_equal(wavelengths, x)
    # the table holds 8 significant digits
    np.testing.assert_allclose(processed, expected, rtol=1e-6, atol=1e-9 * np.abs(expected).max())
    flags = [cell[:1] if cell[:1] in "<>" else "" for cell in targets["Sb"]]
    assert any(flags) and flags == [cell[:1] if cell[:1] in "<>" else "" for cell in raw_targets["Sb"]]
    assert targets["Sb"] == raw_targets["Sb"]      # censored values travel as written
    assert (folder / "soil_d1_spectra.png").stat().st_size > 10000
    result = processing.run("deepprospect:spectral_preprocess",
                            dict(parameters, DERIVATIVE=0, WINDOW=80, INPUT=spectral_data["scene"],
                                 OUTPUT=str(folder / "scene_cr.tif")))
    scene_names = read_raster(spectral_data["scene"])[2]
    _, _, names, _ = read_raster(result["OUTPUT"])
    assert len(names) == 80 and float(names[0]) == pytest.approx(float(scene_names[0]))
    assert (folder / "scene_cr_spectra.png").exists()


def test_preprocess_rejects_a_raster_without_wavelengths(qgis_app, spectral_data, province_stack):
    import processing
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException, match="no band wavelengths"):
        processing.run("deepprospect:spectral_preprocess",
                       {"INPUT": province_stack, "OUTPUT": str(spectral_data["folder"] / "x.tif")})
    assert not (spectral_data["folder"] / "x.tif").exists()


def test_regressor_train_and_predict_table(qgis_app, spectral_data, spectral_regressor):
    import processing

    result, folder = spectral_regressor
    for key in ("OUTPUT", "METRICS", "SCATTER", "LEARNING_CURVES"):
        assert (folder / result[key]).exists(), key
    assert "PLS_R2_VALIDATION" in result and np.isfinite(result["R2_VALIDATION"])
    with open(result["METRICS"]) as handle:
        rows = list(csv.DictReader(handle))
    assert [row["method"] for row in rows] == ["CNN", "PLS", "RF"]
    predicted = processing.run("deepprospect:predict_spectral", {
        "MODEL": result["OUTPUT"], "INPUT": spectral_data["soil"],
        "OUTPUT": str(spectral_data["folder"] / "sb_predicted.csv")})
    with open(predicted["OUTPUT"]) as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 120 and all(float(row["predicted_Sb_ppm"]) > 0 for row in rows)
    assert any(row["measured_Sb"].startswith(">") for row in rows)


def test_classifier_train_classify_and_style(qgis_app, spectral_data, spectral_classifier):
    import processing
    from qgis.core import QgsProcessingException, QgsRasterLayer

    with open(spectral_data["library"]) as handle:
        class_names = sorted({row["class"] for row in csv.DictReader(handle)})
    result, folder = spectral_classifier
    assert 0 <= result["SAM_ACCURACY_VALIDATION"] <= 1 and result["ACCURACY_VALIDATION"] > 0.5
    assert (folder / "c_report.csv").exists()
    classified = processing.run("deepprospect:classify_hyperspectral", {
        "MODEL": result["OUTPUT"], "INPUT": spectral_data["scene"], "METHOD": 0,
        "OUTPUT": str(folder / "classes.tif")})
    layer = QgsRasterLayer(classified["OUTPUT"], "classes")
    assert layer.isValid() and layer.bandCount() == 2
    message, ok = layer.loadNamedStyle(str(folder / "classes.qml"))
    assert ok, message
    assert layer.renderer().type() == "paletted"
    labels = [entry.label for entry in layer.renderer().classes()]
    assert labels == class_names
    with pytest.raises(QgsProcessingException, match="same spectral range and band count"):
        processing.run("deepprospect:classify_hyperspectral", {
            "MODEL": result["OUTPUT"], "INPUT": spectral_data["other"], "OUTPUT": str(folder / "bad.tif")})
    assert not (folder / "bad.tif").exists()
    sam = processing.run("deepprospect:predict_spectral", {
        "MODEL": result["OUTPUT"], "INPUT": spectral_data["library"], "OUTPUT": str(folder / "c.csv")})
    with open(sam["OUTPUT"]) as handle:
        rows = list(csv.DictReader(handle))
    assert {row["predicted_class"] for row in rows} <= set(class_names)


def test_regressor_units_frames_and_outlier_default_reach_the_engine(qgis_app, spectral_data, monkeypatch,
                                                                      bad_input):
    """UNITS, frames in nm and the outlier threshold as the front sends them (the engine is not run)."""
    import processing

    from deepprospect.processing_provider.train_spectral_regressor_algorithm import TrainSpectralRegressorAlgorithm

    sent = []
    monkeypatch.setattr(TrainSpectralRegressorAlgorithm, "run_engine",
                        lambda self, task, args, feedback, outputs=(): sent.append(args) or {})
    base = {"INPUT": spectral_data["soil"], "TARGET": "Sb", "OUTPUT": str(spectral_data["folder"] / "u.dpm")}
    processing.run("deepprospect:train_spectral_regressor", base)
    processing.run("deepprospect:train_spectral_regressor", dict(base, UNITS="%", LOG_TARGET=False))
    processing.run("deepprospect:train_spectral_regressor", dict(base, UNITS="ppb", OUTLIER_THRESHOLD=5000,
                                                                 FRAME_LENGTH=8, FRAME_STEP=4))
    ppm, percent, ppb = sent
    assert (ppm["units"], ppm["outlier_threshold"], ppm["frame_length"], ppm["frame_step"]) == ("ppm", 1000.0, 0, 0)
    assert (ppm["frame_length_nm"], ppm["frame_step_nm"]) == (64.0, 32.0)
    assert (percent["units"], percent["outlier_threshold"], percent["log_target"]) == ("%", None, False)
    assert (ppb["units"], ppb["outlier_threshold"], ppb["frame_length"], ppb["frame_step"]) == ("ppb", 5000.0, 8, 4)
    bad_input("OUTLIER_THRESHOLD left unset for a target that is not in ppm (deepprospect:train_spectral_regressor)",
              "handled", "no outlier threshold: the default 1000 is the paper's Sb threshold in ppm")
