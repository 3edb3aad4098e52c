"""deepprospect:predict in QGIS: outputs loaded with their styles, the success-rate AUC against a
closed form computed from the written map, clear errors, qgis_process.

The success-rate AUC is recomputed from the probability GeoTIFF itself (read with GDAL) and the
deposit points: the Mann–Whitney form ``mean over deposits of (pixels below + ½ pixels equal) /
valid pixels``, where a deposit takes the value of the map pixel it falls in. Both sides rank the
same float32 values, so they agree to float64 rounding on any CPU; a second prediction path (the
old test's ``predict_at_points``) differed with the CPU's kernels. The map's values themselves are
checked against closed forms in tests/engine/test_predict.py.
"""
from pathlib import Path

import numpy as np
import pytest

from reference import STACK_NODATA, pixel_of, qgis_process_run, read_points, read_raster, write_raster

FACTORS = ["Sb_con", "Oli_clay", "Pb_con", "As_con"]


@pytest.fixture(scope="module")
def small_stack(tmp_path_factory):
    """A 70 × 90 × 4 stack with 16-pixel tiles, factors other than the province's."""
    rng = np.random.default_rng(7)
    data = rng.normal(size=(4, 70, 90))
    data[:, 20:26, 40:47] = STACK_NODATA
    path = tmp_path_factory.mktemp("small_stack") / "stack.tif"
    return write_raster(path, data, (500000.0, 250.0, 0.0, 2400000.0, 0.0, -250.0), FACTORS, block=16)


@pytest.fixture(scope="module")
def single_member_bundle(qgis_app, province_stack, province_training_points, tmp_path_factory):
    """A one-member model, quickly trained (logistic regression)."""
    import processing

    folder = tmp_path_factory.mktemp("single_member")
    return processing.run("deepprospect:train", {
        "STACK": province_stack, "POINTS": province_training_points, "ARCHITECTURE": 3, "SEED": 1, "VALIDATION": 0,
        "OUTPUT_MODEL": str(folder / "single.dpm")})["OUTPUT_MODEL"]


def success_rate_auc(probability, geotransform, deposit_xy):
    """AUC = P(pixel < deposit) + ½ P(pixel = deposit) over valid pixels, deposits on valid pixels only."""
    valid = probability != STACK_NODATA
    rows, cols = pixel_of(geotransform, deposit_xy)
    inside = (rows >= 0) & (rows < probability.shape[0]) & (cols >= 0) & (cols < probability.shape[1])
    at_deposits = probability[rows[inside], cols[inside]]
    at_deposits = at_deposits[at_deposits != STACK_NODATA]
    pixels = np.sort(probability[valid])
    below = np.searchsorted(pixels, at_deposits, side="left")
    at_or_below = np.searchsorted(pixels, at_deposits, side="right")
    return float(np.mean((below + 0.5 * (at_or_below - below)) / pixels.size)), at_deposits.size


def test_closed_form_auc_by_hand():
    """The reference itself on a 2 × 3 map: deposits on 0.9 (4 below, 1 tie → 4.5/5), 0.2 (0.5/5)."""
    probability = np.array([[0.2, 0.5, 0.9], [STACK_NODATA, 0.3, 0.4]])
    transform = (0.0, 1.0, 0.0, 2.0, 0.0, -1.0)
    xy = np.array([[2.5, 1.5], [0.5, 1.5], [0.5, 0.5], [9.0, 9.0]])     # 0.9, 0.2, nodata, outside
    auc, used = success_rate_auc(probability, transform, xy)
    assert used == 2 and auc == pytest.approx((4.5 / 5 + 0.5 / 5) / 2, abs=1e-15)


def test_predict_algorithm_in_qgis(qgis_app, province, province_stack, province_bundle, tmp_path):
    import processing
    from qgis.core import QgsProject

    QgsProject.instance().removeAllMapLayers()
    result = processing.runAndLoadResults("deepprospect:predict", {
        "STACK": province_stack, "MODEL": province_bundle, "BLOCK_SIZE": 256, "DEPOSITS": province["deposits"],
        "OUTPUT": str(tmp_path / "prospectivity.tif"), "OUTPUT_UNCERTAINTY": str(tmp_path / "spread.tif"),
        "OUTPUT_CLASSES": str(tmp_path / "classes.tif")})
    for name in ("prospectivity", "spread", "classes"):
        assert (tmp_path / (name + ".tif")).exists() and (tmp_path / (name + ".qml")).exists()
    assert (tmp_path / "prospectivity_success_rate.png").exists()
    # The layers were loaded with their styles applied.
    renderers = {layer.name(): layer.renderer().type() for layer in QgsProject.instance().mapLayers().values()}
    assert renderers == {"Prospectivity": "singlebandpseudocolor", "Uncertainty": "singlebandpseudocolor",
                         "Prospectivity classes": "paletted"}
    QgsProject.instance().removeAllMapLayers()

    data, _, _, info = read_raster(result["OUTPUT"])
    probability = data[0]
    deposit_xy, _ = read_points(province["deposits"])
    expected, used = success_rate_auc(probability, info["transform"], deposit_xy)
    assert used > 10
    assert result["SUCCESS_RATE_AUC"] == pytest.approx(expected, abs=1e-9)
    assert result["SUCCESS_RATE_AUC"] > 0.6
    valid = probability != STACK_NODATA
    assert result["VALID_PIXELS"] == valid.sum() == info["width"] ** 2
    assert 0.0 <= probability[valid].min() and probability[valid].max() <= 1.0


