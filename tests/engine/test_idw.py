"""IDW interpolation (core/idw.py) against GDAL's gdal_grid, a brute-force float64 reference,
and odd inputs (hypothesis). The QGIS side (deepprospect:idw, QGIS's own IDW) is in tests/qgis."""
import math
import subprocess

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from deepprospect.core import idw
from deepprospect.core.errors import DeepProspectError
from deepprospect.core.raster import STACK_NODATA
from log_feedback import LogFeedback

CRS = "EPSG:32645"


def _write_points(path, xy, columns):
    import geopandas as gpd
    from shapely.geometry import Point

    gpd.GeoDataFrame(columns, geometry=[Point(p) for p in xy], crs=CRS).to_file(path, layer="samples", driver="GPKG")
    return str(path)


def _read(path):
    import rasterio

    with rasterio.open(path) as dataset:
        info = dict(tiled=dataset.profile.get("tiled"), dtype=dataset.dtypes[0], crs=dataset.crs)
        return dataset.read().astype(np.float64), dataset.nodata, list(dataset.descriptions), info


def _random_samples(seed, n=300, size=5000.0):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, size, (n, 2)) + [400000.0, 2300000.0]
    return xy, rng.lognormal(1.0, 0.8, n)


@pytest.mark.parametrize("power, neighbors, radius", [
    (2.0, 12, 1500.0), (1.0, 5, 800.0), (3.0, 1, 0.0), (2.5, 30, 400.0), (2.0, 12, 0.0)])
def test_matches_gdal_grid_invdistnn(tmp_path, power, neighbors, radius):
    xy, values = _random_samples(7, n=400)
    # an unsampled "forest reserve": a radius shorter than its half-width leaves nodata inside it
    keep = ~((np.abs(xy[:, 0] - 402500) < 1000) & (np.abs(xy[:, 1] - 2302000) < 1000))
    xy, values = xy[keep], values[keep]
    pixel = 100.0
    extent = (400000.0, 2300000.0, 405000.0, 2304300.0)      # 50 × 43 cells
    # two samples exactly on cell centres: both implementations must return their values there
    xy[0] = (extent[0] + 10.5 * pixel, extent[3] - 3.5 * pixel)
    xy[1] = (extent[0] + 33.5 * pixel, extent[3] - 20.5 * pixel)
    points = _write_points(tmp_path / "samples.gpkg", xy, {"Sb_con": values})
    ours = tmp_path / "ours.tif"
    result = idw.interpolate_points(points, ["Sb_con"], ours, pixel, extent=extent, power=power,
                                    neighbors=neighbors, radius=radius, layer="samples")
    assert (result["width"], result["height"]) == (50, 43)
    reference = tmp_path / "gdal.tif"
    algorithm = "invdistnn:power={}:max_points={}:radius={}:nodata={}".format(
        power, neighbors, radius or 1e9, STACK_NODATA)
    subprocess.run(["gdal_grid", "-q", "-zfield", "Sb_con", "-a", algorithm, "-txe", str(extent[0]), str(extent[2]),
                    "-tye", str(extent[3]), str(extent[1]), "-outsize", "50", "43", "-ot", "Float64",
                    "-l", "samples", points, str(reference)], check=True)
    mine, nodata, names, _ = _read(ours)
    theirs, _, _, _ = _read(reference)
    assert names == ["Sb_con"] and nodata == STACK_NODATA
    np.testing.assert_array_equal(mine == STACK_NODATA, theirs == STACK_NODATA)
    if radius and radius < 1000:
        assert (mine == STACK_NODATA).any()          # the radius really leaves gaps
    valid = mine != STACK_NODATA
    assert valid.mean() > 0.3
    tolerance = 1e-4 * (values.max() - values.min())
    assert np.abs(mine[valid] - theirs[valid]).max() <= tolerance
    assert mine[0, 3, 10] == pytest.approx(values[0], rel=1e-6)
    assert mine[0, 20, 33] == pytest.approx(values[1], rel=1e-6)


