"""Stack evidence layers onto one grid: the evidence stack (its contract: :mod:`core.raster`).

Every band of every input raster is reprojected and resampled by GDAL's warper onto the target
grid (the reference raster's CRS, pixel grid and extent, optionally at another pixel size):
bilinear for continuous layers, nearest neighbour for categorical ones (classes are never
blended). The work goes window by window through warped VRTs, so memory stays far below the
size of the stack itself.

A pixel is valid only where every band has data and, when a study-area mask is given, its
centre lies inside the mask; everywhere else every band holds :data:`STACK_NODATA`, so all
later steps (sampling, training, prediction) agree on the same valid area.

A layer's nodata follows :mod:`core.raster_input`'s rule: the layer's ``nodata`` override
(``NODATA_VALUES``), else its nodata tag, else a detected sentinel (with a warning). A layer not
marked categorical that holds only a few integer codes gets a warning (bilinear resampling would
blend its codes). A damaged or incomplete layer is a clear error naming it.
"""
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DeepProspectError
from .factor_kinds import KIND_TAG
from .feedback import ensure_feedback
from .raster import STACK_NODATA, bounded_gdal_cache
from .raster_input import class_codes, open_raster, raster_nodata, reading

#: Pixels per side of a processing window (a multiple of the output's 256-pixel tiles).
BLOCK_SIZE = 512
#: GDAL's block cache while stacking (MB). GDAL's default (5 % of RAM) would otherwise fill with
#: source and output blocks, and memory would grow with the size of the stack.
GDAL_CACHE_MB = 32
#: What a sentinel warning suggests while stacking.
NODATA_FIX = ("If it is real data, give this layer's NODATA_VALUES entry as none; to use another value, "
              "give that number there.")


@dataclass
class EvidenceLayer:
    """One input raster: its file, the name used for a single unnamed band, whether it holds
    classes, its ``nodata`` override: None (its tag, else a detected sentinel), a number, or
    "none" (every finite value is data), and for a categorical layer optionally the names of its
    classes ``{code: name}`` (else the raster's own category names, ``core.factor_kinds``)."""

    path: str
    name: str = ""
    categorical: bool = False
    nodata: object = None
    categories: dict = None

    def __post_init__(self):
        self.path = str(self.path)
        if not self.name:
            self.name = Path(self.path).stem
        self.nodata = _nodata_override(self.nodata, self.name)


def evidence_layers(specs):
    """:class:`EvidenceLayer` objects from the stack task's ``layers`` (dicts with ``path`` and
    optionally ``name``, ``categorical``, ``nodata``, ``categories`` {code: name})."""
    return [EvidenceLayer(spec["path"], spec.get("name") or "", bool(spec.get("categorical")), spec.get("nodata"),
                          spec.get("categories"))
            for spec in specs]


def _nodata_override(value, name):
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "auto")):
        return None
    if isinstance(value, str) and value.strip().lower() == "none":
        return "none"
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not math.isfinite(number):
        raise DeepProspectError("NODATA_VALUES: '{}' for layer '{}' is not a number; give a number (e.g. -9999), "
                                "none (no nodata value) or leave it empty (the layer's own).".format(value, name))
    return number


@dataclass
class TargetGrid:
    """The grid every band is warped onto."""

    crs: object
    transform: object
    width: int
    height: int

    @property
    def bounds(self):
        left, top = self.transform.c, self.transform.f
        return left, top + self.height * self.transform.e, left + self.width * self.transform.a, top


def band_names(layers):
    """Factor names of all bands of ``layers`` (list of :class:`EvidenceLayer`), in order.

    A multiband raster contributes each band under its description (``<layer>_<band>`` when it has
    none); a single-band raster is named by its description if it has one, else by the layer name.
    Raises :class:`DeepProspectError` naming both layers when two bands would get the same name.
    """
    names, owners = [], {}
    for layer in layers:
        with _open(layer.path) as dataset:
            descriptions = dataset.descriptions
        for band, description in enumerate(descriptions, start=1):
            if description:
                name = description.strip()
            else:
                name = layer.name if len(descriptions) == 1 else "{}_{}".format(layer.name, band)
            if name in owners:
                raise DeepProspectError(
                    "Two bands would both be called '{}': one from layer '{}' and one from layer '{}'. A factor "
                    "name must be unique: rename one of the layers (or its band description), or leave one out."
                    .format(name, owners[name], layer.name))
            owners[name] = layer.name
            names.append(name)
    return names


