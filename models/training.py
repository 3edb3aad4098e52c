"""Train a prospectivity model from an evidence stack and labelled points, validate it honestly,
and save a self-describing model bundle (``.dpm``) and an HTML report.

:func:`train_model` is the plain-Python entry point behind ``deepprospect:train``; its options
are a ``catalog.TrainingSettings`` (the one place their defaults live)::

    settings = TrainingSettings(validation="spatial_blocks", epochs=100)
    result = train_model("stack.tif", "training_points.gpkg", settings, output_model="gold.dpm",
                         output_report="gold.html")
    result.roc_auc, result.metrics, result.baselines   # or train_model(stack, points, epochs=100, ...)

What happens, in order:

1. the points (``label`` 1 = deposit, 0 = non-deposit) are read in the stack's CRS and checked:
   labels only 0/1, at least ``MIN_PER_CLASS`` of each class, every point on a valid pixel of
   the stack (``models.training_data``);
2. the points are split into training and validation by the chosen scheme of
   ``catalog.VALIDATION_SCHEMES``: at random (the paper's 80/20), by whole spatial blocks
   (``models.evaluation``), or into spatial k-fold folds (the default): then steps 3–4 run once
   per fold, every model on the same folds, and the final network is trained on all points
   (``models.cross_validation``);
3. the factors are standardised with the mean and standard deviation of the *training* points
   only; for a patch architecture each point becomes a PATCH_SIZE × PATCH_SIZE window
   (``core.patches``: cells outside the raster or on nodata take the training mean), and the
   training deposits are multiplied by the 8 rotations/flips of their patch;
4. each of ``ensemble_size`` members (seeds ``seed``, ``seed + 1``, …) is trained with Adam and
   softmax cross-entropy; early stopping (default on) watches a stopping subset carved out of
   the training split, never the validation split (``models.training_loop``); logistic
   regression, random forest and gradient boosting are the baselines on the same split; metrics
   come from scikit-learn;
5. the bundle and the report are written atomically.

The same inputs and seed give the same weights and metrics (TensorFlow op determinism).

Metadata (``TrainingResult.metadata``, the bundle's ``metadata.json``; the bundle adds ``format``,
``format_version``, ``network``, ``ensemble_size``, ``members`` and ``versions``). One shape,
always all keys; "metrics" means ``models.evaluation.classification_metrics``'s dict::

    kind                    "prospectivity"
    architecture            a name of catalog.ARCHITECTURES
    architecture_description  that choice's catalog description (one line for people)
    factor_names            [str], stack band order
    normalisation           {mean: [float], std: [float]}, one per factor, raw units, training split only
    factor_encoding         {mode: "one_hot" | "native", unseen: str, factors: [{name, kind: "continuous" |
                             "categorical", and for categorical factors codes: [float] (training codes,
                             sorted), categories: {code: name}}]} (``core.factor_encoding``; absent in
                             older bundles: every factor continuous)
    patch_size              int, odd; 1 for pixel architectures
    patch_padding           str (how patch cells outside the stack or on nodata are filled) or null
    hyperparameters         {architecture, patch_size, epochs, batch_size, learning_rate, dropout, l2,
                             optimizer: "adam", loss: "softmax cross-entropy", early_stopping, patience,
                             stopping_fraction (0.0 without early stopping), balance_classes,
                             class_weight ({"0": w, "1": w} or null), ensemble_size, validation
                             (a name of catalog.VALIDATION_SCHEMES), validation_fraction, block_size
                             (map units; null for "random"), augmentation (str), label_field; with
                             cross-validation also folds, buffer (map units)}
    trainable_parameters    int, of one member
    grid                    {crs_wkt (or null), pixel_size, width, height, transform (6 numbers, rasterio
                             order a, b, c, d, e, f), bounds [left, bottom, right, top]}
    class_balance           {deposit: int, non_deposit: int}: all training points
    data                    {points: path, label_field, stack: path, training: {deposit, non_deposit},
                             validation: {deposit, non_deposit}} (point counts per side of the split)
    validation              {scheme, training_points, validation_points} and, for the spatial schemes,
                            block_size (map units), validation_blocks, training_blocks (block counts);
                            with cross-validation also folds, buffer (map units), and every point
                            counts on both sides (the final model trains on all, each point was
                            held out once)
    metrics                 the network (ensemble mean probability) on the validation split (with
                            cross-validation: every point's out-of-fold probability pooled, except
                            roc_auc and pr_auc, which are the means over the folds):
                            accuracy, roc_auc, pr_auc, macro_f1, threshold (0.5), n,
                            deposit {precision, recall, f1, support}, non_deposit {same},
                            confusion_matrix [[TP, FN], [FP, TN]] (rows actual, columns predicted,
                            deposit first: Table 3 of Pradhan et al. 2022), confusion_matrix_layout
                            (that sentence), members_roc_auc [float, one per member; with
                            cross-validation its mean over the folds]
    baselines               {logistic_regression: metrics, random_forest: metrics} on the same split
                            or folds (without members_roc_auc)
    history                 [one per member: {loss, val_loss, accuracy, val_accuracy, stopping_loss:
                             [float per epoch] (stopping_loss empty without early stopping),
                             epochs_run, best_epoch (1-based, the weights kept), seed}]
    seed                    int
    validation_comparison   null, or with compare_validation one entry per validation scheme, the
                            chosen one first: {scheme: {scheme, training_points, validation_points,
                            [block_size, validation_blocks, training_blocks], network: {roc_auc,
                            pr_auc, accuracy, deposit_f1}, logistic_regression: {same four},
                            random_forest: {same four}}}
    cross_validation        null, or for a cross-validation scheme: {folds, buffer (map units),
                            block_size (map units), max_cells_per_fold, area_fraction [float, 0–1:
                            the x of every prediction-rate curve], fold_results [one per fold:
                            {fold (1-based), training_points, held_out_points, held_out_deposits,
                            dropped_by_buffer, held_out_blocks, held_out_cells (valid or not),
                            ranked_cells (valid cells ranked, a uniform sample above
                            max_cells_per_fold), models: {network | logistic_regression |
                            random_forest: {roc_auc, pr_auc, prediction_rate_auc, captured_fraction
                            [float per area_fraction]}}}], summary: {model: {roc_auc, pr_auc,
                            prediction_rate_auc: {mean, sd (sample sd over the folds)}}}}
    training_seconds        float
    created                 local time "YYYY-MM-DDTHH:MM:SS±hhmm"

Probabilities and scores are fractions 0–1; roc_auc and pr_auc are NaN when the validation side
holds one class only.
"""
import time
from dataclasses import dataclass, field, replace

