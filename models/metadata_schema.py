"""The one shape of a bundle's metadata that the inspector dock and the training report read.

Bundles on disk differ: format 1 (TensorFlow 2.15 inside QGIS) and format 2 prospectivity
bundles written by ``models.training.train_model`` (older ones have no
``validation_comparison`` and no ``cross_validation``), and the spectral bundles of ``models.spectral_classifier`` and
``models.spectral_regressor`` (.dpm files too, with their own metrics and ONE Keras history
dict instead of a list per member). :func:`normalise` turns any of them into the shape below,
so its readers never guess: every key is always there, a value the bundle does not hold is
None (or an empty list / dict where the type says so).

Shape (``normalise(metadata)`` → dict)::

    kind                     str    "prospectivity", "spectral_classifier", "spectral_regressor"
    architecture             str    a name of ``catalog.ARCHITECTURES`` (spectral: the model's own name)
    architecture_description str    one line for people ("" when the bundle has none)
    uses_patches             bool   the network reads a square patch around each pixel
    patch_size               int    patch side in pixels; 1 for pixel models
    ensemble_size            int    networks averaged into the probability (≥ 1)
    factor_names             [str]  evidence layers in stack band order
    hyperparameters          dict   training options as recorded (name → number, str, bool, None
                                    or a dict such as class_weight), in recorded order
    trainable_parameters     int | None
    seed                     int | None
    class_balance            {"deposit": int | None, "non_deposit": int | None}: all training points
    data                     {points, label_field, stack, training: {deposit, non_deposit},
                              validation: {deposit, non_deposit}} as training wrote it, or {}
    grid                     {"crs_wkt": str | None, "pixel_size": float | None (map units),
                              "width", "height": int | None (pixels), "transform": [6 floats] | None
                              (GDAL order), "bounds": [left, bottom, right, top] | None (map units)}
    validation               {"scheme": str | None (a name of ``catalog.VALIDATION_SCHEMES``),
                              "training_points", "validation_points": int | None,
                              "block_size": float | None (map units; spatial schemes only),
                              "validation_blocks", "training_blocks": int | None,
                              "folds": int | None, "buffer": float | None (map units): k-fold only}
    metrics                  METRICS of the network on the validation points (k-fold: every
                              point's out-of-fold probability, roc_auc and pr_auc the fold means)
    baselines                {"logistic_regression": METRICS, "random_forest": METRICS}
    validation_comparison    None, or {scheme: {scheme, training_points, validation_points,
                              block_size?, network, logistic_regression, random_forest: {roc_auc,
                              pr_auc, accuracy, deposit_f1}}} when both splits were trained
    cross_validation         None, or for spatial k-fold: {"folds": int, "buffer": float (map
                              units), "block_size": float (map units), "max_cells_per_fold": int,
                              "area_fraction": [float] (0–1, the x of every prediction-rate curve),
                              "fold_results": [one dict per fold: "fold" (1-based),
                              "training_points", "held_out_points", "held_out_deposits",
                              "dropped_by_buffer", "held_out_blocks", "held_out_cells",
                              "ranked_cells": int | None, "models": {MODEL: FOLD_SCORES}],
                              "summary": {MODEL: {"roc_auc", "pr_auc", "prediction_rate_auc":
                              {"mean": float | None, "sd": float | None}}}}; MODEL is "network",
                              "logistic_regression", "random_forest"; FOLD_SCORES is {"roc_auc",
                              "pr_auc", "prediction_rate_auc": float | None, "captured_fraction":
                              [float] (share of held-out deposits in the top area_fraction)};
                              "calibration": None, or for a calibrated model (``models.calibration``)
                              {"method": str, "prior": float | None (stated share of cells holding a
                              deposit), "labelled_prior": float (share holding a known one),
                              "discovered_fraction", "scale": float, "out_of_fold_deposits",
                              "out_of_fold_cells": int, "reliability": {"predicted", "observed",
                              "cells": [float per bin]}}}
    history                  [one dict per ensemble member: "loss", "val_loss", "accuracy",
                              "val_accuracy", "stopping_loss": [float per epoch] ([] if not
                              recorded), "epochs_run": int, "best_epoch": int | None (1-based epoch
                              whose weights were kept), "seed": int | None]
    patch_padding            str | None   how patch cells off the raster are filled
    training_seconds         float | None
    created                  str | None   ISO 8601 time the bundle was trained
    versions                 {package: version}: the libraries that trained it ({} if unknown)

METRICS (scores are fractions 0–1; None when the bundle does not hold them, NaN when they are
undefined: roc_auc and pr_auc with one class only on the validation side)::

    accuracy, roc_auc, pr_auc, macro_f1   float | None
    deposit, non_deposit                  {"precision", "recall", "f1": float | None,
                                           "support": int | None (validation points of the class)}
    confusion_matrix                      [[TP, FN], [FP, TN]] (int) | None: rows actual, columns
                                          predicted, deposit first (Table 3 of Pradhan et al. 2022)
    threshold                             float | None: deposit probability called "deposit"
    n                                     int | None: validation points
    members_roc_auc                       [float]: one per ensemble member ([] for baselines)
"""
from ..catalog import ARCHITECTURES

