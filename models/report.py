"""The training report: one self-contained HTML page (charts embedded as base64 PNGs) that a
geologist can send to a colleague.

It shows the data summary (points per class, factors), every hyper-parameter, the validation
metrics of the network beside logistic regression, random forest and gradient boosting fitted on the same split,
the confusion matrix in the layout of Pradhan et al. (2022, Table 3), ROC and precision–recall
curves, the training curves (their Figure 7), and a map of the training/validation split. With
spatial k-fold cross-validation it also shows mean ± sd of every model, the per-fold table, the
held-out prediction-rate curves and the map of the folds (``models.cross_validation_report``).
matplotlib is used through its Agg canvas only, so this works inside QGIS and headless.
"""
import base64
import html
import io

import numpy as np

from ..catalog import ARCHITECTURES, VALIDATION_SCHEMES
from ..core.atomic import atomic_output
from .charts import BACKGROUND_COLOUR, DEPOSIT_COLOUR, NETWORK_COLOUR
from .evaluation import RANDOM_SPLIT_WARNING
from .cross_validation_report import scheme_sentence, section
from .metadata_schema import BASELINES, normalise
from .validation_charts import MODEL_COLOURS


def write_report(path, result):
    """Write the HTML report of a :class:`models.training.TrainingResult` to ``path`` (atomically).

    Returns ``path``.
    """
    page = render_report(result)
    with atomic_output(path) as temporary:
        temporary.write_text(page, encoding="utf-8")
    return str(path)


def render_report(result):
    """The report's HTML text for a training result (its metadata read in the shape of
    ``models.metadata_schema``, as the dock reads a bundle's)."""
    meta = normalise(result.metadata)
    metrics, baselines = meta["metrics"], meta["baselines"]
    hyper = meta["hyperparameters"]
    labels = result.validation_labels
    parts = [_HEAD.format(title=html.escape("DeepProspect training report — " + meta["architecture"]))]
    parts.append("<h1>Prospectivity model training report</h1>")
    folds = meta["cross_validation"]
    parts.append("<p class='lead'>{} trained on {} deposits and {} non-deposits over {} evidence layers; {}.</p>"
                 .format(html.escape(meta["architecture_description"]), meta["class_balance"]["deposit"],
                         meta["class_balance"]["non_deposit"], len(meta["factor_names"]), _lead_validation(meta)))
    parts.append("<p class='verdict'>{}</p>".format(html.escape(verdict(metrics, baselines))))
    if folds:
        parts += section(folds, result, embedded_figure)

    parts.append("<h2>Validation metrics</h2>")
    if folds:
        parts.append("<p>Every point's prediction from the fold that held it out, pooled; ROC-AUC and PR-AUC are "
                     "the means over the folds.</p>")
    parts.append(_metrics_table(metrics, baselines, model_title(meta["architecture"])))
    parts.append("<p class='note'>{} {}</p>".format(
        html.escape(RANDOM_SPLIT_WARNING),
        html.escape(scheme_sentence(folds, len(labels)) if folds else _scheme_sentence(meta["validation"]))))
    if meta.get("validation_comparison"):
        parts.append("<h3>Random split against spatial blocks</h3>")
        parts.append(_comparison_table(meta["validation_comparison"]))
    parts.append(embedded_figure(_roc_pr_figure(labels, result.validation_probability, result.baseline_probabilities,
                                                model_title(meta["architecture"])),
                                 "ROC and precision–recall curves on the validation points" +
                                 (" (out-of-fold predictions, pooled)." if folds else ".")))

    parts.append("<h2>Confusion matrix</h2>")
    parts.append("<p>Validation points, threshold {:.2f} on the deposit probability, laid out as Table 3 of "
                 "Pradhan et al. (2022).</p>".format(metrics["threshold"]))
    parts.append(_confusion_table(metrics["confusion_matrix"]))
    parts.append(embedded_figure(_confusion_figure(metrics["confusion_matrix"]), "Confusion matrix (validation)."))

    if meta["history"]:               # a scikit-learn model is fitted at once: no epochs to draw
        parts.append("<h2>Training curves</h2>")
        parts.append(embedded_figure(_history_figure(meta["history"]),
                             "Loss and accuracy per epoch on the training and the validation points (cf. Figure 7 "
                             "of Pradhan et al. 2022). The dotted line marks the epoch whose weights were kept."))
    parts.append("<h2>Data</h2>")
    parts.append(_data_table(meta))
    parts.append("<p><b>Factors (in stack order):</b> {}</p>".format(html.escape(", ".join(meta["factor_names"]))))
    parts.append(_categorical_note(result.metadata.get("factor_encoding") or {}))   # not in the dock's shape
    if not folds:
        parts.append(embedded_figure(_split_map_figure(result), "Training and validation points" + (
            "; shaded squares are the blocks held out for validation." if result.split.validation_blocks else ".")))
    parts.append("<h2>Hyper-parameters</h2>")
    parts.append(_key_value_table(dict(hyper, seed=meta["seed"], trainable_parameters=meta["trainable_parameters"],
                                       training_seconds=meta["training_seconds"])))
    if meta.get("patch_padding"):
        parts.append("<p class='note'>Patch padding: {}</p>".format(html.escape(meta["patch_padding"])))
    parts.append("<h2>Software</h2>")
    parts.append(_key_value_table(meta.get("versions") or _versions()))
    parts.append("<p class='note'>Written by DeepProspect on {}.</p></body></html>".format(html.escape(meta["created"])))
    return "\n".join(parts)


