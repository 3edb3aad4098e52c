"""Evidence stacking (core/stack.py) against gdalwarp, band by band (deepprospect:stack: tests/qgis)."""
import subprocess

import numpy as np
import pytest

from deepprospect.core import stack
from deepprospect.core.errors import DeepProspectError, OperationCanceled
from deepprospect.core.raster import STACK_NODATA, read_stack_info

@pytest.fixture(scope="module")
def sources(province, tmp_path_factory):
    """Province rasters plus what QGIS tools would make: a categorical raster without band
    description (named by its file) and a two-band raster with descriptions."""
    folder = tmp_path_factory.mktemp("stack_sources")
    lithology = folder / "Lith_code.tif"
    subprocess.run(["gdal_rasterize", "-q", "-a", "code", "-tr", "100", "100", "-ot", "Byte", "-a_nodata", "0",
                    province["lithology"], str(lithology)], check=True)
    pair = folder / "pathfinders.tif"
    subprocess.run(["gdal_translate", "-q", "-b", "2", "-b", "8", province["truth_evidence"], str(pair)], check=True)
    return dict(magnetic=province["magnetic"], bouguer=province["bouguer"], clay=province["clay"],
                lithology=str(lithology), pair=str(pair), reference=province["truth_probability"],
                evidence=province["truth_evidence"])


def _gdalwarp(source, grid, resampling, output):
    left, bottom, right, top = grid.bounds
    subprocess.run(["gdalwarp", "-q", "-overwrite", "-t_srs", grid.crs.to_string(), "-te", str(left), str(bottom),
                    str(right), str(top), "-ts", str(grid.width), str(grid.height), "-r", resampling, "-et", "0",
                    "-ot", "Float32", "-dstnodata", "nan", source, str(output)], check=True)
    import rasterio

    with rasterio.open(output) as dataset:
        return dataset.read().astype(np.float64)


def test_stack_equals_gdalwarp_band_by_band(sources, tmp_path):
    import rasterio

    layers = [stack.EvidenceLayer(sources["magnetic"], "magnetic"), stack.EvidenceLayer(sources["bouguer"], "bouguer"),
              stack.EvidenceLayer(sources["clay"], "clay"), stack.EvidenceLayer(sources["lithology"], "Lith_code", True),
              stack.EvidenceLayer(sources["pair"], "pathfinders")]
    output = tmp_path / "stack.tif"
    # 50 m cells: a 400 × 400 grid, so the work really goes window by window (256-pixel blocks)
    result = stack.build_stack(layers, output, reference=sources["reference"], pixel_size=50.0, block_size=256)
    assert result["factor_names"] == ["Mag_anamol", "Boug_anamol", "Oli_clay", "Lith_code", "Sb_con", "Pb_con"]
    assert (result["width"], result["height"]) == (400, 400)
    info = read_stack_info(output)
    assert info.factor_names == result["factor_names"] and info.nodata == STACK_NODATA
    with rasterio.open(output) as dataset:
        assert dataset.dtypes == ("float32",) * 6 and dataset.profile["tiled"]
        assert dataset.profile["compress"] == "deflate"
        assert dataset.crs.to_epsg() == 32645
        mine = dataset.read().astype(np.float64)
    grid = stack.target_grid(sources["reference"], 50.0)
    expected = []
    for layer in layers:
        warped = _gdalwarp(layer.path, grid, "near" if layer.categorical else "bilinear", tmp_path / "w.tif")
        expected.extend(warped)
    expected = np.array(expected)
    valid = mine[0] != STACK_NODATA
    assert valid.mean() > 0.5
    np.testing.assert_array_equal(valid, np.isfinite(expected).all(axis=0))      # same valid area
    assert np.all((mine == STACK_NODATA) == ~valid[None])                         # same nodata in every band
    for band, name in enumerate(result["factor_names"]):
        span = np.ptp(expected[band][valid])
        assert np.abs(mine[band][valid] - expected[band][valid]).max() <= 1e-5 * span, name
    # categorical classes stay classes
    assert set(np.unique(mine[3][valid])) <= set(range(1, 10))
    assert result["valid_fraction"]["Lith_code"] < result["valid_fraction"]["Mag_anamol"]


def test_mask_and_band_naming_rules(sources, tmp_path):
    import geopandas as gpd
    import rasterio
    from shapely.geometry import Point

    grid = stack.target_grid(sources["reference"])
    left, bottom, right, top = grid.bounds
    centre = Point((left + right) / 2, (bottom + top) / 2)
    circle = centre.buffer((right - left) / 3)
    gpd.GeoDataFrame({"name": ["area"]}, geometry=[circle], crs="EPSG:32645").to_crs("EPSG:4326") \
        .to_file(tmp_path / "area.gpkg", driver="GPKG")
    result = stack.build_stack([sources["magnetic"], sources["clay"]], tmp_path / "masked.tif",
                               reference=sources["reference"], mask=str(tmp_path / "area.gpkg"))
    with rasterio.open(tmp_path / "masked.tif") as dataset:
        data = dataset.read(1)
    rows, cols = np.mgrid[0:grid.height, 0:grid.width]
    xs, ys = grid.transform @ (cols + 0.5, rows + 0.5)
    inside = (np.hypot(xs - centre.x, ys - centre.y) < (right - left) / 3)
    near_edge = np.abs(np.hypot(xs - centre.x, ys - centre.y) - (right - left) / 3) < 2 * grid.transform.a
    np.testing.assert_array_equal((data != STACK_NODATA)[~near_edge], inside[~near_edge])
    assert result["valid_fraction_all"] == pytest.approx(np.pi / 9, abs=0.03)

    with pytest.raises(DeepProspectError, match="'Mag_anamol'.*layer 'magnetic'.*layer 'copy'"):
        stack.build_stack([stack.EvidenceLayer(sources["magnetic"], "magnetic"),
                           stack.EvidenceLayer(sources["magnetic"], "copy")], tmp_path / "dup.tif")
    far = tmp_path / "far.tif"
    subprocess.run(["gdal_translate", "-q", "-a_ullr", "0", "100000", "10000", "90000", sources["lithology"], str(far)],
                   check=True)
    with pytest.raises(DeepProspectError, match="Layer 'far_away' does not overlap"):
        stack.build_stack([stack.EvidenceLayer(sources["clay"]), stack.EvidenceLayer(far, "far_away")], tmp_path / "x.tif")
    assert not (tmp_path / "dup.tif").exists() and not (tmp_path / "x.tif").exists()


def test_cancel_leaves_nothing(sources, tmp_path):
    from deepprospect.core.feedback import Feedback

    class CancelAtOnce(Feedback):
        def is_canceled(self):
            return True

    with pytest.raises(OperationCanceled):
        stack.build_stack([sources["clay"]], tmp_path / "s.tif", feedback=CancelAtOnce())
    assert not list(tmp_path.iterdir())
