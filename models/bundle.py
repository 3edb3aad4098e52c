"""The model bundle: one ``.dpm`` file (a zip) holding ``metadata.json`` and each ensemble
member's weights as plain arrays, so a bundle outlives Keras upgrades and loading never runs
code from the file.

Contents (format 2)::

    metadata.json        format, format_version (2), kind, architecture, factor_names,
                         normalisation {mean, std}, patch_size, network, hyperparameters,
                         grid {crs_wkt, pixel_size}, class_balance, metrics, baselines, seed,
                         ensemble_size, members, history, versions, created,
                         checksums {file name: SHA-256} of every other file
    member_0.npz …       one per ensemble member: the network's weights as float arrays
                         ``arr_0``, ``arr_1``, … in ``model.get_weights()`` order (read with
                         ``allow_pickle=False``); for a scikit-learn architecture (``network``
                         {kind: "sklearn", estimator, n_factors}) the estimator's own arrays instead
                         (``models.sklearn_members``, rebuilt bit for bit) and no ``keras/`` copy
    background.npy       optional: raw (not standardised) factor values of a background sample
                         for SHAP, shape (n, n_factors) or (n, p, p, n_factors)
    keras/member_0.keras …  a Keras-native copy of each member, for use outside DeepProspect
                         (``keras.saving.load_model``) and for tools that look for one.
                         DeepProspect never loads it: it is tied to the Keras that wrote it.

``network`` is the description ``models.architectures.build_network`` builds the network from:
the architecture and its arguments, e.g. ``{"architecture": "pradhan2022_dense", "n_factors": 16,
"patch_size": 1, "dropout": 0.2, "l2": 0.0}``. Loading rebuilds every member from it with the
running Keras and sets the stored weights after checking their number and shapes; no Keras
object is deserialised.

Format 1 (DeepProspect with TensorFlow 2.15 / Keras 2 inside QGIS) stored each member as a
Keras ``.keras`` zip (``member_0.keras`` …, ``schema_version`` 1). Those still load: the network
is rebuilt from the metadata (architecture, factor count, patch size, hyperparameters) and the
weights are read with h5py from the ``.keras`` file's ``model.weights.h5``, where Keras filed
each layer's variables under its class name numbered in layer order (``layers/dense``,
``layers/dense_1``, … ``vars/0`` kernel, ``vars/1`` bias): they are matched to the rebuilt
network's layers of the same class in the same order (``models.bundle_legacy``).

Metadata written by ``models.training.train_model`` (kind "prospectivity"; the dock and the
explanation step read these keys)::

    architecture            a name of ``catalog.ARCHITECTURES``
    architecture_description  one line for people
    factor_names            [str] in stack band order
    normalisation           {mean: [f], std: [f]} of the training split only (raw units)
    factor_encoding         which factors are categorical, their training codes and category names,
                            one-hot or native (``core.factor_encoding``); absent: all continuous
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

Pixel models take encoded inputs (n, n_inputs): continuous factors standardised, categorical ones
one-hot or native (``core.factor_encoding``; n_inputs = n_factors without categorical factors);
patch models (``uses_patches`` in ``catalog.ARCHITECTURES``) take encoded patches
(n, p, p, n_inputs) (see ``core.patches``); :meth:`ModelBundle.window_inputs` builds either from
a window of the stack, and :meth:`ModelBundle.per_factor` turns per-input SHAP values back into
one per factor.
Every model's output is (n, 2) softmax [non-deposit, deposit] or (n, 1) sigmoid; the
deposit probability is what :meth:`ModelBundle.predict_members` returns, through the bundle's
compiled functions (``models.compiled``): the one prediction path of the map, the pixels, the
points and SHAP.
Writing is atomic; loading checks the format and says clearly when a file is not a bundle, is
damaged or was changed after it was written (:class:`BundleError`, never a bare Keras or h5py
error). Opening a bundle from someone else never runs code from it: ``models.bundle_integrity``.
"""
import io
import json
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ..catalog import ARCHITECTURES
from ..core.atomic import atomic_output
from ..core.errors import DeepProspectError
from ..core.factor_encoding import FactorEncoding
from ..core.patches import extract_patches
from ..core.raster import check_factor_names
from .bundle_files import jsonable, keras_bytes, npz_bytes, package_versions

