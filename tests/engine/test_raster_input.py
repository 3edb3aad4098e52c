"""Bad raster input (issue 15): nodata sentinels without a tag, categorical layers passed as
continuous, damaged GeoTIFFs, and no file written beside the user's inputs. The rule is in
core/raster_input.py; every reader (stack, pipeline windows, neighbourhoods, stack info) follows it."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from log_feedback import LogFeedback

from deepprospect.core import raster_input, stack
from deepprospect.core.errors import DeepProspectError
from deepprospect.core.pipeline import RasterOutput, map_windows, read_neighbourhoods
from deepprospect.core.raster import STACK_NODATA, read_stack_info, sample_stack

TRANSFORM = Affine(100, 0, 500000, 0, -100, 4000000)


def _write(path, bands, nodata=None, dtype="float32", descriptions=None, tiled=False):
    bands = np.asarray(bands)
    bands = bands[None] if bands.ndim == 2 else bands
    profile = dict(driver="GTiff", width=bands.shape[2], height=bands.shape[1], count=bands.shape[0], dtype=dtype,
                   crs="EPSG:32633", transform=TRANSFORM, nodata=nodata)
    if tiled:
        profile.update(tiled=True, blockxsize=16, blockysize=16, compress="deflate")
    with rasterio.open(path, "w", **profile) as dataset:
        dataset.write(bands.astype(dtype))
        for index, description in enumerate(descriptions or (), start=1):
            dataset.set_band_description(index, description)
    return str(path)


def _survey(sentinel, seed=0):
    """A 60 × 80 smooth anomaly with the sentinel on an L-shaped area outside the survey."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:60, 0:80]
    data = 40 * np.sin(rows / 9.0) + 30 * np.cos(cols / 7.0) + rng.normal(0, 2, (60, 80))
    outside = (rows < 12) | (cols > 65)
    data[outside] = sentinel
    return data, ~outside


@pytest.mark.parametrize("sentinel", [-9999.0, -99999.0, -3.4028235e38, 0.0])
def test_untagged_sentinel_is_nodata_for_every_reader(tmp_path, bad_input, sentinel):
    data, survey = _survey(sentinel)
    layer = _write(tmp_path / "magnetic.tif", data)
    log = LogFeedback()
    result = stack.build_stack([stack.EvidenceLayer(layer, "magnetic")], tmp_path / "stack.tif", feedback=log)
    value = "{:g}".format(np.float32(sentinel))
    message = [w for w in log.warnings if "no nodata value set" in w][0]
    assert message.startswith("Layer 'magnetic' has no nodata value set, but the value {} ".format(value))
    assert "{:,} cells".format(int((~survey).sum())) in message and "taken as nodata" in message
    assert "NODATA_VALUES" in message
    with rasterio.open(tmp_path / "stack.tif") as dataset:
        stacked = dataset.read(1)
    # same grid: the valid area is exactly the survey, and no sentinel blends into a valid value
    np.testing.assert_array_equal(stacked != STACK_NODATA, survey)
    assert stacked[survey].min() >= data[survey].min() - 1e-3
    assert result["valid_fraction_all"] == pytest.approx(survey.mean())

    # the raw layer read as a stack-like raster: windows, neighbourhoods and the stack info agree
    seen = np.zeros(survey.shape, dtype=bool)

    def compute(block, window):
        seen[block.window.row_off:block.window.row_off + block.window.height,
             block.window.col_off:block.window.col_off + block.window.width] = block.valid
        return None

    map_windows([layer], [], compute, block_size=16)
    np.testing.assert_array_equal(seen, survey)
    rows, cols = np.nonzero(np.ones_like(survey))
    for part in read_neighbourhoods(layer, rows, cols):
        np.testing.assert_array_equal(part.valid[part.rows, part.cols], survey[rows, cols])
    case = {-9999.0: "-9999", -99999.0: "-99999", -3.4028235e38: "-3.4e38", 0.0: "0 padding the border"}[sentinel]
    bad_input("a raster with no nodata tag that uses {} outside the survey".format(case), "warning", message)


