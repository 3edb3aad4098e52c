"""Element content from reflectance spectra: the CNN of Carvalho et al. (2024), with PLS and random
forest baselines on the same split.

Pipeline: censored and missing laboratory values are left out (and reported); samples above an
outlier threshold (1000 ppm Sb in the paper) are left out; spectra go through the
:class:`core.spectral.PreprocessSettings` chain; each processed spectrum is standardised per band
and turned into an STFT magnitude spectrogram inside the network (``tf.signal.stft``,
``frame_length`` bands per frame, ``frame_step`` bands between frames); a compact
MobileNetV2-style network (one convolution, three inverted-residual blocks, batch norm, ReLU6)
regresses the target. The target is learnt as log10(ppm) by default (element contents are
log-normal) and reported in ppm. Split: random 2/3 train : 1/3 validation, seed 42 (or grouped).
Early stopping watches a monitor subset carved out of the *training* part, so the reported
validation scores come from samples the training never saw in any way.
"""
import numpy as np

from ..core.errors import DeepProspectError
from ..core.feedback import ensure_feedback
from ..core.spectral import PreprocessSettings, preprocess
from .spectral_common import (
    check_kind, processed_inputs, raster_pixels_apply, set_seed, spectrogram_layer_class, split_indices,
    standardisation, wavelength_names,
)

KIND = "spectral_regressor"
ARCHITECTURE = "mobilenetv2_stft"
MONITOR_FRACTION = 0.15


def regression_samples(table, target, settings=None, outlier_threshold=1000.0, feedback=None):
    """Select the usable samples of ``table`` for ``target`` and pre-process their spectra.

    Returns a dict: ``wavelengths`` (m,) nm, ``processed`` (n, m), ``y`` ppm (n,), ``ids``, and a
    ``report`` of what was left out (censored, missing, outliers, invalid spectra)."""
    feedback = ensure_feedback(feedback)
    settings = settings or PreprocessSettings()
    if target not in table.targets:
        numeric = ", ".join(table.targets) or "none"
        raise DeepProspectError("The spectra table has no numeric column '{}'. Numeric columns: {}.".format(
            target, numeric))
    values = table.targets[target]
    flags = table.censored.get(target, np.array([""] * len(table)))
    wavelengths, processed = preprocess(table.wavelengths, table.spectra, settings)
    censored = flags != ""
    missing = ~np.isfinite(values) & ~censored
    invalid = ~np.isfinite(processed).all(axis=1)
    outlier = np.isfinite(values) & (values > outlier_threshold) if outlier_threshold else np.zeros(len(values), bool)
    keep = ~censored & ~missing & ~invalid & ~outlier
    report = dict(total=len(values), used=int(keep.sum()), censored=int(censored.sum()),
                  censored_ids=[table.ids[i] for i in np.flatnonzero(censored)],
                  missing=int(missing.sum()), invalid_spectra=int((invalid & ~censored & ~missing).sum()),
                  outliers=int((outlier & ~invalid).sum()), outlier_threshold=outlier_threshold,
                  outlier_ids=[table.ids[i] for i in np.flatnonzero(outlier & ~invalid)])
    if report["censored"]:
        feedback.warning("{} samples have censored {} values ({}) and are left out: a value below detection or "
                         "above range is not a number to learn from.".format(
                             report["censored"], target, ", ".join(report["censored_ids"][:10])))
    if report["outliers"]:
        feedback.info("{} samples above the outlier threshold of {:g} are left out ({}).".format(
            report["outliers"], outlier_threshold, ", ".join(report["outlier_ids"][:10])))
    if np.any(values[keep] <= 0):
        raise DeepProspectError("Some {} values are zero or negative; contents must be positive (ppm).".format(target))
    if keep.sum() < 20:
        raise DeepProspectError(
            "Only {} samples with a usable {} value remain (of {}): at least 20 are needed to train and validate "
            "a model. Check the column, the outlier threshold and the censored values.".format(
                int(keep.sum()), target, len(values)))
    return dict(wavelengths=wavelengths, processed=processed[keep], y=values[keep],
                ids=[table.ids[i] for i in np.flatnonzero(keep)], keep=keep, report=report)


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