FORMAT = "deepprospect-model-bundle"
#: The format this code writes; it reads this one and :data:`LEGACY_FORMAT_VERSION`.
FORMAT_VERSION = 2
#: Members as Keras 2 ``.keras`` files (TensorFlow 2.15), versioned as ``schema_version``.
LEGACY_FORMAT_VERSION = 1
# What a damaged archive, array file or HDF5 file can raise while it is read.
_READ_ERRORS = (KeyError, IndexError, OSError, EOFError, ValueError, TypeError, AttributeError, zipfile.BadZipFile,
                zlib.error)


class BundleError(DeepProspectError):
    """A file that is not a readable DeepProspect bundle, is damaged, or is of an unknown format version."""


class ModelBundle:
    """A loaded bundle: metadata plus the Keras member models, and the compiled functions that
    predict with them and explain them (built on first use, kept for the bundle's life)."""

    def __init__(self, metadata, members, background=None, path=None):
        self.metadata = metadata
        self.members = members
        self.background = background
        self.path = path
        self._compiled = None
        self._encoding = None
        self._remembered = {}

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
        return self.metadata["architecture"] in ARCHITECTURES.where(uses_patches=True)

    @property
    def mean(self):
        return np.asarray(self.metadata["normalisation"]["mean"], dtype=np.float32)

    @property
    def std(self):
        return np.asarray(self.metadata["normalisation"]["std"], dtype=np.float32)

    @property
    def encoding(self):
        """The ``core.factor_encoding.FactorEncoding`` of the model's inputs (all continuous for
        bundles written before categorical factors)."""
        if self._encoding is None:
            self._encoding = FactorEncoding.from_metadata(self.metadata)
        return self._encoding

    # Computation -----------------------------------------------------------------------
    def standardise(self, values):
        """Raw factor values (…, n_factors) → model inputs (…, n_inputs) float32: continuous
        factors standardised with the training statistics (float32 arithmetic), categorical
        ones one-hot or native (``core.factor_encoding``)."""
        return self.encoding.encode(np.asarray(values, dtype=np.float32))

    def standardised_window(self, window):
        """A window of the stack (n_factors, rows, cols) → model inputs (n_inputs, rows, cols),
        with the same float32 arithmetic as :meth:`standardise`."""
        return self.encoding.encode_window(window)

    def window_inputs(self, window, valid, rows, cols, standardised=None):
        """Model inputs for pixels ``rows``, ``cols`` (integer arrays) of a window of the stack
        (n_factors, h, w) whose valid-pixel mask is ``valid`` (h, w): the encoded values
        (n, n_inputs) for pixel models, the patches (n, p, p, n_inputs) for patch models
        (``core.patches``: 0 outside the window's raster and on nodata). ``standardised``: the
        window already through :meth:`standardised_window`, when the caller reuses it.

        Patches are cut from a strip of rows plus the halo: its cut edges are either the window's own
        edges (where ``extract_patches`` pads, as outside the raster) or rows the patches never reach.
        """
        if not self.uses_patches:
            return self.standardise(window[:, rows, cols].T)
        if standardised is None:
            standardised = self.standardised_window(window)
        half = self.patch_size // 2
        top, bottom = max(0, int(rows.min()) - half), min(window.shape[1], int(rows.max()) + half + 1)
        return extract_patches(standardised[:, top:bottom], valid[top:bottom], rows - top, cols, self.patch_size)

    def per_factor(self, values):
        """Per-input values (SHAP) → one per original factor (n, n_factors): summed over a patch's
        cells (n, p, p, n_inputs) and over each categorical factor's one-hot columns."""
        values = np.asarray(values)
        if values.ndim > 2:
            values = values.reshape(len(values), -1, values.shape[-1]).sum(axis=1)
        return self.encoding.collapse(values)

    def check_factors(self, stack_factor_names):
        """Raise a clear error unless the stack's factor names equal the model's, in order."""
        check_factor_names(self.factor_names, stack_factor_names, what="model")

    def predict_members(self, standardised_inputs):
        """Deposit probability per member: float32 array (n_members, n) for model inputs
        (n, n_inputs), or patches (n, p, p, n_inputs) for patch models. The one prediction
        path of the map, the pixels, the points and SHAP (``models.compiled``: fixed batches)."""
        return self._functions().predict_members(standardised_inputs)

    def predict(self, standardised_inputs):
        """Ensemble-mean deposit probability, float32 (n,)."""
        return self.predict_members(standardised_inputs).mean(axis=0)

    def gradient_function(self):
        """The compiled expected-gradients function of the ensemble-mean deposit probability
        (:meth:`models.compiled.CompiledEnsemble.gradient_function`)."""
        return self._functions().gradient_function()

    def remember(self, key, make):
        """``make()`` computed once per bundle and ``key`` (a hashable), e.g. the SHAP background
        the dock's explanations of one stack share."""
        if key not in self._remembered:
            self._remembered[key] = make()
        return self._remembered[key]

    def _functions(self):
        if self._compiled is None:
            from .compiled import CompiledEnsemble
            from .sklearn_members import SklearnEnsemble, is_sklearn_member

            classical = is_sklearn_member(self.members[0])
            self._compiled = (SklearnEnsemble if classical else CompiledEnsemble)(self.members)
        return self._compiled