def test_untagged_stack_reads_the_same_everywhere(tmp_path, bad_input):
    """An evidence stack made elsewhere without nodata tag: stack info, sampling and windows all
    take its -9999 as nodata (before, one check took it as data and a later one masked it)."""
    first, survey = _survey(-9999.0)
    second, _ = _survey(-9999.0, seed=1)
    path = _write(tmp_path / "stack.tif", np.stack([first, second]), descriptions=["Sb_con", "Pb_con"])
    log = LogFeedback()
    info = read_stack_info(path, feedback=log)
    assert info.nodata == -9999.0 and info.band_nodata == (-9999.0, -9999.0)
    assert len(log.warnings) == 1 and log.warnings[0].startswith(
        "The raster {} (2 of its 2 bands, e.g. band 1, Sb_con) has no nodata value set, but the value -9999 (a common "
        "nodata sentinel) is found on 1,632 cells (34.0%)".format(path))
    assert "gdal_edit.py -a_nodata" in log.warnings[0]
    rows, cols = np.array([0, 30, 59, 5]), np.array([0, 30, 79, 40])
    xy = np.column_stack(TRANSFORM @ (cols + 0.5, rows + 0.5))
    values, valid, _, _ = sample_stack(path, xy)
    np.testing.assert_array_equal(valid, survey[rows, cols])
    assert np.isnan(values[~valid]).all() and np.isfinite(values[valid]).all()
    bad_input("an evidence stack without nodata tag whose bands use -9999", "warning", log.warnings[0])


def test_override_takes_the_sentinel_as_data_or_another_value(tmp_path):
    data, survey = _survey(-9999.0)
    untagged = _write(tmp_path / "bathymetry.tif", data)
    log = LogFeedback()
    stack.build_stack([stack.EvidenceLayer(untagged, "bathymetry", nodata="none")], tmp_path / "a.tif", feedback=log)
    assert not [w for w in log.warnings if "nodata" in w]
    with rasterio.open(tmp_path / "a.tif") as dataset:
        # -9999 is data now; the stack's own nodata is also -9999, so the grid is "all nodata" there:
        # what matters is that the warper took it as a value (bilinear keeps it exactly inside the block)
        assert (dataset.read(1) == -9999.0).sum() == (~survey).sum()
    # a tagged layer whose tag is wrong: the override's value wins, the tag is ignored
    tagged = data.copy()
    tagged[~survey] = 5000.0
    path = _write(tmp_path / "tagged.tif", tagged, nodata=-1.0)
    stack.build_stack([stack.EvidenceLayer(path, "x", nodata=5000)], tmp_path / "b.tif")
    with rasterio.open(tmp_path / "b.tif") as dataset:
        np.testing.assert_array_equal(dataset.read(1) != STACK_NODATA, survey)
    with pytest.raises(DeepProspectError, match="NODATA_VALUES: 'abc' for layer 'x' is not a number"):
        stack.EvidenceLayer(path, "x", nodata="abc")


def test_no_sentinel_in_ordinary_data():
    """Values that are data stay data: -9999 inside a bathymetry's range, 0/1 layers, zeros along
    a line crossing a distance raster, a detection-limit floor, a constant band."""
    rng = np.random.default_rng(4)
    bathymetry = rng.uniform(-11000, 0, (50, 50))
    bathymetry[:5] = -9999.0
    binary = np.zeros((50, 50))
    binary[20:30, 20:30] = 1
    distance = np.abs(np.arange(50)[None, :] - 25.0) * np.ones((50, 1)) * 100
    floor = np.maximum(rng.lognormal(0, 1, (50, 50)), 0.5)
    for values in (bathymetry, binary, distance, floor, np.full((50, 50), 3.0)):
        assert raster_input.detect_sentinel(values) is None


def test_categorical_layer_passed_as_continuous_warns(tmp_path, bad_input):
    rng = np.random.default_rng(2)
    codes = rng.integers(1, 10, (40, 40)).astype(np.uint8)
    codes[:4] = 0
    lithology = _write(tmp_path / "Lith_code.tif", codes, nodata=0, dtype="uint8")
    smooth = _write(tmp_path / "magnetic.tif", rng.normal(size=(40, 40)))
    log = LogFeedback()
    stack.build_stack([stack.EvidenceLayer(smooth, "magnetic"), stack.EvidenceLayer(lithology, "Lith_code")],
                      tmp_path / "stack.tif", feedback=log)
    message = [w for w in log.warnings if "looks categorical" in w]
    assert len(message) == 1
    assert message[0].startswith("Layer 'Lith_code' looks categorical: it holds only 9 distinct whole numbers "
                                 "(1, 2, 3, 4, 5, 6, 7, 8, 9) but is not listed in CATEGORICAL")
    assert "list it in CATEGORICAL" in message[0]
    quiet = LogFeedback()
    stack.build_stack([stack.EvidenceLayer(smooth, "magnetic"), stack.EvidenceLayer(lithology, "Lith_code", True)],
                      tmp_path / "stack.tif", feedback=quiet)
    assert not [w for w in quiet.warnings if "looks categorical" in w]
    bad_input("a categorical raster passed as continuous to deepprospect:stack", "warning", message[0])


