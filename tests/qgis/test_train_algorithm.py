"""deepprospect:train in a real headless QGIS: processing.run and the qgis_process command line.
Training itself (metrics, seeds, splits) is checked in tests/engine/test_training.py."""
from pathlib import Path

import numpy as np
import pytest

from reference import bundle_metadata, pixel_centres, profile_plugin_link, qgis_process_run, read_points, \
    read_raster, write_points


@pytest.fixture(scope="module")
def points(province, tmp_path_factory):
    """Deposits (label 1) and three times as many random pixel centres ≥ 500 m from them (label 0);
    a text field ``kind`` beside the label."""
    deposit_xy, _ = read_points(province["deposits"])
    _, _, _, info = read_raster(province["truth_evidence"])
    rng = np.random.default_rng(11)
    candidates = pixel_centres(info["transform"], rng.integers(0, info["height"], 1000),
                               rng.integers(0, info["width"], 1000))
    distance = np.sqrt(((candidates[:, None, :] - deposit_xy[None]) ** 2).sum(-1)).min(axis=1)
    negative_xy = candidates[distance >= 500.0][:3 * len(deposit_xy)]
    labels = np.r_[np.ones(len(deposit_xy), int), np.zeros(len(negative_xy), int)]
    path = tmp_path_factory.mktemp("train_points") / "training_points.gpkg"
    return write_points(path, np.vstack([deposit_xy, negative_xy]),
                        {"label": labels, "kind": ["deposit"] * len(deposit_xy) + ["background"] * len(negative_xy)},
                        layer="training_points")


def test_algorithm_contract(qgis_app):
    from qgis.core import QgsApplication

    from deepprospect.catalog import ARCHITECTURES, VALIDATION_SCHEMES

    algorithm = QgsApplication.processingRegistry().algorithmById("deepprospect:train")
    assert algorithm is not None and algorithm.groupId() == "modelling"
    # the dropdowns show the catalog's labels; the index (what scripts pass) names the same choice as before
    assert algorithm.parameterDefinition("ARCHITECTURE").options() == [
        "Dense network of Pradhan et al. (2022)", "1-D CNN over the factors", "2-D CNN over pixel patches",
        "Logistic regression", "Random forest", "Gradient boosting",
        "Automatic: additive model + boosted stumps (measured best, default)"]
    assert [ARCHITECTURES.at(index).name for index in range(7)] == [
        "pradhan2022_dense", "cnn1d", "cnn2d_patch", "logistic_regression", "random_forest", "gradient_boosting", "auto"]
    assert algorithm.parameterDefinition("VALIDATION").options() == [
        "Random split", "Spatial blocks", "Spatial k-fold cross-validation"]
    assert [VALIDATION_SCHEMES.at(index).name for index in range(3)] == ["random", "spatial_blocks", "spatial_kfold"]
    for name, default in (("LABEL_FIELD", "label"), ("PATCH_SIZE", 5), ("EPOCHS", 200), ("BATCH_SIZE", 32),
                          ("LEARNING_RATE", 0.001), ("VALIDATION_FRACTION", 0.2), ("ENSEMBLE_SIZE", 1),
                          ("SEED", 42), ("VALIDATION", 2), ("FOLDS", 5), ("BUFFER", 0.0)):
        assert algorithm.parameterDefinition(name).defaultValue() == default, name
    for name in ("STACK", "POINTS", "BLOCK_SIZE", "OUTPUT_MODEL", "OUTPUT_REPORT"):
        assert algorithm.parameterDefinition(name) is not None, name
    assert {output.name() for output in algorithm.outputDefinitions()} >= {
        "ACCURACY", "ROC_AUC", "F1", "OUTPUT_MODEL", "OUTPUT_REPORT", "ROC_AUC_SD", "PREDICTION_RATE_AUC"}
    assert "spatial" in algorithm.shortHelpString() and "124,402" in algorithm.shortHelpString()
    # the scikit-learn classifiers named where the help says how they are fitted ("auto" may follow them)
    assert "The scikit-learn classifiers (Logistic regression, Random forest, Gradient boosting" in \
        algorithm.shortHelpString() and ") are fitted on the standardised factors" in algorithm.shortHelpString()


