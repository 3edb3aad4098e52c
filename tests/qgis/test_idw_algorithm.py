"""deepprospect:idw in QGIS: against QGIS's own IDW, on the province (named bands, nodata, tiling,
cross-validation), and through qgis_process. The engine's IDW itself is checked against gdal_grid
and a brute-force reference in tests/engine/test_idw.py."""
import json

import numpy as np

from reference import CRS, STACK_NODATA, is_tiled, qgis_process_run, read_raster, write_points


def _random_samples(seed, n=300, size=5000.0):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, size, (n, 2)) + [400000.0, 2300000.0]
    return xy, rng.lognormal(1.0, 0.8, n)


def test_all_samples_no_radius_matches_qgis_idw(qgis_app, tmp_path):
    import processing
    from qgis.core import QgsVectorLayer

    xy, values = _random_samples(11, n=60, size=2000.0)
    points = write_points(tmp_path / "samples.gpkg", xy, {"Pb_con": values})
    extent = (400000.0, 2300000.0, 402000.0, 2301600.0)
    extent_text = "{},{},{},{} [{}]".format(extent[0], extent[2], extent[1], extent[3], CRS)
    qgis_output = tmp_path / "qgis_idw.tif"
    attribute = QgsVectorLayer(points + "|layername=samples", "samples", "ogr").fields().indexOf("Pb_con")
    processing.run("qgis:idwinterpolation", {
        "INTERPOLATION_DATA": "{}|layername=samples::~::0::~::{}::~::0".format(points, attribute),
        "DISTANCE_COEFFICIENT": 2.0, "EXTENT": extent_text, "PIXEL_SIZE": 100.0, "OUTPUT": str(qgis_output)})
    result = processing.run("deepprospect:idw", {
        "INPUT": points + "|layername=samples", "FIELDS": ["Pb_con"], "PIXEL_SIZE": 100.0, "EXTENT": extent_text,
        "POWER": 2.0, "NEIGHBORS": 0, "RADIUS": 0, "OUTPUT": str(tmp_path / "ours.tif")})
    mine = read_raster(result["OUTPUT"])[0]
    theirs = read_raster(qgis_output)[0]
    assert mine.shape == theirs.shape == (1, 16, 20)
    assert np.abs(mine - theirs).max() <= 1e-4 * (values.max() - values.min())


def test_processing_run_on_province_gives_named_bands_and_cv(qgis_app, province, tmp_path):
    import processing
    from qgis.core import QgsRasterLayer

    output = tmp_path / "geochemistry.tif"
    result = processing.run("deepprospect:idw", {
        "INPUT": province["geochemistry"], "FIELDS": ["Sb_con", "Pb_con", "SiO2_con"], "PIXEL_SIZE": 500.0,
        "RADIUS": 3000.0, "OUTPUT": str(output)})
    layer = QgsRasterLayer(result["OUTPUT"], "geochemistry")
    assert layer.isValid() and layer.crs().authid() == CRS
    assert layer.bandCount() == 3
    data, nodata, names, info = read_raster(result["OUTPUT"])
    assert names == ["Sb_con", "Pb_con", "SiO2_con"] and nodata == STACK_NODATA
    assert is_tiled(info) and info["dtype"] == "float32"
    assert all(layer.dataProvider().sourceNoDataValue(b) == STACK_NODATA for b in (1, 2, 3))
    cv = json.loads(result["CV_RMSE"])
    assert set(cv) == {"Sb_con", "Pb_con", "SiO2_con"} and all(value > 0 for value in cv.values())
    # the RMSE is in each element's own unit: SiO2 (≈62 wt%, 10 % spread) errs far less than Pb (ppm)
    assert cv["SiO2_con"] < cv["Pb_con"]
    # log10 interpolation names the band after the transform and works in log units
    logged = processing.run("deepprospect:idw", {
        "INPUT": province["geochemistry"], "FIELDS": ["Sb_con"], "PIXEL_SIZE": 500.0, "LOG10": True,
        "OUTPUT": str(tmp_path / "sb_log.tif")})
    data_log, _, names_log, _ = read_raster(logged["OUTPUT"])
    assert names_log == ["Sb_con_log10"]
    assert -3 < data_log.min() < data_log.max() < 2


