"""The success-rate curve of a prediction map as files beside it: a CSV of its vertices and a
PNG chart (matplotlib's object API, drawn off any GUI thread). The curve itself is
``core.success_rate``'s.
"""
import csv

import numpy as np

from ..core.atomic import atomic_output
from .map_classes import DEFAULT_CLASS_FRACTIONS


def write_success_rate_csv(curve, path):
    """The curve's vertices as CSV (area_fraction, deposits_captured_fraction, probability_threshold)."""
    with atomic_output(path) as temporary:
        with open(temporary, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["area_fraction", "deposits_captured_fraction", "probability_threshold"])
            for area, captured, threshold in curve.rows():
                writer.writerow(["{:.6f}".format(area), "{:.6f}".format(captured),
                                 "" if not np.isfinite(threshold) else "{:.6f}".format(threshold)])
    return str(path)


def plot_success_rate(curve, path, class_fractions=DEFAULT_CLASS_FRACTIONS):
    """Success-rate chart (PNG): deposits captured against area ranked by probability, with the
    chance line and the share of deposits in each class's area marked."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 5.4), dpi=120)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    axes.plot([0, 100], [0, 100], color="0.6", linestyle="--", linewidth=1, label="chance (AUC 0.5)")
    axes.plot(100 * curve.area_fraction, 100 * curve.captured_fraction, color="#3b528b", linewidth=2,
              label="this map (AUC {:.3f})".format(curve.auc))
    for fraction, colour in zip(class_fractions, ("#d7191c", "#fdae61", "#abab4d")):
        captured = curve.captured_at(fraction)
        axes.plot([100 * fraction] * 2, [0, 100 * captured], color=colour, linewidth=1)
        axes.plot([0, 100 * fraction], [100 * captured] * 2, color=colour, linewidth=1)
        axes.annotate("top {:g} % of area: {:.0f} % of deposits".format(100 * fraction, 100 * captured),
                      (100 * fraction, 100 * captured), xytext=(8, -4), textcoords="offset points",
                      fontsize=8, color="0.15")
    axes.set_xlim(0, 100)
    axes.set_ylim(0, 101)
    axes.set_xlabel("Area ranked by predicted probability, most prospective first (%)")
    axes.set_ylabel("Known deposits captured (%)")
    axes.set_title("Success-rate curve: {} deposits, {:,} pixels".format(curve.deposit_count, curve.pixel_count),
                   fontsize=10)
    axes.grid(True, color="0.9")
    axes.legend(loc="lower right", fontsize=9)
    figure.tight_layout()
    with atomic_output(path) as temporary:
        figure.savefig(str(temporary), format="png")
    return str(path)
