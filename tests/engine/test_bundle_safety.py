"""A model bundle received from someone else (models/bundle_integrity.py): opening it never runs
code from it, never writes files from it, and a bundle changed after it was written is refused.

References: hashlib's SHA-256 of the stored files; a pickle payload whose unpickling would create
a marker file (so "no code ran" is observed, not assumed); the legacy fixtures in tests/engine/data.
"""
import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from test_bundle import _rewrite

from deepprospect.core.errors import DeepProspectError
from deepprospect.core.feedback import Feedback

DATA = Path(__file__).resolve().parent / "data"
FACTORS = ["f{}".format(index) for index in range(6)]


class Log(Feedback):
    def __init__(self):
        self.lines = []

    def info(self, message):
        self.lines.append(message)

    warning = info


class _RunsCode:
    """Pickled, this object asks the unpickler to call ``open(marker, "w")``: a file appears if it ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return open, (self.marker, "w")


@pytest.fixture(scope="module")
def bundle_and_stack(tmp_path_factory):
    """A two-member dense bundle as training writes it (format 2, with checksums) and a matching stack."""
    import tensorflow as tf
    from rasterio.transform import from_origin

    from deepprospect.core.raster import write_geotiff
    from deepprospect.models.architectures import build_model
    from deepprospect.models.bundle import save_bundle

    folder = tmp_path_factory.mktemp("safety")
    members = []
    for seed in (1, 2):
        tf.keras.utils.set_random_seed(seed)
        members.append(build_model("pradhan2022_dense", len(FACTORS)))
    rng = np.random.default_rng(0)
    path = save_bundle(folder / "model.dpm", members, {
        "architecture": "pradhan2022_dense", "factor_names": FACTORS,
        "normalisation": {"mean": [0.0] * len(FACTORS), "std": [1.0] * len(FACTORS)}},
        background=rng.normal(size=(10, len(FACTORS))).astype(np.float32))
    stack = folder / "stack.tif"
    write_geotiff(stack, rng.normal(size=(len(FACTORS), 12, 12)).astype(np.float32), from_origin(0, 120, 10, 10),
                  "EPSG:32645", FACTORS)
    return Path(path), stack


def _predict(model, stack, output):
    """The engine's predict task, as QGIS runs it; returns its log."""
    from deepprospect.engine import modelling_tasks

    log = Log()
    modelling_tasks.predict(dict(model=str(model), stack=str(stack), output=str(output), output_uncertainty=None,
                                 output_classes=None, class_fractions=[0.05, 0.1, 0.2], block_size=256), log)
    return log.lines


def _predict_error(model, stack, output, error=DeepProspectError):
    """The message of the ``error`` the predict task raises."""
    with pytest.raises(error) as raised:
        _predict(model, stack, output)
    return str(raised.value)


def _edited_member(model, name, edit):
    """The member ``name`` of bundle ``model`` as ``.npz`` bytes after ``edit(weights)`` changed its arrays in place."""
    with zipfile.ZipFile(model) as archive:
        arrays = np.load(io.BytesIO(archive.read(name)))
        weights = [arrays["arr_{}".format(index)] for index in range(len(arrays.files))]
    edit(weights)
    buffer = io.BytesIO()
    np.savez(buffer, *weights)
    return buffer.getvalue()


def _npy(array, **options):
    buffer = io.BytesIO()
    np.save(buffer, array, **options)
    return buffer.getvalue()