def save_bundle(path, members, metadata, background=None):
    """Write a bundle atomically. ``members``: Keras models built by ``models.architectures``
    (``build_model`` or ``build_network``), all with the same network; ``metadata``: dict as above.

    ``format``, ``format_version``, ``network``, ``members``, ``ensemble_size`` and ``versions`` are
    filled in. Returns ``path``.
    """
    from .architectures import describe_network
    from .sklearn_members import describe_members, is_sklearn_member, member_npz_bytes

    metadata = dict(metadata)
    for key in ("architecture", "factor_names", "normalisation"):
        if key not in metadata:
            raise ValueError("bundle metadata needs '{}'".format(key))
    classical = bool(members) and is_sklearn_member(members[0])
    networks = [describe_members([model]) if classical else describe_network(model) for model in members]
    if not networks or any(network != networks[0] for network in networks):
        raise ValueError("a bundle needs one or more members with the same network (got {})".format(networks))
    metadata.pop("schema_version", None)
    metadata.update(format=FORMAT, format_version=FORMAT_VERSION, network=networks[0], ensemble_size=len(members),
                    members=["member_{}.npz".format(index) for index in range(len(members))])
    metadata.setdefault("versions", package_versions())
    files = {}
    for index, (name, model) in enumerate(zip(metadata["members"], members)):
        files[name] = member_npz_bytes(model) if classical else npz_bytes(model.get_weights())
        if not classical:
            files["keras/member_{}.keras".format(index)] = keras_bytes(networks[0], model)
    if background is not None:
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(background, dtype=np.float32))
        files["background.npy"] = buffer.getvalue()
    from .bundle_integrity import CHECKSUMS, checksums

    metadata[CHECKSUMS] = checksums(files)
    with atomic_output(path) as temporary:
        with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("metadata.json", json.dumps(jsonable(metadata), indent=2))
            for name, data in files.items():
                archive.writestr(name, data)
    return str(path)


def read_metadata(path):
    """Only ``metadata.json`` of a bundle (fast, no TensorFlow), format-checked."""
    path = Path(path)
    if not path.exists():
        raise BundleError("The model bundle {} does not exist.".format(path))
    try:
        with zipfile.ZipFile(path) as archive:
            metadata = json.loads(archive.read("metadata.json"))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, zlib.error) as error:
        raise BundleError(
            "{} is not a DeepProspect model bundle (.dpm written by deepprospect:train): {}".format(path, error))
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise BundleError("{} is a zip file but not a DeepProspect model bundle.".format(path))
    version = format_version(metadata)
    if version not in (LEGACY_FORMAT_VERSION, FORMAT_VERSION):
        raise BundleError(
            "{} was written in bundle format {} but this DeepProspect reads formats {} and {}: update DeepProspect, "
            "or use the DeepProspect version that wrote it.".format(
                path, version, LEGACY_FORMAT_VERSION, FORMAT_VERSION))
    return metadata


