"""The files inside a model bundle: member weights as ``.npz`` bytes, a member's Keras-native
copy, JSON-able metadata, and the package versions recorded with a model (``models.bundle``
writes them)."""
import io
from pathlib import Path

import numpy as np


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


def keras_bytes(network, model):
    """The member as a ``.keras`` file, without optimizer state: a fresh build of its network
    with its weights (the trained model may be compiled, and its optimizer state is of no use)."""
    import tempfile

    from .architectures import build_network

    export = build_network(network)
    export.set_weights(model.get_weights())
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "member.keras"
        export.save(str(path))
        return path.read_bytes()


def npz_bytes(weights):
    buffer = io.BytesIO()
    np.savez(buffer, *[np.asarray(weight) for weight in weights])
    return buffer.getvalue()


def jsonable(value):
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value
