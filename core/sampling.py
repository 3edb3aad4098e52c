"""Training points: the known deposits (label 1) plus randomly drawn non-deposits (label 0).

Pradhan et al. (2022) trained on 903 deposit and 500 randomly chosen non-deposit locations.
Non-deposits are drawn uniformly, without replacement, from the pixels of the evidence stack that

* are valid (data in every band),
* are not the pixel of a known deposit, and
* have their centre farther than ``min_distance`` from every deposit (an exclusion buffer);

each sits at its pixel's centre, so at most one falls on any pixel. The pixels are ranked in
row-major order and the ranks drawn with ``numpy.random.default_rng(seed)``: the same stack,
deposits and seed always give the same points, however the stack is read.
Every point carries the stack's factor values as attributes (the training table).
"""
import numpy as np

from .errors import DeepProspectError
from .feedback import ensure_feedback
from .points import write_geopackage
from .raster import read_stack_info, sample_stack, valid_pixels

#: Values read per strip of full-width rows (bounds memory for any stack size).
STRIP_VALUES = 8_000_000


def choose_non_deposits(stack, deposit_xy, count=None, min_distance=0.0, seed=1, feedback=None):
    """Draw non-deposit pixels of evidence stack ``stack`` (path) given deposits ``deposit_xy`` (n, 2; map units
    of the stack's CRS).

    ``count``: number of non-deposits (None or 0: as many as usable deposits); ``min_distance``:
    exclusion radius around every deposit (map units). Returns a dict: ``deposit_xy`` and
    ``deposit_values`` (usable deposits and their factor values, (m, 2) and (m, n_factors)),
    ``non_deposit_xy``, ``non_deposit_values``, ``factor_names``, ``dropped`` (deposits outside the
    stack or on nodata), ``available`` (pixels that could hold a non-deposit).
    Raises :class:`DeepProspectError` when fewer than ``count`` pixels are available.
    """
    from scipy.spatial import cKDTree

    feedback = ensure_feedback(feedback)
    info = read_stack_info(stack)
    min_distance = float(min_distance or 0.0)
    if not np.isfinite(min_distance) or min_distance < 0:
        raise DeepProspectError("MIN_DISTANCE must be 0 or a positive distance (got {}).".format(min_distance))
    xy = np.asarray(deposit_xy, dtype=np.float64).reshape(-1, 2)
    located = np.isfinite(xy).all(axis=1)
    values, usable, rows, cols = sample_stack(stack, np.where(located[:, None], xy, 0.0))
    usable &= located
    dropped = int(len(xy) - usable.sum())
    if dropped:
        feedback.warning("{} of {} deposits lie outside the evidence stack or on nodata pixels and were left out."
                         .format(dropped, len(xy)))
    if not usable.any():
        raise DeepProspectError(
            "None of the {} deposits lies on a valid pixel of the evidence stack. Check that the deposits and the "
            "stack cover the same area (and their CRSs).".format(len(xy)))
    count = int(count) if count else int(usable.sum())
    if count < 0:
        raise DeepProspectError("COUNT must be positive (got {}).".format(count))

    # pixels that may not hold a non-deposit: every deposit's own pixel, and the buffers
    inside = located & (rows >= 0) & (rows < info.height) & (cols >= 0) & (cols < info.width)
    deposit_pixels = np.unique(rows[inside] * info.width + cols[inside])
    tree = cKDTree(xy[located]) if min_distance > 0 and located.any() else None

    def strips():
        import rasterio
        from rasterio.windows import Window

        strip_rows = max(1, STRIP_VALUES // max(1, info.width * len(info.factor_names)))
        with rasterio.open(stack) as dataset:
            for row0 in range(0, info.height, strip_rows):
                feedback.check_canceled()
                height = min(strip_rows, info.height - row0)
                data = dataset.read(window=Window(0, row0, info.width, height))
                candidate = valid_pixels(data, info.nodata).reshape(-1)
                flat = np.flatnonzero(candidate) + row0 * info.width
                flat = flat[~np.isin(flat, deposit_pixels)]
                if tree is not None and len(flat):
                    centres = _centres(info, flat)
                    distance, _ = tree.query(centres, k=1, distance_upper_bound=min_distance * (1 + 1e-9) + 1e-9,
                                             workers=-1)
                    flat = flat[~(distance <= min_distance)]
                yield row0, height, data, flat
                feedback.set_progress(50.0 * (row0 + height) / info.height)

    available = sum(len(flat) for _, _, _, flat in strips())
    if count > available:
        raise DeepProspectError(
            "Only {} pixels are valid, off the deposits' pixels and outside the {:g}-unit buffers: at most {} "
            "non-deposits can be drawn, not {}. Lower COUNT to {} or less, or reduce MIN_DISTANCE."
            .format(available, min_distance, available, count, available))
    ranks = np.sort(np.random.default_rng(int(seed)).choice(available, size=count, replace=False))
    chosen_xy, chosen_values, seen = [], [], 0
    for row0, height, data, flat in strips():
        in_strip = ranks[(ranks >= seen) & (ranks < seen + len(flat))] - seen
        seen += len(flat)
        if len(in_strip):
            pixels = flat[in_strip]
            local = pixels - row0 * info.width
            chosen_xy.append(_centres(info, pixels))
            chosen_values.append(data[:, local // info.width, local % info.width].T.astype(np.float64))
    feedback.set_progress(100)
    n_factors = len(info.factor_names)
    return dict(
        deposit_xy=xy[usable], deposit_values=values[usable], factor_names=info.factor_names, crs=info.crs,
        non_deposit_xy=np.vstack(chosen_xy) if chosen_xy else np.empty((0, 2)),
        non_deposit_values=np.vstack(chosen_values) if chosen_values else np.empty((0, n_factors)),
        dropped=dropped, available=int(available))


def sample_training_points(stack, deposits, count=None, min_distance=0.0, seed=1, deposits_layer=None,
                           output=None, feedback=None):
    """Training points for evidence stack ``stack``: deposits from the point file ``deposits`` (label 1,
    transformed to the stack's CRS) plus ``count`` random non-deposits (label 0), see :func:`choose_non_deposits`.

    Returns a GeoDataFrame in the stack's CRS with an integer ``label`` column and one float column per
    factor (named like the stack's bands), deposits first; also written atomically to ``output``
    (GeoPackage or any OGR format by extension) when given.
    """
    import geopandas as gpd

    feedback = ensure_feedback(feedback)
    info = read_stack_info(stack)
    frame = gpd.read_file(deposits, layer=deposits_layer) if deposits_layer else gpd.read_file(deposits)
    frame = frame[~(frame.geometry.isna() | frame.geometry.is_empty)].explode(index_parts=False)
    if not len(frame):
        raise DeepProspectError("The deposit layer has no points; add the known deposits or occurrences.")
    if not (frame.geom_type == "Point").all():
        raise DeepProspectError("DEPOSITS must be a point layer (found {}).".format(", ".join(sorted(set(frame.geom_type)))))
    if frame.crs is None:
        feedback.warning("The deposit layer has no CRS; its coordinates are taken to be in the stack's CRS.")
    elif info.crs is not None and frame.crs != info.crs:
        feedback.info("Deposits transformed from {} to the stack's CRS {}.".format(frame.crs.to_string(), info.crs.to_string()))
        frame = frame.to_crs(info.crs)
    xy = np.column_stack([frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy()])
    chosen = choose_non_deposits(stack, xy, count, min_distance, seed, feedback)
    table = training_table(chosen)
    feedback.info("{} deposits and {} non-deposits; {} pixels were available for non-deposits."
                  .format(int((table["label"] == 1).sum()), int((table["label"] == 0).sum()), chosen["available"]))
    if output:
        write_points(table, output)
    return table


def training_table(chosen):
    """GeoDataFrame of the result of :func:`choose_non_deposits`: ``label`` then one column per factor."""
    import geopandas as gpd
    import pandas as pd

    xy = np.vstack([chosen["deposit_xy"], chosen["non_deposit_xy"]])
    values = np.vstack([chosen["deposit_values"], chosen["non_deposit_values"]])
    labels = np.r_[np.ones(len(chosen["deposit_xy"]), np.int32), np.zeros(len(chosen["non_deposit_xy"]), np.int32)]
    columns = pd.DataFrame(values, columns=chosen["factor_names"])
    columns.insert(0, "label", labels)
    return gpd.GeoDataFrame(columns, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=chosen["crs"])


def write_points(frame, output):
    """Write a GeoDataFrame to ``output`` (.gpkg or .geojson) atomically."""
    from pathlib import Path

    from .atomic import atomic_output

    drivers = {".gpkg": "GPKG", ".geojson": "GeoJSON"}
    driver = drivers.get(Path(output).suffix.lower())
    if driver is None:
        raise DeepProspectError("Write the training points as a GeoPackage (.gpkg) or GeoJSON (.geojson) file, not {}."
                                .format(Path(output).name))
    with atomic_output(output) as temporary:
        if driver == "GPKG":
            write_geopackage(frame, temporary, _layer_name(output))
        else:
            frame.to_file(temporary, driver=driver)
    return str(output)


def _layer_name(output):
    import re
    from pathlib import Path

    return re.sub(r"[^A-Za-z0-9_]", "_", Path(output).stem) or "training_points"


def _centres(info, flat):
    rows, cols = np.divmod(flat, info.width)
    xs, ys = info.transform @ (cols + 0.5, rows + 0.5)
    return np.column_stack([xs, ys])
