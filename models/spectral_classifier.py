"""DeepGeoMap: a 1-D CNN classifying each spectrum on its own (spectrally focused, spatially
independent), trained from labelled lab or point-spectrometer spectra, applied block-wise to a
hyperspectral raster; with a spectral angle mapper (SAM) baseline from the class mean spectra.

Both use the same pre-processing (:class:`core.spectral_preprocessing.PreprocessSettings`, by default only a
trim to 400–2400 nm: the network learns its own features) and the same stratified 2/3 : 1/3
split, so the training report compares them on identical validation spectra. The network sees
each processed spectrum standardised band by band; SAM sees the processed spectrum itself
(reflectance by default), as ENVI's SAM does. Loss: categorical cross-entropy, Adam.
"""
from dataclasses import asdict

import numpy as np

from ..catalog import TRIM_ONLY_PREPROCESSING
from ..core.errors import DeepProspectError
from ..core.feedback import ensure_feedback
from ..core.spectral_preprocessing import PreprocessSettings, preprocess, report_chain
from ..core.wording import agree, counted
from .spectral_common import (
    KerasFeedback, processed_inputs, raster_pixels_apply, set_seed, split_indices, standardisation,
    wavelength_names,
)
from .spectral_training import (
    best_epoch, check_reflectance_scale, learning_rate_log, monitor_split, reflectance_median, refit, refit_note,
)

KIND = "spectral_classifier"
ARCHITECTURE = "deepgeomap_cnn1d"
MONITOR_FRACTION = 0.15
#: The network halves the band axis four times (a stride-2 convolution, three poolings): 15 bands
#: leave one position for the dense layer, 14 none.
MIN_BANDS = 15


def default_settings():
    """Classifier pre-processing default (``catalog.TRIM_ONLY_PREPROCESSING``): trim to 400–2400 nm only."""
    return PreprocessSettings(**asdict(TRIM_ONLY_PREPROCESSING))


