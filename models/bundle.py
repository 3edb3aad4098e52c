"""The model bundle: one ``.dpm`` file (a zip) holding the Keras model(s) and ``metadata.json``.

Contents::

    metadata.json        schema_version, kind, architecture, factor_names, normalisation
                         {mean, std}, patch_size, hyperparameters, grid {crs_wkt, pixel_size},
                         class_balance, metrics, baselines, seed, ensemble_size, members,
                         history, versions, created
    member_0.keras …     one Keras model per ensemble member (``.keras`` format)
    background.npy       optional: raw (not standardised) factor values of a background sample
                         for SHAP, shape (n, n_factors) or (n, p, p, n_factors)

Metadata written by ``models.training.train_model`` (kind "prospectivity"; the dock and the
explanation step read these keys)::

    architecture            "pradhan2022_dense" | "cnn1d" | "cnn2d_patch"
    architecture_description  one line for people
    factor_names            [str] in stack band order
    normalisation           {mean: [f], std: [f]} of the training split only (raw units)
    patch_size              int (1 for pixel models); patch_padding: how patches are padded
    hyperparameters         {architecture, patch_size, epochs, batch_size, learning_rate, dropout, l2,
                             optimizer, loss, early_stopping, patience, stopping_fraction,
                             balance_classes, class_weight, ensemble_size, validation,
                             validation_fraction, block_size, augmentation, label_field}
    trainable_parameters    int (124402 for pradhan2022_dense on 16 factors)
    grid                    {crs_wkt, pixel_size, width, height, transform (GDAL-order 6), bounds}
    class_balance           {deposit, non_deposit}: all training points
    data                    {points, label_field, stack, training: {deposit, non_deposit},
                             validation: {deposit, non_deposit}}
    validation              {scheme: "random" | "spatial_blocks", training_points, validation_points,
                             block_size, validation_blocks, training_blocks}
    metrics                 network on the validation split: accuracy, roc_auc, pr_auc, macro_f1,
                            deposit {precision, recall, f1, support}, non_deposit {…},
                            confusion_matrix [[TP, FN], [FP, TN]] (rows actual, columns predicted,
                            deposit first: Table 3 of Pradhan et al. 2022), threshold, n,
                            members_roc_auc [one per member]
    baselines               {logistic_regression: {same keys}, random_forest: {same keys}}
    history                 [per member {loss, val_loss, accuracy, val_accuracy, stopping_loss,
                             epochs_run, best_epoch, seed}] (Figure 7 of the paper)
    seed, training_seconds, created

``background.npy`` holds up to 100 raw training samples (patches for ``cnn2d_patch``, padded
cells at the training mean).

Pixel models (``pradhan2022_dense``, ``cnn1d``) take standardised inputs (n, n_factors);
``cnn2d_patch`` takes standardised patches (n, p, p, n_factors) (see ``core.patches``).
Every model's output is (n, 2) softmax [non-deposit, deposit] or (n, 1) sigmoid; the
deposit probability is what :meth:`ModelBundle.predict_members` returns.
Writing is atomic; loading checks the schema and says clearly when a file is not a bundle.
"""
import io
import json
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from ..core.atomic import atomic_output
from ..core.errors import DeepProspectError
from ..core.raster import check_factor_names

SCHEMA_VERSION = 1
FORMAT = "deepprospect-model-bundle"
PATCH_ARCHITECTURES = ("cnn2d_patch",)


class BundleError(DeepProspectError):
    """A file that is not a readable DeepProspect bundle, or of another schema version."""


class ModelBundle:
    """A loaded bundle: metadata plus the Keras member models (loaded lazily)."""

    def __init__(self, metadata, members, background=None, path=None):
        self.metadata = metadata
        self.members = members
        self.background = background
        self.path = path

    # Metadata shortcuts ----------------------------------------------------------------
    @property
    def kind(self):
        return self.metadata.get("kind", "prospectivity")

    @property
    def architecture(self):
        return self.metadata["architecture"]

    @property
    def factor_names(self):
        return list(self.metadata["factor_names"])

    @property
    def patch_size(self):
        return int(self.metadata.get("patch_size", 1)) if self.uses_patches else 1

    @property
    def uses_patches(self):
        return self.metadata["architecture"] in PATCH_ARCHITECTURES

    @property
    def mean(self):
        return np.asarray(self.metadata["normalisation"]["mean"], dtype=np.float32)

    @property
    def std(self):
        return np.asarray(self.metadata["normalisation"]["std"], dtype=np.float32)

    # Computation -----------------------------------------------------------------------
    def standardise(self, values):
        """Raw factor values (…, n_factors) → standardised with the training statistics."""
        return ((np.asarray(values, dtype=np.float32) - self.mean) / self.std).astype(np.float32)

    def check_factors(self, stack_factor_names):
        """Raise a clear error unless the stack's factor names equal the model's, in order."""
        check_factor_names(self.factor_names, stack_factor_names, what="model")

    def predict_members(self, standardised_inputs, batch_size=8192):
        """Deposit probability per member: float32 array (n_members, n)."""
        outputs = []
        for model in self.members:
            if len(standardised_inputs) == 0:
                outputs.append(np.zeros(0, dtype=np.float32))
                continue
            predicted = _predict(model, standardised_inputs, batch_size)
            outputs.append(predicted[:, -1] if predicted.shape[-1] > 1 else predicted[:, 0])
        return np.asarray(outputs, dtype=np.float32)

    def predict(self, standardised_inputs, batch_size=8192):
        """Ensemble-mean deposit probability, float32 (n,)."""
        return self.predict_members(standardised_inputs, batch_size).mean(axis=0)


