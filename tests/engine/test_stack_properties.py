"""Property tests of stacking (core/stack.py) over random small grids, CRSs, pixel sizes and nodata
layouts: no crash (only the documented input errors), no NaN in the stack, the grid exactly as
asked, every invalid cell nodata in every band, and valid values inside the layers' data range."""
import math

import numpy as np
import pytest
import rasterio
from affine import Affine
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from deepprospect.core import stack
from deepprospect.core.errors import DeepProspectError
from deepprospect.core.raster import STACK_NODATA

#: (EPSG code, pixel size in its units): about 100 m on the ground at 45° N
CRS_PIXELS = [(32633, 100.0), (3035, 100.0), (3857, 140.0), (4326, 0.0012)]


def _origin(epsg):
    """Map coordinates of 14° E, 45° N in ``epsg``, so layers in any of these CRSs overlap."""
    from pyproj import Transformer

    return Transformer.from_crs(4326, epsg, always_xy=True).transform(14.0, 45.0)


#: (EPSG code, a map origin, a pixel size in its units)
CRSS = [(epsg, _origin(epsg), pixel) for epsg, pixel in CRS_PIXELS]
#: The input errors stacking may give for a random layout (nothing else may be raised).
EXPECTED_ERRORS = ("has no data inside the stack's extent", "No pixel has data in every layer", "does not overlap")


def _layer(path, crs, origin, pixel, shape, seed, nodata_mode, hole_fraction):
    """A random float32 layer: a smooth field plus noise, with a random set of nodata cells
    written as the tag value, NaN, or an untagged -9999 sentinel."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:shape[0], 0:shape[1]]
    values = (50 * np.sin(rows / 3.0 + seed) + 20 * np.cos(cols / 4.0) + rng.normal(0, 1, shape)).astype(np.float32)
    holes = rng.random(shape) < hole_fraction
    holes[0, 0] = False                                   # at least one data cell
    tag = None
    if nodata_mode == "tag":
        tag = -9999.0
        values[holes] = tag
    elif nodata_mode == "nan":
        values[holes] = np.nan
    elif nodata_mode == "untagged sentinel":
        values[holes] = -9999.0
    with rasterio.open(path, "w", driver="GTiff", width=shape[1], height=shape[0], count=1, dtype="float32",
                       crs="EPSG:{}".format(crs), transform=Affine(pixel, 0, origin[0], 0, -pixel, origin[1]),
                       nodata=tag) as dataset:
        dataset.write(values, 1)
    data = values[~holes] if nodata_mode != "none" else values
    return float(np.nanmin(data)), float(np.nanmax(data))


@st.composite
def layouts(draw):
    crs = draw(st.sampled_from(CRSS))
    layers = []
    for number in range(draw(st.integers(1, 3))):
        layer_crs = draw(st.sampled_from([crs, draw(st.sampled_from(CRSS))]))
        shape = (draw(st.integers(3, 24)), draw(st.integers(3, 24)))
        scale = draw(st.sampled_from([0.5, 1.0, 1.7]))
        layers.append(dict(crs=layer_crs, shape=shape, pixel=layer_crs[2] * scale, seed=number + draw(st.integers(0, 99)),
                           nodata_mode=draw(st.sampled_from(["tag", "nan", "untagged sentinel", "none"])),
                           hole_fraction=draw(st.sampled_from([0.0, 0.1, 0.5])),
                           categorical=draw(st.booleans())))
    pixel_size = draw(st.sampled_from([None, 0.7, 1.0, 2.3]))
    return crs, layers, pixel_size


def _reference(path, crs, shape=(20, 20)):
    epsg, origin, pixel = crs
    with rasterio.open(path, "w", driver="GTiff", width=shape[1], height=shape[0], count=1, dtype="float32",
                       crs="EPSG:{}".format(epsg), transform=Affine(pixel, 0, origin[0], 0, -pixel, origin[1])) as dataset:
        dataset.write(np.ones(shape, dtype=np.float32), 1)
    return Affine(pixel, 0, origin[0], 0, -pixel, origin[1]), shape


@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(layout=layouts())
def test_stacking_properties(tmp_path_factory, layout):
    crs, specs, pixel_factor = layout
    folder = tmp_path_factory.mktemp("props")
    transform, shape = _reference(folder / "reference.tif", crs)
    layers, ranges = [], []
    for index, spec in enumerate(specs):
        epsg, origin, _ = spec["crs"]
        # every layer's top-left corner is the reference's (in its own CRS): they overlap, more or less
        path = folder / "layer{}.tif".format(index)
        ranges.append(_layer(path, epsg, origin, spec["pixel"], spec["shape"], spec["seed"], spec["nodata_mode"],
                             spec["hole_fraction"]))
        layers.append(stack.EvidenceLayer(path, "factor{}".format(index), spec["categorical"]))
    pixel_size = None if pixel_factor is None else crs[2] * pixel_factor
    output = folder / "stack.tif"
    try:
        result = stack.build_stack(layers, output, reference=str(folder / "reference.tif"), pixel_size=pixel_size)
    except DeepProspectError as error:
        assert any(text in str(error) for text in EXPECTED_ERRORS), str(error)
        assert not output.exists()
        event("input error: " + next(text for text in EXPECTED_ERRORS if text in str(error)))
        return
    event("stacked")
    # the grid exactly as asked: the reference's CRS and corner, its pixel size or the one given
    step = transform.a if pixel_size is None else pixel_size
    width = shape[1] if pixel_size is None else max(1, math.ceil(shape[1] * transform.a / step - 1e-9))
    height = shape[0] if pixel_size is None else max(1, math.ceil(shape[0] * transform.a / step - 1e-9))
    with rasterio.open(output) as dataset:
        assert (dataset.width, dataset.height, dataset.count) == (width, height, len(layers))
        assert dataset.crs.to_epsg() == crs[0]
        assert dataset.transform.almost_equals(Affine(step, 0, transform.c, 0, -step, transform.f))
        assert dataset.nodata == STACK_NODATA
        data = dataset.read()
    assert np.isfinite(data).all()                                    # no NaN leaks into the stack
    invalid = (data == STACK_NODATA).any(axis=0)
    assert np.all(data[:, invalid] == STACK_NODATA)                  # invalid cells: nodata in every band
    assert result["valid_fraction_all"] == pytest.approx((~invalid).mean())
    for band, (low, high) in zip(data, ranges):
        values = band[~invalid].astype(np.float64)
        # bilinear and nearest both stay inside the layer's data: no sentinel blended into a valid cell
        assert values.size == 0 or (values.min() >= low - 1e-3 and values.max() <= high + 1e-3)
