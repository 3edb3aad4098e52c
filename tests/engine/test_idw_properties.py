"""Property tests (hypothesis) of IDW files written by core.idw.interpolate_points: random point
sets (duplicates, collinear, a single point, samples on cell centres), grids, CRSs and gaps in the
data (empty values, a radius). Whatever the input: no crash, either a clear error (only when the
coverage rules of core/idw_coverage.py say so, checked by brute force) or a raster on exactly the
grid asked for, with no NaN, nodata exactly where no sample is within RADIUS, every value inside
the samples' range, and at a cell centre holding a sample, that sample's value (their mean for
several samples at one place)."""
import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

from deepprospect.core import idw
from deepprospect.core.errors import DeepProspectError
from deepprospect.core.raster import STACK_NODATA

ORIGINS = {"EPSG:32645": (400000.0, 2300000.0), "EPSG:3857": (9700000.0, 3100000.0),
           "EPSG:27700": (450000.0, 300000.0), None: (1000.0, -5000.0)}


@st.composite
def cases(draw):
    crs = draw(st.sampled_from(sorted(ORIGINS, key=str)))
    pixel = draw(st.sampled_from([40.0, 100.0, 125.0]))
    width, height = draw(st.integers(1, 14)), draw(st.integers(1, 14))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    n = draw(st.integers(1, 20))
    layout = draw(st.sampled_from(["scattered", "collinear", "duplicates", "single_point", "around"]))
    span = np.array([width, height]) * pixel
    xy = rng.uniform(-0.2, 1.2, (n, 2)) * span
    if layout == "collinear":
        xy[:, 1] = 0.3 * span[1] + 0.4 * xy[:, 0] * span[1] / span[0]
    elif layout == "duplicates":
        xy[n // 2:] = xy[:n - n // 2]
    elif layout == "single_point":
        xy[:] = xy[0]
    elif layout == "around":      # samples far outside the grid on one side
        xy[:, 0] += span[0] * rng.choice([-6, 6])
    # some samples exactly on cell centres (distinct cells): IDW must return their values there
    on_centres = 0 if layout == "around" else min(n, draw(st.integers(0, 3)))
    cells = rng.choice(width * height, size=min(on_centres, width * height), replace=False)
    for index, cell in enumerate(cells):
        row, col = divmod(int(cell), width)
        xy[index] = ((col + 0.5) * pixel, span[1] - (row + 0.5) * pixel)
    values = np.round(rng.uniform(-50, 500, n), draw(st.sampled_from([0, 3])))
    gaps = rng.random(n) < draw(st.sampled_from([0.0, 0.3]))
    gaps[0] = False                                     # every field keeps a usable sample
    return dict(layout=layout, crs=crs, pixel=pixel, width=width, height=height, xy=xy + ORIGINS[crs], values=values, gaps=gaps,
                on_centres=len(cells), power=draw(st.sampled_from([0.5, 1.0, 2.0, 3.0])),
                neighbors=draw(st.sampled_from([0, 1, 4, 12])), radius=draw(st.sampled_from([0.0, 90.0, 400.0])))


def _write(path, xy, columns, crs):
    import geopandas as gpd

    gpd.GeoDataFrame(columns, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=crs).to_file(path, driver="GPKG")
    return str(path)


def _places(xy, values):
    """Distinct sample places and the mean value at each (brute force, dict of tuples)."""
    merged = {}
    for point, value in zip(map(tuple, xy), values):
        merged.setdefault(point, []).append(value)
    return np.array(list(merged)), np.array([np.mean(v) for v in merged.values()])


def _coverage_refuses(places, centres, inside, radius, size):
    """Brute force of core/idw_coverage's error rules: (refused?, ambiguous?). ``size``: the extent's
    larger side, the limit for a single sample place."""
    distance = np.hypot(centres[:, None, 0] - places[None, :, 0], centres[:, None, 1] - places[None, :, 1])
    nearest = distance.min()
    if radius:
        return nearest > radius, abs(nearest - radius) <= 1e-6 * radius
    if inside:
        return False, False
    far = size
    if len(places) > 1:
        spacing = np.sort(np.hypot(places[:, None, 0] - places[None, :, 0],
                                   places[:, None, 1] - places[None, :, 1]), axis=1)[:, 1]
        far = 3 * np.median(spacing)
    return nearest > far, abs(nearest - far) <= 1e-6 * far


@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=cases())
def test_property_idw_file_is_on_the_grid_asked_with_no_nan_and_exact_at_samples(case, tmp_path_factory):
    import rasterio

    folder = tmp_path_factory.mktemp("idw_property")
    xy, values, pixel = case["xy"], case["values"], case["pixel"]
    width, height, radius = case["width"], case["height"], case["radius"]
    other = np.where(case["gaps"], np.nan, values[::-1])
    points = _write(folder / "samples.gpkg", xy, {"Cu_ppm": values, "Zn_ppm": other}, case["crs"])
    left, top = ORIGINS[case["crs"]][0], ORIGINS[case["crs"]][1] + height * pixel
    extent = (left, top - height * pixel, left + width * pixel, top)
    output = folder / "out.tif"
    cols, rows = np.meshgrid(np.arange(width), np.arange(height))
    centres = np.column_stack([left + (cols.ravel() + 0.5) * pixel, top - (rows.ravel() + 0.5) * pixel])
    inside = ((xy[:, 0] >= extent[0]) & (xy[:, 0] <= extent[2]) & (xy[:, 1] >= extent[1]) & (xy[:, 1] <= extent[3]))
    try:
        result = idw.interpolate_points(points, ["Cu_ppm", "Zn_ppm"], output, pixel, extent=extent,
                                        power=case["power"], neighbors=case["neighbors"], radius=radius)
    except DeepProspectError as error:
        assert "EXTENT" in str(error) and not list(folder.glob("*.tif*"))
        refused = [_coverage_refuses(_places(xy[usable], column[usable])[0], centres, inside[usable].any(), radius,
                                     max(width, height) * pixel)
                   for column, usable in ((values, np.ones(len(xy), bool)), (other, ~case["gaps"]))]
        assert any(refuse or ambiguous for refuse, ambiguous in refused)
        event("refused: {}".format("RADIUS" if radius else "no sample near the EXTENT"))
        event("layout {}".format(case["layout"]))
        return
    event("written, {} sample(s) on cell centres".format(case["on_centres"]))
    event("layout {}".format(case["layout"]))
    json.dumps(result["cv_rmse"], allow_nan=False)           # null where it cannot be computed, never NaN
    assert all(value is None or (math.isfinite(value) and value >= 0) for value in result["cv_rmse"].values())
    with rasterio.open(output) as dataset:
        assert (dataset.width, dataset.height, dataset.count) == (width, height, 2)
        assert dataset.transform.almost_equals(rasterio.Affine(pixel, 0, left, 0, -pixel, top))
        assert (dataset.crs is None) == (case["crs"] is None)
        if case["crs"]:
            assert dataset.crs.to_epsg() == int(case["crs"].split(":")[1])
        assert dataset.nodata == STACK_NODATA and list(dataset.descriptions) == ["Cu_ppm", "Zn_ppm"]
        grid = dataset.read().astype(np.float64)
    assert np.isfinite(grid).all()
    for band, (column, usable) in enumerate(((values, np.ones(len(xy), bool)), (other, ~case["gaps"]))):
        _check_band(grid[band].ravel(), *_places(xy[usable], column[usable]), centres, radius, pixel)


def _check_band(band, places, merged, centres, radius, pixel):
    """Nodata exactly beyond RADIUS (away from ties), values in range, exact at samples on centres."""
    distance = np.hypot(centres[:, None, 0] - places[None, :, 0], centres[:, None, 1] - places[None, :, 1])
    nearest = distance.min(axis=1)
    empty = band == STACK_NODATA
    if radius:
        clear = np.abs(nearest - radius) > 1e-5 * radius
        np.testing.assert_array_equal(empty[clear], (nearest > radius)[clear])
    else:
        assert not empty.any()
    tolerance = 1e-5 * (np.ptp(merged) + np.abs(merged).max())
    assert (band[~empty] >= merged.min() - tolerance).all() and (band[~empty] <= merged.max() + tolerance).all()
    on_sample = nearest <= 1e-9 * pixel
    which = distance.argmin(axis=1)
    assert band[on_sample] == pytest.approx(merged[which[on_sample]], abs=tolerance)


def test_property_cases_cover_samples_on_cell_centres():
    """The generator really puts samples on cell centres (so the exactness check is exercised)."""
    from hypothesis import find

    case = find(cases(), lambda c: c["on_centres"] >= 2 and c["radius"] == 0)
    assert case["on_centres"] >= 2
