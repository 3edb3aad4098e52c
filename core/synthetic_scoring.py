"""Score a prospectivity map on deposits no model saw: the synthetic province's future deposits.

``future_deposits.gpkg`` (:mod:`core.synthetic`) is a second, independent draw from the same
truth surface as the training deposits, so a map's score on it measures skill, not memory.

The score is the presence–background ROC-AUC: positives are the map's values at the cells of
the future deposits (one value per deposit; two deposits on one cell count twice), negatives
the map's values at *every* valid cell of the map (the area a geologist ranks, deposit cells
included, as in the success-rate curve of :mod:`core.success_rate`). So the AUC is the
probability that a future deposit's cell outranks a random cell of the area, ties counting half;
it is computed with ``sklearn.metrics.roc_auc_score``. It is not the AUC against the truth's
expected labels: no model can reach 1, and the ceiling is the same score of the truth surface
itself (``truth_probability.tif``, on its own 250 m grid) on the same deposits.

Deposits outside the map or on its nodata cells are left out of both scores (and counted).
"""
from dataclasses import dataclass

import numpy as np

from .errors import DeepProspectError
from .feedback import ensure_feedback
from .pipeline import map_windows, read_neighbourhoods
from .points import read_points
from .raster_input import open_raster
from .wording import counted


@dataclass
class FutureScore:
    """The scores of one map: ``auc`` (the map), ``truth_auc`` (the truth surface on the same
    deposits; None without one), ``deposits`` scored, ``left_out`` (outside the map or on its
    nodata), ``cells``: valid cells of the map (the background)."""

    auc: float
    truth_auc: float
    deposits: int
    left_out: int
    cells: int


def score_future_deposits(probability, future_deposits, truth_probability=None, layer=None, feedback=None):
    """ROC-AUC of the map ``probability`` (a one-band raster path) on the points of
    ``future_deposits`` (a point file, optional ``layer``; transformed to the map's CRS) against
    every valid cell of the map, and of ``truth_probability`` (a raster path or None) on the same
    deposits. Returns a :class:`FutureScore`. Raises :class:`DeepProspectError` when no deposit
    lies on a valid cell of the map."""
    feedback = ensure_feedback(feedback)
    with open_raster(probability, "probability map") as dataset:
        crs = dataset.crs
    _, xy = read_points(future_deposits, crs, layer, "FUTURE_DEPOSITS", feedback)
    at_deposits, located = values_at_points(probability, xy, feedback)
    if not located.any():
        raise DeepProspectError(
            "None of the {} lies on a valid cell of the map {}: score a map of the same province.".format(
                counted(len(xy), "future deposit"), probability))
    auc, cells = background_auc(probability, at_deposits[located], feedback)
    truth_auc = None
    if truth_probability is not None:
        truth_at, truth_located = values_at_points(truth_probability, xy[located], feedback)
        truth_auc, _ = background_auc(truth_probability, truth_at[truth_located], feedback)
    return FutureScore(auc, truth_auc, int(located.sum()), int((~located).sum()), cells)


def values_at_points(raster, xy, feedback=None):
    """The first band's values at points ``xy`` (n, 2; the raster's CRS): float64 (n,), NaN where a
    point is outside the raster or on nodata, and the bool (n,) mask of the points on valid cells."""
    with open_raster(raster, "probability map") as dataset:
        inverse = ~dataset.transform
    cols, rows = inverse @ (np.asarray(xy, dtype=float)[:, 0], np.asarray(xy, dtype=float)[:, 1])
    rows, cols = np.floor(rows).astype(np.int64), np.floor(cols).astype(np.int64)
    values = np.full(len(rows), np.nan)
    for found in read_neighbourhoods(raster, rows, cols, feedback=feedback):
        ok = found.valid[found.rows, found.cols]
        values[found.indexes[ok]] = found.data[0, found.rows[ok], found.cols[ok]]
    return values, np.isfinite(values)


def background_auc(raster, deposit_values, feedback=None):
    """ROC-AUC of ``deposit_values`` (n,) as positives against every valid cell of ``raster``'s
    first band as negatives (``sklearn.metrics.roc_auc_score``); returns (auc, number of cells)."""
    from sklearn.metrics import roc_auc_score

    background = []

    def collect(block, data):
        background.append(data[0][block.valid].astype(np.float64))

    map_windows([(raster, [1])], [], collect, feedback=feedback)
    background = np.concatenate(background) if background else np.empty(0)
    deposit_values = np.asarray(deposit_values, dtype=np.float64)
    labels = np.r_[np.ones(deposit_values.size), np.zeros(background.size)]
    return float(roc_auc_score(labels, np.r_[deposit_values, background])), int(background.size)