def target_grid(reference, pixel_size=None):
    """The :class:`TargetGrid` of raster ``reference``; with ``pixel_size`` (its map units) the same
    extent and CRS cut into ``ceil(extent / pixel_size)`` columns and rows from its top-left corner."""
    from affine import Affine

    with _open(reference) as dataset:
        if dataset.crs is None:
            raise DeepProspectError("The reference raster {} has no CRS; assign one (Raster ▸ Projections ▸ "
                                    "Assign projection) first.".format(reference))
        transform = dataset.transform
        if transform.b != 0 or transform.d != 0:
            raise DeepProspectError("The reference raster {} is rotated; warp it to a north-up grid first."
                                    .format(reference))
        grid = TargetGrid(dataset.crs, transform, dataset.width, dataset.height)
    if pixel_size:
        pixel_size = float(pixel_size)
        if not (math.isfinite(pixel_size) and pixel_size > 0):
            raise DeepProspectError("PIXEL_SIZE must be a positive number of map units (got {}).".format(pixel_size))
        left, bottom, right, top = grid.bounds
        width = max(1, int(math.ceil((right - left) / pixel_size - 1e-9)))
        height = max(1, int(math.ceil((top - bottom) / pixel_size - 1e-9)))
        grid = TargetGrid(grid.crs, Affine(pixel_size, 0.0, left, 0.0, -pixel_size, top), width, height)
    return grid


def build_stack(layers, output, reference=None, pixel_size=None, mask=None, mask_layer=None, feedback=None,
                block_size=BLOCK_SIZE):
    """Warp all bands of ``layers`` onto one grid and write the evidence stack ``output``.

    ``layers``: list of :class:`EvidenceLayer` (or paths); ``reference``: raster defining CRS, grid
    and extent (default: the first layer); ``pixel_size``: optional cell size in the reference's map
    units; ``mask``/``mask_layer``: optional polygon file (and layer name) of the study area.
    Writes a float32, tiled, deflate GeoTIFF atomically, one band per factor (description = factor
    name, tags: categorical or continuous and category names, ``core.factor_kinds``), nodata
    :data:`STACK_NODATA` wherever any band lacks data or the pixel is outside the mask.
    Returns a dict: ``path``, ``factor_names``, ``factor_kinds`` ("categorical" or "continuous"
    per band), ``valid_fraction`` (factor → fraction of the grid
    where that band has data), ``valid_fraction_all`` (fraction valid in every band and the mask),
    ``width``, ``height``, ``crs``, ``transform``.
    """
    feedback = ensure_feedback(feedback)
    layers = [layer if isinstance(layer, EvidenceLayer) else EvidenceLayer(layer) for layer in layers]
    if not layers:
        raise DeepProspectError("Choose at least one evidence layer to stack (LAYERS).")
    names = band_names(layers)
    grid = target_grid(reference or layers[0].path, pixel_size)
    feedback.info("Target grid: {} columns × {} rows of {:g} map units in {}.".format(
        grid.width, grid.height, grid.transform.a, grid.crs.to_string()))
    if grid.crs.is_geographic:
        feedback.warning("The stack's grid is in degrees ({}): distances (e.g. MIN_DISTANCE when sampling) would be "
                         "in degrees too. Choose a REFERENCE in a projected CRS (metres) unless that is intended."
                         .format(grid.crs.to_string()))
    for layer in layers:
        _check_overlap(layer, grid)
    nodata = [_layer_nodata(layer, feedback) for layer in layers]
    study_area = _mask_geometries(mask, mask_layer, grid) if mask else None
    with bounded_gdal_cache(GDAL_CACHE_MB):
        return _write_stack(layers, nodata, names, grid, output, study_area, feedback, block_size)