@pytest.mark.parametrize("neighbors, radius", [(12, 0.0), (0, 0.0), (3, 400.0)])
def test_file_written_window_by_window_equals_the_whole_grid(tmp_path, neighbors, radius):
    """The file goes through 256-cell windows of the block pipeline, the in-memory grid is one
    evaluation: every cell must get the same float32 value either way (two fields with different
    usable samples make two groups)."""
    xy, values = _random_samples(11, n=500, size=30000.0)
    other = values[::-1].copy()
    other[::9] = np.nan
    points = _write_points(tmp_path / "s.gpkg", xy, {"Sb_con": values, "Pb_con": other})
    extent = (400000.0, 2300000.0, 430000.0, 2329000.0)        # 600 × 580 cells: 3 × 3 windows
    result = idw.interpolate_points(points, ["Sb_con", "Pb_con"], tmp_path / "out.tif", 50.0, extent=extent,
                                    neighbors=neighbors, radius=radius, layer="samples")
    written, nodata, names, _ = _read(tmp_path / "out.tif")
    assert names == ["Sb_con", "Pb_con"] and written.shape == (2, 580, 600)
    transform, width, height = idw.grid_for_extent(extent, 50.0)
    for band, column in enumerate((values, other)):
        usable = np.isfinite(column)
        whole = idw.idw_grid(xy[usable], column[usable], transform, width, height, 2.0, neighbors, radius)[0]
        assert np.array_equal(written[band], whole.astype(np.float64))
    assert result["width"] == 600 and nodata == STACK_NODATA


def test_leave_one_out_equals_direct_formula():
    xy, values = _random_samples(3, n=40, size=1000.0)
    estimates = idw.idw_at(xy, values, xy, power=2, neighbors=4, radius=0, exclude_self=True)[:, 0]
    for i in (0, 17, 39):
        others = np.delete(np.arange(40), i)
        distance = np.hypot(*(xy[others] - xy[i]).T)
        nearest = others[np.argsort(distance)[:4]]
        weight = 1 / np.sort(distance)[:4] ** 2
        assert estimates[i] == pytest.approx(np.sum(weight * values[nearest]) / weight.sum(), rel=1e-12)


def test_bad_inputs_give_clear_errors(tmp_path):
    import geopandas as gpd
    from shapely.geometry import Point

    xy, values = _random_samples(5, n=20)
    geographic = tmp_path / "geographic.gpkg"
    gpd.GeoDataFrame({"Sb_con": values}, geometry=[Point(x / 1e5, y / 1e5) for x, y in xy], crs="EPSG:4326") \
        .to_file(geographic, driver="GPKG")
    with pytest.raises(DeepProspectError, match="geographic CRS.*Reproject"):
        idw.interpolate_points(geographic, ["Sb_con"], tmp_path / "a.tif", 100)
    points = _write_points(tmp_path / "text.gpkg", xy, {"Sb_con": values, "remark": ["n.d."] * 20,
                                                        "Pb_con": [None] * 5 + list(values[5:])})
    with pytest.raises(DeepProspectError, match="'remark' has no usable numeric value"):
        idw.interpolate_points(points, ["Sb_con", "remark"], tmp_path / "b.tif", 100)
    with pytest.raises(DeepProspectError, match="no field Cu_con"):
        idw.interpolate_points(points, ["Cu_con"], tmp_path / "c.tif", 100)
    with pytest.raises(DeepProspectError, match="POWER"):
        idw.interpolate_points(points, ["Sb_con"], tmp_path / "d.tif", 100, power=0)
    assert not list(tmp_path.glob("*.tif"))
    # nulls are skipped and counted; the rest still interpolates
    result = idw.interpolate_points(points, ["Pb_con", "Sb_con"], tmp_path / "e.tif", 250)
    assert result["skipped"] == {"Pb_con": 5, "Sb_con": 0}


def test_cancel_leaves_no_output(tmp_path):
    from deepprospect.core.errors import OperationCanceled
    from deepprospect.core.feedback import Feedback

    class CancelAtOnce(Feedback):
        def is_canceled(self):
            return True

    xy, values = _random_samples(2)
    points = _write_points(tmp_path / "s.gpkg", xy, {"Sb_con": values})
    with pytest.raises(OperationCanceled):
        idw.interpolate_points(points, ["Sb_con"], tmp_path / "out.tif", 50, feedback=CancelAtOnce())
    assert not list(tmp_path.glob("*.tif*"))


