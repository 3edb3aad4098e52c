"""Charts of spatial k-fold cross-validation: the held-out prediction-rate curves of every model
and the map of the folds.

Drawn with matplotlib's object API on a ``Figure`` or ``Axes`` the caller gives (no pyplot), in
the colours of ``models.charts``. Inputs are the "cross_validation" dict of the metadata
(``models.metadata_schema``: ``area_fraction``, ``fold_results``, ``summary``).
"""
import numpy as np

from ..catalog import ARCHITECTURES
from .charts import BACKGROUND_COLOUR, BOOSTING_COLOUR, DEPOSIT_COLOUR, FOREST_COLOUR, LOGISTIC_COLOUR, NETWORK_COLOUR

#: Colour of each model scored on the folds (the training report's colours; baselines in catalog order).
MODEL_COLOURS = dict(zip(("network",) + ARCHITECTURES.where(baseline=True),
                         (NETWORK_COLOUR, LOGISTIC_COLOUR, FOREST_COLOUR, BOOSTING_COLOUR)))
#: Fill colours of the folds on the map (repeated when there are more folds).
FOLD_COLOURS = ("#a6cee3", "#fdbf6f", "#b2df8a", "#cab2d6", "#fb9a99", "#ffff99", "#d9d9d9", "#8dd3c7")


def model_title(name, trained="Network"):
    """"logistic_regression" → "Logistic regression"; "network" (the trained model's key) → ``trained``."""
    return trained if name == "network" else name.replace("_", " ").capitalize()


def trained_title(architecture):
    """What the charts and tables call the trained model: "Network", or "This model (<label>)" for a
    scikit-learn one (the same classifier may also be a baseline beside it)."""
    choice = ARCHITECTURES.get(architecture) if architecture in ARCHITECTURES else None
    if choice is None or choice.options.get("kind") != "sklearn":
        return "Network"
    return "This model ({})".format(choice.label.split(":")[0].split(" (")[0])


def prediction_rate_curves(figure, cross_validation, trained="Network"):
    """One panel per model: each fold's held-out prediction-rate curve (thin), their mean (thick)
    and chance (the diagonal). x: share of the held-out blocks' area, most prospective first;
    y: share of the held-out deposits inside it. Returns the axes."""
    area = np.asarray(cross_validation["area_fraction"], dtype=float)
    models = list(cross_validation["summary"])
    axes_list = [figure.add_subplot(1, len(models), index + 1) for index in range(len(models))]
    for axes, name in zip(axes_list, models):
        colour = MODEL_COLOURS.get(name, "0.3")
        curves = [fold["models"][name]["captured_fraction"] for fold in cross_validation["fold_results"]]
        for number, curve in enumerate(curves, start=1):
            axes.plot(area, curve, color=colour, lw=0.8, alpha=0.45, label="Each fold" if number == 1 else None)
        axes.plot(area, np.mean(np.asarray(curves, dtype=float), axis=0), color=colour, lw=2.2, label="Mean of folds")
        axes.plot([0, 1], [0, 1], color="0.6", ls="--", lw=1, label="Chance")
        score = cross_validation["summary"][name]["prediction_rate_auc"]
        axes.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="Share of held-out area",
                 title="{}\nAUC {:.3f} ± {:.3f}".format(model_title(name, trained), score["mean"], score["sd"]))
        axes.grid(alpha=0.3)
        axes.legend(fontsize=7, loc="lower right")
    axes_list[0].set_ylabel("Share of held-out deposits captured")
    return axes_list


def fold_map(axes, xy, labels, folds, bounds):
    """The folds on the map: each held-out block filled in its fold's colour, deposits as
    triangles and non-deposits as dots.

    ``xy`` (n, 2) and ``labels`` (n,) of every point; ``folds``: the fold splits
    (``models.evaluation.Split``: ``fold``, ``validation_blocks``); ``bounds``: the stack's
    (left, bottom, right, top) in map units."""
    from matplotlib.patches import Patch, Rectangle

    handles = []
    for fold in folds:
        colour = FOLD_COLOURS[(fold.fold - 1) % len(FOLD_COLOURS)]
        for xmin, ymin, xmax, ymax in fold.validation_blocks:
            axes.add_patch(Rectangle((xmin, ymin), xmax - xmin, ymax - ymin, facecolor=colour, edgecolor="0.5",
                                     lw=0.4, zorder=0))
        handles.append(Patch(facecolor=colour, edgecolor="0.5", label="Fold {} held out".format(fold.fold)))
    left, bottom, right, top = bounds
    axes.add_patch(Rectangle((left, bottom), right - left, top - bottom, fill=False, edgecolor="0.4", lw=1))
    shrink = min(1.0, np.sqrt(400.0 / max(1, len(labels))))   # dense point sets stay legible
    for value, colour, marker, name in ((0, BACKGROUND_COLOUR, "o", "Non-deposit"), (1, DEPOSIT_COLOUR, "^", "Deposit")):
        chosen = labels == value
        handles.append(axes.scatter(xy[chosen, 0], xy[chosen, 1], s=(22 if value else 12) * shrink, marker=marker,
                                    color=colour, lw=0.5, label="{} ({})".format(name, int(chosen.sum()))))
    axes.set_aspect("equal")
    axes.set(xlim=(left, right), ylim=(bottom, top), xlabel="Easting (map units)", ylabel="Northing (map units)",
             title="Spatial folds ({} folds of {:g} map-unit blocks)".format(len(folds), folds[0].block_size))
    axes.ticklabel_format(style="plain", useOffset=False)
    axes.tick_params(labelsize=7)
    axes.legend(handles=handles, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, frameon=False)
    return axes


def reliability_diagram(axes, calibration):
    """The cross-validated reliability diagram of a calibrated model (``models.calibration``):
    per bin of predicted probability, the mean prediction (x) against the observed share of cells
    holding a deposit, scaled to the stated prior (y), on log axes (probabilities span decades);
    a perfectly calibrated map lies on the diagonal. Returns the axes."""
    reliability = calibration["reliability"]
    predicted = np.asarray(reliability["predicted"], dtype=float)
    observed = np.asarray(reliability["observed"], dtype=float)
    shown = (predicted > 0) & (observed > 0)           # a log axis cannot show a bin with no deposit
    low = max(min(predicted[shown].min(initial=1.0), observed[shown].min(initial=1.0)) / 2, 1e-5)
    high = min(max(predicted.max(initial=0.0), observed.max(initial=0.0)) * 2, 1.0)
    axes.plot([low, high], [low, high], color="0.6", ls="--", lw=1, label="Perfect calibration")
    axes.plot([low, high], [low / 1.5, high / 1.5], color="0.8", ls=":", lw=1, label="Factor 1.5")
    axes.plot([low, high], [low * 1.5, high * 1.5], color="0.8", ls=":", lw=1)
    axes.plot(predicted[shown], observed[shown], "o-", color=NETWORK_COLOUR, lw=1.8, label="Each tenth of the cells")
    axes.set(xscale="log", yscale="log", xlim=(low, high), ylim=(low, high), xlabel="Predicted deposit probability",
             ylabel="Observed share of cells with a deposit", title="Reliability (held-out folds)")
    axes.legend(loc="upper left", fontsize=8)
    return axes