def test_processing_run_writes_bundle_and_report(qgis_app, province_stack, points, tmp_path):
    import processing

    result = processing.run("deepprospect:train", {
        "STACK": province_stack, "POINTS": points, "LABEL_FIELD": "label", "ARCHITECTURE": 0, "EPOCHS": 60,
        "VALIDATION": 1, "BLOCK_SIZE": 4000, "SEED": 5, "COMPARE_VALIDATION": True,
        "OUTPUT_MODEL": str(tmp_path / "gold.dpm"), "OUTPUT_REPORT": str(tmp_path / "gold.html")})
    metadata = bundle_metadata(result["OUTPUT_MODEL"])
    assert metadata["architecture"] == "pradhan2022_dense" and metadata["validation"]["scheme"] == "spatial_blocks"
    assert result["ROC_AUC"] == pytest.approx(metadata["metrics"]["roc_auc"])
    assert result["ACCURACY"] == pytest.approx(metadata["metrics"]["accuracy"])
    assert result["F1"] == pytest.approx(metadata["metrics"]["deposit"]["f1"])
    assert 0.6 < result["ROC_AUC"] <= 1.0
    report = Path(result["OUTPUT_REPORT"]).read_text()
    assert report.count("data:image/png;base64,") == 4 and "spatial-block" in report
    comparison = metadata["validation_comparison"]
    assert set(comparison) == {"random", "spatial_blocks"}
    assert comparison["spatial_blocks"]["network"]["roc_auc"] == pytest.approx(result["ROC_AUC"])
    assert "Random split against spatial blocks" in report


def test_a_scikit_learn_architecture_trains_through_processing(qgis_app, province_stack, points, tmp_path):
    import processing

    from deepprospect.catalog import ARCHITECTURES

    result = processing.run("deepprospect:train", {
        "STACK": province_stack, "POINTS": points, "ARCHITECTURE": 4, "VALIDATION": 0, "ENSEMBLE_SIZE": 2,
        "SEED": 5, "OUTPUT_MODEL": str(tmp_path / "forest.dpm")})
    metadata = bundle_metadata(result["OUTPUT_MODEL"])
    assert metadata["architecture"] == ARCHITECTURES.at(4).name and metadata["ensemble_size"] == 2
    assert metadata["network"]["estimator"] == "RandomForestClassifier" and metadata["history"] == []
    assert result["ROC_AUC"] == pytest.approx(metadata["metrics"]["roc_auc"])
    # the user's next steps work unchanged: the map with its uncertainty, and SHAP (EXPLAINER ignored)
    mapped = processing.run("deepprospect:predict", {
        "STACK": province_stack, "MODEL": result["OUTPUT_MODEL"], "OUTPUT": str(tmp_path / "p.tif"),
        "OUTPUT_UNCERTAINTY": str(tmp_path / "u.tif")})
    assert Path(mapped["OUTPUT"]).exists() and Path(mapped["OUTPUT_UNCERTAINTY"]).exists()
    explained = processing.run("deepprospect:shap", {
        "MODEL": result["OUTPUT_MODEL"], "STACK": province_stack, "SAMPLE_SIZE": 30, "BACKGROUND_SIZE": 20,
        "EXPLAINER": 0, "SEED": 3, "OUTPUT_FOLDER": str(tmp_path / "shap")})
    assert (tmp_path / "shap" / "shap_values.csv").exists() and explained["ADDITIVITY_ERROR"] < 1e-6


def test_spatial_kfold_outputs_the_folds_mean_and_sd(qgis_app, province_stack, points, tmp_path):
    import processing

    result = processing.run("deepprospect:train", {
        "STACK": province_stack, "POINTS": points, "EPOCHS": 4, "FOLDS": 2, "BLOCK_SIZE": 4000, "BUFFER": 300,
        "SEED": 2, "OUTPUT_MODEL": str(tmp_path / "kfold.dpm"), "OUTPUT_REPORT": str(tmp_path / "kfold.html")})
    metadata = bundle_metadata(result["OUTPUT_MODEL"])
    folds = metadata["cross_validation"]
    assert metadata["validation"]["scheme"] == "spatial_kfold" and folds["folds"] == 2 and folds["buffer"] == 300
    network = folds["summary"]["network"]
    assert result["ROC_AUC"] == pytest.approx(network["roc_auc"]["mean"])
    assert result["ROC_AUC"] == pytest.approx(np.mean([fold["models"]["network"]["roc_auc"]
                                                       for fold in folds["fold_results"]]))
    assert result["ROC_AUC_SD"] == pytest.approx(network["roc_auc"]["sd"])
    assert result["PREDICTION_RATE_AUC"] == pytest.approx(network["prediction_rate_auc"]["mean"])
    assert "Spatial cross-validation" in Path(result["OUTPUT_REPORT"]).read_text()


