"""Format-1 bundles (DeepProspect with TensorFlow 2.15 / Keras 2 inside QGIS): the network is
rebuilt from the metadata and the weights are read from each member's Keras 2 ``.keras`` file
(see ``models.bundle``, "Format 1"). Used by :func:`models.bundle.load_bundle` only.
"""
import io
import re
import zipfile

import numpy as np

from ..core.errors import DeepProspectError
from .bundle import BundleError
from .bundle_integrity import checked_weights


def legacy_network(metadata):
    """The network description of a format-1 bundle, from its metadata (format 1 stored none)."""
    from .architectures import ARCHITECTURES, prospectivity_network

    architecture = metadata["architecture"]
    settings = metadata.get("hyperparameters") or {}
    bands = len(metadata["factor_names"])
    if architecture in ARCHITECTURES:
        return prospectivity_network(architecture, bands, metadata.get("patch_size") or settings.get("patch_size", 1),
                                     settings.get("dropout", 0.2), settings.get("l2", 0.0))
    if architecture == "deepgeomap_cnn1d":
        return dict(architecture=architecture, band_count=bands, class_count=len(metadata["class_names"]))
    if architecture == "mobilenetv2_stft":
        return dict(architecture=architecture, band_count=bands, frame_length=int(settings["frame_length"]),
                    frame_step=int(settings["frame_step"]), width=16)
    raise DeepProspectError("it holds a '{}' network, which only the DeepProspect version that wrote it can "
                            "rebuild; retrain the model with this version.".format(architecture))


def legacy_member(data, network):
    """A format-1 member: the network rebuilt from ``network``, the weights read from the Keras 2
    ``.keras`` zip's ``model.weights.h5`` and matched to the layers by class and order."""
    import h5py

    from .architectures import build_network

    model = build_network(network)
    with zipfile.ZipFile(io.BytesIO(data)) as keras_file:
        h5_bytes = keras_file.read("model.weights.h5")
    with h5py.File(io.BytesIO(h5_bytes), "r") as h5:
        stored = _inside_file(h5py, h5, "layers")
        for group, layer in keras_layer_groups(model):
            if not layer.weights:
                continue
            if group not in stored:
                raise BundleError("its Keras weights file has no '{}' layer for the rebuilt '{}'.".format(
                    group, layer.name))
            variables = _inside_file(h5py, _inside_file(h5py, stored, group), "vars")
            weights = [np.asarray(_inside_file(h5py, variables, key)) for key in sorted(variables, key=int)]
            layer.set_weights(checked_weights(weights, layer.weights, "layer '{}'".format(layer.name)))
    return model


def _inside_file(h5py, group, name):
    """``group[name]``, refusing HDF5 links and external storage that would read other files on this computer."""
    if not isinstance(group.get(name, getlink=True), h5py.HardLink):
        raise BundleError("its Keras weights file links '{}' to another file, which DeepProspect never follows."
                          .format(name))
    item = group[name]
    if isinstance(item, h5py.Dataset) and item.external:
        raise BundleError("its Keras weights file stores '{}' in another file, which DeepProspect never reads."
                          .format(name))
    return item


def keras_layer_groups(model):
    """(h5 group name, layer) for every layer of ``model``: Keras' class name in snake case,
    numbered ``_1``, ``_2`` … among layers of the same class in layer order (``dense``, ``dense_1``)."""
    seen = {}
    for layer in model.layers:
        name = snake_case(type(layer).__name__)
        seen[name] = seen.get(name, -1) + 1
        yield (name if seen[name] == 0 else "{}_{}".format(name, seen[name])), layer


def snake_case(name):
    """Keras' own conversion of a class name: ``Conv2D`` → ``conv2d``, ``BatchNormalization`` →
    ``batch_normalization``."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()
