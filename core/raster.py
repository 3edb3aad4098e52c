"""The evidence-stack contract and GeoTIFF writing shared by all steps.

An evidence stack is a float32 GeoTIFF, tiled and compressed, one band per factor, the band
description being the factor name. Every band has the same nodata value
(:data:`STACK_NODATA`); a pixel is valid only where every band is valid (not nodata, finite).

Which value is nodata follows one rule for every reader (stack, prediction, SHAP, sampling,
the inspector, spectral maps), in :mod:`core.raster_input`: a user's override, else the file's
nodata tag, else a detected sentinel (a classic -9999/-99999/-32768/±3.4e38, another value far
outside a band's data covering at least 1 % of its cells, or 0 padding the raster's border),
taken as nodata with a warning naming the layer, the value and the cell count. NaN is always
nodata. Rasters are opened there too: without writing ``.aux.xml`` beside them, and a damaged or
incomplete file is a clear error naming it.
"""
from dataclasses import dataclass

import numpy as np

from .atomic import atomic_output
from .errors import DeepProspectError

STACK_NODATA = -9999.0
GEOTIFF_OPTIONS = dict(driver="GTiff", tiled=True, blockxsize=256, blockysize=256, compress="deflate",
                       predictor=3, BIGTIFF="IF_SAFER")


@dataclass
class StackInfo:
    """What later steps need to know about an evidence stack."""

    path: str
    factor_names: list
    crs: object          # rasterio CRS
    transform: object    # affine.Affine
    width: int
    height: int
    nodata: float
    #: nodata value per band (NaN: none), by the rule of :mod:`core.raster_input`
    band_nodata: tuple = ()
    #: per band "categorical" or "continuous" (``core.factor_kinds``; all continuous when untagged)
    factor_kinds: tuple = ()
    #: per band {code label: category name} (empty without names)
    categories: tuple = ()
    #: whether the stack records its bands' kinds (False: written before categorical tags existed)
    kinds_tagged: bool = True

    @property
    def pixel_size(self):
        return abs(self.transform.a)

    @property
    def bounds(self):
        left, top = self.transform.c, self.transform.f
        return left, top - self.height * abs(self.transform.e), left + self.width * self.transform.a, top


def read_stack_info(path, feedback=None):
    """Open an evidence stack and check it is usable; returns :class:`StackInfo`.

    Raises :class:`DeepProspectError` if the file is missing, damaged or incomplete, a band has
    no description (factor name), or names repeat. Nodata follows :mod:`core.raster_input`'s rule
    (a stack without nodata tag has its sentinel detected; ``feedback`` gets the warning);
    ``nodata`` is the first band's value with one (NaN when no band has one). Which bands are
    categorical, and their category names, come from the band tags (``core.factor_kinds``).
    """
    from .factor_kinds import read_band_kinds
    from .raster_input import open_raster, raster_nodata

    with open_raster(path, "evidence stack") as dataset:
        names = list(dataset.descriptions)
        if any(not name for name in names):
            raise DeepProspectError(
                "The evidence stack {} has bands without a factor name (band description). "
                "Build it with deepprospect:stack, which names every band.".format(path))
        duplicated = sorted({name for name in names if names.count(name) > 1})
        if duplicated:
            raise DeepProspectError(
                "The evidence stack {} repeats factor names: {}.".format(path, ", ".join(duplicated)))
        band_nodata = raster_nodata(dataset, path, feedback)
        nodata = next((value for value in band_nodata if not np.isnan(value)), float("nan"))
        kinds, categories, tagged = read_band_kinds(dataset)
        return StackInfo(str(path), names, dataset.crs, dataset.transform, dataset.width, dataset.height,
                         float(nodata), band_nodata, tuple(kinds), tuple(categories), tagged)


def valid_pixels(block, nodata):
    """Boolean mask (rows, cols) of pixels valid in every band of ``block`` (bands, rows, cols).

    ``nodata``: one value for every band, or a sequence with one per band (NaN: none)."""
    valid = np.all(np.isfinite(block), axis=0)
    if np.ndim(nodata) == 0:
        if not np.isnan(nodata):
            valid &= np.all(block != nodata, axis=0)
        return valid
    for band, value in zip(block, nodata):
        if not np.isnan(value):
            valid &= band != value
    return valid


