"""Non-deposit sampling (core/sampling.py): rules checked against shapely distances, rasterio's own
pixel sampling and a brute-force count; odd inputs via hypothesis (deepprospect:sample_negatives: tests/qgis)."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from deepprospect.core import sampling
from deepprospect.core.errors import DeepProspectError
from deepprospect.core.raster import STACK_NODATA, write_geotiff
from log_feedback import LogFeedback


@pytest.fixture(scope="module")
def holed_stack(province, province_stack, tmp_path_factory):
    """The province's evidence stack with an unsampled (nodata) block around a deposit, as after IDW
    with a radius."""
    import rasterio

    with rasterio.open(province_stack) as dataset:
        data, transform, crs, names = dataset.read(), dataset.transform, dataset.crs, list(dataset.descriptions)
    col, row = (~transform) @ tuple(_deposits(province)[0])
    row, col = int(row), int(col)
    data[:, max(0, row - 8):row + 8, max(0, col - 12):col + 12] = STACK_NODATA
    data[3, 60, 5] = STACK_NODATA           # one band missing is enough to make a pixel invalid
    path = tmp_path_factory.mktemp("sampling") / "stack.tif"
    return write_geotiff(path, data, transform, crs, names)


def _deposits(province):
    import geopandas as gpd

    frame = gpd.read_file(province["deposits"])
    return np.column_stack([frame.geometry.x, frame.geometry.y])


def test_non_deposits_follow_the_rules(province, holed_stack):
    import rasterio
    from shapely.geometry import MultiPoint, Point

    deposit_xy = _deposits(province)
    table = sampling.sample_training_points(holed_stack, province["deposits"], count=150, min_distance=600.0, seed=4)
    assert list(table.columns[:2]) == ["label", "Al_con"] and table.crs.to_epsg() == 32645
    negatives = table[table["label"] == 0]
    positives = table[table["label"] == 1]
    assert len(negatives) == 150
    with rasterio.open(holed_stack) as dataset:
        transform = dataset.transform
        xy = np.column_stack([negatives.geometry.x, negatives.geometry.y])
        sampled = np.array(list(dataset.sample(xy)), dtype=np.float64)
        deposit_values = np.array(list(dataset.sample(deposit_xy)), dtype=np.float64)
    factors = list(table.columns[1:-1])
    # attributes are the stack's values at the points (rasterio's own sampling as reference), all valid
    np.testing.assert_allclose(negatives[factors].to_numpy(), sampled, rtol=1e-6)
    assert (sampled != STACK_NODATA).all()
    # outside every buffer (shapely distances), one per pixel, never on a deposit's pixel
    everything = MultiPoint([Point(p) for p in deposit_xy])
    assert min(everything.distance(Point(p)) for p in xy) > 600.0
    cols, rows = (~transform) @ (xy[:, 0], xy[:, 1])
    pixels = set(zip(np.floor(rows).astype(int), np.floor(cols).astype(int)))
    assert len(pixels) == 150
    dcols, drows = (~transform) @ (deposit_xy[:, 0], deposit_xy[:, 1])
    assert not pixels & set(zip(np.floor(drows).astype(int), np.floor(dcols).astype(int)))
    # deposits on the hole are dropped, the rest kept with their values
    on_valid = (deposit_values != STACK_NODATA).all(axis=1)
    assert len(positives) == on_valid.sum() < len(deposit_xy)
    np.testing.assert_allclose(positives[factors].to_numpy(), deposit_values[on_valid], rtol=1e-6)
    # same seed, same points; another seed, other points
    again = sampling.sample_training_points(holed_stack, province["deposits"], count=150, min_distance=600.0, seed=4)
    assert again.geometry.geom_equals(table.geometry).all()
    other = sampling.sample_training_points(holed_stack, province["deposits"], count=150, min_distance=600.0, seed=5)
    assert not other.geometry.geom_equals(table.geometry).all()


def test_infeasible_count_names_the_largest_possible(province, holed_stack):
    import rasterio
    from scipy.spatial import distance_matrix

    deposit_xy = _deposits(province)
    with rasterio.open(holed_stack) as dataset:
        data, transform = dataset.read(), dataset.transform
    valid = (data != STACK_NODATA).all(axis=0)
    rows, cols = np.nonzero(valid)
    xs, ys = transform @ (cols + 0.5, rows + 0.5)
    far = distance_matrix(np.column_stack([xs, ys]), deposit_xy).min(axis=1) > 2000.0
    dcols, drows = (~transform) @ (deposit_xy[:, 0], deposit_xy[:, 1])
    on_deposit = np.isin(rows * data.shape[2] + cols, np.floor(drows).astype(int) * data.shape[2] + np.floor(dcols).astype(int))
    feasible = int((far & ~on_deposit).sum())
    with pytest.raises(DeepProspectError, match=r"at most {} non-deposits can be drawn.*Lower COUNT".format(feasible)):
        sampling.sample_training_points(holed_stack, province["deposits"], count=feasible + 1, min_distance=2000.0)
    exact = sampling.sample_training_points(holed_stack, province["deposits"], count=feasible, min_distance=2000.0)
    assert (exact["label"] == 0).sum() == feasible


def test_same_points_however_the_stack_is_cut_into_windows(tmp_path, monkeypatch):
    """Candidates are ranked row-major over the whole stack, so 256-pixel windows (three per row
    here) and one window over everything draw the same points with the same values."""
    from affine import Affine

    rng = np.random.default_rng(8)
    data = rng.normal(size=(2, 300, 700)).astype(np.float32)
    data[:, rng.random((300, 700)) < 0.2] = STACK_NODATA
    data[:, 100:180, 240:520] = STACK_NODATA
    path = write_geotiff(tmp_path / "wide.tif", data, Affine(10, 0, 0, 0, -10, 3000), "EPSG:32645", ["A", "B"])
    deposit_xy = rng.uniform(0, 1, (40, 2)) * [7000, 3000]
    whole = sampling.choose_non_deposits(path, deposit_xy, 500, 45.0, 3)
    monkeypatch.setattr(sampling, "WINDOW_VALUES", 100)
    cut = sampling.choose_non_deposits(path, deposit_xy, 500, 45.0, 3)
    assert cut["available"] == whole["available"]
    np.testing.assert_array_equal(cut["non_deposit_xy"], whole["non_deposit_xy"])
    np.testing.assert_array_equal(cut["non_deposit_values"], whole["non_deposit_values"])
    # and the values are the stack's at the points' pixels
    chosen = cut["non_deposit_xy"]
    rows, cols = np.floor((3000 - chosen[:, 1]) / 10).astype(int), np.floor(chosen[:, 0] / 10).astype(int)
    np.testing.assert_array_equal(cut["non_deposit_values"], data[:, rows, cols].T)


def test_deposits_in_another_crs_are_transformed(province, province_stack, tmp_path):
    import geopandas as gpd

    geographic = tmp_path / "deposits_wgs84.gpkg"
    gpd.read_file(province["deposits"]).to_crs("EPSG:4326").to_file(geographic, driver="GPKG")
    native = sampling.sample_training_points(province_stack, province["deposits"], count=30, seed=2)
    moved = sampling.sample_training_points(province_stack, str(geographic), count=30, seed=2,
                                            output=str(tmp_path / "training.gpkg"))
    assert moved.crs.to_epsg() == 32645
    np.testing.assert_allclose(np.column_stack([moved.geometry.x, moved.geometry.y]),
                               np.column_stack([native.geometry.x, native.geometry.y]), atol=1e-3)
    written = gpd.read_file(tmp_path / "training.gpkg")
    assert written["label"].tolist() == moved["label"].tolist()


# ---- property test: odd deposit sets on small random stacks ------------------------------------


@st.composite
def cases(draw):
    height, width = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    nodata_fraction = draw(st.sampled_from([0.0, 0.3, 0.9, 1.0]))
    n = draw(st.integers(1, 15))
    layout = draw(st.sampled_from(["scattered", "collinear", "duplicates", "one_spot", "with_nan", "outside"]))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    xy = rng.uniform(0, 1, (n, 2)) * [width * 10, height * 10]
    if layout == "collinear":
        xy[:, 1] = 0.5 * xy[:, 0]
    elif layout == "duplicates":
        xy[n // 2:] = xy[:n - n // 2]
    elif layout == "one_spot":
        xy[:] = xy[0]
    elif layout == "with_nan":
        xy[0] = np.nan
    elif layout == "outside":
        xy[: max(1, n // 2)] += 1e4
    return dict(shape=(height, width), nodata=rng.random((height, width)) < nodata_fraction, xy=xy,
                count=draw(st.integers(0, 60)), min_distance=draw(st.sampled_from([0.0, 5.0, 17.0])),
                seed=draw(st.integers(0, 5)))


@settings(max_examples=25, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=cases())
def test_property_odd_inputs_give_valid_points_or_clear_error(case, tmp_path_factory):
    from affine import Affine

    height, width = case["shape"]
    transform = Affine(10, 0, 0, 0, -10, height * 10)
    data = np.arange(2 * height * width, dtype=np.float32).reshape(2, height, width)
    data[:, case["nodata"]] = STACK_NODATA
    path = write_geotiff(tmp_path_factory.mktemp("prop") / "s.tif", data, transform, "EPSG:32645", ["A", "B"])
    xy = case["xy"]
    # brute force: usable deposits and available pixels
    located = np.isfinite(xy).all(axis=1)
    safe = np.where(located[:, None], xy, -1e9)
    cols, rows = np.floor(safe[:, 0] / 10).astype(int), np.floor((height * 10 - safe[:, 1]) / 10).astype(int)
    inside = located & (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
    usable = inside.copy()
    usable[inside] = ~case["nodata"][rows[inside], cols[inside]]
    # deposits on one cell count once
    distinct = len(set(zip(rows[usable], cols[usable])))
    grid_rows, grid_cols = np.mgrid[0:height, 0:width]
    centres = np.column_stack([(grid_cols.ravel() + 0.5) * 10, height * 10 - (grid_rows.ravel() + 0.5) * 10])
    allowed = ~case["nodata"].ravel()
    allowed[rows[inside] * width + cols[inside]] = False
    if case["min_distance"] and located.any():
        nearest = np.sqrt(((centres[:, None, :] - xy[located][None]) ** 2).sum(-1)).min(axis=1)
        allowed &= nearest > case["min_distance"]
    wanted = case["count"] or distinct
    try:
        result = sampling.choose_non_deposits(path, xy, case["count"], case["min_distance"], case["seed"])
    except DeepProspectError as error:
        message = str(error)
        if not usable.any():
            assert "None of the" in message
        else:
            left = int(allowed.sum())
            assert wanted > left and "at most {} non-deposit{} can".format(left, "" if left == 1 else "s") in message
        return
    assert usable.any() and wanted <= allowed.sum()
    assert len(result["deposit_xy"]) == distinct and result["dropped"] == len(xy) - usable.sum()
    assert result["merged"] == usable.sum() - distinct
    chosen = result["non_deposit_xy"]
    assert len(chosen) == wanted
    flat = np.floor((height * 10 - chosen[:, 1]) / 10).astype(int) * width + np.floor(chosen[:, 0] / 10).astype(int)
    assert len(set(flat)) == len(flat) and allowed[flat].all()
    np.testing.assert_array_equal(result["non_deposit_values"][:, 0], data[0].ravel()[flat])
    again = sampling.choose_non_deposits(path, xy, case["count"], case["min_distance"], case["seed"])
    np.testing.assert_array_equal(again["non_deposit_xy"], chosen)


# ---- bad input (docs/bad_input.md) ---------------------------------------------------------------


def _small_stack(tmp_path):
    """A 10 × 10 stack of 10-unit cells (x 0…100, y 0…100), two bands, all valid."""
    from affine import Affine

    data = np.arange(200, dtype=np.float32).reshape(2, 10, 10)
    return write_geotiff(tmp_path / "small.tif", data, Affine(10, 0, 0, 0, -10, 100), "EPSG:32645", ["A", "B"])


def test_two_deposits_on_one_cell_count_once_with_a_warning(tmp_path, bad_input):
    import geopandas as gpd

    stack = _small_stack(tmp_path)
    # cell (row 2, col 3) holds 3 deposits, cell (5, 5) 2, cell (8, 1) 1: 3 merged, 2 cells with more than one
    xy = np.array([[31, 72], [33, 78], [39, 71], [51, 45], [58, 42], [12, 13]], dtype=float)
    path = tmp_path / "deposits.gpkg"
    gpd.GeoDataFrame({"name": list("abcdef")}, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
                     crs="EPSG:32645").to_file(path, driver="GPKG")
    log = LogFeedback()
    table = sampling.sample_training_points(stack, str(path), seed=1, feedback=log)
    message = ("3 deposits lie on a stack cell that already holds another of them and were merged into it: one point "
               "per cell is kept (2 cells held more than one).")
    assert log.warnings == [message]
    deposits = table[table["label"] == 1]
    # the first deposit of each cell is kept, and COUNT defaults to the 3 distinct deposits
    np.testing.assert_array_equal(np.column_stack([deposits.geometry.x, deposits.geometry.y]), xy[[0, 3, 5]])
    assert (table["label"] == 0).sum() == 3
    chosen = sampling.choose_non_deposits(stack, xy, 5, seed=1)
    assert chosen["merged"] == 3 and chosen["dropped"] == 0 and len(chosen["deposit_xy"]) == 3
    bad_input("Two deposits on one cell (sample_negatives)", "warning", message)


def test_deposits_outside_the_stack_are_left_out_with_a_warning(tmp_path, bad_input):
    stack = _small_stack(tmp_path)
    xy = np.array([[15, 15], [55, 55], [250, 55], [np.nan, 3]], dtype=float)
    log = LogFeedback()
    chosen = sampling.choose_non_deposits(stack, xy, 4, seed=2, feedback=log)
    message = "2 of 4 deposits lie outside the evidence stack or on nodata pixels and were left out."
    assert log.warnings == [message] and chosen["dropped"] == 2 and len(chosen["deposit_xy"]) == 2
    bad_input("Deposits outside the evidence stack (sample_negatives)", "warning", message)
