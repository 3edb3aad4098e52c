"""The shipped Model Builder model (resources/models/prospectivity_chain.model3) runs the whole
chain on the small province and its outputs are valid layers."""
import json

import numpy as np
import rasterio


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
    with rasterio.open(result["stack:evidence_stack"]) as dataset:
        assert list(dataset.descriptions) == ["Sb_con", "Pb_con", "As_con", "Mag_anamol", "Oli_clay"]
        valid = dataset.read_masks(1) > 0
    with rasterio.open(result["predict:probability"]) as dataset:
        probability = dataset.read(1, masked=True)
    assert probability.count() == valid.sum()
    assert 0.0 <= probability.min() and probability.max() <= 1.0 and probability.std() > 0.05
    with rasterio.open(result["predict:uncertainty"]) as dataset:
        assert dataset.read(1, masked=True).max() > 0          # two members disagree somewhere
    importance = (out / "shap" / "importance.csv").read_text().splitlines()
    assert importance[0] == "factor,mean_abs_shap" and len(importance) == 6
    metadata = json.loads(__import__("zipfile").ZipFile(out / "model.dpm").read("metadata.json"))
    assert metadata["ensemble_size"] == 2 and metadata["validation"]["scheme"] == "spatial_blocks"
    assert np.isfinite(metadata["metrics"]["roc_auc"])