import numpy as np

from ..catalog import ARCHITECTURES, VALIDATION_SCHEMES, TrainingSettings
from ..core.errors import DeepProspectError, OperationCanceled
from ..core.factor_kinds import warn_if_untagged
from ..core.feedback import ensure_feedback
from .architectures import check_patch_size, trainable_parameter_count
from .calibration import UNCALIBRATED_WARNING
from .evaluation import RANDOM_SPLIT_WARNING
from .training_data import MIN_PER_CLASS, TrainingData, read_patches, read_training_points, training_statistics
from .training_loop import STOPPING_FRACTION, make_split, train_on_split
from .sklearn_members import estimator_settings
from .cross_validation import cross_validate

#: Raw training samples stored in the bundle as the SHAP background.
BACKGROUND_SIZE = 100
PATCH_PADDING = ("Patch cells outside the raster or on nodata take the training mean of each factor "
                 "(0 after standardisation); the centre pixel is always valid.")


@dataclass
class TrainingResult:
    """What :func:`train_model` returns. ``metrics`` are the network's on the validation split."""

    metadata: dict
    metrics: dict
    baselines: dict
    history: list
    split: object
    data: TrainingData
    validation_probability: np.ndarray
    baseline_probabilities: dict
    members: list = field(default_factory=list)
    model_path: str = None
    report_path: str = None
    folds: list = field(default_factory=list)
    cross_validation: dict = None

    @property
    def accuracy(self):
        return self.metrics["accuracy"]

    @property
    def roc_auc(self):
        """The network's validation ROC-AUC; with cross-validation the mean over the folds."""
        return self.metrics["roc_auc"]

    @property
    def roc_auc_sd(self):
        """Standard deviation of the network's ROC-AUC over the folds (None without cross-validation)."""
        return self._fold_score("roc_auc", "sd")

    @property
    def prediction_rate_auc(self):
        """Mean over the folds of the network's held-out prediction-rate AUC (None without
        cross-validation)."""
        return self._fold_score("prediction_rate_auc", "mean")

    def _fold_score(self, score, statistic):
        if not self.cross_validation:
            return None
        return self.cross_validation["summary"]["network"][score][statistic]

    @property
    def f1(self):
        """F1 score of the deposit class (the class a geologist is after)."""
        return self.metrics["deposit"]["f1"]

    @property
    def validation_labels(self):
        return self.data.labels[self.split.validation]

    @property
    def validation_xy(self):
        return self.data.xy[self.split.validation]


