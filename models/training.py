"""Train a prospectivity model from an evidence stack and labelled points, validate it honestly,
and save a self-describing model bundle (``.dpm``) and an HTML report.

:func:`train_model` is the plain-Python entry point behind ``deepprospect:train``::

    result = train_model("stack.tif", "training_points.gpkg", architecture="pradhan2022_dense",
                         validation="spatial_blocks", output_model="gold.dpm",
                         output_report="gold.html")
    result.roc_auc, result.metrics, result.baselines

What happens, in order:

1. the points (``label`` 1 = deposit, 0 = non-deposit) are read, reprojected to the stack's CRS
   if needed, and checked: labels only 0/1, at least :data:`MIN_PER_CLASS` of each class, every
   point on a valid pixel of the stack;
2. the points are split into training and validation, at random (the paper's 80/20) or by
   whole spatial blocks (``models.evaluation``);
3. the factors are standardised with the mean and standard deviation of the *training* points
   only; for ``cnn2d_patch`` each point becomes a PATCH_SIZE × PATCH_SIZE window
   (``core.patches``: cells outside the raster or on nodata take the training mean), and the
   training deposits are multiplied by the 8 rotations/flips of their patch;
4. early stopping (default on) watches the class-weighted loss on a *stopping subset* (15 %)
   carved out of the training split (by blocks too when the validation is spatial), from epoch
   11 on (a warm-up: the first epochs' loss on a small subset is noise), and restores the weights
   of the best epoch; the validation split is never used to choose anything, so its scores stay
   honest;
5. the network (each of ``ensemble_size`` members, seeds ``seed``, ``seed + 1``, …) is trained
   with Adam and softmax cross-entropy; logistic regression and random forest are fitted on the
   same split as baselines; validation metrics come from scikit-learn;
6. the bundle and the report are written atomically.

The same inputs and seed give the same weights and metrics (TensorFlow op determinism).
"""
import time
from dataclasses import dataclass, field

import numpy as np

from ..core.errors import DeepProspectError, OperationCanceled
from ..core.feedback import ensure_feedback
from ..core.patches import dihedral_augment, extract_patches
from ..core.raster import read_stack_info, sample_stack, valid_pixels
from .architectures import (
    DESCRIPTIONS, PATCH_ARCHITECTURES, build_model, check_architecture, check_patch_size, trainable_parameter_count,
)
from .evaluation import (
    RANDOM_SPLIT_WARNING, VALIDATION_SCHEMES, classification_metrics, default_block_size, fit_baselines, random_split,
    spatial_block_split,
)

#: Fewest points of each class training accepts.
MIN_PER_CLASS = 10
#: Share of the training split held aside to decide when to stop.
STOPPING_FRACTION = 0.15
#: Epochs before early stopping starts watching: the loss of the first few epochs on a small
#: stopping subset is mostly noise, and stopping there leaves the network barely trained.
WARM_UP_EPOCHS = 10
#: Raw training samples stored in the bundle as the SHAP background.
BACKGROUND_SIZE = 100
PATCH_PADDING = ("Patch cells outside the raster or on nodata take the training mean of each factor "
                 "(0 after standardisation); the centre pixel is always valid.")


@dataclass
class TrainingData:
    """Points ready for training: map coordinates, labels, raw factor values, pixel indices."""

    xy: np.ndarray            # (n, 2) map units of the stack's CRS
    labels: np.ndarray        # (n,) int 0/1
    values: np.ndarray        # (n, n_factors) raw factor values at the points
    rows: np.ndarray          # (n,) pixel row in the stack
    cols: np.ndarray          # (n,) pixel column in the stack
    factor_names: list
    stack: object             # core.raster.StackInfo
    source: str = ""


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

    @property
    def accuracy(self):
        return self.metrics["accuracy"]

    @property
    def roc_auc(self):
        return self.metrics["roc_auc"]

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


