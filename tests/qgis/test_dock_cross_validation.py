"""The dock's Model tab on a cross-validated bundle: ROC-AUC and PR-AUC read "mean ± sd" over the
folds and a last row holds the held-out prediction-rate AUC; a single-split bundle keeps the
plain table. The summary is built by ``models.metadata_schema.normalise`` (plain Python, as the
engine's ``bundle_summary`` task sends it) from a format-1 bundle's metadata with a k-fold table
added by hand; the expected texts are formatted here from those numbers."""
import json
import zipfile
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "engine" / "data"


class _Engine:
    chart_folder = None


def _metadata(cross_validated):
    with zipfile.ZipFile(DATA / "legacy_bundle_v1_dense.dpm") as archive:
        raw = json.loads(archive.read("metadata.json"))
    if cross_validated:
        raw["validation"] = {"scheme": "spatial_kfold", "training_points": 240, "validation_points": 240,
                             "block_size": 4000.0, "validation_blocks": 25, "training_blocks": 25, "folds": 3,
                             "buffer": 0.0}
        summary = {name: {score: {"mean": mean + shift, "sd": 0.01 * (index + 1)}
                          for index, (score, mean) in enumerate((("roc_auc", 0.8), ("pr_auc", 0.5),
                                                                  ("prediction_rate_auc", 0.7)))}
                   for name, shift in (("network", 0.0), ("logistic_regression", 0.05), ("random_forest", -0.02))}
        raw["cross_validation"] = {"folds": 3, "buffer": 0.0, "block_size": 4000.0, "max_cells_per_fold": 20000,
                                   "area_fraction": [0.0, 1.0], "fold_results": [], "summary": summary}
    from deepprospect.models.metadata_schema import normalise

    return normalise(raw)


def _table(tab):
    table = tab.metrics_table
    headers = [table.verticalHeaderItem(row).text() for row in range(table.rowCount())]
    return {header: [table.item(row, column).text() for column in range(3)] for row, header in enumerate(headers)}


def test_a_cross_validated_bundle_shows_mean_and_sd(qgis_app):
    from deepprospect.plugin.dock_model import ModelTab

    tab = ModelTab(_Engine())
    metadata = _metadata(True)
    tab.show_metadata(metadata)
    cells = _table(tab)
    summary = metadata["cross_validation"]["summary"]
    models = ("network", "logistic_regression", "random_forest")
    for header, score in (("ROC-AUC", "roc_auc"), ("PR-AUC", "pr_auc"),
                          ("Prediction-rate AUC\n(held-out cells)", "prediction_rate_auc")):
        assert cells[header] == ["{:.3f} ± {:.3f}".format(summary[name][score]["mean"], summary[name][score]["sd"])
                                 for name in models], header
    # the scores without a spread are the pooled out-of-fold ones, as before
    assert cells["Accuracy"][0] == "{:.3f}".format(metadata["metrics"]["accuracy"])
    assert "3 folds" in tab.validation_note.text() and "240 points" in tab.validation_note.text()

    # the same tab then shows a single-split bundle without the extra row or any spread
    single = _metadata(False)
    tab.show_metadata(single)
    cells = _table(tab)
    assert "Prediction-rate AUC\n(held-out cells)" not in cells and len(cells) == 9
    assert cells["ROC-AUC"][0] == "{:.3f}".format(single["metrics"]["roc_auc"])
