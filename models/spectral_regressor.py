"""Element content from reflectance spectra: the CNN of Carvalho et al. (2024), with PLS and random
forest baselines on the same split.

Pipeline: censored, non-numeric and missing laboratory values are left out (and reported);
samples above an outlier threshold (1000 ppm Sb in the paper; in the target's units) are left
out (``models.spectral_regression_data``); spectra go through the
:class:`core.spectral_preprocessing.PreprocessSettings` chain; each processed spectrum is standardised
and turned into an STFT magnitude spectrogram inside the network (``tf.signal.stft``; frames
given in nm, 64/32 nm by default, and converted to bands by the band spacing, or in bands); a
compact MobileNetV2-style network (one convolution, three inverted-residual blocks, batch norm,
ReLU6) regresses the target. The target (``units``, ppm by default) is learnt as its log10 by
default (element contents are log-normal) and reported in its units. Split: random 2/3 train :
1/3 validation, seed 42 (or grouped). Early stopping watches a monitor subset carved out of the
*training* part, so the reported validation scores come from samples the training never saw in
any way; the saved network is then refitted on all samples for the epoch count early stopping
chose (``models.spectral_training``).
"""
import numpy as np

from ..core.errors import DeepProspectError
from ..core.feedback import ensure_feedback
from ..core.spectral_preprocessing import PreprocessSettings, preprocess
from ..core.spectral_preprocessing import report_chain
from .spectral_common import (
    KerasFeedback, check_kind, processed_inputs, raster_pixels_apply, set_seed, spectrogram_layer_class,
    split_indices, standardisation, wavelength_names,
)
from .spectral_regression_data import regression_samples, stft_frames
from .spectral_training import (
    best_epoch, check_reflectance_scale, learning_rate_log, monitor_split, reflectance_median, refit, refit_note,
)

KIND = "spectral_regressor"
ARCHITECTURE = "mobilenetv2_stft"
MONITOR_FRACTION = 0.15


def build_regressor(band_count, frame_length=64, frame_step=16, width=16):
    """The compact MobileNetV2-style regressor: spectrum (n, band_count) standardised → (n, 1).

    STFT magnitude → batch norm → Conv2D 3×3/2 + BN + ReLU6 → three inverted-residual blocks
    (expansion 4; 16 ch stride 1 with skip, 24 ch stride 2, 24 ch stride 1 with skip) → flatten
    (keeps *where* in the spectrum a feature is, which global pooling would average away) →
    dropout 0.3 → dense 1."""
    import tensorflow as tf

    layers = tf.keras.layers
    if band_count < frame_length:
        raise DeepProspectError("The processed spectra have {} bands, fewer than the STFT frame length {}: use a "
                                "smaller FRAME_LENGTH.".format(band_count, frame_length))
    inputs = tf.keras.Input((band_count,), name="spectrum")
    x = spectrogram_layer_class()(frame_length, frame_step, name="stft")(inputs)
    x = layers.BatchNormalization(momentum=0.9, name="spectrogram_norm")(x)
    x = layers.Conv2D(width, 3, strides=2, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization(momentum=0.9)(x)
    x = layers.ReLU(6.0)(x)
    for filters, stride in ((16, 1), (24, 2), (24, 1)):
        x = _inverted_residual(x, filters, stride, expansion=4)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.3)(x)
    outputs = layers.Dense(1, name="content")(x)
    return tf.keras.Model(inputs, outputs, name=ARCHITECTURE)