# ---- property tests: odd inputs against a brute-force float64 reference ------------------------


def _brute_force(xy, values, transform, width, height, power, neighbors, radius):
    """Plain float64 IDW at every cell centre; also marks cells whose answer is ambiguous (ties)."""
    unique = {}
    for point, value in zip(map(tuple, xy), values):
        unique.setdefault(point, []).append(value)
    points = np.array(list(unique))
    merged = np.array([np.mean(np.array(v, dtype=np.float64) / len(v)) * len(v) for v in unique.values()])
    result = np.full((height, width), np.nan)
    ambiguous = np.zeros((height, width), bool)
    scale = max(abs(transform.a), 1e-9)
    for row in range(height):
        for col in range(width):
            x, y = transform @ (col + 0.5, row + 0.5)
            distance = np.hypot(points[:, 0] - x, points[:, 1] - y)
            order = np.argsort(distance)
            sorted_distance = distance[order]
            k = neighbors if 0 < neighbors < len(points) else len(points)
            if k < len(points) and abs(sorted_distance[k] - sorted_distance[k - 1]) <= 1e-5 * (sorted_distance[k] + scale):
                ambiguous[row, col] = True
            if radius and np.any(np.abs(distance - radius) <= 1e-5 * radius):
                ambiguous[row, col] = True
            chosen = order[:k]
            if radius:
                chosen = chosen[distance[chosen] <= radius]
            if not len(chosen):
                continue
            if distance[chosen].min() <= 1e-6 * scale:
                if np.sum(distance <= 1e-3 * scale) > 1:
                    ambiguous[row, col] = True
                result[row, col] = merged[chosen[np.argmin(distance[chosen])]]
                continue
            weight = distance[chosen] ** -power
            result[row, col] = np.sum(weight / weight.sum() * merged[chosen])
    return result, ambiguous