def _lead_validation(meta):
    validation = meta["validation"]
    if meta["cross_validation"]:
        return ("validated by <b>spatial k-fold cross-validation</b> ({} folds), then trained on all points"
                .format(meta["cross_validation"]["folds"]))
    return "validated on a <b>{}</b> split ({} points held out)".format(
        "spatial-block" if validation["scheme"] == "spatial_blocks" else "random", validation["validation_points"])


def verdict(metrics, baselines):
    """One sentence: does the model beat the simple baselines on the validation points?"""
    model = metrics["roc_auc"]
    best_name, best = max(((name, values["roc_auc"]) for name, values in baselines.items()), key=lambda item: item[1])
    readable = best_name.replace("_", " ")
    if model >= best + 0.01:
        return ("The model earns its keep: validation ROC-AUC {:.3f} against {:.3f} for the best baseline "
                "({}).".format(model, best, readable))
    if model >= best - 0.01:
        return ("The model and the best baseline ({}) score alike (ROC-AUC {:.3f} vs {:.3f}); the simpler "
                "model is as good on these data.".format(readable, model, best))
    return ("The {} beats the model on the validation points (ROC-AUC {:.3f} vs {:.3f}): prefer the simpler "
            "model, or regularise it more (a network: dropout, L2, early stopping).".format(readable, best, model))


# Tables ---------------------------------------------------------------------------------------

def model_title(architecture):
    """The column title of the trained model: "Network", or a scikit-learn model's catalog label
    marked "(this model)", since the same classifier is also a baseline column beside it."""
    if architecture in ARCHITECTURES and ARCHITECTURES.get(architecture).options.get("kind") == "sklearn":
        return "{} (this model)".format(ARCHITECTURES.label(architecture))
    return "Network"


