"""Property tests (hypothesis) of core.sampling.sample_training_points from files: random stacks
(CRSs, pixel sizes, nodata layouts) and deposit layers (duplicates on one cell, collinear, a single
point, points outside, points without geometry, another CRS than the stack's). Whatever the input:
no crash, either a clear error (only when a brute-force count says the request is impossible) or a
table in the stack's CRS where no non-deposit sits on a deposit's cell or a nodata cell (read back
with rasterio), none is within MIN_DISTANCE of a deposit (shapely distances), at most one point
per cell, and each deposit cell counts once."""
import numpy as np
from hypothesis import HealthCheck, event, given, settings, strategies as st

from deepprospect.core import sampling
from deepprospect.core.errors import DeepProspectError
from deepprospect.core.raster import STACK_NODATA, write_geotiff

ORIGINS = {"EPSG:32645": (400000.0, 2300000.0), "EPSG:3857": (9700000.0, 3100000.0),
           "EPSG:27700": (450000.0, 300000.0)}


@st.composite
def cases(draw):
    crs = draw(st.sampled_from(sorted(ORIGINS)))
    pixel = draw(st.sampled_from([10.0, 25.0]))
    height, width = draw(st.integers(2, 16)), draw(st.integers(3, 16))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    nodata = draw(st.sampled_from(["none", "random", "block", "stripes", "all_but_one"]))
    mask = np.zeros((height, width), bool)
    if nodata == "random":
        mask = rng.random((height, width)) < 0.4
    elif nodata == "block":
        mask[height // 3:, : max(1, width // 2)] = True
    elif nodata == "stripes":
        mask[::2] = True
    elif nodata == "all_but_one":
        mask[:] = True
        mask[rng.integers(height), rng.integers(width)] = False
    layout = draw(st.sampled_from(["scattered", "same_cell", "collinear", "single_point", "outside"]))
    n = draw(st.integers(2 if layout == "same_cell" else 1, 12))
    xy = rng.uniform(0, 1, (n, 2)) * [width * pixel, height * pixel]
    if layout == "same_cell":      # several deposits inside one cell
        col, row = rng.integers(width), rng.integers(height)
        xy[: max(2, n // 2)] = (np.array([col, height - 1 - row]) + rng.uniform(0.1, 0.9, (max(2, n // 2), 2))) * pixel
    elif layout == "collinear":
        xy[:, 1] = 0.5 * xy[:, 0] * height / width
    elif layout == "single_point":
        xy[:] = xy[0]
    elif layout == "outside":
        xy[: max(1, n // 3)] -= [width * pixel * 3, 0]
    return dict(crs=crs, pixel=pixel, shape=(height, width), mask=mask, layout=layout, nodata=nodata,
                xy=xy[:n] + ORIGINS[crs], empty=draw(st.booleans()), reproject=draw(st.booleans()),
                count=draw(st.sampled_from([0, 1, 3, 10])), min_distance=draw(st.sampled_from([0.0, 0.0, 12.0, 30.0])),
                seed=draw(st.integers(0, 9)))


def _files(folder, case):
    import geopandas as gpd
    from affine import Affine
    from shapely.geometry import Point

    height, width = case["shape"]
    left, bottom = ORIGINS[case["crs"]]
    transform = Affine(case["pixel"], 0, left, 0, -case["pixel"], bottom + height * case["pixel"])
    data = np.arange(2 * height * width, dtype=np.float32).reshape(2, height, width)
    data[:, case["mask"]] = STACK_NODATA
    stack = write_geotiff(folder / "stack.tif", data, transform, case["crs"], ["A", "B"])
    geometries = [Point(p) for p in case["xy"]] + ([None] if case["empty"] else [])
    frame = gpd.GeoDataFrame({"name": np.arange(len(geometries))}, geometry=geometries, crs=case["crs"])
    if case["reproject"]:
        frame = frame.to_crs("EPSG:4326")
    frame.to_file(folder / "deposits.gpkg", driver="GPKG")
    return stack, str(folder / "deposits.gpkg"), transform


def _brute_force(case, transform):
    """Usable deposit cells (distinct) and the cells allowed for non-deposits, from first principles."""
    height, width = case["shape"]
    cols, rows = (~transform) @ (case["xy"][:, 0], case["xy"][:, 1])
    rows, cols = np.floor(rows).astype(int), np.floor(cols).astype(int)
    inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
    usable = inside.copy()
    usable[inside] = ~case["mask"][rows[inside], cols[inside]]
    allowed = ~case["mask"].ravel()
    allowed[rows[inside] * width + cols[inside]] = False
    if case["min_distance"]:
        grid_rows, grid_cols = np.divmod(np.arange(height * width), width)
        xs, ys = transform @ (grid_cols + 0.5, grid_rows + 0.5)
        distance = np.hypot(xs[:, None] - case["xy"][None, :, 0], ys[:, None] - case["xy"][None, :, 1])
        allowed &= distance.min(axis=1) > case["min_distance"]
    return set(zip(rows[usable], cols[usable])), allowed


@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=cases())
def test_property_non_deposits_avoid_deposit_and_nodata_cells_and_keep_their_distance(case, tmp_path_factory):
    import rasterio
    from shapely.geometry import MultiPoint, Point

    stack, deposits, transform = _files(tmp_path_factory.mktemp("sampling_property"), case)
    deposit_cells, allowed = _brute_force(case, transform)
    try:
        table = sampling.sample_training_points(stack, deposits, count=case["count"],
                                                min_distance=case["min_distance"], seed=case["seed"])
    except DeepProspectError as error:
        message = str(error)
        if not deposit_cells:
            assert message.startswith("None of the")
        else:      # the count asked for (or the deposits' count) exceeds the cells left
            assert (case["count"] or len(deposit_cells)) > allowed.sum()
            left = int(allowed.sum())
            assert "at most {} non-deposit{} can be drawn".format(left, "" if left == 1 else "s") in message
        event("refused: " + message.split(" ")[0])
        return
    event("drawn ({} nodata, {} deposits)".format(case["nodata"], case["layout"]))
    assert table.crs.to_epsg() == int(case["crs"].split(":")[1])
    positives, negatives = table[table["label"] == 1], table[table["label"] == 0]
    assert len(positives) == len(deposit_cells)                           # one deposit per cell
    assert len(negatives) == (case["count"] or len(deposit_cells))
    xy = np.column_stack([negatives.geometry.x, negatives.geometry.y])
    with rasterio.open(stack) as dataset:
        sampled = np.array(list(dataset.sample(xy)), dtype=np.float64).reshape(len(xy), 2)
        rows, cols = rasterio.transform.rowcol(dataset.transform, xy[:, 0], xy[:, 1]) if len(xy) else ([], [])
    assert (sampled != STACK_NODATA).all()                              # never a nodata cell
    cells = set(zip(np.asarray(rows, int), np.asarray(cols, int)))
    assert len(cells) == len(xy) and not cells & deposit_cells          # one per cell, never a deposit's
    assert allowed[[r * case["shape"][1] + c for r, c in cells]].all()
    if case["min_distance"] and len(xy):
        everything = MultiPoint([Point(p) for p in case["xy"]])
        assert min(everything.distance(Point(p)) for p in xy) > case["min_distance"] * (1 - 1e-9)