def train_spectral_regressor(table, target, settings=None, outlier_threshold=1000.0, frame_length=64,
                             frame_step=32, epochs=300, batch_size=64, patience=30, learning_rate=3e-3,
                             seed=42, validation_fraction=1 / 3, group_column=None, log_target=True,
                             baselines=True, feedback=None):
    """Train the CNN (and PLS/RF baselines) on ``table``'s ``target`` column (ppm).

    Returns a dict with ``model`` (Keras), ``metadata`` (for the bundle: metrics, baselines, history,
    split, pre-processing), and ``predictions`` {method: {"train": (y, ŷ), "validation": (y, ŷ)}}
    in ppm for the scatter plot."""
    import tensorflow as tf

    feedback = ensure_feedback(feedback)
    settings = settings or PreprocessSettings()
    data = regression_samples(table, target, settings, outlier_threshold, feedback)
    x_all, y_ppm = data["processed"], data["y"]
    groups = None
    if group_column:
        if group_column not in table.text and group_column not in table.targets:
            raise DeepProspectError("The spectra table has no group column '{}'.".format(group_column))
        column = table.text.get(group_column) or list(table.targets[group_column])
        groups = np.asarray([str(column[i]) for i in np.flatnonzero(data["keep"])])
    train, validation = split_indices(len(y_ppm), validation_fraction, seed, groups)
    transform = np.log10 if log_target else (lambda v: np.asarray(v, dtype=float))
    inverse = (lambda v: 10.0 ** v) if log_target else (lambda v: v)
    y_t = transform(y_ppm)
    # one mean and scale for all bands: per-band z-scores would flatten the spectral shape the STFT reads
    mean, std = standardisation(x_all[train].reshape(-1, 1))
    mean, std = np.full(x_all.shape[1], mean[0]), np.full(x_all.shape[1], std[0])
    x_std = ((x_all - mean) / std).astype(np.float32)
    y_mean, y_std = float(y_t[train].mean()), float(y_t[train].std() or 1.0)
    y_z = ((y_t - y_mean) / y_std).astype(np.float32)

    set_seed(seed)
    rng = np.random.default_rng(seed)
    monitor = np.sort(rng.choice(train, max(4, int(round(MONITOR_FRACTION * len(train)))), replace=False))
    fit = np.setdiff1d(train, monitor)
    from .architectures import build_network

    model = build_network(dict(architecture=ARCHITECTURE, band_count=int(x_std.shape[1]), frame_length=int(frame_length),
                               frame_step=int(frame_step), width=16))
    model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate), loss="mse")
    callbacks = [tf.keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True),
                 tf.keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=max(3, patience // 3),
                                                      min_lr=learning_rate / 64),
                 _KerasFeedback(feedback.scaled(0, 80), epochs)]
    feedback.info("Training on {} spectra ({} monitor for early stopping), validating on {} ({} bands: {}).".format(
        len(fit), len(monitor), len(validation), x_std.shape[1], settings.describe()))
    dataset = tf.data.Dataset.from_tensor_slices((x_std[fit], y_z[fit])).shuffle(100, seed=seed).batch(batch_size)
    # the dataset is shuffled above; Keras' own shuffle does not apply to datasets
    history = model.fit(dataset, validation_data=(x_std[monitor], y_z[monitor]), epochs=epochs, verbose=0,
                        callbacks=callbacks, shuffle=False)

    def cnn_predict(rows):
        z = model(tf.constant(x_std[rows]), training=False).numpy()[:, 0]
        return inverse(z * y_std + y_mean)

    predictions = {"CNN": {"train": (y_ppm[train], cnn_predict(train)),
                           "validation": (y_ppm[validation], cnn_predict(validation))}}
    metrics = {"CNN": _scores(predictions["CNN"], log_target)}
    metrics["CNN"]["epochs"] = len(history.history["loss"])
    if baselines:
        feedback.set_progress(82)
        for name, estimator in _baseline_estimators(len(train), seed).items():
            feedback.check_canceled()
            estimator.fit(x_all[train], y_t[train])
            predictions[name] = {part: (y_ppm[rows], inverse(np.ravel(estimator.predict(x_all[rows]))))
                                 for part, rows in (("train", train), ("validation", validation))}
            metrics[name] = _scores(predictions[name], log_target)
            if name == "PLS":
                metrics[name]["components"] = int(estimator.best_params_["n_components"])
            feedback.info("{}: validation R² {:.3f}, RMSE {:.1f} ppm".format(
                name, metrics[name]["r2_validation"], metrics[name]["rmse_validation"]))
    feedback.info("CNN: validation R² {:.3f}, RMSE {:.1f} ppm ({} epochs)".format(
        metrics["CNN"]["r2_validation"], metrics["CNN"]["rmse_validation"], metrics["CNN"]["epochs"]))
    feedback.set_progress(100)
    metadata = dict(
        kind=KIND, architecture=ARCHITECTURE, factor_names=wavelength_names(data["wavelengths"]),
        normalisation=dict(mean=mean, std=std), preprocessing=settings.to_dict(),
        target=dict(name=target, units="ppm", log10=bool(log_target), mean=y_mean, std=y_std),
        hyperparameters=dict(frame_length=frame_length, frame_step=frame_step, epochs=epochs,
                             batch_size=batch_size, patience=patience, learning_rate=learning_rate,
                             outlier_threshold=outlier_threshold, validation_fraction=validation_fraction,
                             group_column=group_column, monitor_fraction=MONITOR_FRACTION),
        metrics=metrics["CNN"], baselines={k: v for k, v in metrics.items() if k != "CNN"},
        samples=data["report"], split=dict(train=[data["ids"][i] for i in train],
                                           validation=[data["ids"][i] for i in validation]),
        history={key: [float(v) for v in values] for key, values in history.history.items() if key != "lr"},
        seed=seed)
    return dict(model=model, metadata=metadata, predictions=predictions, metrics=metrics)


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
    """Element content (ppm, float64 (n,)) predicted by a regressor bundle from raw reflectance
    ``spectra`` (n, bands) at ``wavelengths`` (nm); NaN for invalid spectra."""
    import tensorflow as tf

    metadata = bundle.metadata
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
    """Predicted content (ppm) for every pixel of a hyperspectral raster, block-wise, float32 GeoTIFF."""
    name = "{} ({})".format(bundle.metadata["target"]["name"], bundle.metadata["target"]["units"])
    return raster_pixels_apply(path, output, [name],
                               lambda wavelengths, pixels: predict_content(bundle, wavelengths, pixels)[:, None],
                               block_size, feedback)


