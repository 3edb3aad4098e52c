"""deepprospect:stack in QGIS and through qgis_process: band naming as QGIS users make rasters,
pixel size, nodata. The stacking itself is checked against gdalwarp in tests/engine/test_stack.py."""
import subprocess
from pathlib import Path

import pytest

from reference import STACK_NODATA, qgis_process_run, read_raster, set_band_description


@pytest.fixture(scope="module")
def sources(province, tmp_path_factory):
    """Province rasters plus what QGIS tools would make: a categorical raster without band
    description (named by its file)."""
    folder = tmp_path_factory.mktemp("stack_sources")
    lithology = folder / "Lith_code.tif"
    subprocess.run(["gdal_rasterize", "-q", "-a", "code", "-tr", "100", "100", "-ot", "Byte", "-a_nodata", "0",
                    province["lithology"], str(lithology)], check=True)
    return dict(magnetic=province["magnetic"], bouguer=province["bouguer"], lithology=str(lithology),
                reference=province["truth_probability"], evidence=province["truth_evidence"])


def test_processing_run_names_single_band_layers_by_layer_name(qgis_app, sources, tmp_path):
    import processing
    from qgis.core import QgsRasterLayer

    # a raster as QGIS's Proximity tool makes it: one band, no description, named by its file
    distance = tmp_path / "Dist_shear.tif"
    subprocess.run(["gdal_translate", "-q", "-b", "14", sources["evidence"], str(distance)], check=True)
    set_band_description(distance, 1, "")
    assert read_raster(distance)[2] == [""]
    result = processing.run("deepprospect:stack", {
        "LAYERS": [str(distance), sources["magnetic"], sources["lithology"]], "CATEGORICAL": [sources["lithology"]],
        "PIXEL_SIZE": 444.0, "OUTPUT": str(tmp_path / "stack.tif")})
    assert result["FACTOR_NAMES"] == "Dist_shear,Mag_anamol,Lith_code"
    layer = QgsRasterLayer(result["OUTPUT"], "stack")
    assert layer.isValid() and layer.crs().authid() == "EPSG:32645"
    assert layer.bandCount() == 3 and layer.rasterUnitsPerPixelX() == pytest.approx(444.0)
    assert all(layer.dataProvider().sourceNoDataValue(b) == STACK_NODATA for b in (1, 2, 3))
    assert 0.5 < result["VALID_FRACTION"] <= 1
    assert read_raster(result["OUTPUT"])[2] == ["Dist_shear", "Mag_anamol", "Lith_code"]


def _listing(folder):
    return sorted(str(path.relative_to(folder)) for path in Path(folder).rglob("*"))


def test_qgis_process_runs_stack(sources, tmp_path):
    output = tmp_path / "stack.tif"
    results = qgis_process_run("deepprospect:stack", [
        ("LAYERS", sources["magnetic"]), ("LAYERS", sources["bouguer"]), ("REFERENCE", sources["reference"]),
        ("OUTPUT", output)])
    assert results["FACTOR_NAMES"] == "Mag_anamol,Boug_anamol"
    assert read_raster(output)[2] == ["Mag_anamol", "Boug_anamol"]


def _untagged_survey(path):
    """A one-band raster without nodata tag whose cells outside the survey (an L shape) hold -9999."""
    import numpy as np
    from osgeo import gdal

    from reference import write_raster

    rows, cols = np.mgrid[0:30, 0:40]
    data = 40 * np.sin(rows / 5.0) + 30 * np.cos(cols / 6.0)
    outside = (rows < 6) | (cols > 33)
    data[outside] = -9999.0
    write_raster(path, data[None], (500000, 100, 0, 4000000, 0, -100), [""])
    dataset = gdal.Open(str(path), gdal.GA_Update)
    dataset.GetRasterBand(1).DeleteNoDataValue()
    dataset = None
    return str(path), outside


def test_untagged_sentinel_warns_and_none_keeps_it_as_data(qgis_app, tmp_path, bad_input, monkeypatch):
    import processing
    from qgis.core import QgsProcessingFeedback

    from deepprospect.processing_provider.stack_algorithm import StackAlgorithm

    (tmp_path / "inputs").mkdir()
    layer, outside = _untagged_survey(tmp_path / "inputs" / "magnetic.tif")
    before = _listing(tmp_path / "inputs")
    log = QgsProcessingFeedback()       # keeps its log: textLog()
    result = processing.run("deepprospect:stack", {"LAYERS": [layer], "OUTPUT": str(tmp_path / "stack.tif")},
                            feedback=log)
    # QGIS computes a loaded raster's statistics; GDAL would keep them in magnetic.tif.aux.xml
    assert _listing(tmp_path / "inputs") == before
    bad_input("reading input rasters in deepprospect:stack (QGIS loads them as layers and computes statistics)",
              "handled", "nothing is written beside the input files (no .aux.xml)")
    message = [line for line in log.textLog().splitlines() if "no nodata value set" in line][0]
    assert message.startswith("Layer 'magnetic' has no nodata value set, but the value -9999 (a common nodata "
                              "sentinel) is found on {:,} cells".format(int(outside.sum())))
    assert message.endswith("If it is real data, give this layer's NODATA_VALUES entry as none; to use another "
                            "value, give that number there.")
    assert result["VALID_FRACTION"] == pytest.approx(1 - outside.mean())
    bad_input("a raster with no nodata tag that uses -9999 (deepprospect:stack in QGIS)", "warning", message)

    # NODATA_VALUES reaches the engine as one entry per layer
    sent = []
    monkeypatch.setattr(StackAlgorithm, "run_engine", lambda self, task, args, feedback, outputs=(): sent.append(args)
                        or {"path": args["output"], "factor_names": ["magnetic"], "valid_fraction_all": 1.0})
    processing.run("deepprospect:stack", {"LAYERS": [layer, layer], "NODATA_VALUES": "none, -1e30",
                                          "OUTPUT": str(tmp_path / "other.tif")})
    assert [entry["nodata"] for entry in sent[0]["layers"]] == ["none", -1e30]
    processing.run("deepprospect:stack", {"LAYERS": [layer, layer], "NODATA_VALUES": " ",
                                          "OUTPUT": str(tmp_path / "other.tif")})
    assert [entry["nodata"] for entry in sent[1]["layers"]] == [None, None]


@pytest.mark.parametrize("text, expected", [
    ("-9999, none, 0", "NODATA_VALUES has 3 entries but LAYERS has 2 layers: give one value per layer, in the "
                       "order of LAYERS (leave an entry empty for a layer's own nodata), or a single value for all."),
    ("-9999, nine", "NODATA_VALUES: 'nine' for layer 'magnetic' is not a number; give a number (e.g. -9999), none "
                    "(no nodata value) or leave it empty (the layer's own).")])
def test_nodata_values_checked_before_any_work(qgis_app, tmp_path, bad_input, text, expected):
    import processing
    from qgis.core import QgsProcessingException

    layer, _ = _untagged_survey(tmp_path / "magnetic.tif")
    output = tmp_path / "out" / "stack.tif"
    with pytest.raises(QgsProcessingException) as error:
        processing.run("deepprospect:stack", {"LAYERS": [layer, layer], "NODATA_VALUES": text, "OUTPUT": str(output)})
    assert str(error.value) == expected
    assert not output.exists()
    case = "NODATA_VALUES with more entries than layers" if "entries" in expected else "NODATA_VALUES entry not a number"
    bad_input(case + " (deepprospect:stack)", "error", expected)