def points_to_pixels(info, xy):
    """Row and column indices (integer arrays) of map coordinates ``xy`` (n, 2) in the stack's grid.

    Points outside the raster get indices outside ``[0, height) × [0, width)``.
    """
    inverse = ~info.transform
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    cols, rows = inverse @ (xy[:, 0], xy[:, 1])
    return np.floor(rows).astype(np.int64), np.floor(cols).astype(np.int64)


def pixel_centres(info, rows, cols):
    """Map coordinates (n, 2) of the centres of pixels ``rows``, ``cols``."""
    xs, ys = info.transform @ (np.asarray(cols) + 0.5, np.asarray(rows) + 0.5)
    return np.column_stack([xs, ys])


def sample_stack(path, xy):
    """Factor values at points ``xy`` (n, 2; map units of the stack's CRS).

    Returns ``(values, inside_valid, rows, cols)``: ``values`` float64 (n, n_factors) with NaN
    where a point is outside the raster or on nodata; ``inside_valid`` bool (n,).
    Reads only the pixels around the points (:func:`core.pipeline.read_neighbourhoods`), so it is
    cheap on large stacks.
    """
    from .pipeline import read_neighbourhoods

    info = read_stack_info(path)
    rows, cols = points_to_pixels(info, xy)
    values = np.full((len(rows), len(info.factor_names)), np.nan)
    inside_valid = np.zeros(len(rows), dtype=bool)
    for found in read_neighbourhoods(path, rows, cols):
        ok = found.valid[found.rows, found.cols]   # the nodata rule of core.raster_input
        values[found.indexes[ok]] = found.data[:, found.rows[ok], found.cols[ok]].T.astype(np.float64)
        inside_valid[found.indexes[ok]] = True
    return values, inside_valid, rows, cols


def write_geotiff(path, bands, transform, crs, descriptions, nodata=STACK_NODATA, dtype="float32"):
    """Write ``bands`` (n_bands, rows, cols) as a tiled, compressed GeoTIFF, atomically.

    ``descriptions`` names each band (factor names for stacks). Returns ``path``.
    """
    import rasterio

    bands = np.asarray(bands)
    if bands.ndim == 2:
        bands = bands[None]
    options = dict(GEOTIFF_OPTIONS)
    if np.dtype(dtype).kind != "f":
        options["predictor"] = 2
    with atomic_output(path) as temporary:
        with rasterio.open(temporary, "w", width=bands.shape[2], height=bands.shape[1], count=bands.shape[0],
                           dtype=dtype, crs=crs, transform=transform, nodata=nodata, **options) as dataset:
            dataset.write(bands.astype(dtype))
            for index, description in enumerate(descriptions, start=1):
                dataset.set_band_description(index, str(description))
    return str(path)


def check_factor_names(expected, found, what="model"):
    """Raise a clear error unless ``found`` (the stack's band names) equals ``expected`` in order."""
    expected, found = list(expected), list(found)
    if expected == found:
        return
    missing = [name for name in expected if name not in found]
    extra = [name for name in found if name not in expected]
    parts = []
    if missing:
        parts.append("missing from the stack: " + ", ".join(missing))
    if extra:
        parts.append("not known to the {}: {}".format(what, ", ".join(extra)))
    if not parts:
        parts.append("same factors in another order (the {} expects {})".format(what, ", ".join(expected)))
    raise DeepProspectError(
        "The evidence stack's factors do not match the {}'s: {}. Use the stack the {} was trained on, "
        "or rebuild the stack with the same layers in the same order.".format(what, "; ".join(parts), what))


def bounded_gdal_cache(megabytes):
    """A ``rasterio.Env`` that lowers GDAL's block cache to ``megabytes`` (never raises it) and
    restores it on exit, with GDAL's side-car files (PAM, ``.aux.xml``) off.

    GDAL's default cache is 5 % of RAM; window-by-window steps would otherwise fill it and their
    peak memory would grow with the raster instead of staying bounded by the window. rasterio sets
    the cache through ``GDALSetCacheMax64``, so the value is in bytes (a bare 64 would be 64 bytes).
    """
    import rasterio
    from rasterio.env import get_gdal_config

    limit = int(megabytes) * 2 ** 20
    current = get_gdal_config("GDAL_CACHEMAX")
    if isinstance(current, int) and 0 < current < limit:
        limit = current
    # PAM off: nothing read inside (warped VRTs included) writes .aux.xml beside the user's files
    return rasterio.Env(GDAL_CACHEMAX=limit, GDAL_PAM_ENABLED="NO")