def train_spectral_regressor(table, target, settings=None, outlier_threshold=1000.0, frame_length=None,
                             frame_step=None, epochs=300, batch_size=64, patience=30, learning_rate=3e-3,
                             seed=42, validation_fraction=1 / 3, group_column=None, log_target=True,
                             baselines=True, feedback=None, units="ppm", frame_length_nm=64.0, frame_step_nm=32.0):
    """Train the CNN (and PLS/RF baselines) on ``table``'s ``target`` column (in ``units``).

    Frames: ``frame_length``/``frame_step`` in bands, or (when None) ``frame_length_nm``/
    ``frame_step_nm`` converted by the band spacing (:func:`stft_frames`). The network is
    validated on the split, then refitted on all samples. Returns a dict with ``model`` (the
    refitted Keras model), ``metadata`` (for the bundle: metrics, baselines, history, split,
    pre-processing), and ``predictions`` {method: {"train": (y, ŷ), "validation": (y, ŷ)}} in
    ``units`` for the scatter plot (the CNN's from the validated network)."""
    feedback = ensure_feedback(feedback)
    settings = settings or PreprocessSettings()
    report_chain(table.wavelengths, settings, feedback)
    data = regression_samples(table, target, settings, outlier_threshold, feedback, units, log_target)
    frames = stft_frames(data["wavelengths"], frame_length, frame_step, frame_length_nm, frame_step_nm, feedback)
    groups = _groups(table, group_column, data["keep"])
    train, validation = split_indices(len(data["y"]), validation_fraction, seed, groups)
    scaled = _standardised(data["processed"], data["y"], train, log_target)
    options = dict(frame_length=frames["frame_length"], frame_step=frames["frame_step"], epochs=epochs,
                   batch_size=batch_size, patience=patience, learning_rate=learning_rate)
    model, history, rates = _fit_network(scaled, train, len(validation), dict(options, seed=seed),
                                         settings.describe(table.wavelengths), feedback)
    predictions, metrics = _evaluate(model, scaled, data, train, validation, log_target)
    metrics["CNN"]["epochs"] = len(history.history["loss"])
    if baselines:
        feedback.set_progress(60)
        _fit_baselines(scaled, data, train, validation, log_target, seed, predictions, metrics, feedback)
    feedback.info("CNN: validation R² {:.3f}, RMSE {:.4g} {} ({} epochs)".format(
        metrics["CNN"]["r2_validation"], metrics["CNN"]["rmse_validation"], units, metrics["CNN"]["epochs"]))
    everything = np.arange(len(data["y"]))
    final_scaled = _standardised(data["processed"], data["y"], everything, log_target)
    final_epochs = best_epoch(history)
    final = _refit_network(final_scaled, final_epochs, rates, dict(options, seed=seed), feedback.scaled(65, 99))
    metrics["CNN"]["final_model"] = refit_note(len(everything), final_epochs)
    feedback.info(metrics["CNN"]["final_model"])
    feedback.set_progress(100)
    metadata = dict(
        kind=KIND, architecture=ARCHITECTURE, factor_names=wavelength_names(data["wavelengths"]),
        normalisation=dict(mean=final_scaled["mean"], std=final_scaled["std"]), preprocessing=settings.to_dict(),
        target=dict(name=target, units=units, log10=bool(log_target), mean=final_scaled["y_mean"],
                    std=final_scaled["y_std"]),
        hyperparameters=dict(options, frame_length_nm=frame_length_nm, frame_step_nm=frame_step_nm,
                             outlier_threshold=outlier_threshold, validation_fraction=validation_fraction,
                             group_column=group_column, monitor_fraction=MONITOR_FRACTION, final_epochs=final_epochs),
        metrics=metrics["CNN"], baselines={k: v for k, v in metrics.items() if k != "CNN"},
        samples=data["report"], reflectance_median=reflectance_median(table.spectra),
        split=dict(train=[data["ids"][i] for i in train], validation=[data["ids"][i] for i in validation]),
        history={key: [float(v) for v in values] for key, values in history.history.items()
                 if key != "lr"},
        seed=seed)
    return dict(model=final, metadata=metadata, predictions=predictions, metrics=metrics)


def _groups(table, group_column, keep):
    """The group (str) of each used sample (``keep``), or None without ``group_column``."""
    if not group_column:
        return None
    if group_column not in table.text and group_column not in table.targets:
        raise DeepProspectError("The spectra table has no group column '{}'.".format(group_column))
    column = table.text.get(group_column) or list(table.targets[group_column])
    return np.asarray([str(column[i]) for i in np.flatnonzero(keep)])


def _standardised(processed, y_values, train, log_target):
    """Network inputs and targets scaled on the training samples: ``x`` float32 (n, bands) with one
    mean and scale for all bands (``mean``/``std`` per band, equal), ``y_t`` the target as learnt
    (log10 of the value or the value, in the target's units), ``y_z`` its z-score (float32) with
    ``y_mean``/``y_std``, and ``inverse`` (learnt scale → the target's units)."""
    transform = np.log10 if log_target else (lambda v: np.asarray(v, dtype=float))
    inverse = (lambda v: 10.0 ** v) if log_target else (lambda v: v)
    y_t = transform(y_values)
    # one mean and scale for all bands: per-band z-scores would flatten the spectral shape the STFT reads
    mean, std = standardisation(processed[train].reshape(-1, 1))
    mean, std = np.full(processed.shape[1], mean[0]), np.full(processed.shape[1], std[0])
    y_mean, y_std = float(y_t[train].mean()), float(y_t[train].std() or 1.0)
    return dict(x=((processed - mean) / std).astype(np.float32), mean=mean, std=std, y_t=y_t, y_mean=y_mean,
                y_std=y_std, y_z=((y_t - y_mean) / y_std).astype(np.float32), inverse=inverse)


