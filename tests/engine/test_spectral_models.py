"""Spectral regressor and DeepGeoMap classifier on the synthetic spectral library (known truth).

Small data and few epochs keep this quick; the full-size figures come from
benchmarks/bench_spectral.py."""
import numpy as np
import pytest

from deepprospect.core import synthetic_spectra
from deepprospect.core.errors import DeepProspectError
from deepprospect.core.spectral_preprocessing import PreprocessSettings
from deepprospect.engine.spectral_tasks import classification_method

WAVELENGTHS = synthetic_spectra.imaging_wavelengths(120, 400.0, 2390.0)


@pytest.fixture(scope="module")
def classifier_run(tmp_path_factory):
    from deepprospect.models import spectral_classifier

    folder = tmp_path_factory.mktemp("classifier")
    table = synthetic_spectra.generate_mineral_library(60, seed=1, wavelengths=WAVELENGTHS)
    result = spectral_classifier.train_spectral_classifier(table, epochs=60, patience=15, seed=42)
    bundle_path = spectral_classifier.save_classifier(folder / "classes.dpm", result)
    scene = synthetic_spectra.generate_scene(folder / "scene.tif", size=40, seed=3, wavelengths=WAVELENGTHS)
    return dict(result=result, bundle=str(bundle_path), scene=scene, folder=folder, table=table)


def test_cnn_beats_sam_when_classes_differ_in_subtle_feature_depths(classifier_run):
    metrics = classifier_run["result"]["metrics"]
    assert metrics["CNN"]["accuracy_validation"] > metrics["SAM"]["accuracy_validation"] + 0.05
    assert metrics["CNN"]["accuracy_validation"] > 0.85
    names = classifier_run["result"]["metadata"]["class_names"]
    assert names == sorted(synthetic_spectra.CLASS_NAMES)


def test_classified_scene_matches_its_truth_and_keeps_nodata(classifier_run):
    import rasterio

    from deepprospect.models import spectral_classifier
    from deepprospect.models.spectral_regressor import load_spectral_bundle

    bundle = load_spectral_bundle(classifier_run["bundle"], spectral_classifier.KIND)
    output = classifier_run["folder"] / "classes.tif"
    spectral_classifier.classify_raster(bundle, classifier_run["scene"]["scene"], output, *classification_method("cnn"),
                                       block_size=16)
    with rasterio.open(output) as dataset:
        codes, probability = dataset.read(1), dataset.read(2)
        assert dataset.descriptions == ("class", "probability")
    truth = classifier_run["scene"]["truth"]
    valid = truth >= 0
    names = bundle.metadata["class_names"]
    expected = np.array([names.index(synthetic_spectra.CLASS_NAMES[k]) + 1 for k in truth[valid]])
    assert np.mean(codes[valid] == expected) > 0.85
    assert np.all(codes[~valid] == -9999)
    assert np.all((probability[valid] > 0) & (probability[valid] <= 1))
    qml = (classifier_run["folder"] / "classes.qml").read_text()
    assert all('label="{}"'.format(name) in qml for name in names)
    sam = classifier_run["folder"] / "classes_sam.tif"
    spectral_classifier.classify_raster(bundle, classifier_run["scene"]["scene"], sam, *classification_method("sam"))
    with rasterio.open(sam) as dataset:
        sam_codes = dataset.read(1)
    assert np.mean(codes[valid] == expected) > np.mean(sam_codes[valid] == expected)


def test_classifier_refuses_other_spectral_ranges(classifier_run):
    from deepprospect.models import spectral_classifier
    from deepprospect.models.spectral_regressor import load_spectral_bundle

    bundle = load_spectral_bundle(classifier_run["bundle"], spectral_classifier.KIND)
    other = synthetic_spectra.imaging_wavelengths(100, 400.0, 2390.0)
    with pytest.raises(DeepProspectError, match="same spectral range and band count"):
        spectral_classifier.classify_cnn(bundle, other, np.full((3, 100), 0.4))
    with pytest.raises(DeepProspectError, match="not a 'spectral_regressor' model"):
        load_spectral_bundle(classifier_run["bundle"], "spectral_regressor")


