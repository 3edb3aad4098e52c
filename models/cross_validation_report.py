"""The training report's spatial k-fold section: mean ± sd of every model, the per-fold table,
the held-out prediction-rate curves and the map of the folds (``models.report`` embeds it).

Reads the "cross_validation" dict in the shape of ``models.metadata_schema``.
"""
import html

from .validation_charts import fold_map, model_title, prediction_rate_curves, reliability_diagram, trained_title

#: (key, column title) of the scores reported per fold and as mean ± sd.
SCORE_COLUMNS = (("roc_auc", "ROC-AUC"), ("pr_auc", "PR-AUC"), ("prediction_rate_auc", "Prediction-rate AUC"))


def scheme_sentence(cross_validation, points):
    """What the cross-validation did and what its figures mean, for the report's notes."""
    return ("Spatial k-fold cross-validation: the blocks of {:g} map units were dealt into {} folds; each fold "
            "was held out once while the network and the baselines trained on the other folds' points (the same "
            "points for every model{}). The final model was then trained on all {} points; the mean ± sd over "
            "the folds is the estimate of its skill in new ground.".format(
                cross_validation["block_size"], cross_validation["folds"], _buffer_words(cross_validation),
                points))


def section(cross_validation, result, embed):
    """HTML parts of the k-fold section. ``result``: the ``TrainingResult`` (its ``folds`` and
    points draw the map); ``embed(figure, caption)`` → the HTML of an embedded chart."""
    from matplotlib.figure import Figure

    trained = trained_title(result.metadata["architecture"])
    parts = ["<h2>Spatial cross-validation</h2>",
             "<p>{}</p>".format(html.escape(scheme_sentence(cross_validation, len(result.data.labels)))),
             summary_table(cross_validation, trained), "<h3>Each fold</h3>", fold_table(cross_validation, trained)]
    curves = Figure(figsize=(10, 3.9))
    prediction_rate_curves(curves, cross_validation, trained)
    curves.tight_layout()
    parts.append(embed(curves, "Held-out prediction-rate curves: in each fold the held-out deposits are ranked "
                               "against the valid cells of the held-out blocks (cumulative deposits against "
                               "cumulative area, most prospective first); thin lines are folds, the thick line "
                               "their mean."))
    if cross_validation.get("calibration"):
        parts += calibration_section(cross_validation["calibration"], embed)
    if result.folds:
        figure = Figure(figsize=(6.2, 5.9))
        fold_map(figure.add_subplot(1, 1, 1), result.data.xy, result.data.labels, result.folds,
                 result.data.stack.bounds)
        figure.tight_layout()
        parts.append(embed(figure, "The folds: each shaded block was held out in the fold of its colour."))
    return parts


def summary_table(cross_validation, trained="Network"):
    """Mean ± sd over the folds of each score, one row per model; the best mean in bold."""
    summary = cross_validation["summary"]
    out = ["<table><tr><th>Model (mean ± sd over {} folds)</th>".format(cross_validation["folds"]) +
           "".join("<th>{}</th>".format(title) for _, title in SCORE_COLUMNS) + "</tr>"]
    best = {key: max(scores[key]["mean"] for scores in summary.values()) for key, _ in SCORE_COLUMNS}
    for name, scores in summary.items():
        cells = "".join("<td{}>{:.3f} ± {:.3f}</td>".format(
            " class='best'" if scores[key]["mean"] == best[key] else "", scores[key]["mean"], scores[key]["sd"])
            for key, _ in SCORE_COLUMNS)
        out.append("<tr><td>{}</td>{}</tr>".format(model_title(name, trained), cells))
    out.append("</table>")
    return "\n".join(out)


def fold_table(cross_validation, trained="Network"):
    """One row per fold: its points and cells, and each model's three scores."""
    models = list(cross_validation["summary"])
    head = ("<tr><th rowspan='2'>Fold</th><th rowspan='2'>Training points</th><th rowspan='2'>Left out by the "
            "buffer</th><th rowspan='2'>Held-out points (deposits)</th><th rowspan='2'>Held-out blocks</th>"
            "<th rowspan='2'>Cells ranked</th>" +
            "".join("<th colspan='3'>{}</th>".format(model_title(name, trained)) for name in models) + "</tr><tr>" +
            "".join("<th>{}</th>".format(title) for _ in models for _, title in SCORE_COLUMNS) + "</tr>")
    out = ["<table>", head]
    for fold in cross_validation["fold_results"]:
        cells = "".join("<td>{:.3f}</td>".format(fold["models"][name][key]) for name in models
                        for key, _ in SCORE_COLUMNS)
        out.append("<tr><td>{}</td><td>{}</td><td>{}</td><td>{} ({})</td><td>{}</td><td>{}{}</td>{}</tr>".format(
            fold["fold"], fold["training_points"], fold["dropped_by_buffer"], fold["held_out_points"],
            fold["held_out_deposits"], fold["held_out_blocks"], fold["ranked_cells"],
            "" if fold["held_out_cells"] <= cross_validation["max_cells_per_fold"] else
            " (sampled from {})".format(fold["held_out_cells"]),
            cells))
    out.append("</table>")
    out.append("<p class='note'>Cells ranked: the valid (not nodata) cells of the held-out blocks; when the blocks "
               "hold more than {} cells, a uniform random sample of them (a sample estimates the prediction-rate AUC "
               "without bias).</p>".format(
                   cross_validation["max_cells_per_fold"]))
    return "\n".join(out)


def _buffer_words(cross_validation):
    if not cross_validation["buffer"]:
        return ""
    return "; training points closer than {:g} map units to a held-out block were left out".format(
        cross_validation["buffer"])


def calibration_section(calibration, embed):
    """HTML parts of a calibrated model: which prior its probabilities state, and the
    cross-validated reliability diagram."""
    from matplotlib.figure import Figure

    if calibration["prior"]:
        prior = ("scaled to the stated prior: {:.4f} of the valid cells hold a deposit, found or not, of which the "
                 "known ones are {:.4f}, so about {:.0%} are taken to be discovered".format(
                     calibration["prior"], calibration["labelled_prior"], calibration["discovered_fraction"]))
    else:
        prior = ("with no prior stated, so a probability is that of a known deposit: {:.4f} of the valid cells "
                 "hold one, and every deposit is taken to be found (set the expected share of cells holding a "
                 "deposit to map the chance of any deposit)".format(calibration["labelled_prior"]))
    figure = Figure(figsize=(5.2, 4.8))
    reliability_diagram(figure.add_subplot(1, 1, 1), calibration)
    figure.tight_layout()
    return ["<h3>Calibration</h3>",
            "<p>{}</p>".format(html.escape(
                "The map's probabilities come from an {} ({} held-out deposits, {} held-out cells), {}. The "
                "ranking of the cells is the model's own score's.".format(
                    calibration["method"], calibration["out_of_fold_deposits"], calibration["out_of_fold_cells"],
                    prior))),
            embed(figure, "Reliability: each fold's cells calibrated by the other folds only, grouped into tenths "
                          "of the cells by predicted probability; a point on the diagonal means that cells "
                          "predicted at p hold deposits at rate p.")]