def _fit_network(scaled, train, validation_count, options, chain, feedback):
    """The STFT CNN fitted on the training samples ``train``, early-stopped on a monitor part of
    them; ``options``: frame_length, frame_step, epochs, batch_size, patience, learning_rate, seed;
    ``chain``: the pre-processing as described in the log.
    Returns (model, Keras history, learning rate of each epoch)."""
    import tensorflow as tf

    x_std, y_z, seed, learning_rate = scaled["x"], scaled["y_z"], options["seed"], options["learning_rate"]
    set_seed(seed)
    fit, monitor = monitor_split(train, 4, MONITOR_FRACTION, seed)
    model = _compiled_network(x_std.shape[1], options)
    patience, rates = options["patience"], []
    callbacks = [tf.keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True),
                 tf.keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=max(3, patience // 3),
                                                      min_lr=learning_rate / 64),
                 KerasFeedback(feedback.scaled(0, 55), options["epochs"]), learning_rate_log(rates)]
    feedback.info("Training on {} spectra ({} monitor for early stopping), validating on {} ({} bands: {}).".format(
        len(fit), len(monitor), validation_count, x_std.shape[1], chain))
    dataset = tf.data.Dataset.from_tensor_slices((x_std[fit], y_z[fit])).shuffle(100, seed=seed).batch(
        options["batch_size"])
    # the dataset is shuffled above; Keras' own shuffle does not apply to datasets
    history = model.fit(dataset, validation_data=(x_std[monitor], y_z[monitor]), epochs=options["epochs"],
                        verbose=0, callbacks=callbacks, shuffle=False)
    return model, history, rates


def _compiled_network(band_count, options):
    """The regressor network for ``band_count`` bands, compiled (Adam, mean squared error)."""
    import tensorflow as tf

    from .architectures import build_network

    model = build_network(dict(architecture=ARCHITECTURE, band_count=int(band_count),
                               frame_length=int(options["frame_length"]), frame_step=int(options["frame_step"]),
                               width=16))
    model.compile(optimizer=tf.keras.optimizers.Adam(options["learning_rate"]), loss="mse")
    return model


def _refit_network(scaled, epochs, rates, options, feedback):
    """The network refitted on every sample of ``scaled`` for ``epochs`` epochs at ``rates``."""
    return refit(lambda: _compiled_network(scaled["x"].shape[1], options), scaled["x"], scaled["y_z"], epochs,
                 rates, dict(options, shuffle=100), feedback)


def _evaluate(model, scaled, data, train, validation, log_target):
    """The CNN's predictions (target units) and scores on the training and validation samples."""
    import tensorflow as tf

    def cnn_predict(rows):
        z = model(tf.constant(scaled["x"][rows]), training=False).numpy()[:, 0]
        return scaled["inverse"](z * scaled["y_std"] + scaled["y_mean"])

    y_values = data["y"]
    predictions = {"CNN": {"train": (y_values[train], cnn_predict(train)),
                           "validation": (y_values[validation], cnn_predict(validation))}}
    return predictions, {"CNN": _scores(predictions["CNN"], log_target)}


def _fit_baselines(scaled, data, train, validation, log_target, seed, predictions, metrics, feedback):
    """PLS and random forest on the same split and processed spectra (not standardised); adds
    their predictions (target units) and scores to ``predictions`` and ``metrics``."""
    x_all, y_values, y_t, inverse = data["processed"], data["y"], scaled["y_t"], scaled["inverse"]
    for name, estimator in _baseline_estimators(len(train), seed).items():
        feedback.check_canceled()
        estimator.fit(x_all[train], y_t[train])
        predictions[name] = {part: (y_values[rows], inverse(np.ravel(estimator.predict(x_all[rows]))))
                             for part, rows in (("train", train), ("validation", validation))}
        metrics[name] = _scores(predictions[name], log_target)
        if name == "PLS":
            metrics[name]["components"] = int(estimator.best_params_["n_components"])
        feedback.info("{}: validation R² {:.3f}, RMSE {:.4g} {}".format(
            name, metrics[name]["r2_validation"], metrics[name]["rmse_validation"], data["report"]["units"]))


