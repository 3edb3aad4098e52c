"""One training run on one validation split: standardise, build the inputs, train every ensemble
member with early stopping on a stopping subset, score the members and the baselines.

Early stopping watches the class-weighted loss on a *stopping subset* (:data:`STOPPING_FRACTION`)
carved out of the training split by the split's own scheme (by blocks too when the validation is
spatial), from epoch :data:`WARM_UP_EPOCHS` + 1 on, and restores the weights of the best epoch;
the validation split is never used to choose anything, so its scores stay honest.
"""
from dataclasses import dataclass

import numpy as np

from ..catalog import ARCHITECTURES, VALIDATION_SCHEMES
from ..core.background_cells import BACKGROUND_CELLS, draw_background_cells
from ..core.errors import DeepProspectError
from ..core.factor_encoding import NATIVE, ONE_HOT, FactorEncoding
from ..core.patches import dihedral_augment
from .architectures import build_model
from .evaluation import classification_metrics, default_block_size, fit_baseline_models, random_split, score_baselines
from .registry import resolve
from .sklearn_members import deposit_probabilities, fit_members, is_sklearn_member
from .training_data import read_patches

#: Share of the training split held aside to decide when to stop.
STOPPING_FRACTION = 0.15
#: Epochs before early stopping starts watching: the loss of the first few epochs on a small
#: stopping subset is mostly noise, and stopping there leaves the network barely trained.
WARM_UP_EPOCHS = 10
#: Most classes of one categorical factor gradient boosting's native categories take (its max_bins).
NATIVE_CATEGORIES = 255
# The stopping subset's seed is the run's seed plus this prime, so it differs from the split's.
_STOPPING_SEED_OFFSET = 7919


@dataclass
class SplitRun:
    """What :func:`train_on_split` returns.

    ``members``: trained Keras models; ``history``: one record per member (see
    ``models.training``); ``metrics``/``baselines``: validation metrics of the network (ensemble
    mean) and of the baselines; ``probability`` (n_validation,) ensemble deposit probability;
    ``baseline_probabilities`` {name: (n_validation,)}; ``encoding``: the model's
    ``core.factor_encoding.FactorEncoding`` of the training split (``mean``/``std`` (n_factors,)
    float32 its standardisation); ``inputs``: model inputs of every point, (n, n_inputs) or
    (n, p, p, n_inputs); ``class_weight`` {0: w, 1: w} or None; ``baseline_models`` {name: fitted
    scikit-learn classifier}, on the same training points, with inputs of ``baseline_encoding``
    (one-hot categories).
    """

    members: list
    history: list
    metrics: dict
    baselines: dict
    probability: np.ndarray
    baseline_probabilities: dict
    encoding: FactorEncoding
    inputs: np.ndarray
    class_weight: dict
    baseline_models: dict = None
    baseline_encoding: FactorEncoding = None

    @property
    def mean(self):
        return self.encoding.mean

    @property
    def std(self):
        return self.encoding.std


def make_split(data, validation="random", fraction=0.2, block_size=None, seed=42):
    """The :class:`models.evaluation.Split` of ``data`` (``models.training_data.TrainingData``) by
    the catalog's validation scheme ``validation``; blocks of ``block_size`` map units (None: 1/5
    of the stack's longer side) anchored on the stack's top-left corner."""
    split_points = resolve(VALIDATION_SCHEMES.get(validation))
    return split_points(data.xy, data.labels, fraction, seed, block_size_of(data, block_size), _origin(data))


def make_folds(data, validation, folds=5, block_size=None, seed=42, buffer=0.0):
    """The folds ([:class:`models.evaluation.Split`]) of the catalog's cross-validation scheme
    ``validation``, blocks anchored like :func:`make_split`'s; ``buffer`` in map units."""
    split_points = resolve(VALIDATION_SCHEMES.get(validation))
    return split_points(data.xy, data.labels, folds, seed, block_size_of(data, block_size), _origin(data), buffer)


def block_size_of(data, block_size=None):
    """``block_size`` (map units), or when it is None/0 a fifth of the stack's longer side."""
    return block_size or default_block_size(data.stack.bounds, data.stack.pixel_size)