def format_version(metadata):
    """The bundle format of ``metadata``: ``format_version``, or format 1's ``schema_version``."""
    return metadata.get("format_version", metadata.get("schema_version"))


def load_bundle(path, feedback=None):
    """Load a bundle, rebuilding its members with the running Keras; raises :class:`BundleError`
    when the file is not a bundle, is damaged, was changed after it was written (checksums,
    ``models.bundle_integrity``), or describes a network this code cannot build. Nothing from
    the file is run or extracted. ``feedback``: where to say that an old bundle has no checksums."""
    from .bundle_integrity import RefusedBundleError, check_member_names, read_arrays, verify_files

    metadata = read_metadata(path)
    try:
        _check_metadata(metadata)
        check_member_names(path, metadata, format_version(metadata))
        with zipfile.ZipFile(path) as archive:
            verify_files(path, archive, metadata, feedback)
            if format_version(metadata) == LEGACY_FORMAT_VERSION:
                from .bundle_legacy import legacy_member, legacy_network

                network = legacy_network(metadata)
                members = [legacy_member(archive.read(name), network) for name in metadata["members"]]
            else:
                members = [_member(read_arrays(archive.read(name), name, path), metadata["network"])
                           for name in metadata["members"]]
            background = None
            if "background.npy" in archive.namelist():
                background = read_arrays(archive.read("background.npy"), "background.npy", path)
    except RefusedBundleError:
        raise
    except BundleError as error:
        raise BundleError("The model bundle {} is damaged: {}".format(path, error)) from error
    except DeepProspectError as error:            # e.g. a network this version does not know
        raise BundleError("The model bundle {} cannot be loaded: {}".format(path, error)) from error
    except _READ_ERRORS as error:
        raise BundleError("The model bundle {} is damaged: {}: {}".format(path, type(error).__name__, error)) from error
    if not members:
        raise BundleError("The model bundle {} is damaged: it lists no member models.".format(path))
    return ModelBundle(metadata, members, background, str(path))


def _check_metadata(metadata):
    """The keys every use of a loaded bundle relies on, present and consistent."""
    missing = [key for key in ("architecture", "factor_names", "normalisation", "members") if key not in metadata]
    if missing:
        raise BundleError("its metadata.json lacks {}.".format(", ".join(missing)))
    count = len(metadata["factor_names"])
    for key in ("mean", "std"):
        if len(metadata["normalisation"][key]) != count:
            raise BundleError("its normalisation {} has {} values for {} factors.".format(
                key, len(metadata["normalisation"][key]), count))
    std = np.asarray(metadata["normalisation"]["std"], dtype=float)
    if not (np.isfinite(metadata["normalisation"]["mean"]).all() and np.isfinite(std).all() and (std > 0).all()):
        raise BundleError("its normalisation holds a missing, infinite or zero value (mean {}, std {}), which would "
                          "turn every input into NaN.".format(metadata["normalisation"]["mean"], std.tolist()))
    inputs = (metadata.get("network") or {}).get("n_factors")
    if inputs is not None and int(inputs) != FactorEncoding.from_metadata(metadata).n_inputs:
        raise BundleError("its factor_encoding gives {} input columns but its network takes {}.".format(
            FactorEncoding.from_metadata(metadata).n_inputs, inputs))


def _member(arrays, network):
    """A format-2 member: the network rebuilt from its description, weights from the ``.npz``'s
    arrays ({name: array})."""
    from .architectures import build_network
    from .bundle_integrity import checked_weights, member_weights

    if network.get("kind") == "sklearn":
        from .sklearn_members import rebuild_member

        return rebuild_member(arrays)
    weights = member_weights(arrays)
    model = build_network(network)
    model.set_weights(checked_weights(weights, model.weights, "the '{}' network".format(model.name)))
    return model