def _metrics_table(metrics, baselines, title="Network"):
    columns = [(title, metrics)] + [(ARCHITECTURES.label(name), baselines[name]) for name in BASELINES]
    rows = [("ROC-AUC", lambda m: m["roc_auc"]), ("PR-AUC (average precision)", lambda m: m["pr_auc"]),
            ("Accuracy", lambda m: m["accuracy"]),
            ("Deposit precision", lambda m: m["deposit"]["precision"]),
            ("Deposit recall", lambda m: m["deposit"]["recall"]), ("Deposit F1", lambda m: m["deposit"]["f1"]),
            ("Non-deposit precision", lambda m: m["non_deposit"]["precision"]),
            ("Non-deposit recall", lambda m: m["non_deposit"]["recall"]),
            ("Non-deposit F1", lambda m: m["non_deposit"]["f1"])]
    out = ["<table><tr><th>Metric (validation)</th>" + "".join("<th>{}</th>".format(n) for n, _ in columns) + "</tr>"]
    for label, get in rows:
        values = [get(m) for _, m in columns]
        best = np.nanmax(values)
        cells = "".join("<td{}>{:.3f}</td>".format(" class='best'" if v == best else "", v) for v in values)
        out.append("<tr><td>{}</td>{}</tr>".format(label, cells))
    support = "{} deposits, {} non-deposits".format(metrics["deposit"]["support"], metrics["non_deposit"]["support"])
    out.append("<tr><td>Validation points</td><td colspan='3'>{}</td></tr></table>".format(support))
    return "\n".join(out)


def _comparison_table(comparison):
    names = [("network", "Network")] + [(name, ARCHITECTURES.label(name)) for name in BASELINES]
    out = ["<p>The same settings trained and validated both ways (validation ROC-AUC):</p>",
           "<table><tr><th>Validation split</th>" + "".join("<th>{}</th>".format(label) for _, label in names) +
           "<th>Validation points</th></tr>"]
    for scheme in VALIDATION_SCHEMES.names():  # in catalog order, whichever was chosen
        if scheme not in comparison:
            continue
        summary = comparison[scheme]
        title = "Random" if scheme == "random" else "{} ({:g} map units)".format(
            VALIDATION_SCHEMES.label(scheme), summary["block_size"])
        cells = "".join("<td>{:.3f}</td>".format(summary[key]["roc_auc"]) for key, _ in names)
        out.append("<tr><td>{}</td>{}<td>{}</td></tr>".format(title, cells, summary["validation_points"]))
    out.append("</table>")
    if "random" in comparison and "spatial_blocks" in comparison:
        gap = comparison["random"]["network"]["roc_auc"] - comparison["spatial_blocks"]["network"]["roc_auc"]
        out.append("<p class='note'>The random split {} the network's ROC-AUC by {:.3f} compared with spatial "
                   "blocks.</p>".format("raises" if gap >= 0 else "lowers", abs(gap)))
    return "\n".join(out)


def _confusion_table(confusion):
    (tp, fn), (fp, tn) = confusion
    return ("<table class='confusion'><tr><th rowspan='2'>Actual</th><th colspan='2'>Predicted</th></tr>"
            "<tr><th>Deposit</th><th>Non-deposit</th></tr>"
            "<tr><th>Deposit</th><td>{} (TP)</td><td>{} (FN)</td></tr>"
            "<tr><th>Non-deposit</th><td>{} (FP)</td><td>{} (TN)</td></tr></table>").format(tp, fn, fp, tn)


def _data_table(meta):
    data = meta["data"]
    rows = [("Training", data["training"]), ("Validation", data["validation"]),
            ("All", meta["class_balance"])]
    out = ["<table><tr><th>Points</th><th>Deposits (1)</th><th>Non-deposits (0)</th></tr>"]
    for name, counts in rows:
        out.append("<tr><td>{}</td><td>{}</td><td>{}</td></tr>".format(name, counts["deposit"], counts["non_deposit"]))
    out.append("</table>")
    out.append("<p>Points: {} (label field <code>{}</code>); evidence stack: {}; pixel size {:g} map units.</p>".format(
        html.escape(str(data["points"])), html.escape(str(data["label_field"])), html.escape(str(data["stack"])),
        meta["grid"]["pixel_size"]))
    return "\n".join(out)