def _write_stack(layers, nodata, names, grid, output, study_area, feedback, block_size):
    """Warp every layer window by window onto ``grid`` (through :func:`core.pipeline.map_windows`),
    blank invalid pixels, and write the stack; the coverage check runs before the file is in place."""
    from .atomic import atomic_output
    from .pipeline import RasterOutput, map_windows

    valid_counts = np.zeros(len(names), dtype=np.int64)
    all_valid = 0

    def blank_invalid(block, data):
        nonlocal all_valid
        has_data = np.isfinite(data)
        valid_counts[:] += has_data.reshape(len(names), -1).sum(axis=1)
        valid = has_data.all(axis=0)
        if study_area is not None:
            valid &= _inside(study_area, grid, block.window)
        all_valid += int(valid.sum())
        data[:, ~valid] = STACK_NODATA
        return [data]

    sources = []
    try:
        band_owner, tags = [], []
        for layer in layers:
            sources.append(_open(layer.path))
            band_owner.extend([layer.name] * sources[-1].count)
            tags.extend(_band_tags(layer, sources[-1].count))
        with atomic_output(output) as temporary:
            stack = RasterOutput(temporary, count=len(names), descriptions=tuple(names), band_tags=tuple(tags))
            map_windows([], [stack], blank_invalid,
                        grid=grid, block_size=block_size, tile_size=256, feedback=feedback,
                        read=_warped_reader(sources, layers, nodata, grid), atomic=False)
            _check_coverage(names, band_owner, valid_counts, all_valid, study_area is not None)
    finally:
        for source in sources:
            source.close()
    total = float(grid.width * grid.height)
    fractions = {name: float(count) / total for name, count in zip(names, valid_counts)}
    for name, fraction in fractions.items():
        feedback.info("{}: data on {:.1%} of the grid.".format(name, fraction))
    feedback.info("Valid in every band{}: {:.1%} of the grid.".format(
        " and inside the mask" if study_area is not None else "", all_valid / total))
    kinds = [tag[KIND_TAG] for tag in tags]
    return dict(path=str(output), factor_names=names, factor_kinds=kinds, valid_fraction=fractions,
                valid_fraction_all=all_valid / total,
                width=grid.width, height=grid.height, crs=grid.crs, transform=grid.transform)


# --------------------------------------------------------------------------------------------


def _warped_reader(sources, layers, nodata, grid):
    """read(block) → float32 (bands, rows, cols) of every layer warped onto ``grid`` for the block's
    window, NaN where a layer has no data (``nodata``: one value per layer, NaN: none)."""
    from rasterio.enums import Resampling
    from rasterio.vrt import WarpedVRT

    def warped(source, layer, value, window):
        # One warped VRT per layer and window, closed at once: GDAL's warper keeps buffers per open
        # VRT, so keeping all sixteen open would cost memory in proportion to the layers' sizes.
        with WarpedVRT(source, crs=grid.crs, transform=grid.transform, width=grid.width, height=grid.height,
                       resampling=Resampling.nearest if layer.categorical else Resampling.bilinear,
                       src_nodata=_source_nodata(source, value), nodata=np.nan, dtype="float32",
                       tolerance=1e-6) as vrt, reading(layer.path):   # tolerance: as gdalwarp -et 0
            return vrt.read(window=window)

    def read(block):
        return np.concatenate([warped(source, layer, value, block.window)
                               for source, layer, value in zip(sources, layers, nodata)])

    return read


def _band_tags(layer, band_count):
    """The stack's tags of ``layer``'s bands: categorical or continuous, and category names."""
    from .factor_encoding import CATEGORICAL, CONTINUOUS
    from .factor_kinds import band_tags, layer_categories

    if not layer.categorical:
        return [band_tags(CONTINUOUS)] * band_count
    return [band_tags(CATEGORICAL, names) for names in layer_categories(layer.path, band_count, layer.categories)]


def _source_nodata(source, value):
    """GDAL's source nodata for a layer read with ``value`` (NaN: none). A tagged layer taken
    without nodata gets NaN, which matches no value: GDAL would otherwise mask its tag anyway."""
    if not math.isnan(value):
        return value
    return None if source.nodata is None else np.nan