def save_bundle(path, members, metadata, background=None):
    """Write a bundle atomically. ``members``: list of Keras models; ``metadata``: dict as above.

    ``schema_version``, ``format``, ``members``, ``ensemble_size`` and ``versions`` are filled in.
    Returns ``path``.
    """
    metadata = dict(metadata)
    metadata.update(format=FORMAT, schema_version=SCHEMA_VERSION, ensemble_size=len(members),
                    members=["member_{}.keras".format(index) for index in range(len(members))])
    metadata.setdefault("versions", package_versions())
    for key in ("architecture", "factor_names", "normalisation"):
        if key not in metadata:
            raise ValueError("bundle metadata needs '{}'".format(key))
    with tempfile.TemporaryDirectory(prefix="deepprospect-bundle-") as folder:
        with atomic_output(path) as temporary:
            with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                archive.writestr("metadata.json", json.dumps(_jsonable(metadata), indent=2))
                for name, model in zip(metadata["members"], members):
                    model_path = Path(folder) / name
                    model.save(str(model_path))
                    archive.write(model_path, name)
                if background is not None:
                    buffer = io.BytesIO()
                    np.save(buffer, np.asarray(background, dtype=np.float32))
                    archive.writestr("background.npy", buffer.getvalue())
    return str(path)


def read_metadata(path):
    """Only ``metadata.json`` of a bundle (fast, no TensorFlow), schema-checked."""
    path = Path(path)
    if not path.exists():
        raise BundleError("The model bundle {} does not exist.".format(path))
    try:
        with zipfile.ZipFile(path) as archive:
            metadata = json.loads(archive.read("metadata.json"))
    except (zipfile.BadZipFile, KeyError, ValueError) as error:
        raise BundleError(
            "{} is not a DeepProspect model bundle (.dpm written by deepprospect:train): {}".format(path, error))
    if metadata.get("format") != FORMAT:
        raise BundleError("{} is a zip file but not a DeepProspect model bundle.".format(path))
    if metadata.get("schema_version") != SCHEMA_VERSION:
        raise BundleError(
            "{} was written with bundle schema {} but this DeepProspect reads schema {}: retrain the model "
            "with this version, or use the DeepProspect version that wrote it.".format(
                path, metadata.get("schema_version"), SCHEMA_VERSION))
    return metadata


def load_bundle(path):
    """Load a bundle with its Keras members; raises :class:`BundleError` on a bad file."""
    import tensorflow as tf

    metadata = read_metadata(path)
    members, background = [], None
    with tempfile.TemporaryDirectory(prefix="deepprospect-bundle-") as folder:
        try:
            with zipfile.ZipFile(path) as archive:
                for name in metadata["members"]:
                    archive.extract(name, folder)
                    members.append(tf.keras.models.load_model(str(Path(folder) / name), compile=False))
                if "background.npy" in archive.namelist():
                    background = np.load(io.BytesIO(archive.read("background.npy")))
        except (KeyError, OSError, ValueError, zipfile.BadZipFile) as error:
            raise BundleError("The model bundle {} is damaged: {}".format(path, error))
    return ModelBundle(metadata, members, background, str(path))


def package_versions():
    """Versions of the packages that shaped a model, for the bundle's metadata."""
    from importlib import metadata as importlib_metadata

    versions = {}
    for name in ("tensorflow-cpu", "tensorflow", "keras", "numpy", "scikit-learn", "shap", "rasterio"):
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            continue
    return versions


def _predict(model, inputs, batch_size):
    import tensorflow as tf

    # model(x) in large slices avoids Keras' per-call predict overhead on small blocks.
    results = []
    for start in range(0, len(inputs), batch_size):
        results.append(model(tf.constant(inputs[start:start + batch_size]), training=False).numpy())
    return np.concatenate(results)


def _jsonable(value):
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value
