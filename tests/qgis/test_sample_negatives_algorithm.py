"""deepprospect:sample_negatives in QGIS and through qgis_process. The sampling rules themselves are
checked in tests/engine/test_sampling.py; here: the table QGIS gets, its fields and counts, and that
every attribute is the stack's value at the point (read back with GDAL)."""
import numpy as np

from reference import pixel_of, qgis_process_run, read_points, read_raster, write_points


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


def test_two_deposits_on_one_cell_count_once_in_processing(qgis_app, tmp_path, bad_input):
    import processing
    from qgis.core import QgsProcessingFeedback

    from reference import write_raster

    # a 10 × 10 stack of 10-unit cells; cell (2, 3) holds 3 deposits, cell (5, 5) 2, cell (8, 1) 1
    stack = write_raster(tmp_path / "stack.tif", np.arange(200, dtype=np.float32).reshape(2, 10, 10),
                         (0, 10, 0, 100, 0, -10), ["A", "B"])
    xy = [[31, 72], [33, 78], [39, 71], [51, 45], [58, 42], [12, 13]]
    deposits = write_points(tmp_path / "deposits.gpkg", xy, {"name": list("abcdef")})
    log = QgsProcessingFeedback()       # keeps its log: textLog()
    result = processing.run("deepprospect:sample_negatives", {
        "STACK": str(stack), "DEPOSITS": deposits + "|layername=samples", "SEED": 1,
        "OUTPUT": str(tmp_path / "training.gpkg")}, feedback=log)
    message = ("3 deposits lie on a stack cell that already holds another of them and were merged into it: one point "
               "per cell is kept (2 cells held more than one).")
    assert message in log.textLog()
    assert result["DEPOSIT_COUNT"] == 3 and result["NON_DEPOSIT_COUNT"] == 3
    written, attributes = read_points(result["OUTPUT"])
    labels = np.asarray(attributes["label"])
    np.testing.assert_array_equal(written[labels == 1], np.asarray(xy, dtype=float)[[0, 3, 5]])
    bad_input("Two deposits on one cell (deepprospect:sample_negatives)", "warning", message)
