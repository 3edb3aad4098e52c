"""deepprospect:stack in QGIS and through qgis_process: band naming as QGIS users make rasters,
pixel size, nodata. The stacking itself is checked against gdalwarp in tests/engine/test_stack.py."""
import subprocess

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


def test_qgis_process_runs_stack(sources, tmp_path):
    output = tmp_path / "stack.tif"
    results = qgis_process_run("deepprospect:stack", [
        ("LAYERS", sources["magnetic"]), ("LAYERS", sources["bouguer"]), ("REFERENCE", sources["reference"]),
        ("OUTPUT", output)])
    assert results["FACTOR_NAMES"] == "Mag_anamol,Boug_anamol"
    assert read_raster(output)[2] == ["Mag_anamol", "Boug_anamol"]