def test_styles_written_beside_outputs_open_styled_in_qgis(qgis_app, province_stack, province_bundle, tmp_path):
    import processing
    from qgis.core import QgsRasterLayer

    result = processing.run("deepprospect:predict", {
        "STACK": province_stack, "MODEL": province_bundle, "OUTPUT": str(tmp_path / "p.tif"),
        "OUTPUT_UNCERTAINTY": str(tmp_path / "u.tif"), "OUTPUT_CLASSES": str(tmp_path / "c.tif")})
    for key, renderer in (("OUTPUT", "singlebandpseudocolor"), ("OUTPUT_UNCERTAINTY", "singlebandpseudocolor"),
                          ("OUTPUT_CLASSES", "paletted")):
        path = result[key]
        assert Path(path[:-4] + ".qml").exists(), key
        layer = QgsRasterLayer(path, "layer")       # QGIS picks up the .qml of the same base name
        assert layer.isValid() and layer.renderer().type() == renderer, path
    layer = QgsRasterLayer(result["OUTPUT_UNCERTAINTY"], "u")   # keep the layer alive while using its renderer
    shader = layer.renderer().shader().rasterShaderFunction()
    spread = read_raster(result["OUTPUT_UNCERTAINTY"])[0][0]
    maximum = spread[spread != STACK_NODATA].max()
    assert maximum > 0                                        # two members disagree somewhere
    assert maximum * 0.5 <= shader.maximumValue() <= maximum * 2.5   # the ramp spans this map's spread


def test_predict_algorithm_rejects_a_mismatched_stack(qgis_app, small_stack, province_bundle, tmp_path):
    import processing
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException, match="missing from the stack"):
        processing.run("deepprospect:predict", {"STACK": small_stack, "MODEL": province_bundle,
                                                "OUTPUT": str(tmp_path / "p.tif")})
    assert not (tmp_path / "p.tif").exists()


def test_one_member_model_leaves_the_uncertainty_map_out(qgis_app, province_stack, single_member_bundle, tmp_path,
                                                         bad_input):
    """Issue 18: a single-member model has no spread between members; asking for the uncertainty
    map (the chain model and the dialog's defaults may) is not an error: the map is left out and
    the log says why."""
    import processing
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback

    feedback = QgsProcessingFeedback()
    result = processing.run("deepprospect:predict", {
        "STACK": province_stack, "MODEL": single_member_bundle, "BLOCK_SIZE": 64, "OUTPUT": str(tmp_path / "p.tif"),
        "OUTPUT_UNCERTAINTY": str(tmp_path / "u.tif")}, context=QgsProcessingContext(), feedback=feedback)
    assert result["OUTPUT"] == str(tmp_path / "p.tif") and (tmp_path / "p.tif").exists()
    assert "OUTPUT_UNCERTAINTY" not in result or result["OUTPUT_UNCERTAINTY"] is None
    assert not (tmp_path / "u.tif").exists()
    message = next(line for line in feedback.textLog().splitlines() if "single member" in line)
    assert "the uncertainty map is left out" in message
    bad_input("An uncertainty map asked of a model with one member", "handled", message)


def test_predict_runs_from_qgis_process(province_stack, province_bundle, tmp_path):
    results = qgis_process_run("deepprospect:predict", [
        ("STACK", province_stack), ("MODEL", province_bundle), ("BLOCK_SIZE", 32), ("OUTPUT", tmp_path / "p.tif")])
    assert results["OUTPUT"] == str(tmp_path / "p.tif")
    assert (tmp_path / "p.qml").exists()
    data, nodata, names, _ = read_raster(tmp_path / "p.tif")
    assert names == ["deposit_probability"] and nodata == STACK_NODATA


def test_reading_the_stack_leaves_nothing_beside_it(qgis_app, province_stack, province_bundle, tmp_path, bad_input):
    """QGIS computes statistics of a raster it loads and GDAL keeps them in <file>.aux.xml; no
    algorithm may leave such a file in the user's folders (base.processAlgorithm turns it off)."""
    import shutil

    import processing

    inputs = tmp_path / "inputs"
    inputs.mkdir()
    stack = inputs / "stack.tif"
    shutil.copy(province_stack, stack)
    processing.run("deepprospect:predict", {"STACK": str(stack), "MODEL": province_bundle,
                                            "OUTPUT": str(tmp_path / "probability.tif")})
    assert sorted(p.name for p in inputs.iterdir()) == ["stack.tif"]
    bad_input("reading the evidence stack in deepprospect:predict (QGIS loads it as a layer)", "handled",
              "nothing is written beside the input files (no .aux.xml)")
