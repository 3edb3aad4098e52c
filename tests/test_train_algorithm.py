"""deepprospect:train in a real headless QGIS: processing.run and the qgis_process command line."""
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

QGIS_PROCESS = "/usr/bin/qgis_process.bin"


@pytest.fixture(scope="module")
def points(province, tmp_path_factory):
    """Deposits (label 1) and three times as many random valid pixels ≥ 500 m from them (label 0)."""
    import geopandas as gpd
    from scipy.spatial import cKDTree
    from shapely.geometry import Point

    from deepprospect.core.raster import pixel_centres, read_stack_info

    deposits = gpd.read_file(province["deposits"])
    info = read_stack_info(province["truth_evidence"])
    rng = np.random.default_rng(11)
    deposit_xy = np.column_stack([deposits.geometry.x, deposits.geometry.y])
    candidates = pixel_centres(info, rng.integers(0, info.height, 1000), rng.integers(0, info.width, 1000))
    distance, _ = cKDTree(deposit_xy).query(candidates)
    negative_xy = candidates[distance >= 500.0][:3 * len(deposit_xy)]
    frame = gpd.GeoDataFrame(
        {"label": np.r_[np.ones(len(deposit_xy), int), np.zeros(len(negative_xy), int)],
         "kind": ["deposit"] * len(deposit_xy) + ["background"] * len(negative_xy)},
        geometry=[Point(p) for p in np.vstack([deposit_xy, negative_xy])], crs=deposits.crs)
    path = tmp_path_factory.mktemp("train_points") / "training_points.gpkg"
    frame.to_file(path, layer="training_points", driver="GPKG")
    return str(path)


def test_algorithm_contract(qgis_app):
    from qgis.core import QgsApplication

    algorithm = QgsApplication.processingRegistry().algorithmById("deepprospect:train")
    assert algorithm is not None and algorithm.groupId() == "modelling"
    assert algorithm.parameterDefinition("ARCHITECTURE").options() == ["pradhan2022_dense", "cnn1d", "cnn2d_patch"]
    assert algorithm.parameterDefinition("VALIDATION").options() == ["random", "spatial_blocks"]
    for name, default in (("LABEL_FIELD", "label"), ("PATCH_SIZE", 5), ("EPOCHS", 200), ("BATCH_SIZE", 32),
                          ("LEARNING_RATE", 0.001), ("VALIDATION_FRACTION", 0.2), ("ENSEMBLE_SIZE", 1),
                          ("SEED", 42)):
        assert algorithm.parameterDefinition(name).defaultValue() == default, name
    for name in ("STACK", "POINTS", "BLOCK_SIZE", "OUTPUT_MODEL", "OUTPUT_REPORT"):
        assert algorithm.parameterDefinition(name) is not None, name
    assert {output.name() for output in algorithm.outputDefinitions()} >= {
        "ACCURACY", "ROC_AUC", "F1", "OUTPUT_MODEL", "OUTPUT_REPORT"}
    assert "spatial" in algorithm.shortHelpString() and "124,402" in algorithm.shortHelpString()


def test_processing_run_writes_bundle_and_report(qgis_app, province_stack, points, tmp_path):
    import processing

    from deepprospect.models.bundle import read_metadata

    result = processing.run("deepprospect:train", {
        "STACK": province_stack, "POINTS": points, "LABEL_FIELD": "label", "ARCHITECTURE": 0, "EPOCHS": 60,
        "VALIDATION": 1, "BLOCK_SIZE": 4000, "SEED": 5, "COMPARE_VALIDATION": True,
        "OUTPUT_MODEL": str(tmp_path / "gold.dpm"), "OUTPUT_REPORT": str(tmp_path / "gold.html")})
    metadata = read_metadata(result["OUTPUT_MODEL"])
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


def test_bad_label_field_is_a_processing_error(qgis_app, province_stack, points, tmp_path):
    import processing
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException, match="must hold 1 .deposit. or 0"):
        processing.run("deepprospect:train", {
            "STACK": province_stack, "POINTS": points, "LABEL_FIELD": "kind", "EPOCHS": 2,
            "OUTPUT_MODEL": str(tmp_path / "bad.dpm")})
    assert not (tmp_path / "bad.dpm").exists()


def test_qgis_process_trains_the_patch_cnn(province_stack, points, tmp_path):
    import deepprospect.dependencies as dependencies

    link = dependencies.default_profile_folder() / "python" / "plugins" / "deepprospect"
    assert link.exists(), "The plugin is not installed in the QGIS profile: run `make install`."
    environment = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    completed = subprocess.run(
        [QGIS_PROCESS, "--json", "run", "deepprospect:train", "--", "STACK={}".format(province_stack),
         "POINTS={}".format(points), "ARCHITECTURE=2", "PATCH_SIZE=3", "EPOCHS=15", "SEED=1",
         "OUTPUT_MODEL={}".format(tmp_path / "patch.dpm"), "OUTPUT_REPORT={}".format(tmp_path / "patch.html")],
        capture_output=True, text=True, timeout=600, env=environment)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    results = json.loads(completed.stdout[completed.stdout.index("{"):])["results"]
    assert Path(results["OUTPUT_MODEL"]).exists() and Path(results["OUTPUT_REPORT"]).exists()
    from deepprospect.models.bundle import read_metadata

    metadata = read_metadata(results["OUTPUT_MODEL"])
    assert metadata["architecture"] == "cnn2d_patch" and metadata["patch_size"] == 3
    assert results["ROC_AUC"] == pytest.approx(metadata["metrics"]["roc_auc"])