def train_on_split(stack_path, data, split, settings, feedback):
    """Standardise, build inputs, train every member and fit the baselines on one ``split``.

    ``settings``: a checked ``catalog.TrainingSettings``. Returns a :class:`SplitRun`."""
    encoding, baseline_encoding, pixels, inputs = encoded_inputs(stack_path, data, split.train, settings, feedback)
    validation_data = (inputs[split.validation], data.labels[split.validation])
    members, history, class_weight = train_network(data, inputs, split, settings, feedback, validation_data,
                                                   encoding)

    member_probability = np.array([deposit_probability(model, validation_data[0]) for model in members])
    probability = member_probability.mean(axis=0)
    metrics = classification_metrics(validation_data[1], probability)
    metrics["members_roc_auc"] = [classification_metrics(validation_data[1], p)["roc_auc"] for p in member_probability]
    baseline_models = fit_baseline_models(pixels[split.train], data.labels[split.train], settings.seed,
                                          "balanced" if settings.balance_classes else None)
    baselines, baseline_probabilities = score_baselines(baseline_models, pixels[split.validation],
                                                        data.labels[split.validation])
    feedback.info("{} split, validation ROC-AUC: network {:.3f}, {}.".format(
        split.scheme.replace("_", " ").capitalize(), metrics["roc_auc"], ", ".join(
            "{} {:.3f}".format(ARCHITECTURES.label(name).lower(), scores["roc_auc"]) for name, scores in baselines.items())))
    return SplitRun(members, history, metrics, baselines, probability, baseline_probabilities, encoding, inputs,
                    class_weight, baseline_models, baseline_encoding)


def training_encodings(data, train, settings):
    """(the model's encoding, the baselines' encoding) built from the points ``train`` only
    (``core.factor_encoding``): categorical factors one-hot, or native categories for an estimator
    that takes them (gradient boosting); the baselines always one-hot."""
    stack = data.stack
    values = data.values[train]
    baseline = FactorEncoding.from_training(data.factor_names, values, stack.factor_kinds, stack.categories, ONE_HOT)
    if input_mode(settings.architecture) == ONE_HOT:
        return baseline, baseline
    native = FactorEncoding.from_training(data.factor_names, values, stack.factor_kinds, stack.categories, NATIVE)
    crowded = [name for name, codes in zip(native.factor_names, native.codes) if len(codes) > NATIVE_CATEGORIES]
    if crowded:
        raise DeepProspectError(
            "{} has more than {} classes among the training points, more than gradient boosting's native categories "
            "take: merge classes, or choose another ARCHITECTURE (the others take any number, one-hot).".format(
                crowded[0], NATIVE_CATEGORIES))
    return native, baseline


def input_mode(architecture):
    """How ``architecture`` takes categorical factors: "native" when its catalog option
    ``categories`` says so (estimators with native categorical splits), else "one_hot"."""
    return NATIVE if ARCHITECTURES.get(architecture).options.get("categories") == NATIVE else ONE_HOT


def encoded_inputs(stack_path, data, train, settings, feedback):
    """(encoding, baseline encoding, the baselines' inputs of every point (n, n_inputs), the model's
    inputs of every point: (n, n_inputs) or patches (n, p, p, n_inputs)), encodings from ``train``."""
    encoding, baseline_encoding = training_encodings(data, train, settings)
    pixels = baseline_encoding.encode(data.values)
    if settings.uses_patches:
        inputs = read_patches(stack_path, data.rows, data.cols, settings.patch_size, feedback=feedback,
                              encoding=encoding)
    else:
        inputs = pixels if encoding is baseline_encoding else encoding.encode(data.values)
    feedback.check_canceled()
    return encoding, baseline_encoding, pixels, inputs


def train_network(data, inputs, split, settings, feedback, validation_data=None, encoding=None):
    """Train the ensemble on ``split.train`` (early stopping on a subset of it); the validation
    data (inputs, labels) only feed the history curves. Returns (members, history, class_weight).
    A scikit-learn architecture (catalog option ``kind`` "sklearn") is fitted on all of
    ``split.train`` instead (``models.sklearn_members``), with no history. ``encoding``: of the
    inputs (None: one column per factor), for the network's width and native category columns."""
    choice = ARCHITECTURES.get(settings.architecture)
    categorical = encoding.categorical_columns() if encoding is not None else None
    if choice.options.get("kind") == "sklearn":
        make_estimator = resolve(choice)
        if choice.options.get("background_cells"):
            make_estimator = _with_background(make_estimator, data, split, settings, encoding, feedback)
        members = fit_members(make_estimator, inputs[split.train], data.labels[split.train], settings.seed,
                              settings.ensemble_size, settings.balance_classes, categorical)
        feedback.info("{}: {} member(s) fitted.".format(choice.label, len(members)))
        return members, [], _class_weight(data.labels[split.train]) if settings.balance_classes else None
    # Early stopping must not peek at the validation split, so it watches a subset of training.
    fit_index, stop_index = _stopping_subset(data, split, settings.seed) if settings.early_stopping else (
        split.train, None)
    fit_x, fit_y = inputs[fit_index], data.labels[fit_index]
    if settings.uses_patches:
        fit_x, fit_y = _augment_deposits(fit_x, fit_y)
    stop_data = (inputs[stop_index], data.labels[stop_index]) if stop_index is not None else None
    class_weight = _class_weight(fit_y) if settings.balance_classes else None
    members, history = _train_members((fit_x, fit_y), validation_data, stop_data, class_weight,
                                      inputs.shape[-1], settings, feedback)
    return members, history, class_weight


