"""Inverse-distance-weighted (IDW) interpolation of geochemical samples onto a regular grid.

Pradhan et al. (2022) turned each element of the 1 km soil-sample survey into a raster by IDW.
This module does the same for many fields at once, with the semantics of GDAL's
``gdal_grid -a invdistnn`` (power ``P``, at most ``K`` nearest samples, search radius ``R``):

    z(x) = Σ w_i z_i / Σ w_i,   w_i = 1 / d(x, x_i)^P,

over the ``K`` samples nearest to the cell centre ``x`` that lie within ``R`` of it
(``K = 0``: all samples, ``R = 0``: no radius). A cell with no sample within ``R`` is nodata;
a cell centre exactly on a sample takes that sample's value.

Grid convention: values at cell centres; ``columns = ceil(width / pixel_size)`` and likewise
rows, anchored at the extent's top-left corner.

Before anything is written: :mod:`core.idw_values` turns each field into numbers (empty cells,
text, below-detection entries and missing-value codes skipped and reported) and
:mod:`core.idw_coverage` refuses an EXTENT no sample reaches (warning when most cells are far).

Speed: :class:`core.idw_tiles.TiledIdw` evaluates windows of cells tile by tile; files are
written window by window through :func:`core.pipeline.map_windows`, so memory stays bounded for
any grid size.
"""
import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .errors import DeepProspectError
from .feedback import ensure_feedback
from .idw_coverage import check_coverage
from .idw_tiles import TiledIdw
from .idw_values import FLOAT32_MAX, numeric_column
from .points import read_points
from .raster import STACK_NODATA
from .wording import agree, counted

#: Cells per side of a window (a multiple of every tile size and of the GeoTIFF's 256 tiles; one
#: GeoTIFF tile per window keeps the tiles in the file in row-major order).
WINDOW_SIZE = 256


def grid_for_extent(extent, pixel_size):
    """The grid for ``extent`` = (xmin, ymin, xmax, ymax) in map units and ``pixel_size`` (map units).

    Returns ``(transform, width, height)``: an affine transform anchored at the extent's top-left
    corner, and ``ceil(extent size / pixel_size)`` columns and rows (at least 1 each).
    """
    from affine import Affine

    xmin, ymin, xmax, ymax = (float(value) for value in extent)
    pixel_size = float(pixel_size)
    if not (math.isfinite(pixel_size) and pixel_size > 0):
        raise DeepProspectError("PIXEL_SIZE must be a positive number of map units (got {}).".format(pixel_size))
    if not all(math.isfinite(value) for value in (xmin, ymin, xmax, ymax)) or xmax < xmin or ymax < ymin:
        raise DeepProspectError("The extent {} is not a valid rectangle (xmin, ymin, xmax, ymax).".format(extent))
    width = max(1, int(math.ceil((xmax - xmin) / pixel_size - 1e-9)))
    height = max(1, int(math.ceil((ymax - ymin) / pixel_size - 1e-9)))
    if width * height > 400_000_000:
        raise DeepProspectError(
            "A {} × {} grid ({:.0f} million cells) is too large; choose a larger PIXEL_SIZE or a smaller "
            "EXTENT.".format(width, height, width * height / 1e6))
    return Affine(pixel_size, 0.0, xmin, 0.0, -pixel_size, ymax), width, height


def idw_grid(xy, values, transform, width, height, power=2.0, neighbors=12, radius=0.0, feedback=None,
             nodata=STACK_NODATA):
    """Interpolate ``values`` (n, n_fields) at points ``xy`` (n, 2; map units) onto a grid held in memory.

    The grid is ``width`` × ``height`` cells of a north-up affine ``transform``; values are computed
    at cell centres. ``power`` P > 0; ``neighbors`` K ≥ 0 (0 = all samples); ``radius`` R ≥ 0 in
    map units (0 = unlimited). Samples at the same location are averaged first
    (:func:`merge_duplicates`). Returns float32 (n_fields, height, width) with ``nodata`` where no
    sample lies within R. Files go window by window through :func:`interpolate_points` instead.
    """
    feedback = ensure_feedback(feedback)
    evaluator = tiled_idw(xy, values, transform, power, neighbors, radius)
    feedback.check_canceled()
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        grid = evaluator.window(0, 0, int(height), int(width), pool, nodata)
    feedback.set_progress(100)
    return grid


