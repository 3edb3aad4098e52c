"""Model bundles (models/bundle.py): the format-2 layout (metadata + weights as plain arrays),
bundles written by the previous format (Keras 2 ``.keras`` members, TensorFlow 2.15), and clear
errors for damaged files.

References: the legacy fixtures in ``tests/engine/data`` and the predictions the OLD code made
with them (README there); numpy's own ``np.load`` of the stored arrays; the members' weights
before saving.
"""
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from deepprospect.core.errors import DeepProspectError

DATA = Path(__file__).resolve().parent / "data"
LEGACY = ("legacy_bundle_v1_dense.dpm", "legacy_bundle_v1_cnn2d.dpm", "legacy_bundle_v1_ensemble.dpm")
FACTORS = ["f{}".format(index) for index in range(6)]


def _metadata(architecture, patch_size=1):
    return {"architecture": architecture, "factor_names": FACTORS, "patch_size": patch_size,
            "normalisation": {"mean": [0.0] * len(FACTORS), "std": [1.0] * len(FACTORS)}}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A two-member cnn2d_patch bundle as training writes it, with the members it was written from."""
    import tensorflow as tf

    from deepprospect.models.architectures import build_model
    from deepprospect.models.bundle import save_bundle

    members = []
    for seed in (1, 2):
        tf.keras.utils.set_random_seed(seed)
        members.append(build_model("cnn2d_patch", len(FACTORS), patch_size=3, dropout=0.3, l2=1e-4))
    path = save_bundle(tmp_path_factory.mktemp("bundle") / "patch.dpm", members, _metadata("cnn2d_patch", 3),
                       background=np.ones((4, 3, 3, len(FACTORS)), np.float32))
    return path, members


# Format 2 -----------------------------------------------------------------------------------

def test_bundle_stores_a_network_description_and_plain_arrays(saved):
    path, members = saved
    with zipfile.ZipFile(path) as archive:
        names = sorted(archive.namelist())
        metadata = json.loads(archive.read("metadata.json"))
        stored = [np.load(io.BytesIO(archive.read(name)), allow_pickle=False) for name in metadata["members"]]
    assert names == ["background.npy", "keras/member_0.keras", "keras/member_1.keras", "member_0.npz",
                     "member_1.npz", "metadata.json"]
    assert metadata["format_version"] == 2 and "schema_version" not in metadata
    assert metadata["network"] == {"architecture": "cnn2d_patch", "n_factors": len(FACTORS), "patch_size": 3,
                                   "dropout": 0.3, "l2": 1e-4}
    for arrays, model in zip(stored, members):
        weights = model.get_weights()
        assert arrays.files == ["arr_{}".format(index) for index in range(len(weights))]
        for index, weight in enumerate(weights):
            np.testing.assert_array_equal(arrays["arr_{}".format(index)], weight)


def test_keras_copies_open_in_keras_and_predict_like_the_members(saved, tmp_path):
    import keras

    path, members = saved
    patches = np.random.default_rng(1).normal(size=(20, 3, 3, len(FACTORS))).astype(np.float32)
    with zipfile.ZipFile(path) as archive:
        for index, model in enumerate(members):
            copy = tmp_path / "member_{}.keras".format(index)
            copy.write_bytes(archive.read("keras/member_{}.keras".format(index)))
            opened = keras.saving.load_model(str(copy), compile=False)
            np.testing.assert_allclose(opened.predict(patches, verbose=0), model.predict(patches, verbose=0),
                                       atol=1e-6)


def test_loaded_members_predict_what_the_saved_ones_did(saved):
    import tensorflow as tf

    from deepprospect.models.bundle import load_bundle

    path, members = saved
    bundle = load_bundle(path)
    assert bundle.architecture == "cnn2d_patch" and bundle.patch_size == 3 and len(bundle.members) == 2
    assert bundle.background.shape == (4, 3, 3, len(FACTORS))
    patches = np.random.default_rng(0).normal(size=(50, 3, 3, len(FACTORS))).astype(np.float32)
    # the Keras models that were saved, called directly: an independent path to the same function
    expected = np.array([model(tf.constant(patches), training=False).numpy()[:, 1] for model in members])
    np.testing.assert_allclose(bundle.predict_members(patches), expected, atol=1e-6)
    for loaded, model in zip(bundle.members, members):
        for mine, theirs in zip(loaded.get_weights(), model.get_weights()):
            np.testing.assert_array_equal(mine, theirs)


def test_every_architecture_round_trips(tmp_path):
    from deepprospect.models.architectures import ARCHITECTURES, build_model
    from deepprospect.models.bundle import load_bundle, save_bundle

    for architecture in ARCHITECTURES:
        model = build_model(architecture, len(FACTORS), patch_size=5)
        bundle = load_bundle(save_bundle(tmp_path / (architecture + ".dpm"), [model], _metadata(architecture, 5)))
        assert [w.shape for w in bundle.members[0].get_weights()] == [w.shape for w in model.get_weights()]
        assert all(np.array_equal(a, b) for a, b in zip(bundle.members[0].get_weights(), model.get_weights()))


def test_only_described_networks_can_be_saved(tmp_path):
    import tensorflow as tf

    from deepprospect.models.bundle import save_bundle

    model = tf.keras.Sequential([tf.keras.Input((len(FACTORS),)), tf.keras.layers.Dense(2, activation="softmax")])
    with pytest.raises(DeepProspectError, match="not built by models.architectures"):
        save_bundle(tmp_path / "x.dpm", [model], _metadata("pradhan2022_dense"))
    assert not (tmp_path / "x.dpm").exists()


# Format 1 (TensorFlow 2.15 / Keras 2) ---------------------------------------------------------

@pytest.mark.parametrize("name", LEGACY)
def test_legacy_bundle_gives_the_old_codes_predictions(name):
    """Bundles the previous design wrote (README in tests/engine/data) load by rebuilding the network
    and reading the Keras 2 weights file, and predict what the old code predicted at the same pixels
    (float32 rounding of other TensorFlow kernels apart)."""
    from deepprospect.models.bundle import load_bundle, read_metadata
    from deepprospect.models.predict import predict_at_pixels

    path = DATA / name
    if not path.exists():
        pytest.skip("legacy fixture {} not in tests/engine/data".format(name))
    reference = json.loads((DATA / "legacy_predictions.json").read_text())
    expected = reference["bundles"][name]
    assert read_metadata(path)["schema_version"] == 1
    bundle = load_bundle(path)
    assert len(bundle.members) == expected["settings"]["ensemble_size"]
    assert bundle.architecture == expected["settings"]["architecture"]
    rows, cols = np.array(reference["pixels"]).T
    members = predict_at_pixels(bundle, DATA / reference["stack"], rows, cols)
    np.testing.assert_allclose(members, np.array(expected["members"]), atol=1e-5, rtol=0)
    np.testing.assert_allclose(members.mean(axis=0), np.array(expected["mean"]), atol=1e-5, rtol=0)
    with zipfile.ZipFile(path) as archive:
        np.testing.assert_array_equal(bundle.background, np.load(io.BytesIO(archive.read("background.npy"))))


def test_legacy_h5_layer_names_follow_keras_class_order():
    """The old weights file names layers by class and order (README in tests/engine/data): the h5's
    ``dense_1`` is the old config's ``dense_2``. Check the mapping against the config.json the old
    Keras wrote beside it."""
    import h5py

    from deepprospect.models.bundle import read_metadata
    from deepprospect.models.bundle_legacy import keras_layer_groups, legacy_network
    from deepprospect.models.architectures import build_network

    path = DATA / "legacy_bundle_v1_cnn2d.dpm"
    if not path.exists():
        pytest.skip("legacy fixture not in tests/engine/data")
    with zipfile.ZipFile(path) as archive:
        member = zipfile.ZipFile(io.BytesIO(archive.read("member_0.keras")))
    config = json.loads(member.read("config.json"))
    old_layers = {layer["config"]["name"]: layer["class_name"] for layer in config["config"]["layers"]}
    model = build_network(legacy_network(read_metadata(path)))
    with h5py.File(io.BytesIO(member.read("model.weights.h5")), "r") as h5:
        for group, layer in keras_layer_groups(model):
            if layer.weights:
                assert old_layers[layer.name] == type(layer).__name__
                shapes = [h5["layers"][group]["vars"][key].shape for key in sorted(h5["layers"][group]["vars"], key=int)]
                assert shapes == [tuple(w.shape) for w in layer.weights], (group, layer.name)


# Damaged and foreign files ---------------------------------------------------------------------

def _rewrite(source, target, replace=None, drop=(), metadata=None, add=None, rehash=True):
    """Copy bundle ``source`` to ``target`` with some entries replaced, dropped or ``add``-ed, or new
    metadata. ``rehash``: record the new files' checksums, as someone who rewrote metadata.json too
    would (so the checks behind the checksums are reached); else the old checksums stay."""
    import hashlib

    with zipfile.ZipFile(source) as old:
        files = {name: (replace or {}).get(name, old.read(name)) for name in old.namelist() if name not in drop}
    files.update(add or {})
    stored = json.loads(files["metadata.json"])
    if rehash and isinstance(stored, dict) and "checksums" in stored:
        stored["checksums"] = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()
                               if name != "metadata.json"}
    files["metadata.json"] = json.dumps(metadata(stored) if metadata is not None else stored)
    with zipfile.ZipFile(target, "w") as new:
        for name, data in files.items():
            new.writestr(name, data)
    return target


def _npz(*arrays, **named):
    buffer = io.BytesIO()
    np.savez(buffer, *arrays, **named)
    return buffer.getvalue()


def test_damaged_bundles_give_a_clear_bundle_error(saved, tmp_path):
    from deepprospect.models.bundle import BundleError, load_bundle

    path, members = saved
    weights = members[0].get_weights()
    cases = {
        "truncated member": dict(replace={"member_0.npz": _npz(*weights)[:300]}),
        "wrong shapes": dict(replace={"member_0.npz": _npz(*[w.T for w in weights])}),
        "too few arrays": dict(replace={"member_0.npz": _npz(*weights[:-1])}),
        "text in place of weights": dict(replace={"member_0.npz": _npz(*[w.astype(str) for w in weights])}),
        "foreign array names": dict(replace={"member_0.npz": _npz(kernel=weights[0])}),
        "missing member": dict(drop=("member_1.npz",)),
        "network not a dict": dict(metadata=lambda m: dict(m, network=["cnn2d_patch"])),
        "network without arguments": dict(metadata=lambda m: dict(m, network={"architecture": "cnn2d_patch"})),
        "members not a list": dict(metadata=lambda m: dict(m, members=7)),
        "no members": dict(metadata=lambda m: dict(m, members=[])),
        "no factor names": dict(metadata=lambda m: {k: v for k, v in m.items() if k != "factor_names"}),
        "normalisation of other length": dict(metadata=lambda m: dict(m, normalisation={"mean": [0.0], "std": [1.0]})),
        "normalisation not a dict": dict(metadata=lambda m: dict(m, normalisation=3)),
    }
    for case, change in cases.items():
        damaged = _rewrite(path, tmp_path / (case.replace(" ", "_") + ".dpm"), **change)
        with pytest.raises(BundleError, match="The model bundle .* (is damaged|cannot be loaded)") as error:
            load_bundle(damaged)
        assert str(damaged) in str(error.value), case


def test_unknown_network_or_newer_format_says_what_to_do(saved, tmp_path):
    from deepprospect.models.bundle import BundleError, load_bundle, read_metadata

    path, _ = saved
    unknown = _rewrite(path, tmp_path / "unknown.dpm", metadata=lambda m: dict(m, network={"architecture": "resnet"}))
    with pytest.raises(BundleError, match="cannot be loaded: Unknown network architecture 'resnet'"):
        load_bundle(unknown)
    newer = _rewrite(path, tmp_path / "newer.dpm", metadata=lambda m: dict(m, format_version=3))
    with pytest.raises(BundleError, match="bundle format 3 .* update DeepProspect"):
        read_metadata(newer)
    not_a_dict = _rewrite(path, tmp_path / "list.dpm", metadata=lambda m: [m])
    with pytest.raises(BundleError, match="not a DeepProspect model bundle"):
        read_metadata(not_a_dict)


def test_damaged_legacy_bundle_gives_a_clear_bundle_error(tmp_path):
    from deepprospect.models.bundle import BundleError, load_bundle

    path = DATA / "legacy_bundle_v1_dense.dpm"
    if not path.exists():
        pytest.skip("legacy fixture not in tests/engine/data")
    with zipfile.ZipFile(path) as archive:
        member = archive.read("member_0.keras")
    with zipfile.ZipFile(io.BytesIO(member)) as keras_file:
        h5_bytes = keras_file.read("model.weights.h5")
    broken_keras = io.BytesIO()
    with zipfile.ZipFile(broken_keras, "w") as keras_file:
        keras_file.writestr("model.weights.h5", h5_bytes[:len(h5_bytes) // 3])
    cases = {
        "truncated keras zip": {"member_0.keras": member[:len(member) // 2]},
        "truncated weights file": {"member_0.keras": broken_keras.getvalue()},
    }
    for case, replace in cases.items():
        damaged = _rewrite(path, tmp_path / (case.replace(" ", "_") + ".dpm"), replace=replace)
        with pytest.raises(BundleError, match="is damaged"):
            load_bundle(damaged)
    other = _rewrite(path, tmp_path / "other.dpm", metadata=lambda m: dict(m, architecture="my_own_net"))
    with pytest.raises(BundleError, match="only the DeepProspect version that wrote it"):
        load_bundle(other)


# GDAL's block cache -------------------------------------------------------------------------------

def test_gdal_cache_is_lowered_for_the_duration_and_restored():
    from rasterio.env import get_gdal_config

    from deepprospect.core.raster import bounded_gdal_cache

    before = get_gdal_config("GDAL_CACHEMAX")
    with bounded_gdal_cache(64):
        assert get_gdal_config("GDAL_CACHEMAX") == min(64 * 2 ** 20, before)
        with bounded_gdal_cache(512):            # never raises a lower bound
            assert get_gdal_config("GDAL_CACHEMAX") == min(64 * 2 ** 20, before)
    assert get_gdal_config("GDAL_CACHEMAX") == before
