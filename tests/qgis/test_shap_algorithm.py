"""deepprospect:shap inside a real headless QGIS, on a bundle trained through deepprospect:train.
The explainers' maths is checked in tests/engine/test_explain.py."""
import csv

import pytest

from reference import read_raster


def test_shap_algorithm_writes_report_and_maps(qgis_app, province, province_stack, province_bundle, tmp_path):
    import processing

    folder, raster = tmp_path / "out", tmp_path / "contrib.tif"
    result = processing.run("deepprospect:shap", {
        "MODEL": province_bundle, "STACK": province_stack, "POINTS": province["deposits"], "SAMPLE_SIZE": 150,
        "BACKGROUND_SIZE": 40, "EXPLAINER": 0, "SEED": 3, "OUTPUT_FOLDER": str(folder), "OUTPUT_RASTER": str(raster),
        "MAP_REFERENCES": 4, "MAP_STEPS": 4})
    for name in ("importance.csv", "shap_values.csv", "importance_bar.png", "summary_beeswarm.png",
                 "correlation_heatmap.png", "explanation.html"):
        assert (folder / name).exists(), name
    assert len(list(folder.glob("class_swarm_*.png"))) == 4 and len(list(folder.glob("dependence_*.png"))) == 4
    factors = read_raster(province_stack)[2]
    _, _, names, _ = read_raster(raster)
    assert len(names) == 16 and names == factors
    assert result["ADDITIVITY_ERROR"] < 0.05
    with open(folder / "shap_values.csv") as handle:
        rows = list(csv.reader(handle))
    assert rows[1][2] == "1"      # deposits come first, labelled
    with open(folder / "importance.csv") as handle:
        importance = list(csv.DictReader(handle))
    assert sorted(row["factor"] for row in importance) == sorted(factors)


def test_shap_algorithm_rejects_wrong_stack(qgis_app, province_stack, province_bundle, tmp_path):
    import subprocess

    import processing
    from qgis.core import QgsProcessingException

    three = tmp_path / "three_factors.tif"
    subprocess.run(["gdal_translate", "-q", "-b", "1", "-b", "2", "-b", "3", province_stack, str(three)], check=True)
    with pytest.raises(QgsProcessingException, match="factors do not match"):
        processing.run("deepprospect:shap", {"MODEL": province_bundle, "STACK": str(three),
                                              "OUTPUT_FOLDER": str(tmp_path / "o")})
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())