def train_model(stack_path, points_path, settings=None, *, points_layer=None, output_model=None, output_report=None,
                feedback=None, **options):
    """Train on the points of ``points_path`` (layer ``points_layer``) over the evidence stack
    ``stack_path`` with ``settings`` (a ``catalog.TrainingSettings``, a dict of its fields, or None
    for the defaults; keyword ``options`` named like its fields override it: see its docstring for
    units). With ``compare_validation`` every other validation scheme is trained too (same
    settings) and reported beside the chosen one, to show how much a random split flatters the
    model; the bundle keeps the model of the chosen scheme. ``output_model``: ``.dpm`` path (None:
    no bundle); ``output_report``: HTML path or None.

    Returns a :class:`TrainingResult`. Raises :class:`DeepProspectError` on bad input and
    :class:`OperationCanceled` (writing nothing) when ``feedback`` is canceled.
    """
    started = time.time()
    feedback = ensure_feedback(feedback)
    settings = checked_settings(settings, **options)
    if output_model and not str(output_model).lower().endswith(".dpm"):
        raise DeepProspectError("OUTPUT_MODEL must be a .dpm file (got {}).".format(output_model))

    data = read_training_points(stack_path, points_path, settings.label_field, points_layer, feedback)
    warn_if_untagged(data.stack, feedback)
    _log_categorical(data.stack, feedback)
    feedback.info("{} deposits and {} non-deposits on {} factors.".format(
        int(data.labels.sum()), int((data.labels == 0).sum()), len(data.factor_names)))
    others = _single_split_schemes(settings.validation) if settings.compare_validation else ()
    share = 100.0 / (1 + len(others))
    if is_cross_validation(settings.validation):
        checked = cross_validate(stack_path, data, settings, feedback.scaled(0, share))
        split, run, cross_validation = checked.split, checked.run, checked
    else:
        split, cross_validation = _single_split(data, settings, feedback), None
        run = train_on_split(stack_path, data, split, settings, feedback.scaled(0, share))
    comparison = None
    if settings.compare_validation:
        comparison = _compare_schemes(stack_path, data, split, run, settings, feedback, share, others)
    metadata = _metadata(stack_path, data, split, run, settings, comparison, started, cross_validation)
    result = TrainingResult(metadata, run.metrics, run.baselines, run.history, split, data, run.probability,
                            run.baseline_probabilities, run.members)
    if cross_validation is not None:
        result.folds, result.cross_validation = cross_validation.folds, cross_validation.table
    feedback.check_canceled()
    _write_outputs(result, run, settings.seed, output_model, output_report)
    feedback.set_progress(100)
    return result


def checked_settings(settings=None, **options):
    """``settings`` (``TrainingSettings``, a dict of its fields, or None) with ``options`` overriding
    fields, checked and with plain types; ``patch_size`` is 1 for pixel architectures.
    Raises :class:`DeepProspectError` for unknown fields or names and for impossible values."""
    values = settings.to_dict() if isinstance(settings, TrainingSettings) else dict(settings or {})
    values.update(options)
    try:
        settings = TrainingSettings.from_dict(values)
    except ValueError as error:          # unknown field, architecture or validation scheme
        raise DeepProspectError(str(error)) from None
    epochs, batch_size, ensemble_size = int(settings.epochs), int(settings.batch_size), int(settings.ensemble_size)
    for name, value in (("EPOCHS", epochs), ("BATCH_SIZE", batch_size), ("ENSEMBLE_SIZE", ensemble_size)):
        if value < 1:
            raise DeepProspectError("{} must be at least 1 (got {}).".format(name, value))
    if not float(settings.learning_rate) > 0:
        raise DeepProspectError("LEARNING_RATE must be positive (got {}); 0.001 is Adam's usual.".format(
            settings.learning_rate))
    return replace(
        settings, patch_size=check_patch_size(settings.patch_size) if settings.uses_patches else 1,
        epochs=epochs, batch_size=batch_size, ensemble_size=ensemble_size, seed=int(settings.seed),
        learning_rate=float(settings.learning_rate), dropout=float(settings.dropout), l2=float(settings.l2),
        validation_fraction=float(settings.validation_fraction), patience=int(settings.patience),
        folds=int(settings.folds), buffer=float(settings.buffer or 0.0),
        early_stopping=bool(settings.early_stopping), balance_classes=bool(settings.balance_classes))


