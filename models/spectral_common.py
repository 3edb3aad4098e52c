"""What the spectral regressor and classifier share: the STFT layer, wavelength checks, splits,
the Keras progress callback, the pixel-wise raster application and reproducibility.

Spectral bundles use ``models.bundle`` with ``kind`` ``spectral_regressor`` or ``spectral_classifier``;
their ``factor_names`` are the processed band wavelengths in nm as strings, their
``normalisation`` the per-wavelength mean and standard deviation of the processed training
spectra, and ``preprocessing`` the :class:`core.spectral_preprocessing.PreprocessSettings` as a dict.
"""
import numpy as np

from ..core.errors import DeepProspectError
from ..core.spectra_table import format_wavelength
from ..core.spectral_preprocessing import PreprocessSettings, preprocess, trim_range

WAVELENGTH_TOLERANCE_NM = 0.05


def set_seed(seed):
    """Seed Python, numpy and TensorFlow and make TF ops deterministic (same seed → same model)."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(int(seed))
    try:
        tf.config.experimental.enable_op_determinism()
    except (AttributeError, RuntimeError):
        pass


def spectrogram_layer_class():
    """The Keras layer turning a spectrum (n, bands) into an STFT magnitude image (n, frames, bins, 1)
    (defined once per process: Keras layer classes are created lazily, with TensorFlow)."""
    if "layer" in _REGISTERED:
        return _REGISTERED["layer"]
    import tensorflow as tf

    class SpectrogramMagnitude(tf.keras.layers.Layer):
        """|STFT| of the spectrum (``tf.signal.stft``, Hann window): ``frame_length`` bands per frame,
        ``frame_step`` bands between frames, FFT length = next power of two ≥ frame_length.
        Output (n, frames, fft_length // 2 + 1, 1), as Carvalho et al. (2024), Code S1."""

        def __init__(self, frame_length=64, frame_step=16, **kwargs):
            super().__init__(**kwargs)
            self.frame_length, self.frame_step = int(frame_length), int(frame_step)

        def call(self, inputs):
            spectrogram = tf.abs(tf.signal.stft(inputs, frame_length=self.frame_length,
                                                frame_step=self.frame_step))
            return spectrogram[..., tf.newaxis]

        def get_config(self):
            config = super().get_config()
            config.update(frame_length=self.frame_length, frame_step=self.frame_step)
            return config

    _REGISTERED["layer"] = SpectrogramMagnitude
    return SpectrogramMagnitude


_REGISTERED = {}


def wavelength_names(wavelengths):
    """Wavelengths (nm) as the bundle's factor names."""
    return [format_wavelength(value) for value in wavelengths]


def check_wavelengths(expected_names, wavelengths, settings, what="model"):
    """Mask of input bands to use, after checking they match the bundle's processed wavelengths.

    ``expected_names``: the bundle's factor names; ``wavelengths``: the input's band centres (nm).
    Raises :class:`DeepProspectError` saying what differs (range, band count, band positions).
    """
    expected = np.array([float(name) for name in expected_names])
    wavelengths = np.asarray(wavelengths, dtype=float)
    try:
        keep = trim_range(wavelengths, settings.min_wavelength, settings.max_wavelength)
    except DeepProspectError:
        keep = np.zeros(len(wavelengths), dtype=bool)
    found = wavelengths[keep]
    if len(found) == len(expected) and np.allclose(found, expected, atol=WAVELENGTH_TOLERANCE_NM):
        return keep
    described = "{} bands over {:g}–{:g} nm".format(len(found), found[0], found[-1]) if len(found) else "no bands"
    raise DeepProspectError(
        "The spectra do not match the {what}: it was trained on {n} bands over {lo:g}–{hi:g} nm, but within that "
        "range the input has {found}. A spectral model needs the same spectral range and band count as its "
        "training data: resample the input to the training wavelengths, or train a model on spectra from this "
        "instrument.".format(what=what, n=len(expected), lo=expected[0], hi=expected[-1], found=described))


def processed_inputs(bundle_metadata, wavelengths, spectra):
    """Pre-process raw reflectance ``spectra`` (n, bands) as the bundle's training data was and
    standardise them: float32 (n, n_processed_bands), NaN rows for invalid spectra."""
    settings = PreprocessSettings.from_dict(bundle_metadata["preprocessing"])
    keep = check_wavelengths(bundle_metadata["factor_names"], wavelengths, settings)
    first, last = np.flatnonzero(keep)[[0, -1]]
    trimmed = np.asarray(wavelengths, dtype=float)[first:last + 1]
    _, processed = preprocess(trimmed, np.asarray(spectra)[:, first:last + 1], settings.for_bands(trimmed))
    mean = np.asarray(bundle_metadata["normalisation"]["mean"], dtype=processed.dtype)
    std = np.asarray(bundle_metadata["normalisation"]["std"], dtype=processed.dtype)
    processed = processed - mean  # a new array, so the in-place steps below never touch the input
    processed /= std
    return processed.astype(np.float32, copy=False)


def standardisation(processed):
    """Per-band mean and std (float64 (bands,)) of processed training spectra; std never 0."""
    mean = processed.mean(axis=0)
    std = processed.std(axis=0)
    return mean, np.where(std > 0, std, 1.0)


def split_indices(count, validation_fraction=1 / 3, seed=42, groups=None, stratify=None):
    """Train and validation indices: random (``sklearn.model_selection.train_test_split``,
    seed 42 by default as in Carvalho et al.), stratified by ``stratify`` labels, or grouped so no
    group (e.g. a site or a drill hole) is on both sides (``GroupShuffleSplit``)."""
    from sklearn.model_selection import GroupShuffleSplit, train_test_split

    index = np.arange(count)
    if groups is not None:
        splitter = GroupShuffleSplit(n_splits=1, test_size=validation_fraction, random_state=seed)
        train, validation = next(splitter.split(index, groups=groups))
        return np.sort(train), np.sort(validation)
    train, validation = train_test_split(index, test_size=validation_fraction, random_state=seed,
                                         stratify=stratify)
    return np.sort(train), np.sort(validation)


def raster_pixels_apply(path, output, band_descriptions, compute, block_size=256, feedback=None,
                        dtype="float32", nodata=-9999.0):
    """Call ``compute(wavelengths, pixels) → (n, k)`` on the valid pixels of a hyperspectral raster,
    window by window (``core.spectral.map_spectra``), and write the k result bands atomically as a
    GeoTIFF of ``dtype`` named ``band_descriptions``.

    Pixels with a nodata/non-finite band get ``nodata``. Returns ``output``."""
    from ..core.pipeline import RasterOutput
    from ..core.spectral import map_spectra

    # integers compress better with horizontal differencing than with the float predictor
    options = {} if np.dtype(dtype).kind == "f" else dict(predictor=2)
    target = RasterOutput(output, len(band_descriptions), dtype, nodata, tuple(band_descriptions), options=options)
    map_spectra(path, target, compute, block_size=block_size, feedback=feedback)
    return str(output)


class KerasFeedback:
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


#: The algorithm that writes each kind of bundle, named in the wrong-kind error.
_WRITTEN_BY = {"prospectivity": "deepprospect:train", "spectral_regressor": "deepprospect:train_spectral_regressor",
               "spectral_classifier": "deepprospect:train_spectral_classifier"}


def check_kind(metadata, kind, path=""):
    """Raise a clear error unless the bundle is of ``kind``."""
    found = metadata.get("kind", "prospectivity")
    if found != kind:
        raise DeepProspectError(
            "The model bundle {} is a '{}' model, not a '{}' model. Choose a bundle written by the matching "
            "training algorithm ({}).".format(path, found, kind, _WRITTEN_BY.get(kind, "deepprospect:train")))