def _key_value_table(values):
    out = ["<table>"]
    for key, value in values.items():
        if isinstance(value, float):
            value = "{:g}".format(value)
        elif isinstance(value, dict):
            value = ", ".join("{}: {:.3g}".format(k, v) if isinstance(v, float) else "{}: {}".format(k, v)
                              for k, v in value.items())
        out.append("<tr><td>{}</td><td>{}</td></tr>".format(html.escape(str(key).replace("_", " ")),
                                                         html.escape(str(value))))
    out.append("</table>")
    return "\n".join(out)


def _scheme_sentence(validation):
    if validation["scheme"] == "spatial_blocks":
        return ("This model was validated on {} whole blocks of {:g} map units that held no training point, so "
                "these scores estimate skill in new ground.".format(validation["validation_blocks"],
                                                                      validation["block_size"]))
    return ("This model was validated on a random split: expect lower scores in unexplored ground; retrain with "
            "VALIDATION = spatial_blocks for an honest estimate.")


# Figures --------------------------------------------------------------------------------------

def _categorical_note(encoding):
    """One paragraph naming the categorical factors, their classes and how the model takes them."""
    from ..core.factor_encoding import UNSEEN_RULE

    factors = [entry for entry in encoding.get("factors") or () if entry.get("kind") == "categorical"]
    if not factors:
        return ""
    how = "as native categories" if encoding.get("mode") == "native" else "one-hot (one column per class)"
    listed = "; ".join("{} ({} classes)".format(entry["name"], len(entry.get("codes") or ())) for entry in factors)
    return "<p><b>Categorical factors</b>, taken {}: {}. As documented: {}.</p>".format(
        how, html.escape(listed), html.escape(UNSEEN_RULE))


