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
    from osgeo import gdal

    tags = gdal.Open(str(raster)).GetMetadata()
    page = (folder / "explanation.html").read_text(encoding="utf-8")
    assert "<h2>Contribution maps</h2>" in page and "agree with the explanation against all 40 background pixels to " \
        "r = {:.2f} per factor".format(float(tags["SHAP_FIDELITY_R"])) in page
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


def test_shap_refuses_a_bundle_changed_after_it_was_written(qgis_app, province_stack, province_bundle, tmp_path,
                                                           bad_input):
    """A member edited by hand: the user sees one clear message (no traceback) and no report is written."""
    import zipfile

    import processing
    from qgis.core import QgsProcessingException

    tampered = tmp_path / "tampered.dpm"
    with zipfile.ZipFile(province_bundle) as source, zipfile.ZipFile(tampered, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            target.writestr(name, data + b"\0" if name == "member_1.npz" else data)
    with pytest.raises(QgsProcessingException) as error:
        processing.run("deepprospect:shap", {"MODEL": str(tampered), "STACK": province_stack,
                                              "OUTPUT_FOLDER": str(tmp_path / "o")})
    message = str(error.value)
    assert message.startswith("The model bundle {} was changed after it was written: member_1.npz does not match the "
                              "SHA-256 checksum recorded when it was written.".format(tampered)), message
    assert "Traceback" not in message and "File \"" not in message
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())
    bad_input("A model bundle changed after it was written, opened in QGIS (SHAP)", "error", message)
