"""core.pipeline.map_windows, the one block loop, against whole-array references."""
import numpy as np
import pytest
import rasterio
from affine import Affine
from scipy import ndimage

from deepprospect.core.errors import OperationCanceled
from deepprospect.core.feedback import Feedback
from deepprospect.core.pipeline import RasterOutput, map_windows

NODATA = -9999.0


def _write(path, bands, nodata=NODATA, tiled=True):
    profile = dict(driver="GTiff", width=bands.shape[2], height=bands.shape[1], count=bands.shape[0],
                   dtype=bands.dtype.name, crs="EPSG:32633", transform=Affine(100, 0, 500000, 0, -100, 4000000),
                   nodata=nodata)
    if tiled:
        profile.update(tiled=True, blockxsize=16, blockysize=16)
    with rasterio.open(path, "w", **profile) as dataset:
        dataset.write(bands)
    return str(path)


@pytest.fixture
def raster(tmp_path):
    rng = np.random.default_rng(3)
    bands = rng.normal(size=(3, 70, 53)).astype(np.float32)
    bands[1, 5:9, 40:44] = NODATA
    return _write(tmp_path / "input.tif", bands), bands


def test_halo_windows_give_the_whole_array_filter(raster, tmp_path):
    """A 5 × 5 mean over windows with a 2-pixel halo equals scipy's filter over the whole array:
    the halo gives every window the context it needs, clipped only at the raster's edges."""
    path, bands = raster
    output = tmp_path / "mean.tif"

    def compute(block, data):
        # edges: replicate as the whole-array reference does, but only at the raster's own edges
        return [ndimage.uniform_filter(data[0].astype(np.float64), 5, mode="nearest")[block.inner]
                .astype(np.float32)]

    count = map_windows([(path, [1])], [RasterOutput(output)], compute, block_size=16, halo=2)
    expected = ndimage.uniform_filter(bands[0].astype(np.float64), 5, mode="nearest").astype(np.float32)
    with rasterio.open(output) as dataset:
        written = dataset.read(1)
        assert dataset.crs.to_epsg() == 32633 and dataset.transform.a == 100
    # interior windows: identical; windows touching an inner block edge read real neighbours
    assert count == 5 * 4
    np.testing.assert_allclose(written, expected, rtol=1e-6, atol=1e-6)


def test_valid_mask_and_band_selection(raster, tmp_path):
    path, bands = raster
    output = tmp_path / "sum.tif"

    def compute(block, data):
        out = np.where(block.valid, data.sum(axis=0), NODATA).astype(np.float32)
        return [out[block.inner]]

    map_windows([(path, [2, 3]), (path, [1])], [RasterOutput(output, descriptions=("total",))], compute,
                block_size=32)
    valid = (bands != NODATA).all(axis=0)
    expected = np.where(valid, bands[1] + bands[2] + bands[0], NODATA)
    with rasterio.open(output) as dataset:
        assert dataset.descriptions == ("total",)
        np.testing.assert_allclose(dataset.read(1), expected, rtol=1e-6)
    assert (~valid).sum() == 16


def test_blocks_follow_the_source_tiles(raster, tmp_path):
    path, _ = raster
    seen = []
    map_windows([path], [], lambda block, data: seen.append(block.window) or None, block_size=20)
    # 20 rounds up to the 16-pixel tile: 32-pixel windows
    assert {(window.width, window.height) for window in seen} >= {(32, 32)}
    assert sum(window.width * window.height for window in seen) == 70 * 53


def test_cancel_leaves_nothing_behind(raster, tmp_path):
    path, _ = raster
    output = tmp_path / "out.tif"

    class CancelAfterTwo(Feedback):
        calls = 0

        def is_canceled(self):
            self.calls += 1
            return self.calls > 2

    with pytest.raises(OperationCanceled):
        map_windows([path], [RasterOutput(output, count=3)], lambda block, data: [data[(slice(None),) + block.inner]],
                    block_size=16, feedback=CancelAfterTwo())
    assert list(tmp_path.iterdir()) == [tmp_path / "input.tif"]


def test_error_in_compute_leaves_an_existing_output_untouched(raster, tmp_path):
    path, _ = raster
    output = tmp_path / "out.tif"
    output.write_bytes(b"previous result")

    def compute(block, data):
        if block.index == 3:
            raise ValueError("boom")
        return [data[0][block.inner]]

    with pytest.raises(ValueError):
        map_windows([path], [RasterOutput(output)], compute, block_size=16)
    assert output.read_bytes() == b"previous result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["input.tif", "out.tif"]


@pytest.mark.parametrize("covering", [True, False])
def test_neighbourhoods_hold_each_point_with_its_halo(raster, monkeypatch, covering):
    """Read around points, one covering window or one window per point: every point's halo
    equals the same cells of the whole array, clipped at the edges; points outside are skipped."""
    from deepprospect.core import pipeline

    if not covering:
        monkeypatch.setattr(pipeline, "COVERING_WINDOW_VALUES", 0)
    path, bands = raster
    rows = np.array([0, 69, 35, -1, 6, 12])
    cols = np.array([0, 52, 20, 3, 41, 53])
    seen = []
    for part in pipeline.read_neighbourhoods(path, rows, cols, halo=2):
        for row, col, index in zip(part.rows, part.cols, part.indexes):
            seen.append(int(index))
            r, c = rows[index], cols[index]
            expected = bands[:, max(r - 2, 0):r + 3, max(c - 2, 0):c + 3]
            got = part.data[:, max(row - 2, 0):row + 3, max(col - 2, 0):col + 3]
            np.testing.assert_array_equal(got, expected)
            assert part.valid[row, col] == (r != 6 or c != 41)   # (6, 41) is on the nodata square
    assert sorted(seen) == [0, 1, 2, 4]
