"""Prospectivity classes of a probability map: very high, high, moderate and low by the share of
the valid area each class reaches from the top, with thresholds found in bounded memory.

Class values (uint8): 4 = very high, 3 = high, 2 = moderate, 1 = low, :data:`CLASS_NODATA` (0)
outside valid pixels. ``models.predict`` writes them in its second pass over the map.
"""
import numpy as np

from ..core.errors import DeepProspectError

CLASS_NODATA = 0
#: Class values and their labels, most prospective first.
CLASS_LABELS = {4: "very high", 3: "high", 2: "moderate", 1: "low"}
#: Default cumulative area fractions of the very high, high and moderate classes (top 5 %, 10 %, 25 %).
DEFAULT_CLASS_FRACTIONS = (0.05, 0.10, 0.25)


def class_labels(class_fractions=DEFAULT_CLASS_FRACTIONS):
    """Legend labels {class value: text} for cumulative area fractions, e.g. 'Very high (top 5 %)'."""
    a, b, c = [100 * f for f in class_fractions]
    return {4: "Very high (top {:g} % of area)".format(a), 3: "High ({:g}–{:g} %)".format(a, b),
            2: "Moderate ({:g}–{:g} %)".format(b, c), 1: "Low (remaining {:g} %)".format(100 - c)}


def check_class_fractions(fractions):
    """``fractions`` as three increasing floats in (0, 1), or a clear error."""
    fractions = [float(f) for f in fractions]
    if len(fractions) != 3 or not all(0 < f < 1 for f in fractions) or fractions != sorted(set(fractions)):
        raise DeepProspectError(
            "Class area fractions must be three increasing percentages between 0 and 100, for the very high, "
            "high and moderate classes (e.g. 5, 10, 25); got {}.".format([100 * f for f in fractions]))
    return fractions


def classify(probability, valid, thresholds):
    """uint8 classes (rows, cols) of a probability window: 1 plus the number of ``thresholds``
    (the probabilities that start the very high, high and moderate classes) a pixel reaches;
    :data:`CLASS_NODATA` where ``valid`` is False."""
    classes = np.ones(probability.shape, dtype=np.uint8)
    for threshold in thresholds:
        classes += (probability >= threshold).astype(np.uint8)
    classes[~valid] = CLASS_NODATA
    return classes


class AreaHistogram:
    """Counts of non-negative float32 values in bins of their top 20 bits (relative width 2⁻¹¹).

    The bit pattern of a non-negative float orders like its value, so cumulative counts give
    area-fraction thresholds to within one narrow bin, in bounded memory (8 MB).
    """

    SHIFT = 12

    def __init__(self):
        self.counts = np.zeros(2 ** (32 - self.SHIFT), dtype=np.int64)

    def add(self, values):
        values = np.ascontiguousarray(np.maximum(np.asarray(values, dtype=np.float32).ravel(), 0.0))
        self.counts += np.bincount(values.view(np.uint32) >> self.SHIFT, minlength=self.counts.size)

    def top_fraction_threshold(self, fraction):
        """The lowest value whose bin keeps the area at or above it within ``fraction`` (+ one bin)."""
        from_top = np.cumsum(self.counts[::-1])[::-1]     # from_top[b]: values in bins ≥ b
        target = fraction * from_top[0]
        candidates = np.flatnonzero(from_top >= target)
        edge = int(candidates[-1]) if candidates.size else 0
        return float(np.array([edge << self.SHIFT], dtype=np.uint32).view(np.float32)[0])

    def quantile(self, q):
        total = self.counts.sum()
        if total == 0:
            return 0.0
        edge = int(np.searchsorted(np.cumsum(self.counts), q * total)) + 1
        return float(np.array([edge << self.SHIFT], dtype=np.uint32).view(np.float32)[0])