def _truncated(tmp_path, directory_last):
    """A GeoTIFF cut in half: its directory (tile offsets) kept when written first, lost when
    written last (band names set after the data move it to the end of the file)."""
    rng = np.random.default_rng(5)
    whole = _write(tmp_path / "whole.tif", rng.normal(size=(2, 64, 64)), nodata=-9999.0, tiled=True,
                   descriptions=["Sb_con", "Pb_con"] if directory_last else None)
    cut = tmp_path / "inputs" / "cut.tif"
    cut.parent.mkdir()
    content = Path(whole).read_bytes()
    cut.write_bytes(content[:len(content) // 2])
    return str(cut)


@pytest.mark.parametrize("directory_last", [False, True])
def test_truncated_geotiff_is_a_clear_error_everywhere(tmp_path, bad_input, directory_last):
    cut = _truncated(tmp_path, directory_last)
    output = tmp_path / "out" / "result.tif"
    attempts = [lambda: read_stack_info(cut),
                lambda: map_windows([cut], [RasterOutput(output)], lambda block, data: [data[0]]),
                lambda: list(read_neighbourhoods(cut, np.array([3]), np.array([3]))),
                lambda: stack.build_stack([cut], output)]
    messages = []
    for attempt in attempts:
        with pytest.raises(DeepProspectError) as error:
            attempt()
        messages.append(str(error.value))
        assert str(cut) in messages[-1] and "incomplete" in messages[-1]   # the step's own name may differ
        assert "copy it again" in messages[-1].lower()
    assert not output.exists() and not (output.parent.exists() and list(output.parent.iterdir()))
    if directory_last:
        assert messages[0].startswith("Cannot open the evidence stack {}: it is damaged, incomplete".format(cut))
        bad_input("a truncated GeoTIFF whose directory was cut off", "error", messages[0])
    else:
        assert messages[0].startswith("The raster {} is incomplete: the file ends at byte".format(cut))
        bad_input("a truncated GeoTIFF (cut in half)", "error", messages[0])


def test_corrupt_tile_in_the_middle_of_a_read_is_a_clear_error(tmp_path, bad_input):
    """A tile whose compressed bytes are garbage (the file is complete): the error comes from the
    window read, in the reader thread, and still names the file."""
    rng = np.random.default_rng(6)
    path = _write(tmp_path / "damaged.tif", rng.normal(size=(1, 64, 64)), nodata=-9999.0, tiled=True,
                  descriptions=["Sb_con"])
    with rasterio.open(path) as dataset:
        offset = int(dataset.get_tag_item("BLOCK_OFFSET_2_2", "TIFF", bidx=1))
        length = int(dataset.get_tag_item("BLOCK_SIZE_2_2", "TIFF", bidx=1))
    content = bytearray(Path(path).read_bytes())
    content[offset:offset + length] = bytes(length)
    Path(path).write_bytes(bytes(content))
    output = tmp_path / "out.tif"
    with pytest.raises(DeepProspectError) as error:
        map_windows([path], [RasterOutput(output)], lambda block, data: [data[0][block.inner]], block_size=16)
    message = str(error.value)
    assert message.startswith("The raster {} is damaged or incomplete: GDAL could not read its data".format(path))
    assert "IReadBlock failed" in message   # GDAL's reason, not rasterio's "see previous exception"
    assert not output.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["damaged.tif"]
    with pytest.raises(DeepProspectError, match="is damaged or incomplete"):
        list(read_neighbourhoods(path, np.array([40]), np.array([40])))
    with pytest.raises(DeepProspectError, match="is damaged or incomplete"):
        stack.build_stack([path], output)
    assert not output.exists()
    bad_input("a GeoTIFF with a corrupt tile, found in the middle of reading a window", "error", message)


def _listing(folder):
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*"))


def test_reading_writes_nothing_beside_the_inputs(tmp_path, province, bad_input):
    """Stack, prediction-like windows, SHAP-like neighbourhoods and the sentinel/class checks on a
    copied input folder: nothing new appears in it. Even a GDAL statistics call on a raster opened
    by the engine (what writes .aux.xml through PAM) writes nothing."""
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for key in ("magnetic", "clay", "truth_evidence"):
        shutil.copy(province[key], inputs)
    data, _ = _survey(-9999.0)
    _write(inputs / "untagged.tif", data, descriptions=["Mag_anamol"])
    before = _listing(inputs)
    evidence = str(inputs / Path(province["truth_evidence"]).name)
    stack.build_stack([str(inputs / Path(province["magnetic"]).name), str(inputs / Path(province["clay"]).name)],
                      tmp_path / "stack.tif")
    map_windows([evidence], [], lambda block, window: None)
    map_windows([str(inputs / "untagged.tif")], [], lambda block, window: None)
    list(read_neighbourhoods(evidence, np.array([3, 40]), np.array([4, 50]), halo=3))
    read_stack_info(str(inputs / "untagged.tif"))
    with raster_input.open_raster(inputs / "untagged.tif") as dataset:
        raster_input.class_codes(dataset, str(inputs / "untagged.tif"), (float("nan"),))
        dataset.stats(indexes=[1])
    assert _listing(inputs) == before
    bad_input("reading an input raster (stack, prediction, SHAP reads)", "handled",
              "nothing is written beside the input files (no .aux.xml)")


def test_engine_worker_writes_nothing_beside_the_inputs(tmp_path, province):
    """The worker process (GDAL's side-car files off) running a stack task leaves the input folder
    as it was."""
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    magnetic = shutil.copy(province["magnetic"], inputs)
    before = _listing(inputs)
    root = Path(__file__).resolve().parents[2]
    request = {"id": 1, "task": "stack", "args": {
        "layers": [{"path": str(magnetic), "name": "magnetic", "categorical": False}],
        "output": str(tmp_path / "stack.tif"), "reference": None, "pixel_size": None, "mask": None,
        "mask_layer": None}}
    completed = subprocess.run([sys.executable, str(root / "engine" / "worker.py")], input=json.dumps(request) + "\n",
                               capture_output=True, text=True, timeout=300)
    results = [json.loads(line) for line in completed.stdout.splitlines() if line.strip()]
    assert results[-1].get("result", {}).get("factor_names") == ["Mag_anamol"], completed.stderr[-2000:]
    assert _listing(inputs) == before


def test_sampled_detection_reads_cells_not_averaged_overviews(tmp_path, monkeypatch):
    """A raster too large to read whole is sampled: the sample holds the raster's own cells, not
    its overviews' averages (which blend the sentinel into the data next to it)."""
    from rasterio.enums import Resampling

    monkeypatch.setattr(raster_input, "SAMPLE_VALUES", 600)
    rng = np.random.default_rng(7)
    rows, cols = np.mgrid[0:60, 0:80]
    data = rng.normal(0, 10, (60, 80))
    outside = (rows < 13) | (cols > 64)
    data[outside] = -9999.0
    path = _write(tmp_path / "with_overviews.tif", data)
    with rasterio.open(path, "r+") as dataset:
        dataset.build_overviews([2, 3, 4], Resampling.average)
    with raster_input.open_raster(path) as dataset:
        assert dataset.overviews(1) == [2, 3, 4]
        rule = raster_input.band_nodata(dataset, path)[0]
    assert (rule.value, rule.origin, rule.estimated) == (-9999.0, "detected", True)
    assert rule.cells == pytest.approx(outside.sum(), rel=0.2)


def test_missing_raster_is_named(tmp_path, bad_input):
    missing = tmp_path / "moved" / "stack.tif"
    output = tmp_path / "out.tif"
    with pytest.raises(DeepProspectError) as error:
        map_windows([missing], [RasterOutput(output)], lambda block, data: [data[0]])
    message = str(error.value)
    assert message == "The raster {} does not exist; check the path.".format(missing)
    with pytest.raises(DeepProspectError, match="The evidence stack .* does not exist; check the path."):
        read_stack_info(missing)
    assert not output.exists()
    bad_input("an input raster that does not exist (moved or renamed)", "error", message)
