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
Deposits on one pixel count once: the first is kept and a log line says how many were merged. That line,
and the one about deposits off the stack or on nodata, is a warning when it concerns more than a tenth of
the deposits (``core.feedback.LARGE_SHARE``), otherwise information.
"""
import numpy as np

from .errors import DeepProspectError
from .feedback import ensure_feedback, report_share
from .pipeline import map_windows
from .points import read_points, write_geopackage
from .raster import read_stack_info, sample_stack
from .wording import agree, counted

#: Values (pixels × bands) read per window (bounds memory for any stack size).
WINDOW_VALUES = 8_000_000


def choose_non_deposits(stack, deposit_xy, count=None, min_distance=0.0, seed=1, feedback=None):
    """Draw non-deposit pixels of evidence stack ``stack`` (path) given deposits ``deposit_xy`` (n, 2; map units
    of the stack's CRS).

    ``count``: number of non-deposits (None or 0: as many as usable deposits); ``min_distance``:
    exclusion radius around every deposit (map units). Returns a dict: ``deposit_xy`` and
    ``deposit_values`` (usable deposits and their factor values, (m, 2) and (m, n_factors)),
    ``non_deposit_xy``, ``non_deposit_values``, ``factor_names``, ``dropped`` (deposits outside the
    stack or on nodata), ``merged`` (deposits on a cell that already holds one: one per cell is kept,
    and the count logged), ``available`` (pixels that could hold a non-deposit).
    Raises :class:`DeepProspectError` when fewer than ``count`` pixels are available.
    """
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
        report_share(feedback, dropped, len(xy), "{} of {} {} {} outside the evidence stack or on nodata pixels and {} "
                     "left out.".format(dropped, len(xy), agree(len(xy), "deposit"), agree(dropped, "lies", "lie"),
                                        agree(dropped, "was", "were")))
    if not usable.any():
        raise DeepProspectError(
            "None of the {} lies on a valid pixel of the evidence stack. Check that the deposits and the "
            "stack cover the same area (and their CRSs).".format(counted(len(xy), "deposit")))
    usable, merged = one_per_cell(usable, rows * info.width + cols, "deposit", feedback)
    count = int(count) if count else int(usable.sum())
    if count < 0:
        raise DeepProspectError("COUNT must be positive (got {}).".format(count))
    candidates = _Candidates(info, xy, located, rows, cols, min_distance)
    available = candidates.count(feedback.scaled(0.0, 50.0))
    if count > available:
        raise DeepProspectError(
            "Only {} {} valid, off the deposits' pixels and outside the {:g}-unit buffers: at most {} can be "
            "drawn, not {}. Lower COUNT to {} or less, or reduce MIN_DISTANCE.".format(
                counted(available, "pixel"), agree(available, "is", "are"), min_distance,
                counted(available, "non-deposit"), count, available))
    ranks = np.sort(np.random.default_rng(int(seed)).choice(available, size=count, replace=False))
    chosen_xy, chosen_values = candidates.pick(ranks, feedback.scaled(50.0, 100.0))
    feedback.set_progress(100)
    return dict(
        deposit_xy=xy[usable], deposit_values=values[usable], factor_names=info.factor_names, crs=info.crs,
        non_deposit_xy=chosen_xy, non_deposit_values=chosen_values, dropped=dropped, merged=merged,
        available=int(available))


def one_per_cell(keep, cells, what, feedback):
    """Keep the first of the points ``keep`` (bool (n,)) on each stack cell ``cells`` (int (n,), row-major
    index) and say how many were merged, so a cell is never counted twice: a warning when more than
    a tenth of the points were merged (``core.feedback.report_share``; the demo's 444 m cells merge
    about 8 % of its deposits), otherwise an information line.

    ``what`` names one point in the message (e.g. "deposit"; an "s" makes the plural). Returns the new
    mask and the number of points merged into another one on their cell.
    """
    chosen = np.flatnonzero(keep)
    unique, first, counts = np.unique(cells[chosen], return_index=True, return_counts=True)
    merged = int(len(chosen) - len(unique))
    if merged:
        crowded = int((counts > 1).sum())
        report_share(feedback, merged, len(chosen), "{} {} on a stack cell that already holds {} and {} merged into "
                     "it: one point per cell is kept ({} held more than one).".format(
                         counted(merged, what), agree(merged, "lies", "lie"),
                         agree(merged, "another", "another of them"), agree(merged, "was", "were"),
                         counted(crowded, "cell")))
    kept = np.zeros_like(keep)
    kept[chosen[first]] = True
    return kept, merged


class _Candidates:
    """The pixels that may hold a non-deposit, ranked in row-major order over the whole stack.

    Valid pixels, off every deposit's pixel and farther than ``min_distance`` from every deposit.
    The stack is read window by window (:func:`core.pipeline.map_windows`); :meth:`count` records
    how many candidates each row of each window column holds, which gives every candidate its
    global row-major rank however the windows cut the stack.
    """

    def __init__(self, info, xy, located, rows, cols, min_distance):
        from scipy.spatial import cKDTree

        self.info, self.min_distance = info, min_distance
        inside = located & (rows >= 0) & (rows < info.height) & (cols >= 0) & (cols < info.width)
        self.deposit_pixels = np.unique(rows[inside] * info.width + cols[inside])
        self.tree = cKDTree(xy[located]) if min_distance > 0 and located.any() else None
        self.block_size = max(1, int(np.sqrt(WINDOW_VALUES / max(1, len(info.factor_names)))))
        self.row_counts = {}       # window column offset → candidates per stack row (height,)
        self.first_rank = None     # (height, window columns): rank of each row's first candidate

    def count(self, feedback):
        """Number of candidate pixels in the stack."""
        def count_window(block, data):
            window, local, _ = self._candidates(block)
            counts = self.row_counts.setdefault(window.col_off, np.zeros(self.info.height, dtype=np.int64))
            counts[window.row_off:window.row_off + window.height] = np.bincount(
                local // window.width, minlength=window.height)

        map_windows([self.info.path], [], count_window, block_size=self.block_size, feedback=feedback)
        per_row = np.column_stack([self.row_counts[offset] for offset in sorted(self.row_counts)])
        self.first_rank = (np.cumsum(per_row.ravel()) - per_row.ravel()).reshape(per_row.shape)
        return int(per_row.sum())

    def pick(self, ranks, feedback):
        """Map coordinates (k, 2) and factor values (k, n_factors) of the candidates of rank ``ranks`` (sorted)."""
        column_of = {offset: index for index, offset in enumerate(sorted(self.row_counts))}
        found_ranks, found_xy = [np.empty(0, np.int64)], [np.empty((0, 2))]
        found_values = [np.empty((0, len(self.info.factor_names)))]

        def pick_window(block, data):
            window, local, flat = self._candidates(block)
            row = local // window.width
            per_row = np.bincount(row, minlength=window.height)
            # rank = the row's first rank + the candidate's position within its row of this window
            position = np.arange(len(local)) - (np.cumsum(per_row) - per_row)[row]
            rank = self.first_rank[window.row_off + row, column_of[window.col_off]] + position
            hit = np.isin(rank, ranks)
            found_ranks.append(rank[hit])
            found_xy.append(_centres(self.info, flat[hit]))
            found_values.append(data[:, row[hit], local[hit] % window.width].T.astype(np.float64))

        map_windows([self.info.path], [], pick_window, block_size=self.block_size, feedback=feedback)
        order = np.argsort(np.concatenate(found_ranks), kind="stable")
        return np.vstack(found_xy)[order], np.vstack(found_values)[order]

    def _candidates(self, block):
        """The block's window, its candidate pixels (row-major indices inside the window) and their
        row-major indices in the whole stack."""
        window, width = block.window, self.info.width
        local = np.flatnonzero(block.valid)
        flat = (window.row_off + local // window.width) * width + window.col_off + local % window.width
        keep = ~np.isin(flat, self.deposit_pixels)
        if self.tree is not None and keep.any():
            distance, _ = self.tree.query(_centres(self.info, flat[keep]), k=1, workers=-1,
                                          distance_upper_bound=self.min_distance * (1 + 1e-9) + 1e-9)
            keep[keep] = ~(distance <= self.min_distance)
        return window, local[keep], flat[keep]


def sample_training_points(stack, deposits, count=None, min_distance=0.0, seed=1, deposits_layer=None,
                           output=None, feedback=None):
    """Training points for evidence stack ``stack``: deposits from the point file ``deposits`` (label 1,
    transformed to the stack's CRS) plus ``count`` random non-deposits (label 0), see :func:`choose_non_deposits`.

    Returns a GeoDataFrame in the stack's CRS with an integer ``label`` column and one float column per
    factor (named like the stack's bands), deposits first; also written atomically to ``output``
    (GeoPackage or any OGR format by extension) when given.
    """
    feedback = ensure_feedback(feedback)
    info = read_stack_info(stack)
    _, xy = read_points(deposits, info.crs, deposits_layer, "DEPOSITS", feedback)
    chosen = choose_non_deposits(stack, xy, count, min_distance, seed, feedback)
    table = training_table(chosen)
    labels = table["label"].to_numpy()
    feedback.info("{} and {}; {} {} available for non-deposits.".format(
        counted(int((labels == 1).sum()), "deposit"), counted(int((labels == 0).sum()), "non-deposit"),
        counted(chosen["available"], "pixel"), agree(chosen["available"], "was", "were")))
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