@st.composite
def sample_sets(draw):
    """Small sample sets in odd layouts; hypothesis picks the layout, sizes and magnitudes, a seeded
    generator the coordinates (keeps examples small)."""
    n = draw(st.integers(1, 25))
    layout = draw(st.sampled_from(["scattered", "collinear", "duplicates", "single_spot", "on_cell_centres"]))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    xy = rng.uniform(0, 1000, (n, 2))
    if layout == "single_spot":
        xy[:] = xy[0]
    elif layout == "collinear":
        t = rng.uniform(0, 1, n)
        xy = np.column_stack([100 + 800 * t, 50 + 500 * t])
    elif layout == "duplicates":
        xy[n // 2:] = xy[:n - n // 2]
    elif layout == "on_cell_centres":
        xy = -50 + (rng.integers(0, 8, (n, 2)) + 0.5) * 125.0
        xy[:, 1] = 1050 - (xy[:, 1] + 50)
    magnitude = draw(st.sampled_from([1.0, 1e6, 1e30, 3e38]))
    values = rng.uniform(-1, 1, n) * magnitude
    if draw(st.booleans()):
        values = np.round(values, 1)      # ties and equal values
    return xy, values


@settings(max_examples=25, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(samples=sample_sets(), power=st.sampled_from([1.0, 2.0, 3.5]), neighbors=st.sampled_from([0, 1, 3, 12]),
       radius=st.sampled_from([0.0, 150.0, 600.0]), pixel=st.sampled_from([70.0, 125.0]))
def test_property_matches_brute_force_on_odd_inputs(samples, power, neighbors, radius, pixel):
    from affine import Affine

    xy, values = samples
    transform = Affine(pixel, 0, -50.0, 0, -pixel, 1050.0)
    width = height = int(math.ceil(1100 / pixel))
    grid = idw.idw_grid(xy, values, transform, width, height, power, neighbors, radius)[0].astype(np.float64)
    expected, ambiguous = _brute_force(xy, values, transform, width, height, power, neighbors, radius)
    np.testing.assert_array_equal(grid == STACK_NODATA, np.isnan(expected))
    check = ~np.isnan(expected) & ~ambiguous
    # 1e-4 of the value range, plus the float32 rounding of the stored values themselves
    tolerance = 1e-4 * np.ptp(values) + 2e-7 * np.abs(values).max()
    assert np.all(np.abs(grid[check] - expected[check]) <= tolerance)
    assert np.all(np.isfinite(grid))


@settings(max_examples=25, deadline=None, derandomize=True, database=None)
@given(n=st.integers(1, 10), bad=st.sampled_from([np.nan, np.inf, -np.inf, 1e39]))
def test_property_nan_or_unstorable_values_are_a_clear_error(n, bad):
    from affine import Affine

    xy = np.column_stack([np.arange(n) * 10.0, np.arange(n) * 7.0])
    values = np.ones(n)
    values[n // 2] = bad
    with pytest.raises(DeepProspectError, match="NaN|3.4e38"):
        idw.idw_grid(xy, values, Affine(10, 0, 0, 0, -10, 100), 10, 10)


# ---- bad input (docs/bad_input.md) ---------------------------------------------------------------


def _lattice(tmp_path, step=100.0, origin=(400000.0, 2300000.0)):
    """25 samples on a 5 × 5 lattice of ``step`` map units (centres origin + 50 + step × i): median
    spacing exactly ``step``."""
    offsets = 50.0 + step * np.arange(5)
    xy = np.array([(origin[0] + x, origin[1] + y) for y in offsets for x in offsets])
    values = np.arange(25, dtype=np.float64) + 1.0
    return _write_points(tmp_path / "lattice.gpkg", xy, {"Sb_con": values, "Pb_con": values * 2}), xy


def test_extent_far_from_every_sample_with_a_radius_is_an_error(tmp_path, bad_input):
    points, xy = _lattice(tmp_path)
    extent = (410000.0, 2310000.0, 411000.0, 2311000.0)
    # nearest cell centre (410050, 2310050) to the nearest sample (400450, 2300450): 9600 √2 map units
    nearest = math.hypot(9600.0, 9600.0)
    with pytest.raises(DeepProspectError) as error:
        idw.interpolate_points(points, ["Sb_con"], tmp_path / "far.tif", 100.0, extent=extent, radius=500.0)
    message = str(error.value)
    assert message == (
        "Sb_con: no cell of the EXTENT is within RADIUS (500 map units) of a sample: the nearest sample is {:.6g} map "
        "units from the nearest cell centre, so the raster would be empty. The samples cover x 400050 to 400450, "
        "y 2300050 to 2300450: choose an EXTENT that overlaps them, leave EXTENT empty, or enlarge RADIUS."
        .format(nearest))
    assert not list(tmp_path.glob("*.tif*"))
    bad_input("IDW with an EXTENT far from every sample (RADIUS set)", "error", message)


def test_extent_far_from_every_sample_without_radius_is_an_error(tmp_path, bad_input):
    points, xy = _lattice(tmp_path)
    extent = (410000.0, 2310000.0, 411000.0, 2311000.0)
    with pytest.raises(DeepProspectError) as error:
        idw.interpolate_points(points, ["Sb_con", "Pb_con"], tmp_path / "far.tif", 100.0, extent=extent)
    message = str(error.value)
    assert message == (
        "Sb_con, Pb_con: the EXTENT holds no sample and its nearest cell centre is {:.6g} map units from the nearest "
        "sample (more than 3 × the median sample spacing of 100), so every cell would be an extrapolation of distant "
        "samples, an almost flat raster. The samples cover x 400050 to 400450, y 2300050 to 2300450: choose an "
        "EXTENT that overlaps them, or leave EXTENT empty.".format(math.hypot(9600.0, 9600.0)))
    assert not list(tmp_path.glob("*.tif*"))
    bad_input("IDW with an EXTENT far from every sample (no RADIUS)", "error", message)


def test_extent_mostly_far_from_the_samples_is_a_warning_with_the_share(tmp_path, bad_input):
    points, xy = _lattice(tmp_path)
    # 20 × 5 cells whose rows line up with the samples' rows: a cell is within 3 × 100 of a sample
    # iff its centre x ≤ 400450 + 300, i.e. the first 8 columns; 12 of 20 columns (60 %) are far
    extent = (400000.0, 2300000.0, 402000.0, 2300500.0)
    log = LogFeedback()
    result = idw.interpolate_points(points, ["Sb_con"], tmp_path / "wide.tif", 100.0, extent=extent,
                                    feedback=log)
    message = ("Sb_con: 60% of the 20 × 5 cells are farther than 300 map units (3 × the median sample spacing of "
               "100) from every sample; there the raster is nodata or an extrapolation of distant samples. Check "
               "EXTENT: the samples cover x 400050 to 400450, y 2300050 to 2300450.")
    assert log.warnings == [message]
    written, nodata, _, _ = _read(result["path"])
    assert written.shape == (1, 5, 20) and np.isfinite(written).all() and not (written == nodata).any()
    bad_input("IDW with an EXTENT mostly far from the samples", "warning", message)
    # an extent the samples cover gives no warning
    quiet = LogFeedback()
    idw.interpolate_points(points, ["Sb_con"], tmp_path / "near.tif", 100.0, extent=(400000.0, 2300000.0,
                           400500.0, 2300500.0), feedback=quiet)
    assert quiet.warnings == []


def test_cv_rmse_of_a_single_sample_place_is_null_and_the_log_says_why(tmp_path, bad_input):
    import json

    xy = np.array([[400100.0, 2300100.0], [400100.0, 2300100.0]])      # two samples, one place
    points = _write_points(tmp_path / "one.gpkg", xy, {"Sb_con": [1.0, 3.0]})
    log = LogFeedback()
    result = idw.interpolate_points(points, ["Sb_con"], tmp_path / "one.tif", 100.0, feedback=log)
    assert result["cv_rmse"] == {"Sb_con": None}
    assert json.loads(json.dumps(result["cv_rmse"], allow_nan=False)) == {"Sb_con": None}
    message = ("Sb_con: the leave-one-out RMSE (CV_RMSE) cannot be computed: it needs at least 2 samples at "
               "different places, and there is 1.")
    assert log.warnings == [message]
    assert "Sb_con: 0 samples skipped; leave-one-out RMSE not computed." in log.infos
    written, _, _, _ = _read(result["path"])
    assert written.shape == (1, 1, 1) and written[0, 0, 0] == 2.0      # the two samples' mean
    bad_input("IDW's CV_RMSE with a single sample place", "warning", message)


def test_cv_rmse_when_no_sample_has_another_within_radius_is_null(tmp_path, bad_input):
    points, xy = _lattice(tmp_path)
    log = LogFeedback()
    # 50-unit cells: every cell centre is 25 √2 from a sample, within the 50-unit RADIUS; samples are 100 apart
    result = idw.interpolate_points(points, ["Sb_con"], tmp_path / "r.tif", 50.0, radius=50.0,
                                    feedback=log)
    message = ("Sb_con: the leave-one-out RMSE (CV_RMSE) cannot be computed: no sample has another sample within "
               "RADIUS (50 map units).")
    assert result["cv_rmse"] == {"Sb_con": None} and log.warnings == [message]
    written, nodata, _, _ = _read(result["path"])
    assert written.shape == (1, 8, 8) and not (written == nodata).any()
    bad_input("IDW's CV_RMSE when no sample has a neighbour within RADIUS", "warning", message)


def test_cv_rmse_from_part_of_the_samples_says_so(tmp_path):
    xy = np.array([[0.0, 0.0], [10.0, 0.0], [500.0, 500.0]]) + [400000.0, 2300000.0]
    points = _write_points(tmp_path / "three.gpkg", xy, {"Sb_con": [1.0, 3.0, 7.0]})
    log = LogFeedback()
    result = idw.interpolate_points(points, ["Sb_con"], tmp_path / "t.tif", 10.0, radius=100.0, feedback=log)
    # only the two close samples predict each other: errors 2 and -2
    assert result["cv_rmse"]["Sb_con"] == pytest.approx(2.0, rel=1e-12)
    assert "Sb_con: the leave-one-out RMSE comes from 2 of 3 samples; the others have no other sample within " \
           "RADIUS." in log.infos


def test_the_same_field_twice_is_an_error(tmp_path, bad_input):
    points, _ = _lattice(tmp_path)
    with pytest.raises(DeepProspectError) as error:
        idw.interpolate_points(points, ["Sb_con", "Pb_con", "Sb_con"], tmp_path / "twice.tif", 100.0)
    message = str(error.value)
    assert message == ("FIELDS names Sb_con more than once; each field becomes one band named after it, so choose "
                       "each field once.")
    assert not list(tmp_path.glob("*.tif*"))
    bad_input("The same field twice in IDW FIELDS", "error", message)


def _interpolate_one_field(folder, xy, field, values):
    """interpolate_points of one field at 100-unit cells over the samples' extent; (result, log)."""
    points = _write_points(folder / "{}.gpkg".format(field), xy, {field: values})
    log = LogFeedback()
    return idw.interpolate_points(points, [field], folder / "{}.tif".format(field), 100.0, feedback=log), log


def test_below_detection_text_values_are_skipped_with_a_warning(tmp_path, bad_input):
    xy, _ = _random_samples(9, n=30, size=1000.0)
    grades = ["<0.5" if i % 3 == 0 else "{:.1f}".format(1 + i / 10) for i in range(30)]
    grades[1] = "n.d."
    result, log = _interpolate_one_field(tmp_path, xy, "Au_ppb", grades)
    message = ("Au_ppb: 10 samples hold below-detection values such as '<0.5'; they are skipped, which leaves the "
               "lowest concentrations out of the map. Replace them by half the detection limit (e.g. 0.25 for '<0.5') "
               "to keep them.")
    assert log.warnings == [message]
    assert "Au_ppb: skipped 0 null and 11 non-numeric values." in log.infos and result["skipped"] == {"Au_ppb": 11}
    bad_input("An IDW field holding below-detection text values ('<0.5')", "warning", message)


def test_missing_value_codes_of_a_concentration_field_are_skipped_with_a_warning(tmp_path, bad_input):
    xy, grades = _random_samples(12, n=30, size=1000.0)
    coded = grades.copy()
    coded[[2, 5]] = -999.0
    coded[7] = -99999.0
    result, log = _interpolate_one_field(tmp_path, xy, "Cu_ppm", coded)
    assert log.warnings == ["Cu_ppm: 2 samples hold -999, taken as a missing-value code and skipped.",
                            "Cu_ppm: 1 sample holds -99999, taken as a missing-value code and skipped."]
    assert result["skipped"] == {"Cu_ppm": 3}
    # the same as interpolating the other 27 samples
    keep = np.ones(30, bool)
    keep[[2, 5, 7]] = False
    reference = idw.interpolate_points(_write_points(tmp_path / "clean.gpkg", xy[keep], {"Cu_ppm": grades[keep]}),
                                       ["Cu_ppm"], tmp_path / "clean.tif", 100.0, extent=(*xy.min(axis=0),
                                                                                           *xy.max(axis=0)))
    assert np.array_equal(_read(result["path"])[0], _read(reference["path"])[0])
    bad_input("An IDW field using -999 or -99999 as a missing-value code", "warning", log.warnings[0])
    # in a field that has negative values anyway (e.g. an anomaly), -999 is a value like any other
    anomaly = grades - 2.0
    anomaly[2] = -999.0
    result, quiet = _interpolate_one_field(tmp_path, xy, "anomaly", anomaly)
    assert result["skipped"] == {"anomaly": 0}
    assert not any("missing-value code" in line for line in quiet.warnings)


def test_negative_below_detection_codes_are_interpolated_with_a_warning(tmp_path, bad_input):
    xy, grades = _random_samples(13, n=30, size=1000.0)
    grades[[1, 4, 9]] = [-0.5, -0.5, -1.0]       # '<0.5' and '<1' written as minus the detection limit
    result, log = _interpolate_one_field(tmp_path, xy, "Au_ppb", grades)
    message = ("Au_ppb: 3 samples hold negative values (-1, -0.5) among positive ones and are interpolated as they "
               "are. If they are below-detection entries (minus the detection limit), replace them by half the "
               "detection limit.")
    assert log.warnings == [message] and result["skipped"] == {"Au_ppb": 0}
    bad_input("An IDW field with below-detection values written as negative numbers (-0.5)", "warning", message)