def _with_background(make_estimator, data, split, settings, encoding, feedback):
    """``make_estimator`` giving each estimator the encoded background cells of ``split``: random
    valid cells outside its validation blocks and off the deposits' cells (``core.background_cells``)."""
    cells = draw_background_cells(data.stack, BACKGROUND_CELLS, settings.seed,
                                  exclude_cells=(data.rows * data.stack.width + data.cols)[data.labels == 1],
                                  exclude_blocks=split.validation_blocks if len(split.train) != len(data.labels) else ())
    feedback.info("Positive-unlabelled training: {} deposits against {} random background cells of the stack "
                  "(about {:,.0f} valid cells).".format(int(data.labels[split.train].sum()), len(cells.rows),
                                                        cells.valid_cells))
    background = encoding.encode(cells.values)

    def make(seed, class_weight):
        return make_estimator(seed, class_weight).set_params(background=background)
    return make


def _train_members(fit_data, validation_data, stop_data, class_weight, n_inputs, settings, feedback):
    """Train ``settings.ensemble_size`` members with seeds seed, seed + 1, …, each taking ``n_inputs``
    input columns; (models, history records)."""
    import tensorflow as tf

    members, history = [], []
    ensemble_size = settings.ensemble_size
    for member in range(ensemble_size):
        member_seed = settings.seed + member
        tf.keras.utils.set_random_seed(member_seed)
        tf.config.experimental.enable_op_determinism()
        model = build_model(settings.architecture, n_inputs, settings.patch_size, settings.dropout, settings.l2,
                            settings.learning_rate)
        member_feedback = feedback.scaled(100.0 * member / ensemble_size, 100.0 * (member + 1) / ensemble_size)
        record = _fit_member(model, fit_data, validation_data, stop_data, class_weight, settings, member_feedback)
        record["seed"] = member_seed
        members.append(model)
        history.append(record)
        feedback.info("Member {}/{}: {} epochs, best epoch {}.".format(
            member + 1, ensemble_size, record["epochs_run"], record["best_epoch"]))
    return members, history


def _fit_member(model, fit_data, validation_data, stop_data, class_weight, settings, feedback):
    """Fit one member; its history record {loss, val_loss, accuracy, val_accuracy, stopping_loss:
    [per epoch], epochs_run, best_epoch}."""
    import tensorflow as tf

    epochs = settings.epochs
    warm_up = min(WARM_UP_EPOCHS, epochs // 2)
    callbacks = [_progress_callback(feedback, epochs, stop_data, class_weight)]
    stopper = None
    if settings.early_stopping:
        stopper = tf.keras.callbacks.EarlyStopping(monitor="stopping_loss", mode="min", patience=settings.patience,
                                                   restore_best_weights=True, start_from_epoch=warm_up)
        callbacks.append(stopper)
    fitted = model.fit(fit_data[0], fit_data[1], batch_size=settings.batch_size, epochs=epochs,
                       validation_data=validation_data, class_weight=class_weight, callbacks=callbacks,
                       shuffle=True, verbose=0)
    logs = fitted.history
    best_epoch = len(logs["loss"])
    if stopper is not None and stopper.best_weights is not None:
        # Keras restores the best weights only when it stops early; do it when epochs ran out too.
        if stopper.stopped_epoch == 0:
            model.set_weights(stopper.best_weights)
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
    """(fit indices, stopping indices) inside the training split, by the split's own scheme (at
    random when that scheme cannot split the training points)."""
    train = split.train
    labels = data.labels[train]
    seed = seed + _STOPPING_SEED_OFFSET
    scheme = VALIDATION_SCHEMES.get(split.scheme)
    try:
        split_points = resolve(VALIDATION_SCHEMES.get(scheme.options.get("stopping_scheme", scheme.name)))
        inner = split_points(data.xy[train], labels, STOPPING_FRACTION, seed, split.block_size, _origin(data))
    except DeepProspectError:
        inner = random_split(labels, STOPPING_FRACTION, seed)
    return train[inner.train], train[inner.validation]


def _origin(data):
    """The stack's top-left corner (x, y): spatial blocks line up with the grid."""
    return data.stack.bounds[0], data.stack.bounds[3]


def _augment_deposits(patches, labels):
    deposits = labels == 1
    augmented, augmented_labels = dihedral_augment(patches[deposits], labels[deposits])
    return (np.concatenate([patches[~deposits], augmented]).astype(np.float32),
            np.concatenate([labels[~deposits], augmented_labels]))


def _class_weight(labels):
    counts = np.bincount(labels, minlength=2).astype(float)
    return {cls: float(len(labels) / (2.0 * counts[cls])) for cls in (0, 1)}


def deposit_probability(model, inputs):
    """Deposit probability (n,) float64 of one member (Keras or scikit-learn) for network ``inputs``."""
    if is_sklearn_member(model):
        return deposit_probabilities([model], inputs)[0].astype(np.float64)
    import tensorflow as tf

    return model(tf.constant(inputs), training=False).numpy()[:, 1].astype(np.float64)