def is_cross_validation(scheme):
    """Whether the catalog's validation ``scheme`` is a cross-validation (folds, not one split)."""
    return bool(VALIDATION_SCHEMES.get(scheme).options.get("cross_validation"))


def _single_split_schemes(chosen):
    """The single-split validation schemes other than ``chosen``, in catalog order."""
    return [name for name in VALIDATION_SCHEMES.names() if name != chosen and not is_cross_validation(name)]


def _log_categorical(stack, feedback):
    """Say which factors the models treat as classes (one-hot, or native categories)."""
    names = [name for name, kind in zip(stack.factor_names, stack.factor_kinds) if kind == "categorical"]
    if names:
        feedback.info("Categorical factors (each code a class, not a number): {}.".format(", ".join(names)))


def _single_split(data, settings, feedback):
    split = make_split(data, settings.validation, settings.validation_fraction, settings.block_size, settings.seed)
    feedback.info("Validation ({}): {} training and {} validation points.".format(
        settings.validation, len(split.train), len(split.validation)))
    if split.scheme == "random":
        feedback.info(RANDOM_SPLIT_WARNING)
    if ARCHITECTURES.get(settings.architecture).options.get("calibrated"):
        feedback.warning(UNCALIBRATED_WARNING)
    constant = [name for name, value in zip(data.factor_names, data.values[split.train].std(axis=0)) if value == 0]
    if constant:
        feedback.warning("Factors constant over the training points carry no information: " + ", ".join(constant))
    return split


def _compare_schemes(stack_path, data, split, run, settings, feedback, share, others):
    """{scheme: summary} of the run on ``split`` and of one more run per other single-split
    validation scheme ``others`` (progress from ``share`` to 100 %)."""
    comparison = {split.scheme: _scheme_summary(split, run)}
    for number, other in enumerate(others):
        feedback.info("Training again with a {} split, to compare the two validation schemes.".format(other))
        other_split = make_split(data, other, settings.validation_fraction, settings.block_size, settings.seed)
        other_run = train_on_split(stack_path, data, other_split, settings,
                                   feedback.scaled(share * (number + 1), share * (number + 2)))
        comparison[other] = _scheme_summary(other_split, other_run)
    return comparison


def _scheme_summary(split, run):
    summary = split.describe()
    summary["network"] = {key: run.metrics[key] for key in ("roc_auc", "pr_auc", "accuracy")}
    summary["network"]["deposit_f1"] = run.metrics["deposit"]["f1"]
    for name, values in run.baselines.items():
        summary[name] = {"roc_auc": values["roc_auc"], "pr_auc": values["pr_auc"], "accuracy": values["accuracy"],
                         "deposit_f1": values["deposit"]["f1"]}
    return summary


