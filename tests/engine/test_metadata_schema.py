"""models/metadata_schema.normalise: every bundle layout DeepProspect wrote, in one shape.

References: the bundles' own ``metadata.json`` read with ``zipfile`` + ``json`` (the format 1
fixtures of tests/engine/data, written by the old in-process code), and hand-written metadata of
the spectral models (one Keras history dict, their own metrics).
"""
import copy
import json
import zipfile
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"
KEYS = {"kind", "architecture", "architecture_description", "uses_patches", "patch_size", "ensemble_size",
        "factor_names", "hyperparameters", "trainable_parameters", "seed", "class_balance", "data", "grid",
        "validation", "metrics", "baselines", "validation_comparison", "history", "patch_padding",
        "training_seconds", "created", "versions", "cross_validation"}
METRIC_KEYS = {"accuracy", "roc_auc", "pr_auc", "macro_f1", "deposit", "non_deposit", "confusion_matrix",
               "threshold", "n", "members_roc_auc"}


def _raw(name):
    with zipfile.ZipFile(DATA / name) as archive:
        return json.loads(archive.read("metadata.json"))


@pytest.mark.parametrize("name, members, patch_size", [("legacy_bundle_v1_dense.dpm", 1, 1),
                                                       ("legacy_bundle_v1_cnn2d.dpm", 1, 3),
                                                       ("legacy_bundle_v1_ensemble.dpm", 2, 1)])
def test_legacy_bundles_keep_their_values(name, members, patch_size):
    from deepprospect.models.metadata_schema import normalise

    raw = _raw(name)
    before = copy.deepcopy(raw)
    shape = normalise(raw)
    assert raw == before  # the input is not changed
    assert set(shape) == KEYS
    assert shape["ensemble_size"] == members and len(shape["history"]) == members
    assert shape["patch_size"] == patch_size and shape["uses_patches"] == (patch_size > 1)
    for metrics, source in [(shape["metrics"], raw["metrics"])] + [
            (shape["baselines"][key], raw["baselines"][key]) for key in ("logistic_regression", "random_forest")]:
        assert set(metrics) == METRIC_KEYS
        for key in ("accuracy", "roc_auc", "pr_auc", "macro_f1", "threshold", "n", "confusion_matrix"):
            assert metrics[key] == source[key]
        for label in ("deposit", "non_deposit"):
            assert metrics[label] == source[label]
    assert shape["metrics"]["members_roc_auc"] == raw["metrics"]["members_roc_auc"]
    assert shape["class_balance"] == raw["class_balance"]
    assert shape["validation"]["scheme"] == raw["validation"]["scheme"] == "random"
    assert shape["validation"]["validation_points"] == raw["validation"]["validation_points"]
    assert shape["validation"]["block_size"] is None
    assert shape["validation"]["folds"] is None and shape["validation"]["buffer"] is None
    assert shape["cross_validation"] is None          # written before spatial k-fold existed
    assert shape["grid"]["pixel_size"] == raw["grid"]["pixel_size"]
    for record, source in zip(shape["history"], raw["history"]):
        for key in ("loss", "val_loss", "accuracy", "val_accuracy", "stopping_loss", "best_epoch", "epochs_run"):
            assert record[key] == source[key]
    assert shape["versions"]["keras"] == "2.15.0"


def test_a_bundle_older_than_the_validation_comparison():
    from deepprospect.models.metadata_schema import normalise

    raw = _raw("legacy_bundle_v1_dense.dpm")
    del raw["validation_comparison"]
    assert normalise(raw)["validation_comparison"] is None