def save_regressor(path, result):
    """Write the trained regressor as a ``.dpm`` bundle."""
    from .bundle import save_bundle

    return save_bundle(path, [result["model"]], result["metadata"])


def load_spectral_bundle(path, kind=None):
    """Load a spectral bundle; checks its kind when given."""
    from .bundle import load_bundle, read_metadata

    metadata = read_metadata(path)
    if kind:
        check_kind(metadata, kind, path)
    elif not metadata.get("kind", "").startswith("spectral_"):
        raise DeepProspectError("The model bundle {} is not a spectral model (it is '{}'). Use a bundle from "
                                "deepprospect:train_spectral_regressor or train_spectral_classifier.".format(
                                    path, metadata.get("kind", "prospectivity")))
    return load_bundle(path)


def predict_content(bundle, wavelengths, spectra, batch_size=4096):
    """Element content (the bundle's target units, float64 (n,)) predicted by a regressor bundle from raw reflectance
    ``spectra`` (n, bands) at ``wavelengths`` (nm); NaN for invalid spectra."""
    import tensorflow as tf

    metadata = bundle.metadata
    check_reflectance_scale(metadata, spectra)
    inputs = processed_inputs(metadata, wavelengths, spectra)
    valid = np.isfinite(inputs).all(axis=1)
    result = np.full(len(inputs), np.nan)
    if valid.any():
        outputs = []
        rows = inputs[valid]
        for start in range(0, len(rows), batch_size):
            outputs.append(bundle.members[0](tf.constant(rows[start:start + batch_size]), training=False).numpy()[:, 0])
        z = np.concatenate(outputs)
        target = metadata["target"]
        value = z * target["std"] + target["mean"]
        result[valid] = 10.0 ** value if target.get("log10") else value
    return result


def predict_content_raster(bundle, path, output, block_size=256, feedback=None):
    """Predicted content (the bundle's target units) for every pixel of a hyperspectral raster, block-wise, float32 GeoTIFF."""
    name = "{} ({})".format(bundle.metadata["target"]["name"], bundle.metadata["target"]["units"])
    return raster_pixels_apply(path, output, [name],
                               lambda wavelengths, pixels: predict_content(bundle, wavelengths, pixels)[:, None],
                               block_size, feedback)


def _scores(predictions, log_target):
    from sklearn.metrics import mean_squared_error, r2_score

    scores = {}
    for part, (measured, predicted) in predictions.items():
        scores["r2_" + part] = float(r2_score(measured, predicted))
        scores["rmse_" + part] = float(np.sqrt(mean_squared_error(measured, predicted)))
        # R² of log10 values exists only for positive measurements (None, valid JSON, otherwise)
        scores["r2_log_" + part] = float(r2_score(np.log10(measured), np.log10(np.clip(predicted, 1e-6, None)))) \
            if np.all(measured > 0) else None
    return scores


def _baseline_estimators(train_count, seed):
    from sklearn.cross_decomposition import PLSRegression
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.model_selection import GridSearchCV, KFold

    components = [c for c in (2, 4, 6, 8, 10, 12, 15, 20) if c < train_count * 0.8]
    pls = GridSearchCV(PLSRegression(scale=True), {"n_components": components},
                       cv=KFold(5, shuffle=True, random_state=seed), scoring="neg_mean_squared_error")
    forest = RandomForestRegressor(n_estimators=300, max_features=0.3, min_samples_leaf=2, random_state=seed,
                                   n_jobs=1)
    return {"PLS": pls, "RF": forest}


def _inverted_residual(x, filters, stride, expansion):
    import tensorflow as tf

    layers = tf.keras.layers
    channels = x.shape[-1]
    y = layers.Conv2D(channels * expansion, 1, use_bias=False)(x)
    y = layers.BatchNormalization(momentum=0.9)(y)
    y = layers.ReLU(6.0)(y)
    y = layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False)(y)
    y = layers.BatchNormalization(momentum=0.9)(y)
    y = layers.ReLU(6.0)(y)
    y = layers.Conv2D(filters, 1, use_bias=False)(y)
    y = layers.BatchNormalization(momentum=0.9)(y)  # linear bottleneck: no activation
    if stride == 1 and channels == filters:
        y = layers.Add()([x, y])
    return y
