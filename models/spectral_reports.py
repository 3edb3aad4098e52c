"""The files that describe a trained spectral model: the regressor's metrics table (the layout of
Carvalho et al. 2024, Table 3), its predicted-vs-measured plot and learning curves, and the
classifier's CNN-vs-SAM report.

Charts use matplotlib's object API (``matplotlib.figure.Figure``, no pyplot): the engine may
draw them off its main thread.
"""
import csv
import re

import numpy as np

from ..core.atomic import atomic_output


def metrics_rows(result):
    """Rows of the paper's Table 3 layout, one per method: method, R² train, R² validation,
    RMSE train (ppm), RMSE validation (ppm), epochs."""
    rows = []
    for method, values in result["metrics"].items():
        rows.append([method, values["r2_train"], values["r2_validation"], values["rmse_train"],
                     values["rmse_validation"], values.get("epochs", "")])
    return rows


def units_suffix(units):
    """The target's units as a column-name suffix: ``ppm`` → ``ppm``, ``%`` → ``percent``, ``g/t`` → ``g_t``."""
    return re.sub(r"[^0-9A-Za-z]+", "_", str(units).replace("%", "percent")).strip("_") or "units"


def write_metrics_csv(path, result):
    """The metrics table as CSV (atomically): RMSE in the target's units (column names say which),
    R² of log10 values empty when some measured values are not positive, and the CNN's
    ``final_model`` note (the saved network is refitted on all samples)."""
    target = result["metadata"]["target"]["name"]
    suffix = units_suffix(result["metadata"]["target"].get("units", "ppm"))
    with atomic_output(path) as temporary:
        with open(temporary, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["element", "method", "r2_train", "r2_validation", "rmse_train_" + suffix,
                             "rmse_validation_" + suffix, "r2_log_validation", "training_epochs", "final_model"])
            for method, values in result["metrics"].items():
                writer.writerow([target, method] + ["" if values[k] is None else "{:.4f}".format(values[k]) for k in
                                 ("r2_train", "r2_validation", "rmse_train", "rmse_validation", "r2_log_validation")]
                                + [values.get("epochs", ""), values.get("final_model", "")])
    return str(path)


def plot_scatter(path, result):
    """Predicted vs measured (in the target's units) for the CNN and baselines, train and validation;
    log axes when every value is positive, linear otherwise (a percentage that can be 0)."""
    from matplotlib.figure import Figure

    methods = list(result["predictions"])
    target = result["metadata"]["target"]["name"]
    units = result["metadata"]["target"].get("units", "ppm")
    positive = all(np.all(np.concatenate(part) > 0) for values in result["predictions"].values()
                   for part in values.values())
    figure = Figure(figsize=(4.2 * len(methods), 4.2))
    axes = figure.subplots(1, len(methods), squeeze=False)
    for axis, method in zip(axes[0], methods):
        values = result["predictions"][method]
        everything = np.concatenate([np.concatenate(v) for v in values.values()])
        low, high = _axis_range(everything, positive)
        for part, colour in (("train", "#9ecae1"), ("validation", "#d7301f")):
            measured, predicted = values[part]
            axis.scatter(measured, predicted, s=14, c=colour, alpha=0.8, edgecolors="none",
                         label="{} (R² {:.2f})".format(part, result["metrics"][method]["r2_" + part]))
        axis.plot([low, high], [low, high], color="k", lw=0.8)
        if positive:
            axis.set_xscale("log")
            axis.set_yscale("log")
        axis.set_xlim(low, high)
        axis.set_ylim(low, high)
        axis.set_xlabel("measured {} ({})".format(target, units))
        axis.set_ylabel("predicted {} ({})".format(target, units))
        axis.set_title(method)
        axis.legend(fontsize=8, loc="upper left")
        axis.grid(alpha=0.3, which="both")
    return _save(figure, path)


def _axis_range(values, logarithmic):
    """(low, high) of a scatter axis: a factor of 0.8/1.2 beyond the values on log axes, 5 % of the
    range on linear ones."""
    if logarithmic:
        return np.nanmin(values[values > 0]) * 0.8, np.nanmax(values) * 1.2
    low, high = np.nanmin(values), np.nanmax(values)
    margin = 0.05 * (high - low) or 1.0
    return low - margin, high + margin


def plot_learning_curves(path, history, ylabel="loss (MSE of standardised log10 content)"):
    """Training and monitor loss per epoch (``history``: a Keras history dict)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.5, 4))
    axis = figure.subplots()
    for key, label in (("loss", "training"), ("val_loss", "monitor (early stopping)")):
        if key in history:
            axis.plot(np.arange(1, len(history[key]) + 1), history[key], label=label)
    axis.set_xlabel("epoch")
    axis.set_ylabel(ylabel)
    axis.set_yscale("log")
    axis.grid(alpha=0.3)
    axis.legend()
    return _save(figure, path)


def _save(figure, path):
    """``figure`` laid out tightly and written as a 100 dpi PNG, atomically."""
    figure.tight_layout()
    with atomic_output(path) as temporary:
        figure.savefig(temporary, dpi=100, format="png")
    return str(path)


def write_report(path, result):
    """A CSV comparing CNN and SAM (accuracy, kappa) and the CNN's validation confusion matrix."""
    metadata = result["metadata"]
    names = metadata["class_names"]
    with atomic_output(path) as temporary:
        with open(temporary, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["method", "accuracy_train", "accuracy_validation", "kappa_validation"])
            for method, values in result["metrics"].items():
                writer.writerow([method] + ["{:.4f}".format(values[k]) for k in
                                            ("accuracy_train", "accuracy_validation", "kappa_validation")])
            for method in result["metrics"]:
                writer.writerow([])
                writer.writerow(["{} validation confusion (rows: true, columns: predicted)".format(method)] + names)
                for name, row in zip(names, result["metrics"][method]["confusion_validation"]):
                    writer.writerow([name] + row)
    return str(path)