def test_spectral_bundles_have_the_same_shape():
    """A spectral classifier's metadata: one Keras history dict, no deposit metrics."""
    from deepprospect.models.metadata_schema import normalise

    raw = {"kind": "spectral_classifier", "architecture": "deepgeomap_cnn1d", "factor_names": ["R450", "R460"],
           "hyperparameters": {"epochs": 3}, "metrics": {"accuracy_train": 0.9, "accuracy_validation": 0.8,
                                                          "confusion_validation": [[1, 2, 3]] * 3},
           "baselines": {"SAM": {"accuracy_validation": 0.7}}, "seed": 4,
           "history": {"loss": [0.9, 0.5, 0.4], "val_loss": [1.0, 0.7, 0.6], "accuracy": [0.5, 0.7, 0.8]}}
    shape = normalise(raw)
    assert set(shape) == KEYS
    assert shape["ensemble_size"] == 1 and shape["patch_size"] == 1 and not shape["uses_patches"]
    assert [record["loss"] for record in shape["history"]] == [[0.9, 0.5, 0.4]]
    assert shape["history"][0]["stopping_loss"] == [] and shape["history"][0]["epochs_run"] == 3
    assert shape["history"][0]["best_epoch"] is None
    for metrics in (shape["metrics"], *shape["baselines"].values()):
        assert set(metrics) == METRIC_KEYS
        assert metrics["accuracy"] is None and metrics["confusion_matrix"] is None
        assert metrics["deposit"] == {"precision": None, "recall": None, "f1": None, "support": None}
    assert shape["class_balance"] == {"deposit": None, "non_deposit": None}
    assert shape["validation"]["scheme"] is None and shape["grid"]["crs_wkt"] is None


def test_cross_validation_results_have_one_shape():
    """A k-fold table as training writes it, with a fold missing a model and a summary missing a
    score (a bundle of another version): every key there, None where nothing was written."""
    from deepprospect.models.metadata_schema import normalise

    raw = _raw("legacy_bundle_v1_dense.dpm")
    raw["validation"] = {"scheme": "spatial_kfold", "training_points": 240, "validation_points": 240,
                         "block_size": 4000.0, "validation_blocks": 25, "training_blocks": 25, "folds": 2,
                         "buffer": 400}
    curve = [0.0, 0.5, 1.0]
    scores = {"roc_auc": 0.8, "pr_auc": 0.5, "prediction_rate_auc": 0.75, "captured_fraction": curve}
    raw["cross_validation"] = {
        "folds": 2, "buffer": 400, "block_size": 4000.0, "max_cells_per_fold": 20000, "area_fraction": [0, 0.5, 1],
        "fold_results": [{"fold": 1, "training_points": 100, "held_out_points": 120, "held_out_deposits": 30,
                          "dropped_by_buffer": 20, "held_out_blocks": 12, "held_out_cells": 3000,
                          "ranked_cells": 2900, "models": {"network": scores, "logistic_regression": scores}},
                         {"fold": 2, "models": {}}],
        "summary": {"network": {"roc_auc": {"mean": 0.8, "sd": 0.02}}}}
    before = copy.deepcopy(raw)
    shape = normalise(raw)
    assert raw == before
    assert shape["validation"]["folds"] == 2 and shape["validation"]["buffer"] == 400.0
    table = shape["cross_validation"]
    assert (table["folds"], table["buffer"], table["block_size"], table["max_cells_per_fold"]) == (2, 400.0, 4000.0,
                                                                                                   20000)
    assert table["area_fraction"] == [0.0, 0.5, 1.0]
    first, second = table["fold_results"]
    assert first["dropped_by_buffer"] == 20 and first["ranked_cells"] == 2900
    assert first["models"]["network"] == scores and first["models"]["logistic_regression"] == scores
    assert first["models"]["random_forest"] == {"roc_auc": None, "pr_auc": None, "prediction_rate_auc": None,
                                                "captured_fraction": []}
    assert second["training_points"] is None and set(second["models"]) == {"network", "logistic_regression",
                                                                            "random_forest", "gradient_boosting"}
    assert table["summary"]["network"]["roc_auc"] == {"mean": 0.8, "sd": 0.02}
    assert table["summary"]["network"]["pr_auc"] == {"mean": None, "sd": None}
    assert table["summary"]["random_forest"]["prediction_rate_auc"] == {"mean": None, "sd": None}