def embedded_figure(figure, caption):
    """The HTML <figure> of a matplotlib ``figure`` as an embedded PNG, with ``caption``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return ("<figure><img alt='{0}' src='data:image/png;base64,{1}'/><figcaption>{0}</figcaption></figure>"
            .format(html.escape(caption, quote=True), encoded))


def _new_figure(width, height, columns=1):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    axes = [figure.add_subplot(1, columns, index + 1) for index in range(columns)]
    return figure, axes


def _roc_pr_figure(labels, network, baselines, title="Network"):
    from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve

    figure, (roc_axes, pr_axes) = _new_figure(10, 4.3, 2)
    curves = [(title, network, NETWORK_COLOUR, 2.2)] + [
        (ARCHITECTURES.label(name), baselines[name], MODEL_COLOURS[name], 1.5) for name in BASELINES]
    for name, probability, colour, width in curves:
        fpr, tpr, _ = roc_curve(labels, probability)
        roc_axes.plot(fpr, tpr, color=colour, lw=width, label="{} (AUC {:.3f})".format(name, roc_auc_score(labels, probability)))
        precision, recall, _ = precision_recall_curve(labels, probability)
        pr_axes.step(recall, precision, where="post", color=colour, lw=width,
                     label="{} (AP {:.3f})".format(name, average_precision_score(labels, probability)))
    roc_axes.plot([0, 1], [0, 1], color="0.6", ls="--", lw=1, label="Chance")
    roc_axes.set(xlabel="False positive rate (non-deposits called deposits)", ylabel="True positive rate (deposits found)",
                 title="ROC curve (validation)", xlim=(0, 1), ylim=(0, 1.01))
    prevalence = float(np.mean(labels))
    pr_axes.axhline(prevalence, color="0.6", ls="--", lw=1, label="Chance ({:.2f})".format(prevalence))
    pr_axes.set(xlabel="Recall (deposits found)", ylabel="Precision (calls that are deposits)",
                title="Precision–recall curve (validation)", xlim=(0, 1), ylim=(0, 1.01))
    for axes in (roc_axes, pr_axes):
        axes.legend(loc="lower right" if axes is roc_axes else "lower left", fontsize=8)
        axes.grid(alpha=0.3)
    figure.tight_layout()
    return figure


def _confusion_figure(confusion):
    figure, (axes,) = _new_figure(4.2, 3.6)
    matrix = np.asarray(confusion)
    axes.imshow(matrix, cmap="Blues", vmin=0, vmax=max(1, matrix.max()))
    names = ["Deposit", "Non-deposit"]
    for row in range(2):
        for col in range(2):
            value = matrix[row, col]
            axes.text(col, row, "{}\n{}".format(value, [["TP", "FN"], ["FP", "TN"]][row][col]), ha="center",
                      va="center", fontsize=12, color="white" if value > matrix.max() / 2 else "black")
    axes.set_xticks([0, 1], names)
    axes.set_yticks([0, 1], names)
    axes.set(xlabel="Predicted", ylabel="Actual", title="Confusion matrix (validation)")
    figure.tight_layout()
    return figure


def _history_figure(history):
    from matplotlib.figure import Figure

    from .charts import training_curves

    figure = Figure(figsize=(10, 4.0))
    training_curves(figure, history)
    figure.tight_layout()
    return figure


def _split_map_figure(result):
    from matplotlib.patches import Rectangle

    figure, (axes,) = _new_figure(6.2, 5.6)
    xy, labels, split = result.data.xy, result.data.labels, result.split
    for bounds in split.validation_blocks:
        axes.add_patch(Rectangle((bounds[0], bounds[1]), bounds[2] - bounds[0], bounds[3] - bounds[1],
                                 facecolor="#f6d7a7", edgecolor="#d9822b", lw=0.6, zorder=0))
    left, bottom, right, top = result.data.stack.bounds
    axes.add_patch(Rectangle((left, bottom), right - left, top - bottom, fill=False, edgecolor="0.4", lw=1))
    shrink = min(1.0, np.sqrt(400.0 / max(1, len(labels))))   # dense point sets stay legible
    for indices, filled in ((split.train, True), (split.validation, False)):
        for value, colour, marker, name in ((0, BACKGROUND_COLOUR, "o", "non-deposit"), (1, DEPOSIT_COLOUR, "^", "deposit")):
            chosen = indices[labels[indices] == value]
            axes.scatter(xy[chosen, 0], xy[chosen, 1], s=(22 if value else 12) * shrink, marker=marker,
                         facecolors=colour if filled else "none", edgecolors=colour, lw=1.0,
                         label="{} {} ({})".format("Training" if filled else "Validation", name, len(chosen)))
    axes.set_aspect("equal")
    axes.set(xlim=(left, right), ylim=(bottom, top), xlabel="Easting (map units)", ylabel="Northing (map units)",
             title="Training / validation split ({})".format(split.scheme.replace("_", " ")))
    axes.ticklabel_format(style="plain", useOffset=False)
    axes.tick_params(labelsize=7)
    axes.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False)
    figure.tight_layout()
    return figure


def _versions():
    from .bundle import package_versions

    return package_versions()


_HEAD = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: "Segoe UI", Helvetica, Arial, sans-serif; max-width: 1060px; margin: 2em auto; color: #222;
       line-height: 1.45; padding: 0 1em; }}
h1 {{ color: #1f3f66; }} h2 {{ color: #1f3f66; border-bottom: 1px solid #ccd; padding-bottom: 0.2em; margin-top: 1.6em; }}
table {{ border-collapse: collapse; margin: 0.6em 0; }}
td, th {{ border: 1px solid #ccd; padding: 0.25em 0.7em; text-align: left; }}
th {{ background: #eef2f7; }} td.best {{ font-weight: bold; background: #eaf6ea; }}
table.confusion td {{ text-align: center; min-width: 7em; }}
figure {{ margin: 1em 0; }} img {{ max-width: 100%; }} figcaption {{ color: #555; font-size: 0.9em; }}
.lead {{ font-size: 1.1em; }} .verdict {{ background: #f4f7fb; border-left: 4px solid #1f5fa8; padding: 0.5em 0.8em; }}
.note {{ color: #444; font-size: 0.93em; }}
</style></head><body>"""
