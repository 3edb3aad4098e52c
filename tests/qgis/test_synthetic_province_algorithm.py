"""deepprospect:synthetic_province through processing.run and qgis_process: every layer opens in
QGIS with the CRS the province documents."""
from pathlib import Path

from reference import profile_plugin_link, qgis_process_run


def test_synthetic_province_runs_through_processing_and_opens_in_qgis(qgis_app, tmp_path):
    import processing
    from qgis.core import QgsRasterLayer, QgsVectorLayer

    result = processing.run("deepprospect:synthetic_province",
                            {"SIZE_KM": 10, "SEED": 3, "OUTPUT_FOLDER": str(tmp_path / "province")})
    assert result["DEPOSIT_COUNT"] > 0 and result["SAMPLE_COUNT"] > 50
    expected = {"MAGNETIC": "EPSG:4326", "BOUGUER": "EPSG:32644", "CLAY": "EPSG:32645",
                "SILICA": "EPSG:32645", "TRUTH_PROBABILITY": "EPSG:32645"}
    for key, authid in expected.items():
        layer = QgsRasterLayer(result[key], key)
        assert layer.isValid(), key
        assert layer.crs().authid() == authid, key
    for key in ("GEOCHEMISTRY", "DEPOSITS", "SHEAR_ZONES", "LINEAMENTS", "LITHOLOGY"):
        layer = QgsVectorLayer(result[key], key, "ogr")
        assert layer.isValid(), key
        assert layer.crs().authid() == "EPSG:32645", key
        assert layer.featureCount() > 0, key
    samples = QgsVectorLayer(result["GEOCHEMISTRY"], "samples", "ogr")
    assert {"Sb_con", "Pb_con", "As_con", "SiO2_con"} <= set(samples.fields().names())
    deposits = QgsVectorLayer(result["DEPOSITS"], "deposits", "ogr")
    assert deposits.featureCount() == result["DEPOSIT_COUNT"]


def test_qgis_process_runs_synthetic_province(tmp_path):
    assert profile_plugin_link().exists(), "The plugin is not installed in the QGIS profile: run `make install`."
    results = qgis_process_run("deepprospect:synthetic_province",
                               [("SIZE_KM", 6), ("SEED", 2), ("OUTPUT_FOLDER", tmp_path / "out")])
    assert Path(results["TRUTH"]).exists()
    assert Path(results["DEPOSITS"]).exists() and Path(results["CLAY"]).exists()


def test_law_choice_and_future_deposits(qgis_app, tmp_path):
    """LAW defaults to nonlinear (index 1), index 0 is today's linear law; both write the future
    deposits as an output of their own, and the lithology unit codes as a raster."""
    import json

    import processing
    from qgis.core import QgsRasterLayer, QgsVectorLayer

    default = processing.run("deepprospect:synthetic_province",
                             {"SIZE_KM": 8, "SEED": 4, "OUTPUT_FOLDER": str(tmp_path / "default")})
    linear = processing.run("deepprospect:synthetic_province",
                            {"SIZE_KM": 8, "SEED": 4, "LAW": 0, "OUTPUT_FOLDER": str(tmp_path / "linear")})
    for result, law in ((default, "nonlinear"), (linear, "linear")):
        truth = json.loads(Path(result["TRUTH"]).read_text())
        assert truth["law"] == law
        future = QgsVectorLayer(result["FUTURE_DEPOSITS"], "future", "ogr")
        assert future.isValid() and future.crs().authid() == "EPSG:32645"
        assert future.featureCount() == result["FUTURE_DEPOSIT_COUNT"] == truth["future_deposit_count"]
        units = QgsRasterLayer(result["LITHOLOGY_UNITS"], "units")
        assert units.isValid() and units.crs().authid() == "EPSG:32645"
    assert Path(default["FUTURE_DEPOSITS"]).name == "future_deposits.gpkg"