def train_model(stack_path, points_path, *, points_layer=None, label_field="label",
                architecture="pradhan2022_dense", patch_size=5, epochs=200, batch_size=32, learning_rate=1e-3,
                dropout=0.2, l2=0.0, validation="random", validation_fraction=0.2, block_size=None,
                ensemble_size=1, seed=42, early_stopping=True, patience=20, balance_classes=True,
                compare_validation=False, output_model=None, output_report=None, feedback=None):
    """Train ``architecture`` on the points of ``points_path`` over the evidence stack ``stack_path``.

    ``label_field``: integer field, 1 deposit / 0 non-deposit. ``patch_size``: odd window side in
    pixels (``cnn2d_patch`` only). ``epochs``: maximum passes over the training data (the paper:
    200); ``batch_size`` (32), ``learning_rate`` (Adam, 0.001), ``dropout`` (rate after every
    hidden layer), ``l2`` (weight penalty, 0 = off). ``validation``: "random" or
    "spatial_blocks"; ``validation_fraction``: share of each class held out (0.2);
    ``block_size``: block side in map units (None: 1/5 of the stack's longer side).
    ``ensemble_size``: members trained with seeds ``seed``, ``seed+1``, …; ``early_stopping``:
    stop when the stopping-subset loss has not improved for ``patience`` epochs and restore the
    best weights; ``balance_classes``: weight the classes so both count equally in the loss.
    ``compare_validation``: also train (same settings) with the other validation scheme and report
    both, to show how much a random split flatters the model (twice the time; the bundle keeps the
    model of ``validation``). ``output_model``: ``.dpm`` path (None: no bundle); ``output_report``:
    HTML path or None.
    Returns a :class:`TrainingResult`. Raises :class:`DeepProspectError` on bad input and
    :class:`OperationCanceled` (writing nothing) when ``feedback`` is canceled.
    """
    started = time.time()
    feedback = ensure_feedback(feedback)
    check_architecture(architecture)
    if validation not in VALIDATION_SCHEMES:
        raise DeepProspectError("Unknown VALIDATION '{}'; choose one of: {}.".format(
            validation, ", ".join(VALIDATION_SCHEMES)))
    uses_patches = architecture in PATCH_ARCHITECTURES
    patch_size = check_patch_size(patch_size) if uses_patches else 1
    epochs, batch_size, ensemble_size = int(epochs), int(batch_size), int(ensemble_size)
    for name, value, low in (("EPOCHS", epochs, 1), ("BATCH_SIZE", batch_size, 1), ("ENSEMBLE_SIZE", ensemble_size, 1)):
        if value < low:
            raise DeepProspectError("{} must be at least {} (got {}).".format(name, low, value))
    if not float(learning_rate) > 0:
        raise DeepProspectError("LEARNING_RATE must be positive (got {}); 0.001 is Adam's usual.".format(learning_rate))
    if output_model and not str(output_model).lower().endswith(".dpm"):
        raise DeepProspectError("OUTPUT_MODEL must be a .dpm file (got {}).".format(output_model))

    data = read_training_points(stack_path, points_path, label_field=label_field, layer=points_layer)
    feedback.info("{} deposits and {} non-deposits on {} factors.".format(
        int(data.labels.sum()), int((data.labels == 0).sum()), len(data.factor_names)))
    split = make_split(data, validation, validation_fraction, block_size, seed)
    feedback.info("Validation ({}): {} training and {} validation points.".format(
        validation, len(split.train), len(split.validation)))
    if split.scheme == "random":
        feedback.info(RANDOM_SPLIT_WARNING)

    constant = [name for name, value in zip(data.factor_names, data.values[split.train].std(axis=0)) if value == 0]
    if constant:
        feedback.warning("Factors constant over the training points carry no information: " + ", ".join(constant))
    settings = dict(architecture=architecture, patch_size=patch_size, epochs=epochs, batch_size=batch_size,
                    learning_rate=learning_rate, dropout=dropout, l2=l2, ensemble_size=ensemble_size, seed=seed,
                    early_stopping=early_stopping, patience=patience, balance_classes=balance_classes)
    share = 50.0 if compare_validation else 100.0
    run = _train_on_split(stack_path, data, split, settings, feedback.scaled(0, share))
    members, history, metrics, baselines = run["members"], run["history"], run["metrics"], run["baselines"]
    mean, std, class_weight = run["mean"], run["std"], run["class_weight"]
    comparison = None
    if compare_validation:
        other = "random" if validation == "spatial_blocks" else "spatial_blocks"
        feedback.info("Training again with a {} split, to compare the two validation schemes.".format(other))
        other_split = make_split(data, other, validation_fraction, block_size, seed)
        other_run = _train_on_split(stack_path, data, other_split, settings, feedback.scaled(share, 100))
        comparison = {split.scheme: _scheme_summary(split, run), other: _scheme_summary(other_split, other_run)}

    hyperparameters = dict(
        architecture=architecture, patch_size=patch_size, epochs=epochs, batch_size=batch_size,
        learning_rate=float(learning_rate), dropout=float(dropout), l2=float(l2), optimizer="adam",
        loss="softmax cross-entropy", early_stopping=bool(early_stopping), patience=int(patience),
        stopping_fraction=STOPPING_FRACTION if early_stopping else 0.0, balance_classes=bool(balance_classes),
        class_weight=class_weight, ensemble_size=ensemble_size, validation=validation,
        validation_fraction=float(validation_fraction), block_size=split.block_size,
        augmentation="8 rotations/flips of training deposit patches" if uses_patches else "none",
        label_field=label_field)
    metadata = dict(
        kind="prospectivity", architecture=architecture, architecture_description=DESCRIPTIONS[architecture],
        factor_names=list(data.factor_names), normalisation={"mean": mean, "std": std},
        patch_size=patch_size, patch_padding=PATCH_PADDING if uses_patches else None,
        hyperparameters=hyperparameters, trainable_parameters=trainable_parameter_count(members[0]),
        grid={"crs_wkt": data.stack.crs.to_wkt() if data.stack.crs else None, "pixel_size": data.stack.pixel_size,
              "width": data.stack.width, "height": data.stack.height, "transform": list(data.stack.transform)[:6],
              "bounds": list(data.stack.bounds)},
        class_balance={"deposit": int(data.labels.sum()), "non_deposit": int((data.labels == 0).sum())},
        data={"points": data.source, "label_field": label_field, "stack": str(stack_path),
              "training": _class_counts(data.labels[split.train]),
              "validation": _class_counts(data.labels[split.validation])},
        validation=split.describe(), metrics=metrics, baselines=baselines, history=history, seed=int(seed),
        validation_comparison=comparison,
        training_seconds=round(time.time() - started, 2),
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    result = TrainingResult(metadata, metrics, baselines, history, split, data, run["probability"],
                            run["baseline_probabilities"], members)
    feedback.check_canceled()
    if output_model:
        from .bundle import save_bundle

        background = _background(run["inputs"], split.train, mean, std, seed)
        result.model_path = save_bundle(output_model, members, metadata, background=background)
    if output_report:
        from .report import write_report

        result.report_path = write_report(output_report, result)
    feedback.set_progress(100)
    return result


def _train_on_split(stack_path, data, split, settings, feedback):
    """Standardise, build inputs, train every member and fit the baselines on one split."""
    import tensorflow as tf

    architecture, seed = settings["architecture"], int(settings["seed"])
    uses_patches = architecture in PATCH_ARCHITECTURES
    mean, std = training_statistics(data.values[split.train])
    pixels = ((data.values - mean) / std).astype(np.float32)
    if uses_patches:
        inputs = read_patches(stack_path, data.rows, data.cols, settings["patch_size"], mean, std, feedback)
    else:
        inputs = pixels
    feedback.check_canceled()

    # Early stopping must not peek at the validation split, so it watches a subset of training.
    fit_index, stop_index = _stopping_subset(data, split, seed) if settings["early_stopping"] else (split.train, None)
    fit_x, fit_y = inputs[fit_index], data.labels[fit_index]
    if uses_patches:
        fit_x, fit_y = _augment_deposits(fit_x, fit_y)
    stop_data = (inputs[stop_index], data.labels[stop_index]) if stop_index is not None else None
    validation_data = (inputs[split.validation], data.labels[split.validation])
    class_weight = _class_weight(fit_y) if settings["balance_classes"] else None

    ensemble_size = settings["ensemble_size"]
    members, history = [], []
    for member in range(ensemble_size):
        member_seed = seed + member
        tf.keras.utils.set_random_seed(member_seed)
        tf.config.experimental.enable_op_determinism()
        model = build_model(architecture, len(data.factor_names), settings["patch_size"], settings["dropout"],
                            settings["l2"], settings["learning_rate"])
        member_feedback = feedback.scaled(100.0 * member / ensemble_size, 100.0 * (member + 1) / ensemble_size)
        record = _fit_member(model, fit_x, fit_y, validation_data, stop_data, settings["epochs"],
                             settings["batch_size"], class_weight, settings["early_stopping"], settings["patience"],
                             member_feedback)
        record["seed"] = member_seed
        members.append(model)
        history.append(record)
        feedback.info("Member {}/{}: {} epochs, best epoch {}.".format(
            member + 1, ensemble_size, record["epochs_run"], record["best_epoch"]))

    member_probability = np.array([_deposit_probability(model, validation_data[0]) for model in members])
    probability = member_probability.mean(axis=0)
    metrics = classification_metrics(validation_data[1], probability)
    metrics["members_roc_auc"] = [classification_metrics(validation_data[1], p)["roc_auc"] for p in member_probability]
    baselines, baseline_probabilities = fit_baselines(
        pixels[split.train], data.labels[split.train], pixels[split.validation], data.labels[split.validation],
        seed=seed, class_weight="balanced" if settings["balance_classes"] else None)
    feedback.info("{} split, validation ROC-AUC: network {:.3f}, logistic regression {:.3f}, random forest {:.3f}."
                  .format(split.scheme.replace("_", " ").capitalize(), metrics["roc_auc"],
                          baselines["logistic_regression"]["roc_auc"], baselines["random_forest"]["roc_auc"]))
    return dict(members=members, history=history, metrics=metrics, baselines=baselines, probability=probability,
                baseline_probabilities=baseline_probabilities, mean=mean, std=std, inputs=inputs,
                class_weight=class_weight)


def _scheme_summary(split, run):
    summary = split.describe()
    summary["network"] = {key: run["metrics"][key] for key in ("roc_auc", "pr_auc", "accuracy")}
    summary["network"]["deposit_f1"] = run["metrics"]["deposit"]["f1"]
    for name, values in run["baselines"].items():
        summary[name] = {"roc_auc": values["roc_auc"], "pr_auc": values["pr_auc"], "accuracy": values["accuracy"],
                         "deposit_f1": values["deposit"]["f1"]}
    return summary


def read_training_points(stack_path, points_path, label_field="label", layer=None):
    """Read labelled points and their factor values from the stack; returns :class:`TrainingData`.

    Points in another CRS are reprojected to the stack's. Raises :class:`DeepProspectError` when
    the layer is not points, the label field is missing or holds values other than 0/1, a class
    has fewer than :data:`MIN_PER_CLASS` points, or points fall outside the stack or on nodata.
    """
    import geopandas as gpd

    stack = read_stack_info(stack_path)
    try:
        frame = gpd.read_file(points_path, layer=layer) if layer else gpd.read_file(points_path)
    except Exception as error:
        raise DeepProspectError("Cannot read the training points {}: {}".format(points_path, error))
    if len(frame) == 0:
        raise DeepProspectError("The training point layer {} is empty.".format(points_path))
    if label_field not in frame.columns:
        fields = [name for name in frame.columns if name != frame.geometry.name]
        raise DeepProspectError(
            "The training points have no field '{}' (fields: {}). Set LABEL_FIELD to the field holding 1 for "
            "deposits and 0 for non-deposits, or build the points with deepprospect:sample_negatives."
            .format(label_field, ", ".join(fields) or "none"))
    geometry = frame.geometry
    if geometry.isna().any() or geometry.is_empty.any():
        raise DeepProspectError("{} training points have no geometry; delete them or give them a location.".format(
            int((geometry.isna() | geometry.is_empty).sum())))
    kinds = set(geometry.geom_type)
    if kinds - {"Point"}:
        if kinds <= {"Point", "MultiPoint"} and all(len(g.geoms) == 1 for g in geometry if g.geom_type == "MultiPoint"):
            geometry = geometry.apply(lambda g: g.geoms[0] if g.geom_type == "MultiPoint" else g)
        else:
            raise DeepProspectError(
                "The training layer must hold single points (found {}); convert it with "
                "'Centroids' or 'Multipart to singleparts' first.".format(", ".join(sorted(kinds))))
    geometry = _to_stack_crs(gpd.GeoSeries(geometry, crs=frame.crs), stack)
    labels = _labels(frame[label_field], label_field)
    for value, name in ((1, "deposits"), (0, "non-deposits")):
        count = int(np.sum(labels == value))
        if count < MIN_PER_CLASS:
            raise DeepProspectError(
                "Only {} {} ({} = {}) among the training points; at least {} of each class are needed to train "
                "and validate. Add known occurrences, or sample more non-deposits with "
                "deepprospect:sample_negatives.".format(count, name, label_field, value, MIN_PER_CLASS))
    xy = np.column_stack([geometry.x.to_numpy(), geometry.y.to_numpy()])
    values, inside, rows, cols = sample_stack(stack_path, xy)
    if not inside.all():
        bad = np.flatnonzero(~inside)
        examples = "; ".join("feature {} at ({:.1f}, {:.1f})".format(int(frame.index[i]), *xy[i]) for i in bad[:3])
        raise DeepProspectError(
            "{} of {} training points fall outside the evidence stack or on its nodata pixels (e.g. {}). Clip the "
            "points to the stack's valid area (or extend the stack) and train again.".format(
                len(bad), len(xy), examples))
    return TrainingData(xy, labels, values, rows, cols, list(stack.factor_names), stack, str(points_path))


def make_split(data, validation="random", fraction=0.2, block_size=None, seed=42):
    """The :class:`models.evaluation.Split` for ``data`` (blocks anchored on the stack's corner)."""
    if validation == "random":
        return random_split(data.labels, fraction, seed)
    if not block_size:
        block_size = default_block_size(data.stack.bounds, data.stack.pixel_size)
    left, bottom, right, top = data.stack.bounds
    return spatial_block_split(data.xy, data.labels, block_size, fraction, seed, origin=(left, top))


def training_statistics(values):
    """Per-factor mean and standard deviation (float32, (n_factors,)) of the training points;
    a constant factor gets std 1 so it standardises to 0 instead of dividing by zero."""
    values = np.asarray(values, dtype=np.float64)
    mean = values.mean(axis=0)
    std = values.std(axis=0)
    std[~(std > 0)] = 1.0
    return mean.astype(np.float32), std.astype(np.float32)


def read_patches(stack_path, rows, cols, patch_size, mean, std, feedback=None):
    """Standardised patches (n, patch_size, patch_size, n_factors) centred on pixels ``rows``, ``cols``.

    Uses :func:`core.patches.extract_patches`, so padding is the same as in block-wise prediction.
    """
    import rasterio
    from rasterio.windows import Window

    feedback = ensure_feedback(feedback)
    info = read_stack_info(stack_path)
    rows, cols = np.asarray(rows), np.asarray(cols)
    half = patch_size // 2
    mean = np.asarray(mean, dtype=np.float32)[:, None, None]
    std = np.asarray(std, dtype=np.float32)[:, None, None]
    row0, row1 = max(int(rows.min()) - half, 0), min(int(rows.max()) + half + 1, info.height)
    col0, col1 = max(int(cols.min()) - half, 0), min(int(cols.max()) + half + 1, info.width)
    with rasterio.open(stack_path) as dataset:
        if (row1 - row0) * (col1 - col0) * dataset.count <= 50_000_000:
            block = dataset.read(window=Window(col0, row0, col1 - col0, row1 - row0)).astype(np.float32)
            valid = valid_pixels(block, info.nodata)
            return extract_patches((block - mean) / std, valid, rows - row0, cols - col0, patch_size)
        # points spread over a huge raster: one small window per point
        patches = np.empty((len(rows), patch_size, patch_size, dataset.count), dtype=np.float32)
        for index, (row, col) in enumerate(zip(rows, cols)):
            r0, c0 = max(row - half, 0), max(col - half, 0)
            r1, c1 = min(row + half + 1, info.height), min(col + half + 1, info.width)
            block = dataset.read(window=Window(c0, r0, c1 - c0, r1 - r0)).astype(np.float32)
            valid = valid_pixels(block, info.nodata)
            patches[index] = extract_patches((block - mean) / std, valid, [row - r0], [col - c0], patch_size)[0]
            if index % 256 == 0:
                feedback.check_canceled()
        return patches


def _fit_member(model, fit_x, fit_y, validation_data, stop_data, epochs, batch_size, class_weight,
                early_stopping, patience, feedback):
    import tensorflow as tf

    callbacks = [_progress_callback(feedback, epochs, stop_data, class_weight)]
    stopper = None
    if early_stopping:
        stopper = tf.keras.callbacks.EarlyStopping(monitor="stopping_loss", mode="min", patience=int(patience),
                                                   restore_best_weights=True,
                                                   start_from_epoch=min(WARM_UP_EPOCHS, epochs // 2))
        callbacks.append(stopper)
    fitted = model.fit(fit_x, fit_y, batch_size=batch_size, epochs=epochs, validation_data=validation_data,
                       class_weight=class_weight, callbacks=callbacks, shuffle=True, verbose=0)
    logs = fitted.history
    best_epoch = len(logs["loss"])
    if stopper is not None and stopper.best_weights is not None:
        # Keras restores the best weights only when it stops early; do it when epochs ran out too.
        if stopper.stopped_epoch == 0:
            model.set_weights(stopper.best_weights)
        warm_up = min(WARM_UP_EPOCHS, epochs // 2)
        best_epoch = warm_up + int(np.argmin(logs["stopping_loss"][warm_up:])) + 1
    record = {key: [float(v) for v in logs.get(key, [])]
              for key in ("loss", "val_loss", "accuracy", "val_accuracy", "stopping_loss")}
    record.update(epochs_run=len(logs["loss"]), best_epoch=best_epoch)
    return record


def _progress_callback(feedback, epochs, stop_data, class_weight=None):
    import tensorflow as tf

    if stop_data is not None:
        # the stopping loss weighs the classes as the training loss does, else it favours the majority
        weights = np.ones(len(stop_data[1])) if not class_weight else np.array(
            [class_weight[int(label)] for label in stop_data[1]])

    class Progress(tf.keras.callbacks.Callback):
        """Reports each epoch to QGIS, adds the stopping-subset loss, and stops on cancel."""

        def on_train_batch_end(self, batch, logs=None):
            feedback.check_canceled()

        def on_epoch_end(self, epoch, logs=None):
            if stop_data is not None and logs is not None:
                probabilities = self.model(stop_data[0], training=False).numpy()
                picked = probabilities[np.arange(len(stop_data[1])), stop_data[1]]
                logs["stopping_loss"] = float(-np.average(np.log(np.clip(picked, 1e-7, 1.0)), weights=weights))
            feedback.set_progress(100.0 * (epoch + 1) / epochs)
            feedback.check_canceled()

    return Progress()


def _stopping_subset(data, split, seed):
    """(fit indices, stopping indices) inside the training split, by the split's own scheme."""
    train = split.train
    labels = data.labels[train]
    try:
        if split.scheme == "spatial_blocks":
            inner = spatial_block_split(data.xy[train], labels, split.block_size, STOPPING_FRACTION, seed + 7919,
                                        origin=(data.stack.bounds[0], data.stack.bounds[3]))
        else:
            inner = random_split(labels, STOPPING_FRACTION, seed + 7919)
    except DeepProspectError:
        inner = random_split(labels, STOPPING_FRACTION, seed + 7919)
    return train[inner.train], train[inner.validation]


def _augment_deposits(patches, labels):
    deposits = labels == 1
    augmented, augmented_labels = dihedral_augment(patches[deposits], labels[deposits])
    return (np.concatenate([patches[~deposits], augmented]).astype(np.float32),
            np.concatenate([labels[~deposits], augmented_labels]))


def _class_weight(labels):
    counts = np.bincount(labels, minlength=2).astype(float)
    return {cls: float(len(labels) / (2.0 * counts[cls])) for cls in (0, 1)}


def _deposit_probability(model, inputs):
    import tensorflow as tf

    return model(tf.constant(inputs), training=False).numpy()[:, 1].astype(np.float64)


def _background(inputs, train, mean, std, seed):
    """Raw (unstandardised) values of up to BACKGROUND_SIZE training samples, for SHAP."""
    rng = np.random.default_rng(int(seed))
    chosen = np.sort(rng.choice(train, size=min(BACKGROUND_SIZE, len(train)), replace=False))
    standardised = inputs[chosen]
    return (standardised * std + mean).astype(np.float32)


def _labels(column, label_field):
    if column.isna().any():
        raise DeepProspectError("{} training points have an empty '{}'; give every point 1 (deposit) or 0 "
                                "(non-deposit).".format(int(column.isna().sum()), label_field))
    try:
        values = column.to_numpy(dtype=float)
    except (TypeError, ValueError):
        bad = sorted({str(v) for v in column if str(v) not in ("0", "1")})
        raise DeepProspectError("LABEL_FIELD '{}' must hold 1 (deposit) or 0 (non-deposit); found {}.".format(
            label_field, ", ".join(bad[:5])))
    bad = sorted(set(values[(values != 0) & (values != 1)].tolist()))
    if bad:
        raise DeepProspectError(
            "LABEL_FIELD '{}' must hold only 1 (deposit) and 0 (non-deposit); found also {}. Recode the field, "
            "or pick the right one.".format(label_field, ", ".join("{:g}".format(v) for v in bad[:5])))
    return values.astype(np.int64)


def _to_stack_crs(geometry, stack):
    if geometry.crs is None or stack.crs is None:
        return geometry
    from pyproj import CRS

    target = CRS.from_wkt(stack.crs.to_wkt())
    if CRS(geometry.crs) == target:
        return geometry
    return geometry.to_crs(target)


def _class_counts(labels):
    return {"deposit": int(np.sum(labels == 1)), "non_deposit": int(np.sum(labels == 0))}


__all__ = ["train_model", "read_training_points", "make_split", "read_patches", "training_statistics",
           "TrainingResult", "TrainingData", "OperationCanceled"]