# Reports ------------------------------------------------------------------------------------

def metrics_rows(result):
    """Rows of the paper's Table 3 layout, one per method: method, R² train, R² validation,
    RMSE train (ppm), RMSE validation (ppm), epochs."""
    rows = []
    for method, values in result["metrics"].items():
        rows.append([method, values["r2_train"], values["r2_validation"], values["rmse_train"],
                     values["rmse_validation"], values.get("epochs", "")])
    return rows


def write_metrics_csv(path, result):
    """The metrics table as CSV (atomically)."""
    import csv

    from ..core.atomic import atomic_output

    target = result["metadata"]["target"]["name"]
    with atomic_output(path) as temporary:
        with open(temporary, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["element", "method", "r2_train", "r2_validation", "rmse_train_ppm",
                             "rmse_validation_ppm", "r2_log_validation", "training_epochs"])
            for method, values in result["metrics"].items():
                writer.writerow([target, method] + ["{:.4f}".format(values[k]) for k in
                                 ("r2_train", "r2_validation", "rmse_train", "rmse_validation", "r2_log_validation")]
                                + [values.get("epochs", "")])
    return str(path)


def plot_scatter(path, result):
    """Predicted vs measured (ppm, log axes) for the CNN and baselines, train and validation."""
    plt = _pyplot()
    from ..core.atomic import atomic_output

    methods = list(result["predictions"])
    target = result["metadata"]["target"]["name"]
    figure, axes = plt.subplots(1, len(methods), figsize=(4.2 * len(methods), 4.2), squeeze=False)
    for axis, method in zip(axes[0], methods):
        values = result["predictions"][method]
        everything = np.concatenate([np.concatenate(v) for v in values.values()])
        low, high = np.nanmin(everything[everything > 0]) * 0.8, np.nanmax(everything) * 1.2
        for part, colour in (("train", "#9ecae1"), ("validation", "#d7301f")):
            measured, predicted = values[part]
            axis.scatter(measured, predicted, s=14, c=colour, alpha=0.8, edgecolors="none",
                         label="{} (R² {:.2f})".format(part, result["metrics"][method]["r2_" + part]))
        axis.plot([low, high], [low, high], color="k", lw=0.8)
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlim(low, high)
        axis.set_ylim(low, high)
        axis.set_xlabel("measured {} (ppm)".format(target))
        axis.set_ylabel("predicted {} (ppm)".format(target))
        axis.set_title(method)
        axis.legend(fontsize=8, loc="upper left")
        axis.grid(alpha=0.3, which="both")
    figure.tight_layout()
    with atomic_output(path) as temporary:
        figure.savefig(temporary, dpi=100, format="png")
    plt.close(figure)
    return str(path)


def plot_learning_curves(path, history, ylabel="loss (MSE of standardised log10 content)"):
    """Training and monitor loss per epoch."""
    plt = _pyplot()
    from ..core.atomic import atomic_output

    figure, axis = plt.subplots(figsize=(6.5, 4))
    for key, label in (("loss", "training"), ("val_loss", "monitor (early stopping)")):
        if key in history:
            axis.plot(np.arange(1, len(history[key]) + 1), history[key], label=label)
    axis.set_xlabel("epoch")
    axis.set_ylabel(ylabel)
    axis.set_yscale("log")
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    with atomic_output(path) as temporary:
        figure.savefig(temporary, dpi=100, format="png")
    plt.close(figure)
    return str(path)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _scores(predictions, log_target):
    from sklearn.metrics import mean_squared_error, r2_score

    scores = {}
    for part, (measured, predicted) in predictions.items():
        scores["r2_" + part] = float(r2_score(measured, predicted))
        scores["rmse_" + part] = float(np.sqrt(mean_squared_error(measured, predicted)))
        scores["r2_log_" + part] = float(r2_score(np.log10(measured), np.log10(np.clip(predicted, 1e-6, None))))
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


class _KerasFeedback:
    """Keras callback: progress per epoch, stop training when the user cancels."""

    def __new__(cls, feedback, epochs):
        import tensorflow as tf

        class Callback(tf.keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                feedback.set_progress(100.0 * (epoch + 1) / epochs)
                feedback.check_canceled()

            def on_train_batch_end(self, batch, logs=None):
                if feedback.is_canceled():
                    feedback.check_canceled()

        return Callback()
