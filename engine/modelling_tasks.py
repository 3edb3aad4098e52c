"""Engine tasks of the modelling and explanation algorithms: train, predict, shap.

Model bundles, TensorFlow and shap load here, in the engine's process, never in QGIS's.
"""
import os

from .tasks import task

#: Arguments of the train task beside ``stack``, ``points`` and the training settings.
TRAINING_OPTIONS = ("points_layer", "output_model", "output_report")


@task("train")
def train(args, feedback):
    """args: stack, points, the TRAINING_OPTIONS, and ``settings`` (``catalog.TrainingSettings.to_dict()``;
    scripts may instead give the settings' fields beside the other arguments) → bundle/report paths
    and validation metrics (with cross-validation: roc_auc the mean over the folds, roc_auc_sd and
    prediction_rate_auc; those two are None for a single split)."""
    from ..core.atomic import check_writable
    from ..models.training import checked_settings, train_model

    values = args.get("settings")
    if values is None:
        values = {name: value for name, value in args.items() if name not in ("stack", "points") + TRAINING_OPTIONS}
    settings = checked_settings(values)     # TrainingSettings.from_dict, with clear errors
    options = {name: args[name] for name in TRAINING_OPTIONS if name in args}
    check_writable([options.get("output_model"), options.get("output_report")])  # before, not after, training
    result = train_model(args["stack"], args["points"], settings, feedback=feedback, **options)
    return {"model_path": result.model_path, "report_path": result.report_path, "accuracy": result.accuracy,
            "roc_auc": result.roc_auc, "f1": result.f1, "roc_auc_sd": result.roc_auc_sd,
            "prediction_rate_auc": result.prediction_rate_auc}


@task("predict")
def predict(args, feedback):
    """args: stack, model, output, output_uncertainty, output_classes, class_fractions, block_size,
    deposits, deposits_layer, dask_scheduler (optional: a Dask scheduler's address) → output paths,
    styles, class thresholds, success rate."""
    from pathlib import Path

    from ..models.bundle import load_bundle, read_metadata
    from ..models.predict import check_uncertainty, predict_map
    from ..models.spectral_common import check_kind

    metadata = read_metadata(args["model"])  # a clear error for a wrong file, before loading TensorFlow
    check_kind(metadata, "prospectivity", args["model"])
    check_uncertainty(args.get("output_uncertainty"), int(metadata.get("ensemble_size", 1)))
    deposits_xy = _deposits_xy(args, feedback)
    feedback.info("Loading the model {} ({}).".format(Path(args["model"]).name, metadata.get("architecture")))
    result = predict_map(
        load_bundle(args["model"], feedback), args["stack"], args["output"], block_size=int(args["block_size"]),
        output_uncertainty=args.get("output_uncertainty"), output_classes=args.get("output_classes"),
        class_fractions=args["class_fractions"], deposits_xy=deposits_xy, feedback=feedback,
        scheduler=args.get("dask_scheduler"))
    if result.class_thresholds:
        feedback.info("Class thresholds (probability): very high ≥ {:.4f}, high ≥ {:.4f}, moderate ≥ {:.4f}."
                      .format(*result.class_thresholds))
    outputs = {"styles": result.styles, "valid_pixels": result.valid_pixels, "unseen_codes": result.unseen_codes}
    if result.success_rate is not None:
        outputs.update(success_rate_auc=result.auc, success_rate_csv=result.success_rate_csv,
                       success_rate_png=result.success_rate_png)
    return outputs


@task("shap")
def shap(args, feedback):
    """args: stack, model, points, points_layer, explainer, sample_size, background_size, seed, folder,
    raster, map_references, map_steps, dask_scheduler (optional: a Dask scheduler's address for the
    contribution maps) → HTML path, additivity errors."""
    from ..core.raster import read_stack_info
    from ..models import charts, explain
    from ..models.bundle import load_bundle, read_metadata
    from ..models.spectral_common import check_kind

    check_kind(read_metadata(args["model"]), "prospectivity", args["model"])
    bundle = load_bundle(args["model"], feedback)
    info = read_stack_info(args["stack"])
    bundle.check_factors(info.factor_names)
    xy = labels = None
    if args.get("points"):
        xy, labels = _labelled_points(args, info, feedback)
    raster = args.get("raster")
    explainer = args["explainer"]
    result = explain.explain_sample(
        bundle, args["stack"], points_xy=xy, points_labels=labels, sample_size=int(args["sample_size"]),
        background_size=int(args["background_size"]), explainer=explainer, seed=int(args["seed"]),
        feedback=feedback.scaled(0, 60 if raster else 90))
    feedback.info("Additivity: base value {:.4f}; largest |base + ΣSHAP − prediction| = {:.2g} ({})".format(
        result["base_value"], result["additivity_error"], result["explainer"]))
    feedback.info("Importance: " + ", ".join("{} {:.4f}".format(n, v) for n, v in explain.importance(result)[:5]))
    mapped = None
    if raster:
        feedback.check_canceled()
        mapped = explain.contribution_map(
            bundle, args["stack"], raster, background_size=int(args["background_size"]),
            references=int(args["map_references"]), steps=int(args["map_steps"]), seed=int(args["seed"]),
            feedback=feedback.scaled(60, 95), scheduler=args.get("dask_scheduler"))
        feedback.info("Contribution maps: base value {:.4f}, largest additivity error {:.2g}".format(
            mapped["base_value"], mapped["additivity_error"]))
    paths = charts.write_report(result, args["folder"], model_name=os.path.basename(bundle.path or ""), maps=mapped)
    outputs = {"html": paths["html"], "additivity_error": result["additivity_error"]}
    if mapped:
        outputs["map_additivity_error"] = mapped["additivity_error"]
    feedback.set_progress(100)
    return outputs


def _deposits_xy(args, feedback):
    """Deposit coordinates (n, 2) in the stack's CRS, or None without deposits."""
    if not args.get("deposits"):
        return None
    from ..core.points import read_points
    from ..core.raster import read_stack_info

    return read_points(args["deposits"], read_stack_info(args["stack"]).crs, args.get("deposits_layer"),
                       "DEPOSITS", feedback)[1]


def _labelled_points(args, info, feedback):
    import numpy as np

    from ..core.points import read_points

    frame, xy = read_points(args["points"], info.crs, args.get("points_layer"), "POINTS", feedback)
    labels = frame["label"].to_numpy(dtype=float) if "label" in frame.columns else np.ones(len(frame))
    return xy, labels