def test_bundle_and_report_left_unnamed_are_kept_beside_the_stack(qgis_app, province_stack, points, tmp_path):
    """Issue 18: a bundle left as a temporary file (or not given in a script) is saved as
    <stack>_model.dpm beside the evidence stack (numbered, never replacing one), with the report
    (on by default) beside it; an empty report value leaves the report out."""
    import shutil

    import processing

    stack = tmp_path / "evidence.tif"
    shutil.copy(province_stack, stack)
    settings = {"STACK": str(stack), "POINTS": points, "ARCHITECTURE": 3, "VALIDATION": 0, "SEED": 1}   # quick
    first = processing.run("deepprospect:train", settings)
    assert first["OUTPUT_MODEL"] == str(tmp_path / "evidence_model.dpm")
    assert first["OUTPUT_REPORT"] == str(tmp_path / "evidence_model_report.html")
    assert bundle_metadata(first["OUTPUT_MODEL"])["factor_names"]
    assert "<html" in Path(first["OUTPUT_REPORT"]).read_text().lower()
    second = processing.run("deepprospect:train", dict(settings, OUTPUT_MODEL="TEMPORARY_OUTPUT", OUTPUT_REPORT=""))
    assert second["OUTPUT_MODEL"] == str(tmp_path / "evidence_model_2.dpm") and Path(second["OUTPUT_MODEL"]).is_file()
    assert "OUTPUT_REPORT" not in second and not (tmp_path / "evidence_model_2_report.html").exists()
    assert bundle_metadata(second["OUTPUT_MODEL"])["factor_names"] == bundle_metadata(first["OUTPUT_MODEL"])["factor_names"]


def test_bad_label_field_is_a_processing_error(qgis_app, province_stack, points, tmp_path):
    import processing
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException, match="must hold 1 .deposit. or 0"):
        processing.run("deepprospect:train", {
            "STACK": province_stack, "POINTS": points, "LABEL_FIELD": "kind", "EPOCHS": 2,
            "OUTPUT_MODEL": str(tmp_path / "bad.dpm")})
    assert not (tmp_path / "bad.dpm").exists()


def test_an_unwritable_report_fails_before_training(qgis_app, province_stack, points, tmp_path, bad_input,
                                                      monkeypatch):
    """Issue 15: the bundle used to be refused only after the whole training. Now the run stops in
    the up-front check, before the engine starts (no progress, nothing written)."""
    import processing
    from qgis.core import QgsProcessingException, QgsProcessingFeedback

    from deepprospect.processing_provider import engine_runner

    engine_calls = []
    monkeypatch.setattr(engine_runner, "run_task", lambda *args, **kwargs: engine_calls.append(args))

    class Feedback(QgsProcessingFeedback):
        def __init__(self):
            super().__init__()
            self.values = []
            self.progressChanged.connect(self.values.append)

    blocker = tmp_path / "reports"
    blocker.write_text("a file, not a folder", encoding="utf-8")
    feedback = Feedback()
    with pytest.raises(QgsProcessingException) as raised:
        processing.run("deepprospect:train", {
            "STACK": province_stack, "POINTS": points, "EPOCHS": 500, "SEED": 5,
            "OUTPUT_MODEL": str(tmp_path / "model.dpm"), "OUTPUT_REPORT": str(blocker / "report.html")},
            feedback=feedback)
    message = str(raised.value)
    assert "Training report: {} is a file, so nothing can be written under it ({}). Choose another " \
           "folder.".format(blocker, blocker / "report.html") in message
    assert feedback.values == [] and sorted(p.name for p in tmp_path.iterdir()) == ["reports"]
    # refused by the up-front check: the engine (TensorFlow, 500 epochs) is never asked to start
    assert engine_calls == []
    bad_input("Train's output under a file (refused before training, not after)", "error", message)


def test_qgis_process_trains_the_patch_cnn(province_stack, points, tmp_path):
    assert profile_plugin_link().exists(), "The plugin is not installed in the QGIS profile: run `make install`."
    results = qgis_process_run("deepprospect:train", [
        ("STACK", province_stack), ("POINTS", points), ("ARCHITECTURE", 2), ("PATCH_SIZE", 3), ("EPOCHS", 3),
        ("VALIDATION", 0), ("SEED", 1), ("OUTPUT_MODEL", tmp_path / "patch.dpm"), ("OUTPUT_REPORT", tmp_path / "patch.html")])
    assert Path(results["OUTPUT_MODEL"]).exists() and Path(results["OUTPUT_REPORT"]).exists()
    metadata = bundle_metadata(results["OUTPUT_MODEL"])
    assert metadata["architecture"] == "cnn2d_patch" and metadata["patch_size"] == 3
    assert results["ROC_AUC"] == pytest.approx(metadata["metrics"]["roc_auc"])