def test_bundle_records_a_sha256_of_every_file(bundle_and_stack):
    with zipfile.ZipFile(bundle_and_stack[0]) as archive:
        metadata = json.loads(archive.read("metadata.json"))
        files = {name: archive.read(name) for name in archive.namelist() if name != "metadata.json"}
    assert metadata["checksums"] == {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    assert sorted(files) == ["background.npy", "keras/member_0.keras", "keras/member_1.keras", "member_0.npz",
                             "member_1.npz"]


def test_a_member_changed_after_writing_is_refused_before_any_output(bundle_and_stack, tmp_path, bad_input):
    from deepprospect.models.bundle import BundleError

    model, stack = bundle_and_stack
    # someone "improved" the first layer by hand
    edited = _edited_member(model, "member_0.npz", lambda weights: weights.__setitem__(0, weights[0] * 2.0))
    tampered = _rewrite(model, tmp_path / "tampered.dpm", replace={"member_0.npz": edited}, rehash=False)
    output = tmp_path / "map.tif"
    message = _predict_error(tampered, stack, output, BundleError)
    assert message == (
        "The model bundle {} was changed after it was written: member_0.npz does not match the SHA-256 checksum "
        "recorded when it was written. Do not use it: ask the sender for the original file, or retrain the model."
        .format(tampered))
    # a BundleError is a DeepProspectError: the engine reports it as a message, no traceback
    assert list(tmp_path.iterdir()) == [tampered]
    bad_input("A model bundle whose member file was changed after it was written", "error", message)


def test_the_keras_copy_is_never_opened(bundle_and_stack, tmp_path):
    """Garbage in place of keras/member_0.keras (checksums rewritten to match): the bundle still
    loads and predicts what the original does, so that copy is never deserialised."""
    from deepprospect.models.bundle import load_bundle

    model, _ = bundle_and_stack
    swapped = _rewrite(model, tmp_path / "swapped.dpm", replace={"keras/member_0.keras": b"not a keras file"})
    inputs = np.random.default_rng(3).normal(size=(7, len(FACTORS))).astype(np.float32)
    assert np.array_equal(load_bundle(swapped).predict(inputs), load_bundle(model).predict(inputs))


@pytest.mark.parametrize("name", ["member_0.npz", "background.npy"])
def test_a_pickled_object_array_is_refused_and_never_unpickled(bundle_and_stack, tmp_path, name, bad_input):
    from deepprospect.models.bundle import BundleError, load_bundle

    model, _ = bundle_and_stack
    marker = tmp_path / "code_ran.txt"
    payload = np.array([_RunsCode(str(marker))], dtype=object)
    data = _npy(payload, allow_pickle=True)
    if name.endswith(".npz"):
        buffer = io.BytesIO()
        np.savez(buffer, payload)
        data = buffer.getvalue()
    # checksums rewritten to match: a sender who knows the format
    hostile = _rewrite(model, tmp_path / "hostile.dpm", replace={name: data})
    with pytest.raises(BundleError) as error:
        load_bundle(hostile)
    message = str(error.value)
    assert message == (
        "The model bundle {} is refused: its {} holds pickled Python objects, which DeepProspect never opens "
        "(unpickling can run code put in the file). A bundle written by deepprospect:train holds plain number "
        "arrays only; ask the sender for one.".format(hostile, name))
    assert not marker.exists()
    if name == "member_0.npz":
        bad_input("A model bundle whose weights file holds a pickled Python object", "error", message)


def test_a_zip_entry_named_dot_dot_is_never_extracted(bundle_and_stack, tmp_path, bad_input):
    from deepprospect.models.bundle import BundleError, load_bundle

    model, _ = bundle_and_stack
    inner = tmp_path / "inner"
    inner.mkdir()
    added = _rewrite(model, inner / "added.dpm", add={"../evil": b"echo owned"}, rehash=False)
    with pytest.raises(BundleError) as error:
        load_bundle(added)
    message = str(error.value)
    assert message.endswith("was changed after it was written: ../evil was not in it when it was written. Do not use "
                            "it: ask the sender for the original file, or retrain the model.")
    listed = _rewrite(model, inner / "listed.dpm", add={"../evil": b"echo owned"},
                      metadata=lambda m: dict(m, members=["../evil", "member_1.npz"]))
    with pytest.raises(BundleError, match=r"lists a member '\.\./evil', which is not a file name DeepProspect writes"):
        load_bundle(listed)
    assert sorted(path.name for path in tmp_path.rglob("*")) == ["added.dpm", "inner", "listed.dpm"]
    assert not (Path.cwd() / "evil").exists() and not (Path.cwd().parent / "evil").exists()
    bad_input("A model bundle holding a zip entry named ../evil", "error", message)


def test_bundles_written_before_checksums_still_load_with_an_info_line(bundle_and_stack, tmp_path, bad_input):
    from deepprospect.models.bundle import load_bundle

    model, stack = bundle_and_stack
    legacy = DATA / "legacy_bundle_v1_dense.dpm"
    if not legacy.exists():
        pytest.skip("legacy fixture not in tests/engine/data")
    log = Log()
    assert len(load_bundle(legacy, log).members) == 1
    message = ("The model bundle {} was written before bundles recorded checksums of their files, so it cannot be "
               "checked for changes; re-save it by retraining to add them.".format(legacy))
    assert log.lines == [message]
    # a format-2 bundle from before checksums, with a stray ../evil entry: loads, the entry ignored
    older = _rewrite(model, tmp_path / "older.dpm", add={"../evil": b"x"},
                     metadata=lambda m: {key: value for key, value in m.items() if key != "checksums"})
    lines = _predict(older, stack, tmp_path / "map.tif")
    assert any("was written before bundles recorded checksums" in line for line in lines)
    assert (tmp_path / "map.tif").exists() and not (tmp_path.parent / "evil").exists()
    bad_input("A model bundle written before bundles recorded checksums (older DeepProspect)", "handled", message)


def test_legacy_weights_linking_to_another_file_are_refused(tmp_path):
    import h5py

    from deepprospect.models.bundle import BundleError, load_bundle

    legacy = DATA / "legacy_bundle_v1_dense.dpm"
    if not legacy.exists():
        pytest.skip("legacy fixture not in tests/engine/data")
    parts = _zip_files(_zip_files(legacy)["member_0.keras"])
    h5_path = tmp_path / "weights.h5"
    h5_path.write_bytes(parts["model.weights.h5"])
    with h5py.File(h5_path, "a") as h5:
        del h5["layers/dense/vars"]
        h5["layers/dense/vars"] = h5py.ExternalLink(str(tmp_path / "elsewhere.h5"), "/vars")
    parts["model.weights.h5"] = h5_path.read_bytes()
    rebuilt = io.BytesIO()
    with zipfile.ZipFile(rebuilt, "w") as keras_file:
        for name, data in parts.items():
            keras_file.writestr(name, data)
    linked = _rewrite(legacy, tmp_path / "linked.dpm", replace={"member_0.keras": rebuilt.getvalue()})
    with pytest.raises(BundleError, match="links 'vars' to another file, which DeepProspect never follows"):
        load_bundle(linked)


def _zip_files(source):
    """{name: bytes} of a zip file (a path, or the bytes of one)."""
    with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_a_network_description_asking_for_a_lambda_layer_is_refused(bundle_and_stack, tmp_path, bad_input):
    """Networks are rebuilt from a description of a fixed list of layer types: a ``lambda`` layer
    (Python code) cannot be described, so it is refused before anything is built."""
    from deepprospect.models.bundle import BundleError, load_bundle

    model, _ = bundle_and_stack
    code = {"type": "lambda", "function": "__import__('os').system('touch owned')"}
    hostile = _rewrite(model, tmp_path / "lambda.dpm", metadata=lambda m: dict(m, network={
        "architecture": "sequential", "input_shape": [len(FACTORS)], "layers": [code]}))
    with pytest.raises(BundleError) as error:
        load_bundle(hostile)
    message = str(error.value)
    assert message.startswith("The model bundle {} cannot be loaded: A sequential network cannot hold the layer "
                              "{}; layer types and options:".format(hostile, code))
    assert not (Path.cwd() / "owned").exists()
    bad_input("A model bundle whose network asks for a Lambda (Python code) layer", "error", message)
