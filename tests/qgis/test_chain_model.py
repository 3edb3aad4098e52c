"""The shipped Model Builder model (resources/models/prospectivity_chain.model3) runs the whole
chain on the small province and its outputs are valid layers."""
import numpy as np

from reference import STACK_NODATA, bundle_metadata, read_raster


def test_chain_model_is_listed_and_runs(qgis_app, province, tmp_path):
    import processing
    from qgis.core import QgsApplication, QgsRasterLayer

    algorithm = QgsApplication.processingRegistry().algorithmById("deepprospect:prospectivity_chain")
    assert algorithm is not None, "the shipped model is not listed under DeepProspect"
    names = {definition.name() for definition in algorithm.parameterDefinitions()}
    assert {"geochemistry", "geochemistry_fields", "evidence_rasters", "deposits"} <= names

    out = tmp_path / "chain"
    result = processing.run("deepprospect:prospectivity_chain", {
        "geochemistry": province["geochemistry"], "geochemistry_fields": ["Sb_con", "Pb_con", "As_con"],
        "idw_pixel_size": 250.0, "evidence_rasters": [province["magnetic"], province["clay"]],
        "categorical_rasters": [], "stack_pixel_size": 1000.0, "deposits": province["deposits"],
        "architecture": 0, "epochs": 15, "ensemble_size": 2, "validation_block_size": 5000.0,
        "predict:probability": str(out / "probability.tif"), "predict:uncertainty": str(out / "uncertainty.tif"),
        "predict:classes": str(out / "classes.tif"), "shap:shap_folder": str(out / "shap"),
        "stack:evidence_stack": str(out / "stack.tif"), "train:model_bundle": str(out / "model.dpm"),
        "train:training_report": str(out / "report.html"),
    })
    for key in ("predict:probability", "predict:uncertainty", "predict:classes"):
        layer = QgsRasterLayer(result[key], key)
        assert layer.isValid(), key
        assert layer.crs().authid() == "EPSG:32645", key
    stack, nodata, names, _ = read_raster(result["stack:evidence_stack"])
    assert names == ["Sb_con", "Pb_con", "As_con", "Mag_anamol", "Oli_clay"]
    valid = stack[0] != nodata
    probability = read_raster(result["predict:probability"])[0][0]
    assert (probability != STACK_NODATA).sum() == valid.sum()
    inside = probability[probability != STACK_NODATA]
    assert 0.0 <= inside.min() and inside.max() <= 1.0 and inside.std() > 0.05
    spread = read_raster(result["predict:uncertainty"])[0][0]
    assert spread[spread != STACK_NODATA].max() > 0          # two members disagree somewhere
    importance = (out / "shap" / "importance.csv").read_text().splitlines()
    assert importance[0] == "factor,mean_abs_shap,kind" and len(importance) == 6
    metadata = bundle_metadata(out / "model.dpm")
    assert metadata["ensemble_size"] == 2 and metadata["validation"]["scheme"] == "spatial_blocks"
    assert np.isfinite(metadata["metrics"]["roc_auc"])