def test_classification_methods_come_from_the_catalog():
    from deepprospect.catalog import CLASSIFICATION_METHODS
    from deepprospect.models import spectral_classifier

    assert [classification_method(name)[0] for name in CLASSIFICATION_METHODS.names()] == [
        spectral_classifier.classify_cnn, spectral_classifier.classify_sam]
    assert classification_method("sam")[1] == "spectral angle (rad)"
    with pytest.raises(DeepProspectError, match="Unknown classification method 'svm'; use one of: cnn, sam"):
        classification_method("svm")


def test_same_seed_gives_the_same_classifier(classifier_run):
    from deepprospect.models import spectral_classifier

    table = classifier_run["table"].subset(np.arange(72))
    first = spectral_classifier.train_spectral_classifier(table, epochs=2, seed=7)
    second = spectral_classifier.train_spectral_classifier(table, epochs=2, seed=7)
    for a, b in zip(first["model"].get_weights(), second["model"].get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.fixture(scope="module")
def regressor_run(tmp_path_factory):
    from deepprospect.models import spectral_regressor

    folder = tmp_path_factory.mktemp("regressor")
    table, truth = synthetic_spectra.generate_soil_library(260, seed=11, wavelengths=np.arange(350.0, 2501.0, 4.0))
    settings = PreprocessSettings(window_nm=31)
    result = spectral_regressor.train_spectral_regressor(table, "Sb", settings, frame_length=32, frame_step=8,
                                                         epochs=120, patience=25, seed=42)
    path = spectral_regressor.save_regressor(folder / "sb.dpm", result)
    return dict(result=result, path=str(path), table=table, truth=truth, folder=folder)


def test_regressor_learns_the_documented_law_and_reports_baselines(regressor_run):
    metrics = regressor_run["result"]["metrics"]
    assert set(metrics) == {"CNN", "PLS", "RF"}
    # PLS is the independent check that the law is in the spectra; the small CNN must find it too
    assert metrics["PLS"]["r2_log_validation"] > 0.9
    assert metrics["CNN"]["r2_log_validation"] > 0.5
    samples = regressor_run["result"]["metadata"]["samples"]
    truth = regressor_run["truth"]
    assert samples["censored"] == int((truth["sb_ppm"] > 4000).sum())
    assert samples["outliers"] == int(((truth["sb_ppm"] > 1000) & (truth["sb_ppm"] <= 4000)).sum())
    assert samples["used"] + samples["censored"] + samples["outliers"] == 260


def test_regressor_bundle_round_trip_and_range_check(regressor_run):
    import tensorflow as tf

    from deepprospect.models import spectral_regressor

    bundle = spectral_regressor.load_spectral_bundle(regressor_run["path"], spectral_regressor.KIND)
    table = regressor_run["table"]
    predicted = spectral_regressor.predict_content(bundle, table.wavelengths, table.spectra[:20])
    model = regressor_run["result"]["model"]
    inputs = spectral_regressor.processed_inputs(bundle.metadata, table.wavelengths, table.spectra[:20])
    z = model(tf.constant(inputs), training=False).numpy()[:, 0]
    target = bundle.metadata["target"]
    np.testing.assert_allclose(predicted, 10 ** (z * target["std"] + target["mean"]), rtol=1e-5)
    # the raster path gives the table path's answer pixel by pixel
    import rasterio
    from rasterio.transform import from_origin

    raster = regressor_run["folder"] / "soil_pixels.tif"
    cube = table.spectra[:24].T.reshape(len(table.wavelengths), 4, 6).astype(np.float32)
    with rasterio.open(raster, "w", driver="GTiff", width=6, height=4, count=len(cube), dtype="float32",
                       crs="EPSG:32629", transform=from_origin(530000, 4560000, 10, 10), nodata=-9999) as dataset:
        dataset.write(cube)
        for index, value in enumerate(table.wavelengths, start=1):
            dataset.set_band_description(index, "{:g} nm".format(value))
    output = spectral_regressor.predict_content_raster(bundle, raster, regressor_run["folder"] / "sb.tif")
    with rasterio.open(output) as dataset:
        mapped = dataset.read(1).ravel()
    expected = spectral_regressor.predict_content(bundle, table.wavelengths, cube.reshape(len(cube), -1).T)
    np.testing.assert_allclose(mapped, expected, rtol=1e-5)
    np.testing.assert_allclose(mapped[:20], predicted, rtol=1e-3)  # float32 raster vs float64 table
    with pytest.raises(DeepProspectError, match="trained on 500 bands over 402–2398 nm, but within that range the input has 250 bands"):
        spectral_regressor.predict_content(bundle, table.wavelengths[::2], table.spectra[:3, ::2])


def _expected_epochs(history):
    """The epoch early stopping kept, from the saved history: the first lowest monitor loss."""
    losses = history["val_loss"]
    return losses.index(min(losses)) + 1


def test_the_saved_regressor_is_refitted_on_all_samples(regressor_run, bad_input):
    from deepprospect.core.spectral_preprocessing import preprocess

    metadata = regressor_run["result"]["metadata"]
    table = regressor_run["table"]
    used = np.isin(table.ids, metadata["split"]["train"] + metadata["split"]["validation"])
    assert used.sum() == metadata["samples"]["used"]
    _, processed = preprocess(table.wavelengths, table.spectra[used], PreprocessSettings(window_nm=31))
    # one mean and scale over every band of every used sample (not of the training split only)
    np.testing.assert_allclose(metadata["normalisation"]["mean"], processed.mean(), rtol=1e-10)
    np.testing.assert_allclose(metadata["normalisation"]["std"], processed.std(), rtol=1e-10)
    log_sb = np.log10(table.targets["Sb"][used])
    assert metadata["target"]["mean"] == pytest.approx(log_sb.mean(), rel=1e-10)
    epochs = _expected_epochs(metadata["history"])
    assert metadata["hyperparameters"]["final_epochs"] == epochs
    note = metadata["metrics"]["final_model"]
    assert note == ("The saved network was refitted on all {} spectra for {} epoch{} (the count early stopping chose "
                    "during validation); the validation scores estimate its accuracy.".format(
                        used.sum(), epochs, "" if epochs == 1 else "s"))
    bad_input("Spectral CNNs after validation (the saved network)", "handled", note)


def test_the_saved_classifier_and_sam_use_every_spectrum(classifier_run):
    from deepprospect.catalog import TRIM_ONLY_PREPROCESSING
    from deepprospect.core.spectral_preprocessing import preprocess

    metadata = classifier_run["result"]["metadata"]
    table = classifier_run["table"]
    _, processed = preprocess(table.wavelengths, table.spectra, PreprocessSettings(**vars(TRIM_ONLY_PREPROCESSING)))
    np.testing.assert_allclose(metadata["normalisation"]["mean"], processed.mean(axis=0), rtol=1e-10)
    names = metadata["class_names"]
    for index, name in enumerate(names):
        rows = np.array(table.text["class"]) == name
        np.testing.assert_allclose(metadata["class_means"][index], processed[rows].mean(axis=0), rtol=1e-10)
    assert metadata["hyperparameters"]["final_epochs"] == _expected_epochs(metadata["history"])
    assert "refitted on all {} spectra".format(len(table)) in metadata["metrics"]["final_model"]


def test_a_percentage_that_can_be_zero_trains_and_predicts_in_its_units(tmp_path, bad_input):
    import csv

    from deepprospect.core.spectra_table import write_spectra_table
    from deepprospect.engine.spectral_tasks import predict_spectral, train_spectral_regressor

    from test_spectral_bad_input import Recording

    table, truth = synthetic_spectra.generate_soil_library(60, seed=4, wavelengths=np.arange(350.0, 2501.0, 10.0))
    clay = np.round(np.clip(truth["signal"] * 40 - 10, 0, None), 1)     # a percentage, 0 for some samples
    assert (clay == 0).sum() > 5
    table.targets = {"clay": clay}
    table.censored = {"clay": np.array([""] * len(clay))}
    table.censored_values = {"clay": np.full(len(clay), np.nan)}
    source = write_spectra_table(tmp_path / "clay.csv", table)
    settings = PreprocessSettings(window_nm=50).to_dict()
    feedback = Recording()
    outputs = train_spectral_regressor(dict(
        input=source, output=str(tmp_path / "clay.dpm"), target="clay", units="%", settings=settings,
        outlier_threshold=None, frame_length=0, frame_step=0, epochs=3, batch_size=16, patience=2,
        learning_rate=3e-3, seed=1, validation_fraction=1 / 3, log_target=False, baselines=True), feedback)
    with open(outputs["METRICS"]) as handle:
        rows = list(csv.DictReader(handle))
    assert [row["method"] for row in rows] == ["CNN", "PLS", "RF"]
    assert all(row["r2_log_validation"] == "" and float(row["rmse_validation_percent"]) > 0 for row in rows)
    assert not any("ppm" in line for line in feedback.infos + feedback.warnings), feedback.infos
    assert any(line.startswith("CNN  R² train") and line.endswith(" %") for line in feedback.infos)
    predict_spectral(dict(model=str(tmp_path / "clay.dpm"), input=source, output=str(tmp_path / "p.csv"),
                          block_size=256), Recording())
    with open(tmp_path / "p.csv") as handle:
        predicted = list(csv.DictReader(handle))
    assert list(predicted[0]) == ["sample_id", "predicted_clay_percent", "measured_clay"]
    assert [row["measured_clay"] for row in predicted] == ["{:g}".format(v) for v in clay]
    bad_input("Spectral regression of a percentage with zeros (UNITS %, LOG_TARGET off): labels and reports",
              "handled", "metrics column rmse_validation_percent; predictions column predicted_clay_percent")


def test_spectra_on_another_scale_are_refused_where_the_scale_matters(classifier_run, tmp_path, bad_input):
    from deepprospect.core.spectra_table import write_spectra_table
    from deepprospect.engine.spectral_tasks import predict_spectral
    from deepprospect.models import spectral_classifier
    from deepprospect.models.spectral_regressor import load_spectral_bundle

    from test_spectral_bad_input import Recording

    bundle = load_spectral_bundle(classifier_run["bundle"], spectral_classifier.KIND)
    table = classifier_run["table"].subset(np.arange(30))
    trained = bundle.metadata["reflectance_median"]
    assert trained == pytest.approx(np.median(classifier_run["table"].spectra))
    percent = table.subset(np.arange(30))
    percent.spectra = table.spectra * 100.0
    source = write_spectra_table(tmp_path / "percent.csv", percent)
    output = tmp_path / "out" / "classes.csv"
    output.parent.mkdir()
    with pytest.raises(DeepProspectError) as error:
        predict_spectral(dict(model=classifier_run["bundle"], input=source, output=str(output), block_size=256),
                         Recording())
    message = str(error.value)
    found = np.median(np.round(percent.spectra, 5))
    assert message.startswith("The input spectra have a median of {:.4g} where the model's training spectra had "
                              "{:.4g}: they are on another scale".format(found, trained))
    assert list(output.parent.iterdir()) == []
    bad_input("Percent reflectance (0–100) given to a spectral model trained on 0–1 reflectance", "error", message)
    # the spectral angle does not depend on the scale: SAM classifies both alike
    same = spectral_classifier.classify_sam(bundle, table.wavelengths, table.spectra)[0]
    np.testing.assert_array_equal(spectral_classifier.classify_sam(bundle, table.wavelengths, percent.spectra)[0], same)