SCORES = ("accuracy", "roc_auc", "pr_auc", "macro_f1")
CLASS_SCORES = ("precision", "recall", "f1")
CLASSES = ("deposit", "non_deposit")
#: The baselines fitted beside every model (catalog option ``baseline``), the metadata's keys.
BASELINES = ARCHITECTURES.where(baseline=True)
CURVES = ("loss", "val_loss", "accuracy", "val_accuracy", "stopping_loss")
GRID_KEYS = ("crs_wkt", "pixel_size", "width", "height", "transform", "bounds")
VALIDATION_KEYS = ("training_points", "validation_points", "block_size", "validation_blocks", "training_blocks",
                   "folds", "buffer")
#: Distances among the validation keys (floats); the others are counts (ints).
VALIDATION_DISTANCES = ("block_size", "buffer")
#: Models scored on every fold of a cross-validation, in table order.
FOLD_MODELS = ("network",) + BASELINES
FOLD_SCORES = ("roc_auc", "pr_auc", "prediction_rate_auc")
FOLD_COUNTS = ("training_points", "held_out_points", "held_out_deposits", "dropped_by_buffer", "held_out_blocks",
               "held_out_cells", "ranked_cells")
#: Keys copied as they are (None when absent).
PLAIN_KEYS = ("validation_comparison", "patch_padding", "training_seconds", "created")


def normalise(metadata):
    """The metadata of any bundle DeepProspect has written, in the shape of this module's docstring.

    ``metadata``: the dict of a bundle's ``metadata.json`` (or ``TrainingResult.metadata``). The
    input is not changed; the result shares no mutable object with it except
    ``validation_comparison`` and the ``data`` and ``hyperparameters`` values.
    """
    architecture = str(metadata.get("architecture", ""))
    hyperparameters = dict(metadata.get("hyperparameters") or {})
    uses_patches = _uses_patches(architecture, metadata)
    shape = dict(
        kind=metadata.get("kind", "prospectivity"), architecture=architecture,
        architecture_description=metadata.get("architecture_description") or "",
        uses_patches=uses_patches,
        patch_size=int(metadata.get("patch_size") or hyperparameters.get("patch_size") or 1) if uses_patches else 1,
        ensemble_size=_ensemble_size(metadata, hyperparameters),
        factor_names=[str(name) for name in metadata.get("factor_names") or ()],
        hyperparameters=hyperparameters,
        trainable_parameters=_integer(metadata.get("trainable_parameters")), seed=_integer(metadata.get("seed")),
        class_balance=_class_counts(metadata.get("class_balance")),
        data=dict(metadata.get("data") or {}),
        grid={key: (metadata.get("grid") or {}).get(key) for key in GRID_KEYS},
        validation=_validation(metadata.get("validation")),
        metrics=_metrics(metadata.get("metrics"), network=True),
        baselines={name: _metrics((metadata.get("baselines") or {}).get(name)) for name in BASELINES},
        history=[_member_history(record) for record in _history_records(metadata.get("history"))],
        cross_validation=_cross_validation(metadata.get("cross_validation")),
        versions=dict(metadata.get("versions") or {}))
    shape.update({key: metadata.get(key) for key in PLAIN_KEYS})
    return shape


def _uses_patches(architecture, metadata):
    if architecture in ARCHITECTURES:
        return bool(ARCHITECTURES.get(architecture).options.get("uses_patches"))
    return int(metadata.get("patch_size") or 1) > 1


def _ensemble_size(metadata, hyperparameters):
    for value in (metadata.get("ensemble_size"), hyperparameters.get("ensemble_size")):
        if _integer(value):
            return int(value)
    return max(1, len(metadata.get("members") or ()))


