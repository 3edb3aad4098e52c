"""deepprospect:shap inside a real headless QGIS."""
import numpy as np


def test_shap_algorithm_writes_report_and_maps(qgis_app, province, province_stack, tmp_path):
    import processing
    import rasterio
    from test_explain import province_training_data, save_pixel_bundle

    values, labels, info = province_training_data(province)
    model = save_pixel_bundle(tmp_path / "m.dpm", values, labels, info.factor_names, epochs=10)
    folder, raster = tmp_path / "out", tmp_path / "contrib.tif"
    result = processing.run("deepprospect:shap", {
        "MODEL": str(model), "STACK": province_stack, "POINTS": province["deposits"], "SAMPLE_SIZE": 150,
        "BACKGROUND_SIZE": 40, "EXPLAINER": 0, "SEED": 3, "OUTPUT_FOLDER": str(folder), "OUTPUT_RASTER": str(raster),
        "MAP_REFERENCES": 4, "MAP_STEPS": 4})
    for name in ("importance.csv", "shap_values.csv", "importance_bar.png", "summary_beeswarm.png",
                 "correlation_heatmap.png", "explanation.html"):
        assert (folder / name).exists(), name
    assert len(list(folder.glob("class_swarm_*.png"))) == 4 and len(list(folder.glob("dependence_*.png"))) == 4
    with rasterio.open(raster) as dataset:
        assert dataset.count == 16 and list(dataset.descriptions) == info.factor_names
    assert result["ADDITIVITY_ERROR"] < 0.05
    lines = (folder / "shap_values.csv").read_text().splitlines()
    assert lines[1].split(",")[2] == "1"      # deposits come first, labelled


def test_shap_algorithm_rejects_wrong_stack(qgis_app, province, tmp_path):
    import processing
    import pytest
    from qgis.core import QgsProcessingException
    from test_explain import province_training_data, save_pixel_bundle

    values, labels, info = province_training_data(province)
    model = save_pixel_bundle(tmp_path / "m.dpm", values[:, :3], labels, info.factor_names[:3], epochs=1)
    with pytest.raises(QgsProcessingException, match="factors do not match"):
        processing.run("deepprospect:shap", {"MODEL": str(model), "STACK": province["truth_evidence"],
                                              "OUTPUT_FOLDER": str(tmp_path / "o")})