def _layer_nodata(layer, feedback):
    """The nodata value (NaN: none) ``layer`` is warped with, by :mod:`core.raster_input`'s rule
    (warnings for a detected sentinel and, unless categorical, for codes that look like classes)."""
    with _open(layer.path) as dataset:
        values = raster_nodata(dataset, layer.path, feedback, layer.name, layer.nodata, NODATA_FIX)
        codes = None if layer.categorical else class_codes(dataset, layer.path, values)
    if codes is not None:
        feedback.warning(
            "Layer '{}' looks categorical: it holds only {} distinct whole numbers ({}) but is not listed in "
            "CATEGORICAL, so it is resampled bilinearly and its codes are blended into values that are no class. "
            "If it holds classes, list it in CATEGORICAL; if it is a measured quantity, ignore this warning."
            .format(layer.name, len(codes), _list_codes(codes)))
    # GDAL's warper takes one source nodata per layer: the first band's that has one
    return next((value for value in values if not math.isnan(value)), float("nan"))


def _list_codes(codes):
    shown = ", ".join("{:g}".format(code) for code in codes[:10])
    return shown + (", …" if len(codes) > 10 else "")


def _open(path):
    return open_raster(path)


def _check_overlap(layer, grid):
    from rasterio.warp import transform_bounds

    with _open(layer.path) as dataset:
        if dataset.crs is None:
            raise DeepProspectError("Layer '{}' has no CRS, so it cannot be placed on the grid; assign its CRS "
                                    "first (Raster ▸ Projections ▸ Assign projection).".format(layer.name))
        try:
            left, bottom, right, top = transform_bounds(dataset.crs, grid.crs, *dataset.bounds, densify_pts=21)
        except Exception as error:
            raise DeepProspectError("Layer '{}' cannot be transformed to the stack's CRS: {}".format(layer.name, error))
    g_left, g_bottom, g_right, g_top = grid.bounds
    finite = all(math.isfinite(v) for v in (left, bottom, right, top))
    if not finite or left >= g_right or right <= g_left or bottom >= g_top or top <= g_bottom:
        raise DeepProspectError(
            "Layer '{}' does not overlap the stack's extent ({:.6g}, {:.6g}, {:.6g}, {:.6g}); check its CRS and "
            "location, or choose another REFERENCE.".format(layer.name, g_left, g_bottom, g_right, g_top))


def _check_coverage(names, owners, valid_counts, all_valid, masked):
    empty = [(name, owner) for name, owner, count in zip(names, owners, valid_counts) if count == 0]
    if empty:
        raise DeepProspectError(
            "Layer '{}' (band '{}') has no data inside the stack's extent: it overlaps only with nodata. "
            "Check the layer, or leave it out.".format(empty[0][1], empty[0][0]))
    if all_valid == 0:
        raise DeepProspectError(
            "No pixel has data in every layer{}: the layers' data areas do not overlap. Check their extents{}."
            .format(" inside the mask" if masked else "", " and the MASK" if masked else ""))


def _mask_geometries(path, layer, grid):
    from .points import read_polygons

    frame = read_polygons(path, layer, "MASK")
    if frame.crs is not None:
        frame = frame.to_crs(grid.crs)
    geometries = [geometry for geometry in frame.geometry if geometry is not None]
    left, bottom, right, top = grid.bounds
    if not any(g.intersects(_box(left, bottom, right, top)) for g in geometries):
        raise DeepProspectError(
            "The MASK polygons do not overlap the stack's extent; check the mask's CRS and location.")
    return geometries


def _box(left, bottom, right, top):
    from shapely.geometry import box

    return box(left, bottom, right, top)


def _inside(geometries, grid, window):
    """Boolean (rows, cols): pixel centres of ``window`` inside the study-area polygons."""
    from rasterio.features import geometry_mask
    from rasterio.windows import transform as window_transform

    return geometry_mask(geometries, out_shape=(int(window.height), int(window.width)),
                         transform=window_transform(window, grid.transform), invert=True)