def _number(value):
    """A float, or None for anything that is not a number (booleans included)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _integer(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)


def _class_counts(counts):
    counts = counts if isinstance(counts, dict) else {}
    return {name: _integer(counts.get(name)) for name in CLASSES}


def _validation(validation):
    validation = validation if isinstance(validation, dict) else {}
    shape = {"scheme": validation.get("scheme")}
    for key in VALIDATION_KEYS:
        shape[key] = _number(validation.get(key)) if key in VALIDATION_DISTANCES else _integer(validation.get(key))
    return shape


def _metrics(metrics, network=False):
    """METRICS (module docstring) from a training metrics dict; None where it has no value."""
    metrics = metrics if isinstance(metrics, dict) else {}
    shape = {key: _number(metrics.get(key)) for key in SCORES}
    for name in CLASSES:
        scores = metrics.get(name) if isinstance(metrics.get(name), dict) else {}
        shape[name] = {key: _number(scores.get(key)) for key in CLASS_SCORES}
        shape[name]["support"] = _integer(scores.get("support"))
    matrix = metrics.get("confusion_matrix")
    valid = isinstance(matrix, (list, tuple)) and len(matrix) == 2 and all(len(row) == 2 for row in matrix)
    shape["confusion_matrix"] = [[int(value) for value in row] for row in matrix] if valid else None
    shape["threshold"] = _number(metrics.get("threshold"))
    shape["n"] = _integer(metrics.get("n"))
    shape["members_roc_auc"] = [float(value) for value in metrics.get("members_roc_auc") or ()] if network else []
    return shape


def _cross_validation(table):
    """The "cross_validation" shape of the module docstring, or None for a single split."""
    if not isinstance(table, dict):
        return None
    shape = {"folds": _integer(table.get("folds")), "buffer": _number(table.get("buffer")),
             "block_size": _number(table.get("block_size")),
             "max_cells_per_fold": _integer(table.get("max_cells_per_fold")),
             "area_fraction": [float(value) for value in table.get("area_fraction") or ()]}
    shape["fold_results"] = [_fold_result(fold) for fold in table.get("fold_results") or () if isinstance(fold, dict)]
    summary = table.get("summary") if isinstance(table.get("summary"), dict) else {}
    shape["summary"] = {model: {score: _mean_sd((summary.get(model) or {}).get(score)) for score in FOLD_SCORES}
                        for model in FOLD_MODELS}
    shape["calibration"] = _calibration(table.get("calibration"))
    return shape


def _calibration(calibration):
    """The "calibration" shape (``models.calibration.calibrate``), or None for an uncalibrated model."""
    if not isinstance(calibration, dict):
        return None
    shape = {key: _number(calibration.get(key)) for key in ("prior", "labelled_prior", "discovered_fraction", "scale")}
    shape.update(method=str(calibration.get("method") or ""),
                 out_of_fold_deposits=_integer(calibration.get("out_of_fold_deposits")),
                 out_of_fold_cells=_integer(calibration.get("out_of_fold_cells")))
    reliability = calibration.get("reliability") if isinstance(calibration.get("reliability"), dict) else {}
    shape["reliability"] = {key: [float(v) for v in reliability.get(key) or ()] for key in ("predicted", "observed", "cells")}
    return shape


def _fold_result(fold):
    shape = {"fold": _integer(fold.get("fold"))}
    shape.update({key: _integer(fold.get(key)) for key in FOLD_COUNTS})
    models = fold.get("models") if isinstance(fold.get("models"), dict) else {}
    shape["models"] = {}
    for model in FOLD_MODELS:
        scores = models.get(model) if isinstance(models.get(model), dict) else {}
        shape["models"][model] = {score: _number(scores.get(score)) for score in FOLD_SCORES}
        shape["models"][model]["captured_fraction"] = [float(v) for v in scores.get("captured_fraction") or ()]
    return shape


def _mean_sd(values):
    values = values if isinstance(values, dict) else {}
    return {"mean": _number(values.get("mean")), "sd": _number(values.get("sd"))}


def _history_records(history):
    """Per-member records: prospectivity bundles keep a list, spectral ones one Keras history dict."""
    if isinstance(history, dict):
        return [history]
    return [record for record in history or () if isinstance(record, dict)]


def _member_history(record):
    shape = {key: [float(value) for value in record.get(key) or ()] for key in CURVES}
    shape["epochs_run"] = _integer(record.get("epochs_run")) or len(shape["loss"])
    shape["best_epoch"] = _integer(record.get("best_epoch"))
    shape["seed"] = _integer(record.get("seed"))
    return shape