def _metadata(stack_path, data, split, run, settings, comparison, started, cross_validation=None):
    """The metadata of the module docstring."""
    uses_patches = settings.uses_patches
    stack = data.stack
    validation = split.describe()
    if cross_validation is not None:
        validation.update(folds=len(cross_validation.folds), buffer=float(settings.buffer))
    return dict(
        kind="prospectivity", architecture=settings.architecture,
        architecture_description=ARCHITECTURES.get(settings.architecture).description,
        factor_names=list(data.factor_names), normalisation={"mean": run.mean, "std": run.std},
        factor_encoding=run.encoding.to_metadata(),
        patch_size=settings.patch_size, patch_padding=PATCH_PADDING if uses_patches else None,
        hyperparameters=_hyperparameters(settings, split, run.class_weight),
        trainable_parameters=trainable_parameter_count(run.members[0]),
        grid={"crs_wkt": stack.crs.to_wkt() if stack.crs else None, "pixel_size": stack.pixel_size,
              "width": stack.width, "height": stack.height, "transform": list(stack.transform)[:6],
              "bounds": list(stack.bounds)},
        class_balance=_class_counts(data.labels),
        data={"points": data.source, "label_field": settings.label_field, "stack": str(stack_path),
              "training": _class_counts(data.labels[split.train]),
              "validation": _class_counts(data.labels[split.validation])},
        validation=validation, metrics=run.metrics, baselines=run.baselines, history=run.history,
        seed=settings.seed, validation_comparison=comparison,
        cross_validation=cross_validation.table if cross_validation is not None else None,
        training_seconds=round(time.time() - started, 2),
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"))


def _hyperparameters(settings, split, class_weight):
    """The training options that shaped this model, in the bundle's metadata. A scikit-learn
    architecture has no epochs, batches, optimiser or dropout: it records its estimator's own
    settings instead (``models.sklearn_members.estimator_settings``)."""
    choice = ARCHITECTURES.get(settings.architecture)
    shared = dict(balance_classes=settings.balance_classes, class_weight=class_weight,
                  ensemble_size=settings.ensemble_size, validation=settings.validation,
                  validation_fraction=settings.validation_fraction, block_size=split.block_size)
    tail = dict(label_field=settings.label_field, prior=settings.prior, **_fold_settings(settings))
    if choice.options.get("kind") == "sklearn":
        from .registry import resolve
        estimator = resolve(choice)(settings.seed, class_weight)
        return dict(architecture=settings.architecture, estimator=type(estimator).__name__,
                    **estimator_settings(estimator), **shared, **tail)
    return dict(
        architecture=settings.architecture, patch_size=settings.patch_size, epochs=settings.epochs,
        batch_size=settings.batch_size, learning_rate=settings.learning_rate, dropout=settings.dropout,
        l2=settings.l2, optimizer="adam", loss="softmax cross-entropy", early_stopping=settings.early_stopping,
        patience=settings.patience, stopping_fraction=STOPPING_FRACTION if settings.early_stopping else 0.0,
        **shared, augmentation="8 rotations/flips of training deposit patches" if settings.uses_patches else "none",
        **tail)


def _fold_settings(settings):
    """folds and buffer for a cross-validation scheme (nothing for a single split)."""
    if not is_cross_validation(settings.validation):
        return {}
    return {"folds": settings.folds, "buffer": settings.buffer}


def _write_outputs(result, run, seed, output_model, output_report):
    """Write the bundle (with its SHAP background) and the report the caller asked for."""
    if output_model:
        from .bundle import save_bundle

        cells = getattr(run.members[0], "background", None)      # a positive-unlabelled model's map cells
        inputs, train = (run.inputs, result.split.train) if cells is None else (cells, np.arange(len(cells)))
        background = _background(inputs, train, run.encoding, seed)
        result.model_path = save_bundle(output_model, run.members, result.metadata, background=background)
    if output_report:
        from .report import write_report

        result.report_path = write_report(output_report, result)


def _background(inputs, train, encoding, seed):
    """Raw (not encoded) values of up to BACKGROUND_SIZE training samples (or, for a model trained
    against background cells, of those cells: SHAP then explains a cell against an average
    cell of the map), for SHAP: the model ``inputs`` of the chosen samples decoded (``FactorEncoding.decode``; padded patch cells: the
    training mean of a continuous factor, NaN for a categorical one)."""
    rng = np.random.default_rng(int(seed))
    chosen = np.sort(rng.choice(train, size=min(BACKGROUND_SIZE, len(train)), replace=False))
    return encoding.decode(inputs[chosen])


def _class_counts(labels):
    return {"deposit": int(np.sum(labels == 1)), "non_deposit": int(np.sum(labels == 0))}


__all__ = ["train_model", "checked_settings", "read_training_points", "make_split", "read_patches",
           "training_statistics", "TrainingResult", "TrainingData", "TrainingSettings", "MIN_PER_CLASS",
           "OperationCanceled"]
