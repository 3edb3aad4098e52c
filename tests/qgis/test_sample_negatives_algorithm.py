"""deepprospect:sample_negatives in QGIS and through qgis_process. The sampling rules themselves are
checked in tests/engine/test_sampling.py; here: the table QGIS gets, its fields and counts, and that
every attribute is the stack's value at the point (read back with GDAL)."""
import numpy as np

from reference import pixel_of, qgis_process_run, read_points, read_raster


def test_processing_run_gives_training_table(qgis_app, province, province_stack, tmp_path):
    import processing
    from qgis.core import QgsVectorLayer

    result = processing.run("deepprospect:sample_negatives", {
        "STACK": province_stack, "DEPOSITS": province["deposits"], "MIN_DISTANCE": 500.0, "SEED": 7,
        "OUTPUT": str(tmp_path / "training.gpkg")})
    layer = QgsVectorLayer(result["OUTPUT"], "training", "ogr")
    assert layer.isValid() and layer.crs().authid() == "EPSG:32645"
    names = layer.fields().names()
    assert "label" in names and {"Sb_con", "Oli_clay", "Lith_gold"} <= set(names)
    labels = [feature["label"] for feature in layer.getFeatures()]
    # COUNT defaults to the number of deposits
    assert labels.count(1) == labels.count(0) == result["DEPOSIT_COUNT"] == result["NON_DEPOSIT_COUNT"] > 0
    # the attributes are the stack's values at each point (GDAL's read of the stack as reference)
    data, _, factors, info = read_raster(province_stack)
    xy, attributes = read_points(result["OUTPUT"])
    rows, cols = pixel_of(info["transform"], xy)
    table = np.array([attributes[name] for name in factors], dtype=np.float64)
    np.testing.assert_allclose(table, data[:, rows, cols], rtol=1e-6)


def test_qgis_process_runs_sample_negatives(province, province_stack, tmp_path):
    results = qgis_process_run("deepprospect:sample_negatives", [
        ("STACK", province_stack), ("DEPOSITS", province["deposits"]), ("COUNT", 40), ("SEED", 3),
        ("OUTPUT", tmp_path / "training.gpkg")])
    assert results["NON_DEPOSIT_COUNT"] == 40