def build_classifier(band_count, class_count):
    """The 1-D CNN: spectrum (n, band_count) standardised → (n, class_count) softmax.

    Conv1D 16×7/2 → BN → ReLU → max-pool 2 → Conv1D 32×5 → BN → ReLU → max-pool 2 → Conv1D 32×3 →
    BN → ReLU → max-pool 2 → flatten → dense 64 ReLU → dropout 0.3 → dense softmax. About 1 MFLOP
    per 400-band spectrum: a 1000 × 1000 × 400 raster took 93 s on two shared CPU cores
    (benchmarks/bench_spectral.py)."""
    import tensorflow as tf

    layers = tf.keras.layers
    inputs = tf.keras.Input((band_count,), name="spectrum")
    x = layers.Reshape((band_count, 1))(inputs)
    for filters, kernel, stride in ((16, 7, 2), (32, 5, 1), (32, 3, 1)):
        x = layers.Conv1D(filters, kernel, strides=stride, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling1D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(64, activation="relu")(x)
    x = layers.Dropout(0.3)(x)
    outputs = layers.Dense(class_count, activation="softmax", name="class_probability")(x)
    return tf.keras.Model(inputs, outputs, name=ARCHITECTURE)


def spectral_angles(spectra, references):
    """Spectral angle (radians, (n, k)) between each spectrum (n, bands) and each reference (k, bands):
    arccos(s·r / (|s| |r|)). Insensitive to brightness (a scaling of the spectrum)."""
    spectra = np.asarray(spectra, dtype=np.float64)
    references = np.asarray(references, dtype=np.float64)
    norms = np.linalg.norm(spectra, axis=1, keepdims=True) * np.linalg.norm(references, axis=1)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        cosine = (spectra @ references.T) / norms
    return np.arccos(np.clip(cosine, -1.0, 1.0))


def sam_classify(spectra, class_means):
    """SAM: index of the class mean with the smallest angle, and that angle (radians)."""
    angles = spectral_angles(spectra, class_means)
    best = np.argmin(angles, axis=1)
    return best, angles[np.arange(len(best)), best]


def train_spectral_classifier(table, class_column="class", settings=None, epochs=150, batch_size=64, patience=20,
                              learning_rate=1e-3, seed=42, validation_fraction=1 / 3, feedback=None):
    """Train the 1-D CNN on ``table``'s labelled spectra and evaluate it beside SAM.

    ``class_column``: a text (or integer) column of class names. Both methods are scored on the
    validation spectra, then refitted on all spectra (the CNN for the epoch count early stopping
    chose, SAM's class means from every spectrum). Returns a dict with ``model`` (the refitted
    CNN), ``metadata`` (class names, class mean spectra for SAM, metrics of both methods,
    confusion matrices, history) and ``metrics``."""
    import tensorflow as tf

    feedback = ensure_feedback(feedback)
    settings = settings or default_settings()
    report_chain(table.wavelengths, settings, feedback)
    samples = _labelled_spectra(table, class_column, settings, feedback)
    processed, y, class_names = samples["processed"], samples["y"], samples["class_names"]
    train, validation = split_indices(len(y), validation_fraction, seed, stratify=y)
    mean, std = standardisation(processed[train])
    x_std = ((processed - mean) / std).astype(np.float32)
    options = dict(epochs=epochs, batch_size=batch_size, patience=patience, learning_rate=learning_rate, seed=seed)
    model, history, rates = _fit_network(x_std, y, train, len(class_names), options, feedback)
    class_means = _class_means(processed[train], y[train], len(class_names))
    predicted = {"CNN": np.argmax(model(tf.constant(x_std), training=False).numpy(), axis=1),
                 "SAM": sam_classify(processed, class_means)[0]}
    metrics = {method: _scores(y, guess, train, validation, len(class_names), method, feedback)
               for method, guess in predicted.items()}
    metrics["CNN"]["epochs"] = len(history.history["loss"])
    mean, std = standardisation(processed)
    final_epochs = best_epoch(history)
    final = refit(lambda: _compiled_network(processed.shape[1], len(class_names), learning_rate),
                  ((processed - mean) / std).astype(np.float32), np.eye(len(class_names), dtype=np.float32)[y],
                  final_epochs, rates, dict(options, shuffle=len(y)), feedback.scaled(60, 99))
    metrics["CNN"]["final_model"] = refit_note(len(y), final_epochs)
    feedback.info(metrics["CNN"]["final_model"] + " SAM's class means are those of all spectra too.")
    feedback.set_progress(100)
    metadata = dict(
        kind=KIND, architecture=ARCHITECTURE, factor_names=wavelength_names(samples["wavelengths"]),
        normalisation=dict(mean=mean, std=std), preprocessing=settings.to_dict(), class_names=class_names,
        class_column=class_column, class_counts=samples["counts"],
        class_means=_class_means(processed, y, len(class_names)),
        reflectance_median=reflectance_median(table.spectra),
        hyperparameters=dict(epochs=epochs, batch_size=batch_size, patience=patience, learning_rate=learning_rate,
                             validation_fraction=validation_fraction, monitor_fraction=MONITOR_FRACTION,
                             final_epochs=final_epochs),
        metrics=metrics["CNN"], baselines={"SAM": metrics["SAM"]},
        history={key: [float(v) for v in values] for key, values in history.history.items()}, seed=seed)
    return dict(model=final, metadata=metadata, metrics=metrics)


def _class_means(processed, y, class_count):
    """The mean processed spectrum of each class (class_count, bands): SAM's references."""
    return np.array([processed[y == k].mean(axis=0) for k in range(class_count)])


def _labelled_spectra(table, class_column, settings, feedback):
    """The processed spectra with a class: dict of ``wavelengths`` (m,) nm, ``processed`` (n, m),
    ``y`` class indices (n,), ``class_names`` (sorted) and ``counts`` {class: spectra}."""
    labels = _labels(table, class_column)
    wavelengths, processed = preprocess(table.wavelengths, table.spectra, settings)
    valid = np.isfinite(processed).all(axis=1) & np.array([bool(label) for label in labels])
    if (~valid).any():
        left_out = [table.ids[i] for i in np.flatnonzero(~valid)]
        feedback.warning("{} without a class or with invalid values {} left out: {}{}.".format(
            counted(len(left_out), "spectrum", "spectra"), agree(len(left_out), "is", "are"),
            ", ".join(left_out[:10]), ", …" if len(left_out) > 10 else ""))
    processed, labels = processed[valid], [label for label, ok in zip(labels, valid) if ok]
    class_names = sorted(set(labels))
    counts = {name: labels.count(name) for name in class_names}
    if len(class_names) < 2:
        raise DeepProspectError("The column '{}' has fewer than two classes; a classifier needs at least two.".format(
            class_column))
    small = [name for name, count in counts.items() if count < 6]
    if small:
        raise DeepProspectError("These classes have fewer than 6 spectra, too few to train and validate: {}. Add "
                                "spectra or merge the classes.".format(", ".join(small)))
    y = np.array([class_names.index(label) for label in labels])
    return dict(wavelengths=wavelengths, processed=processed, y=y, class_names=class_names, counts=counts)


def _fit_network(x_std, y, train, class_count, options, feedback):
    """The 1-D CNN fitted on the training spectra ``train`` of ``x_std`` (n, bands) standardised,
    early-stopped on a monitor part of them; ``options``: epochs, batch_size, patience,
    learning_rate, seed. Returns (model, Keras history, learning rate of each epoch)."""
    import tensorflow as tf

    seed = options["seed"]
    set_seed(seed)
    fit, monitor = monitor_split(train, class_count, MONITOR_FRACTION, seed)
    model = _compiled_network(x_std.shape[1], class_count, options["learning_rate"])
    one_hot = np.eye(class_count, dtype=np.float32)[y]
    rates = []
    callbacks = [tf.keras.callbacks.EarlyStopping(monitor="val_loss", patience=options["patience"],
                                                  restore_best_weights=True),
                 KerasFeedback(feedback.scaled(0, 60), options["epochs"]), learning_rate_log(rates)]
    feedback.info("Training the 1-D CNN on {} spectra ({} monitor), validating on {}; {} classes, {} bands.".format(
        len(fit), len(monitor), len(y) - len(train), class_count, x_std.shape[1]))
    dataset = tf.data.Dataset.from_tensor_slices((x_std[fit], one_hot[fit])).shuffle(
        len(fit), seed=seed).batch(options["batch_size"])
    # the dataset is shuffled above; Keras' own shuffle does not apply to datasets
    history = model.fit(dataset, validation_data=(x_std[monitor], one_hot[monitor]), epochs=options["epochs"],
                        verbose=0, callbacks=callbacks, shuffle=False)
    return model, history, rates


def _compiled_network(band_count, class_count, learning_rate):
    """The classifier network, compiled (Adam, categorical cross-entropy, accuracy)."""
    import tensorflow as tf

    from .architectures import build_network

    if band_count < MIN_BANDS:
        raise DeepProspectError(
            "The processed spectra have {} bands; the 1-D CNN needs at least {}. Widen MIN_WAVELENGTH–"
            "MAX_WAVELENGTH or use spectra with more bands.".format(band_count, MIN_BANDS))
    model = build_network(dict(architecture=ARCHITECTURE, band_count=int(band_count), class_count=class_count))
    model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def _scores(y, guess, train, validation, class_count, method, feedback):
    """Accuracy (train, validation), kappa and confusion matrix (validation) of class indices ``guess``."""
    from sklearn.metrics import accuracy_score, cohen_kappa_score, confusion_matrix

    scores = dict(
        accuracy_train=float(accuracy_score(y[train], guess[train])),
        accuracy_validation=float(accuracy_score(y[validation], guess[validation])),
        kappa_validation=float(cohen_kappa_score(y[validation], guess[validation])),
        confusion_validation=confusion_matrix(y[validation], guess[validation], labels=range(class_count)).tolist())
    feedback.info("{}: validation accuracy {:.1%} (kappa {:.3f})".format(
        method, scores["accuracy_validation"], scores["kappa_validation"]))
    return scores


def save_classifier(path, result):
    """Write the trained classifier as a ``.dpm`` bundle."""
    from .bundle import save_bundle

    return save_bundle(path, [result["model"]], result["metadata"])


def classify_cnn(bundle, wavelengths, spectra, batch_size=8192):
    """The 1-D CNN's class index (int (n,), −1 for invalid spectra) and winning class probability
    (float (n,)) for raw reflectance ``spectra`` (n, bands) at ``wavelengths`` (nm)."""
    import tensorflow as tf

    check_reflectance_scale(bundle.metadata, spectra)
    inputs = processed_inputs(bundle.metadata, wavelengths, spectra)
    valid = np.isfinite(inputs).all(axis=1)
    classes, scores = np.full(len(spectra), -1), np.full(len(spectra), np.nan)
    if valid.any():
        rows = inputs[valid]
        outputs = [bundle.members[0](tf.constant(rows[start:start + batch_size]), training=False).numpy()
                   for start in range(0, len(rows), batch_size)]
        probability = np.concatenate(outputs)
        classes[valid] = np.argmax(probability, axis=1)
        scores[valid] = probability.max(axis=1)
    return classes, scores


def classify_sam(bundle, wavelengths, spectra):
    """SAM's class index (int (n,), −1 for invalid spectra) and spectral angle (radians, (n,)) to
    the nearest training class mean, for raw reflectance ``spectra`` (n, bands) at ``wavelengths`` (nm)."""
    metadata = bundle.metadata
    inputs = processed_inputs(metadata, wavelengths, spectra)
    valid = np.isfinite(inputs).all(axis=1)
    classes, scores = np.full(len(spectra), -1), np.full(len(spectra), np.nan)
    # SAM works on the processed spectrum itself, not its standardised form
    processed = inputs[valid].astype(np.float64) * np.asarray(metadata["normalisation"]["std"]) + np.asarray(
        metadata["normalisation"]["mean"])
    if valid.any():
        classes[valid], scores[valid] = sam_classify(processed, np.asarray(metadata["class_means"]))
    return classes, scores


def classify_raster(bundle, path, output, classify, score_name, block_size=256, feedback=None):
    """Classify every pixel of a hyperspectral raster, block by block, with ``classify`` (a
    ``catalog.CLASSIFICATION_METHODS`` function, e.g. :func:`classify_cnn`).

    Writes a float32 GeoTIFF: band 1 the class code (class index + 1, in the order of
    ``bundle.metadata['class_names']``), band 2 the score called ``score_name`` (the CNN's winning
    probability, SAM's spectral angle in radians); nodata −9999. A QML with the class names is
    written beside it (same name, ``.qml``), which QGIS applies when the raster is opened.
    Returns ``output``."""

    def compute(wavelengths, pixels):
        classes, scores = classify(bundle, wavelengths, pixels)
        return np.column_stack([np.where(classes >= 0, classes + 1, -9999), np.where(classes >= 0, scores, -9999)])

    raster_pixels_apply(path, output, ["class", score_name], compute, block_size, feedback)
    write_class_qml(str(output)[:-len(_suffix(output))] + ".qml", bundle.metadata["class_names"])
    return str(output)


PALETTE = ("#1f78b4", "#33a02c", "#e31a1c", "#ff7f00", "#6a3d9a", "#b15928", "#a6cee3", "#b2df8a", "#fb9a99",
           "#fdbf6f", "#cab2d6", "#ffff99")


def write_class_qml(path, class_names):
    """A QGIS paletted style for band 1 (class codes 1..k) labelled with ``class_names``."""
    from xml.sax.saxutils import quoteattr

    from ..core.atomic import atomic_output

    entries = "\n".join(
        '        <paletteEntry value="{}" color="{}" alpha="255" label={}/>'.format(
            index + 1, PALETTE[index % len(PALETTE)], quoteattr(str(name)))
        for index, name in enumerate(class_names))
    text = """<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22" styleCategories="AllStyleCategories">
  <pipe>
    <rasterrenderer type="paletted" band="1" opacity="1" alphaBand="-1" nodataColor="">
      <rasterTransparency/>
      <minMaxOrigin><limits>None</limits><extent>WholeRaster</extent><statAccuracy>Estimated</statAccuracy>
        <cumulativeCutLower>0.02</cumulativeCutLower><cumulativeCutUpper>0.98</cumulativeCutUpper>
        <stdDevFactor>2</stdDevFactor></minMaxOrigin>
      <colorPalette>
{}
      </colorPalette>
      <colorramp type="randomcolors" name="[source]"/>
    </rasterrenderer>
    <brightnesscontrast brightness="0" contrast="0" gamma="1"/>
    <huesaturation saturation="0" grayscaleMode="0" colorizeOn="0" colorizeRed="255" colorizeGreen="128"
      colorizeBlue="128" colorizeStrength="100"/>
    <rasterresampler maxOversampling="2"/>
  </pipe>
  <blendMode>0</blendMode>
</qgis>
""".format(entries)
    with atomic_output(path) as temporary:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
    return str(path)


def _labels(table, class_column):
    if class_column in table.text:
        return [str(value).strip() for value in table.text[class_column]]
    if class_column in table.targets:
        values = table.targets[class_column]
        return ["" if not np.isfinite(v) else "{:g}".format(v) for v in values]
    raise DeepProspectError("The spectra table has no column '{}'; its columns are: {}.".format(
        class_column, ", ".join(list(table.text) + list(table.targets))))


def _suffix(path):
    import os

    return os.path.splitext(str(path))[1]