def test_qgis_process_runs_idw(province, tmp_path):
    output = tmp_path / "sb.tif"
    results = qgis_process_run("deepprospect:idw", [
        ("INPUT", province["geochemistry"]), ("FIELDS", "Sb_con"), ("FIELDS", "As_con"), ("PIXEL_SIZE", 400),
        ("NEIGHBORS", 8), ("OUTPUT", output)])
    assert set(json.loads(results["CV_RMSE"])) == {"Sb_con", "As_con"}
    _, nodata, names, info = read_raster(output)
    assert names == ["Sb_con", "As_con"] and nodata == STACK_NODATA and info["epsg"] == 32645


# ---- bad input (docs/bad_input.md) ---------------------------------------------------------------


def _strict_json(text):
    """json.loads that refuses NaN and ±Infinity (not JSON, though Python's json accepts them)."""
    def refuse(constant):
        raise ValueError("not JSON: {}".format(constant))

    return json.loads(text, parse_constant=refuse)


def test_cv_rmse_that_cannot_be_computed_is_json_null_through_qgis_process(tmp_path, bad_input):
    from reference import qgis_process

    # two samples at one place: one sample place, nothing to leave out
    points = write_points(tmp_path / "one.gpkg", [[400100.0, 2300100.0], [400100.0, 2300100.0]],
                          {"Sb_con": [1.0, 3.0]})
    output = tmp_path / "one.tif"
    completed = qgis_process("--json", "run", "deepprospect:idw", "--", "INPUT={}".format(points), "FIELDS=Sb_con",
                             "PIXEL_SIZE=100", "OUTPUT={}".format(output))
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    document = _strict_json(completed.stdout[completed.stdout.index("{"):])
    assert _strict_json(document["results"]["CV_RMSE"]) == {"Sb_con": None}
    message = ("Sb_con: the leave-one-out RMSE (CV_RMSE) cannot be computed: it needs at least 2 samples at "
               "different places, and there is 1.")
    log = document["log"]
    assert message in log.get("errors", []) + log.get("warnings", []) + log.get("info", [])
    data, nodata, names, _ = read_raster(output)
    assert names == ["Sb_con"] and data.shape == (1, 1, 1) and data[0, 0, 0] == 2.0
    bad_input("IDW's CV_RMSE when it cannot be computed (qgis_process --json)", "warning", message)


def test_cv_rmse_output_never_holds_nan():
    from deepprospect.processing_provider.idw_algorithm import cv_rmse_json

    text = cv_rmse_json({"Sb_con": float("nan"), "Pb_con": 1.5, "As_con": None, "Cu_con": float("inf")})
    assert _strict_json(text) == {"Sb_con": None, "Pb_con": 1.5, "As_con": None, "Cu_con": None}


def test_extent_far_from_the_samples_is_refused_in_processing(qgis_app, tmp_path, bad_input):
    import processing
    import pytest
    from qgis.core import QgsProcessingException

    xy, values = _random_samples(4, n=40, size=2000.0)
    points = write_points(tmp_path / "samples.gpkg", xy, {"Pb_con": values})
    extent_text = "{},{},{},{} [{}]".format(500000.0, 501000.0, 2400000.0, 2401000.0, CRS)
    with pytest.raises(QgsProcessingException) as error:
        processing.run("deepprospect:idw", {
            "INPUT": points + "|layername=samples", "FIELDS": ["Pb_con"], "PIXEL_SIZE": 100.0,
            "EXTENT": extent_text, "RADIUS": 1000.0, "OUTPUT": str(tmp_path / "far.tif")})
    message = str(error.value)
    assert "Pb_con: no cell of the EXTENT is within RADIUS (1000 map units) of a sample" in message
    assert "choose an EXTENT that overlaps them, leave EXTENT empty, or enlarge RADIUS." in message
    assert not list(tmp_path.glob("*.tif*"))
    bad_input("IDW with an EXTENT far from every sample (in QGIS)", "error", message)


def test_the_same_field_twice_is_refused_through_qgis_process(tmp_path, bad_input):
    from reference import qgis_process

    xy, values = _random_samples(5, n=30, size=2000.0)
    points = write_points(tmp_path / "samples.gpkg", xy, {"Pb_con": values})
    completed = qgis_process("--json", "run", "deepprospect:idw", "--", "INPUT={}".format(points),
                             "FIELDS=Pb_con", "FIELDS=Pb_con", "PIXEL_SIZE=100",
                             "OUTPUT={}".format(tmp_path / "twice.tif"))
    message = ("FIELDS names Pb_con more than once; each field becomes one band named after it, so choose each "
               "field once.")
    assert completed.returncode != 0 and message in completed.stdout + completed.stderr
    assert not list(tmp_path.glob("*.tif*"))
    bad_input("The same field twice in IDW FIELDS (qgis_process)", "error", message)
