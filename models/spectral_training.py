"""Training steps the spectral regressor and classifier share: the monitor part of the training
spectra that early stopping watches, the epoch it chose, and the refit of the final network on
every spectrum.

Why refit: validation needs a network that never saw the validation spectra, but the model a
user keeps should learn from all of them (as the scikit-learn baselines of the prospectivity
models are refitted). The refit runs the epoch count early stopping chose during validation,
with the same learning rates epoch by epoch (the regressor halves its rate on plateaus), from
the same seed; the validation scores are then an estimate of the refitted model's.
"""
import numpy as np

from .spectral_common import KerasFeedback, set_seed


def monitor_split(train, minimum, fraction, seed):
    """(fit, monitor): sorted indices of ``train`` split at random (numpy generator of ``seed``) so
    that ``monitor`` holds ``fraction`` of them, at least ``minimum``."""
    rng = np.random.default_rng(seed)
    monitor = np.sort(rng.choice(train, max(minimum, int(round(fraction * len(train)))), replace=False))
    return np.setdiff1d(train, monitor), monitor


def learning_rate_log(rates):
    """A Keras callback appending the optimiser's learning rate at the start of each epoch to ``rates``."""
    import tensorflow as tf

    class LearningRateLog(tf.keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            rates.append(float(np.asarray(self.model.optimizer.learning_rate)))

    return LearningRateLog()


def best_epoch(history):
    """The epoch (from 1) early stopping kept: the first with the lowest monitor loss."""
    losses = history.history.get("val_loss") or history.history["loss"]
    return int(np.argmin(losses)) + 1


def refit(build, x, y, epochs, rates, options, feedback):
    """A new network from ``build()`` (compiled) fitted on every spectrum ``x`` (n, bands) with
    targets ``y`` for ``epochs`` epochs at the learning rates ``rates`` (one per epoch, as the
    validation run used them), batches of ``options['batch_size']``, shuffled with a buffer of
    ``options['shuffle']`` and ``options['seed']`` (the seed of the validation run, so the same
    seed gives the same model). Returns the fitted Keras model."""
    import tensorflow as tf

    set_seed(options["seed"])
    model = build()
    schedule = tf.keras.callbacks.LearningRateScheduler(lambda epoch, rate: rates[min(epoch, len(rates) - 1)])
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(options["shuffle"], seed=options["seed"]).batch(
        options["batch_size"])
    # the dataset is shuffled above; Keras' own shuffle does not apply to datasets
    model.fit(dataset, epochs=epochs, verbose=0, callbacks=[schedule, KerasFeedback(feedback, epochs)], shuffle=False)
    return model


def refit_note(count, epochs):
    """The sentence reports and logs give about the saved network."""
    return ("The saved network was refitted on all {} spectra for {} epoch{} (the count early stopping chose "
            "during validation); the validation scores estimate its accuracy.".format(count, epochs,
                                                                                      "" if epochs == 1 else "s"))


#: Input spectra whose median is this many times above (or 1/2.5 of it below) the training spectra's
#: are on another scale: percent (×100) or integers scaled by 10 000. A block of water or shadow
#: is rarely more than 20 times darker than the training spectra, hence the wider lower margin.
SCALE_RATIO_ABOVE, SCALE_RATIO_BELOW = 20.0, 50.0


def reflectance_median(spectra):
    """The median of the finite values of ``spectra`` (n, bands), or None: the scale a network was
    trained on, stored in the bundle as ``reflectance_median``."""
    finite = np.asarray(spectra, dtype=float)
    finite = finite[np.isfinite(finite)]
    return float(np.median(finite)) if finite.size else None


def check_reflectance_scale(metadata, spectra):
    """Refuse ``spectra`` (n, bands) on another scale than the bundle's training spectra (0–1 against
    0–100 or 0–10 000), when the bundle's pre-processing does not remove the scale: continuum
    removal, or absorbance followed by a derivative, make the result the same at any scale.
    Bundles without ``reflectance_median`` (written before it was recorded) are not checked."""
    from ..core.errors import DeepProspectError
    from ..core.spectral_preprocessing import PreprocessSettings

    settings = PreprocessSettings.from_dict(metadata.get("preprocessing") or {})
    trained = metadata.get("reflectance_median")
    if settings.continuum_removal or (settings.absorbance and settings.derivative) or not trained:
        return
    found = reflectance_median(spectra)
    if found and not trained / SCALE_RATIO_BELOW <= found <= trained * SCALE_RATIO_ABOVE:
        raise DeepProspectError(
            "The input spectra have a median of {:.4g} where the model's training spectra had {:.4g}: they are on "
            "another scale (e.g. percent reflectance 0–100, or integers scaled by 10 000, against 0–1). "
            "Rescale the input to the training spectra's scale before applying the model.".format(found, trained))
