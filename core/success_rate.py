"""Success-rate (prediction-rate) curves: how many known deposits fall in the most prospective area.

Rank every valid pixel of a probability map from most to least prospective. For each fraction
of the area taken from the top of that ranking, the curve gives the fraction of known deposits
inside it. A map that puts every deposit in its top few percent has a curve that rises almost
vertically and an area under the curve (AUC) near 1; a map no better than chance follows the
diagonal, AUC 0.5.

Ties are shared out linearly (a pixel with exactly a deposit's probability counts half), so the
AUC equals the Mann–Whitney probability that a deposit outranks a random pixel of the area:
``AUC = P(p_pixel < p_deposit) + ½ P(p_pixel = p_deposit)``.

Counting is streamed: :class:`SuccessRateAccumulator` sees the map block by block and keeps, per
deposit, only how many pixels rank below it, so memory does not grow with the map.
numpy only.
"""
from dataclasses import dataclass

import numpy as np

from .errors import DeepProspectError


@dataclass
class SuccessRate:
    """A success-rate curve.

    ``area_fraction`` and ``captured_fraction``: float64 (k,), from (0, 0) to (1, 1), the
    vertices of the piecewise-linear curve; ``thresholds``: the probability at each vertex
    (the lowest probability included; +inf at the origin); ``auc``: area under the curve
    (0–1); ``deposit_count``, ``pixel_count``: how many deposits and valid pixels were ranked.
    """

    area_fraction: np.ndarray
    captured_fraction: np.ndarray
    thresholds: np.ndarray
    auc: float
    deposit_count: int
    pixel_count: int

    def captured_at(self, area_fraction):
        """Fraction of deposits inside the top ``area_fraction`` (0–1) of the area (linear on the curve)."""
        return float(np.interp(area_fraction, self.area_fraction, self.captured_fraction))

    def rows(self):
        """CSV-ready rows (area_fraction, captured_fraction, probability_threshold)."""
        return list(zip(self.area_fraction.tolist(), self.captured_fraction.tolist(), self.thresholds.tolist()))


class SuccessRateAccumulator:
    """Streams the pixels of a probability map and counts how many rank below each deposit.

    ``deposit_probabilities``: the map's probability at each known deposit (n,), one value per
    deposit (two deposits in one pixel count twice). Call :meth:`add` with the valid pixel values
    of each block (any shape), then :meth:`result`.
    """

    def __init__(self, deposit_probabilities):
        values = np.asarray(deposit_probabilities, dtype=np.float64).ravel()
        if values.size == 0:
            raise DeepProspectError(
                "No known deposit falls on a valid pixel of the map, so no success-rate curve can be drawn: "
                "check that the deposits layer overlaps the evidence stack.")
        if not np.all(np.isfinite(values)):
            raise DeepProspectError("Some deposit probabilities are missing (NaN); drop deposits on nodata pixels first.")
        self.deposits = np.sort(values)
        # below[j]: pixels with p < deposits[j]; at_or_below[j]: pixels with p <= deposits[j]
        self._below_histogram = np.zeros(values.size + 1, dtype=np.int64)
        self._at_or_below_histogram = np.zeros(values.size + 1, dtype=np.int64)
        self.pixel_count = 0

    def add(self, pixel_probabilities):
        """Count one block of valid pixel probabilities (any shape; float)."""
        values = np.asarray(pixel_probabilities, dtype=np.float64).ravel()
        if values.size == 0:
            return
        # A pixel v is below deposit j exactly when j >= (number of deposits <= v).
        self._below_histogram += np.bincount(np.searchsorted(self.deposits, values, side="right"),
                                             minlength=self.deposits.size + 1)
        self._at_or_below_histogram += np.bincount(np.searchsorted(self.deposits, values, side="left"),
                                                   minlength=self.deposits.size + 1)
        self.pixel_count += values.size

    def result(self):
        """The :class:`SuccessRate` of everything added so far."""
        if self.pixel_count == 0:
            raise DeepProspectError("The probability map has no valid pixel, so no success-rate curve can be drawn.")
        below = np.cumsum(self._below_histogram)[:-1]
        at_or_below = np.cumsum(self._at_or_below_histogram)[:-1]
        return _curve(self.deposits, below, at_or_below, self.pixel_count)


def success_rate(pixel_probabilities, deposit_probabilities):
    """Success-rate curve of a map held in memory.

    ``pixel_probabilities``: probabilities of all valid pixels (any shape); ``deposit_probabilities``:
    the map's value at each known deposit (n,). Returns :class:`SuccessRate`.
    """
    accumulator = SuccessRateAccumulator(deposit_probabilities)
    accumulator.add(pixel_probabilities)
    return accumulator.result()


def _curve(deposits, below, at_or_below, pixel_count):
    """Vertices of the curve from sorted deposit values and their pixel counts."""
    n = deposits.size
    unique, first = np.unique(deposits, return_index=True)
    last = np.append(first[1:], n)          # deposits[first:last] share the value unique[k]
    # Walk thresholds from the highest probability down. At each distinct deposit value the
    # curve reaches (area strictly above, deposits strictly above), then climbs linearly
    # through the tied pixels and deposits to (area at or above, deposits at or above).
    order = np.arange(unique.size)[::-1]
    area_above = (pixel_count - at_or_below[first[order]]) / pixel_count
    area_at_or_above = (pixel_count - below[first[order]]) / pixel_count
    deposits_above = (n - last[order]) / n
    deposits_at_or_above = (n - first[order]) / n
    area = np.concatenate([[0.0], np.column_stack([area_above, area_at_or_above]).ravel(), [1.0]])
    captured = np.concatenate([[0.0], np.column_stack([deposits_above, deposits_at_or_above]).ravel(), [1.0]])
    thresholds = np.concatenate([[np.inf], np.repeat(unique[order], 2), [-np.inf]])
    auc = float(np.sum(np.diff(area) * (captured[1:] + captured[:-1]) / 2.0))
    return SuccessRate(area, captured, thresholds, auc, int(n), int(pixel_count))