def tiled_idw(xy, values, transform, power=2.0, neighbors=12, radius=0.0):
    """Check the samples and settings of :func:`idw_grid` and return their :class:`TiledIdw` evaluator.

    Raises :class:`DeepProspectError` for no samples, NaN or infinite coordinates or values,
    values a float32 raster cannot hold, a rotated grid, or bad POWER, NEIGHBORS or RADIUS.
    """
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    _check_parameters(power, neighbors, radius)
    if len(xy) == 0 or len(values) != len(xy):
        raise DeepProspectError("IDW needs at least one sample with a value (got {} points, {} values)."
                                .format(len(xy), len(values)))
    if transform.b != 0 or transform.d != 0 or transform.a <= 0 or transform.e >= 0:
        raise DeepProspectError("IDW needs a north-up grid (no rotation).")
    if not (np.isfinite(xy).all() and np.isfinite(values).all()):
        raise DeepProspectError("IDW got samples with missing (NaN) or infinite coordinates or values; "
                                "remove them or leave them empty so they are skipped.")
    if np.abs(values).max() > FLOAT32_MAX:
        raise DeepProspectError("IDW values beyond ±3.4e38 cannot be stored in a float32 raster; "
                                "convert the unit or interpolate log10 of the values.")
    xy, values, _ = merge_duplicates(xy, values)
    return TiledIdw(xy, values, transform, power, int(neighbors), float(radius))


def idw_at(xy, values, targets, power=2.0, neighbors=12, radius=0.0, exclude_self=False):
    """IDW estimates (float64, (m, n_fields)) at arbitrary ``targets`` (m, 2), NaN where no sample is in reach.

    The straightforward per-point form (k-d-tree, float64), used for cross-validation:
    with ``exclude_self`` the targets are the samples themselves and each is predicted from
    the others (leave-one-out).
    """
    from scipy.spatial import cKDTree

    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    targets = np.asarray(targets, dtype=np.float64).reshape(-1, 2)
    _check_parameters(power, neighbors, radius)
    n = len(xy) - (1 if exclude_self else 0)
    estimates = np.full((len(targets), values.shape[1]), np.nan)
    if n <= 0:
        return estimates
    k = min(int(neighbors) if neighbors else n, n) + (1 if exclude_self else 0)
    if k >= len(xy):
        return _idw_at_all(xy, values, targets, power, radius, exclude_self)
    tree = cKDTree(xy)
    bound = float(radius) if radius else np.inf
    padded = np.vstack([values, np.zeros((1, values.shape[1]))])
    chunk = max(1, 4_000_000 // k)
    for start in range(0, len(targets), chunk):
        stop = min(len(targets), start + chunk)
        distance, index = tree.query(targets[start:stop], k=k, distance_upper_bound=bound, workers=-1)
        distance, index = distance.reshape(stop - start, k), index.reshape(stop - start, k)
        if exclude_self:
            own = index == np.arange(start, stop)[:, None]
            distance = np.where(own, np.inf, distance)
            index = np.where(own, len(xy), index)
        usable = np.isfinite(distance) & (distance <= bound)
        with np.errstate(divide="ignore"):
            weight = np.where(usable, np.power(np.maximum(distance, 1e-300), -float(power)), 0.0)
        hit = usable & (distance == 0)
        weight[hit.any(axis=1)] = np.where(hit[hit.any(axis=1)], 1.0, 0.0)
        total = weight.sum(axis=1)
        ok = total > 0
        estimates[start:stop][ok] = np.einsum("nk,nkf->nf", weight[ok] / total[ok, None], padded[index[ok]])
    return estimates


def _idw_at_all(xy, values, targets, power, radius, exclude_self):
    """:func:`idw_at` when every sample counts: dense distances in chunks, no search."""
    estimates = np.full((len(targets), values.shape[1]), np.nan)
    chunk = max(1, 4_000_000 // len(xy))
    for start in range(0, len(targets), chunk):
        stop = min(len(targets), start + chunk)
        distance = np.hypot(targets[start:stop, None, 0] - xy[None, :, 0],
                            targets[start:stop, None, 1] - xy[None, :, 1])
        if exclude_self:
            distance[np.arange(stop - start), np.arange(start, stop)] = np.inf
        usable = np.isfinite(distance) & ((distance <= radius) if radius else True)
        with np.errstate(divide="ignore"):
            weight = np.where(usable, np.power(np.maximum(distance, 1e-300), -float(power)), 0.0)
        hit = usable & (distance == 0)
        rows = hit.any(axis=1)
        weight[rows] = np.where(hit[rows], 1.0, 0.0)
        total = weight.sum(axis=1)
        ok = total > 0
        estimates[start:stop][ok] = (weight[ok] / total[ok, None]) @ values
    return estimates


def merge_duplicates(xy, values):
    """Merge samples at identical locations into one whose values are their mean.

    ``xy`` (n, 2), ``values`` (n, n_fields). Returns ``(xy, values, merged_count)`` where
    ``merged_count`` is how many samples were folded into another one.
    """
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    values = np.asarray(values, dtype=np.float64).reshape(len(xy), -1)
    unique, inverse, counts = np.unique(xy, axis=0, return_inverse=True, return_counts=True)
    if len(unique) == len(xy):
        return xy, values, 0
    inverse = inverse.reshape(-1)
    sums = np.zeros((len(unique), values.shape[1]))
    # divide before summing so that huge values cannot overflow
    np.add.at(sums, inverse, values / counts[inverse, None])
    return unique, sums, len(xy) - len(unique)


def interpolate_points(points, fields, output, pixel_size, extent=None, power=2.0, neighbors=12, radius=0.0,
                       log10=False, layer=None, feedback=None, scheduler=None):
    """Interpolate numeric ``fields`` of a point file onto one multiband float32 GeoTIFF.

    ``points``: path of a vector file (``layer``: its layer name, for GeoPackages) in a projected
    CRS, read by :func:`core.points.read_points` (each part of a multipoint is a sample with the
    feature's values; other geometries count at their representative point); ``pixel_size``,
    ``radius`` in its map units; ``extent`` (xmin, ymin, xmax, ymax) or None for the layer's extent;
    ``log10`` interpolates log10 of the values (band names get ``_log10``). Writes ``output``
    atomically (one band per field, description = field name, nodata :data:`STACK_NODATA`) and
    returns a dict: ``path``, ``band_names``, ``cv_rmse`` (field →
    leave-one-out RMSE, in the interpolated units; None, with the reason in the log, when no sample
    can be predicted from the others), ``skipped`` (field → samples skipped),
    ``width``, ``height``, ``transform``, ``crs``.
    Before writing anything, :func:`core.idw_coverage.check_coverage` refuses an EXTENT no sample
    reaches and warns when most cells are far from every sample; a field named twice is an error.
    ``scheduler``: a Dask scheduler's address to compute the windows on its workers (the samples
    travel with the task; the file is the bytes a local run writes), None or empty to compute here.
    """
    feedback = ensure_feedback(feedback)
    fields = _checked_fields(fields)
    _check_parameters(power, neighbors, radius)
    frame, xy = read_points(points, None, layer, "INPUT", feedback, columns=fields)
    crs, attributes = frame.crs, {field: frame[field] for field in fields}
    if crs is None:
        feedback.warning("The point layer has no CRS; its coordinates are taken as map units.")
    elif crs.is_geographic:
        raise DeepProspectError(
            "The point layer is in a geographic CRS ({}): distances in degrees make IDW meaningless. "
            "Reproject it to a projected CRS in metres (e.g. the UTM zone of the area) first."
            .format(crs.to_string()))
    columns, skipped, names = [], {}, []
    for field in fields:
        column, skip = numeric_column(attributes[field], field, log10, feedback)
        columns.append(column)
        skipped[field] = skip
        names.append(field + "_log10" if log10 else field)
    if extent is None:
        finite = np.isfinite(xy).all(axis=1)
        if not finite.any():
            raise DeepProspectError("The point layer has no points with coordinates; nothing to interpolate.")
        extent = (*xy[finite].min(axis=0), *xy[finite].max(axis=0))
    transform, width, height = grid_for_extent(extent, pixel_size)
    feedback.info("Grid: {} columns × {} rows of {:g} map units, power {:g}, {} neighbours, radius {}.".format(
        width, height, float(pixel_size), float(power), int(neighbors) or "all",
        "{:g}".format(float(radius)) if radius else "unlimited"))
    return _interpolate_columns(xy, columns, names, fields, output, transform, width, height, power,
                                int(neighbors), float(radius), crs, skipped, feedback, scheduler or None)


# --------------------------------------------------------------------------------------------


def _checked_fields(fields):
    """FIELDS as a list of names; a clear error when it is empty or names a field twice."""
    fields = [str(field) for field in (fields if not isinstance(fields, str) else [fields])]
    if not fields:
        raise DeepProspectError("Choose at least one numeric field to interpolate (FIELDS).")
    repeated = [field for index, field in enumerate(fields) if field in fields[:index]]
    if repeated:
        raise DeepProspectError(
            "FIELDS names {} more than once; each field becomes one band named after it, so choose each field "
            "once.".format(", ".join(sorted(set(repeated)))))
    return fields


def _check_parameters(power, neighbors, radius):
    if not (math.isfinite(float(power)) and float(power) > 0):
        raise DeepProspectError("POWER must be a positive number (2 is usual; got {}).".format(power))
    if int(neighbors) < 0:
        raise DeepProspectError("NEIGHBORS must be 0 (all samples) or a positive count (got {}).".format(neighbors))
    if not (math.isfinite(float(radius)) and float(radius) >= 0):
        raise DeepProspectError("RADIUS must be 0 (unlimited) or a positive distance (got {}).".format(radius))


def _leave_one_out(points, values, power, neighbors, radius, label, feedback):
    """Leave-one-out RMSE per column of ``values`` (n, n_fields) at distinct ``points``: a list of
    floats in the values' units, or of None (JSON null) with the reason in the log when no sample can
    be predicted from the others."""
    if len(points) < 2:
        feedback.warning("{}: the leave-one-out RMSE (CV_RMSE) cannot be computed: it needs at least 2 samples at "
                         "different places, and there is {}.".format(label, len(points)))
        return [None] * values.shape[1]
    loo = idw_at(points, values, points, power, neighbors, radius, exclude_self=True)
    predicted = np.isfinite(loo).all(axis=1)
    if not predicted.any():
        feedback.warning("{}: the leave-one-out RMSE (CV_RMSE) cannot be computed: no sample has another sample "
                         "within RADIUS ({:g} map units).".format(label, radius))
        return [None] * values.shape[1]
    if not predicted.all():
        feedback.info("{}: the leave-one-out RMSE comes from {} of {} samples; the others have no other sample "
                      "within RADIUS.".format(label, int(predicted.sum()), len(points)))
    errors = [loo[predicted, column] - values[predicted, column] for column in range(values.shape[1])]
    return [float(np.sqrt(np.mean(error ** 2))) for error in errors]


def _interpolate_columns(xy, columns, names, fields, output, transform, width, height, power, neighbors, radius,
                         crs, skipped, feedback, scheduler=None):
    """Group fields that share the same usable samples, interpolate each group, write one GeoTIFF."""
    from .pipeline import Grid, RasterOutput, WindowTask, map_windows

    located = np.isfinite(xy).all(axis=1)
    masks = [np.isfinite(column) & located for column in columns]
    groups = {}
    for index, mask in enumerate(masks):
        groups.setdefault(mask.tobytes(), []).append(index)
    cv_rmse, evaluators = {}, []
    for members in groups.values():
        mask = masks[members[0]]
        label = ", ".join(fields[i] for i in members)
        points, values, merged = merge_duplicates(xy[mask], np.column_stack([columns[i][mask] for i in members]))
        if merged:
            feedback.info("{}: {} at already-sampled locations {} averaged with them.".format(
                label, counted(merged, "sample"), agree(merged, "was", "were")))
        check_coverage(points, transform, width, height, radius, label, feedback)
        errors = _leave_one_out(points, values, power, neighbors, radius, label, feedback)
        cv_rmse.update((fields[i], errors[column]) for column, i in enumerate(members))
        evaluators.append((members, tiled_idw(points, values, transform, power, neighbors, radius)))

    grid = Grid(width, height, crs.to_wkt() if crs is not None else None, transform)
    target = RasterOutput(output, count=len(columns), descriptions=tuple(names), options={"NUM_THREADS": "ALL_CPUS"})
    map_windows([], [target], WindowTask(idw_window, (evaluators, len(columns))), grid=grid, block_size=WINDOW_SIZE,
                tile_size=WINDOW_SIZE, feedback=feedback, scheduler=scheduler)
    for field, name in zip(fields, names):
        rmse = "not computed" if cv_rmse[field] is None else "{:.6g}".format(cv_rmse[field])
        feedback.info("{}: {} skipped; leave-one-out RMSE {}{}.".format(
            name, counted(skipped[field], "sample"), rmse, " (log10 units)" if name.endswith("_log10") else ""))
    return dict(path=str(output), band_names=names, cv_rmse=cv_rmse, skipped=skipped, width=width,
                height=height, transform=transform, crs=crs)


def idw_window(block, _, context, feedback):
    """The IDW values of one window: [float32 (fields, rows, cols)], for the one output (a
    ``core.pipeline.WindowTask`` function: here or on a Dask worker). ``context``: ([(field
    indexes, TiledIdw)], field count)."""
    from .pipeline_dask import process_pool

    evaluators, count = context
    pool = process_pool("idw", os.cpu_count() or 1)
    window = block.window
    bands = np.empty((count, window.height, window.width), dtype=np.float32)
    for members, evaluator in evaluators:
        bands[members] = evaluator.window(window.row_off, window.col_off, window.height, window.width, pool,
                                          STACK_NODATA)
    return [bands]
