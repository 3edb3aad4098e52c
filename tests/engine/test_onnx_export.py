"""ONNX export (models/onnx_export.py, task export_onnx): onnxruntime gives the Keras members'
probabilities to 1e-5 (issue 19), for the three networks, a trained one and ensembles.

The reference is each Keras member called directly (``model(x)``, not the bundle's prediction
path), averaged here; the ONNX side is onnxruntime reading the written file.
"""
import json

import numpy as np
import pytest

pytest.importorskip("tf2onnx")
pytest.importorskip("onnxruntime")

NAMES = ["f{:02d}".format(index) for index in range(6)]


def _keras_probabilities(members, inputs):
    """(ensemble mean (n,), members (n, m)) deposit probability straight from Keras."""
    each = np.stack([np.asarray(model(inputs, training=False))[:, -1] for model in members], axis=1)
    return each.mean(axis=1), each


def _bundle(tmp_path, architecture, members, patch_size=1, background=None):
    from deepprospect.models.bundle import load_bundle, save_bundle

    metadata = dict(architecture=architecture, factor_names=NAMES, patch_size=patch_size,
                    normalisation=dict(mean=[0.0] * 6, std=[1.0] * 6))
    return load_bundle(save_bundle(tmp_path / (architecture + ".dpm"), members, metadata, background=background))


def test_trained_dense_network_gives_the_same_probabilities(tmp_path):
    import tensorflow as tf
    import onnx

    from deepprospect.models.architectures import build_model
    from deepprospect.models.onnx_export import export_onnx, onnx_probabilities

    rng = np.random.default_rng(0)
    tf.keras.utils.set_random_seed(0)
    model = build_model("pradhan2022_dense", 6)
    x = rng.normal(size=(600, 6)).astype(np.float32)
    model.fit(x, (x[:, 0] - 0.5 * x[:, 1] > 0.3).astype(int), epochs=4, batch_size=64, verbose=0)
    bundle = _bundle(tmp_path, "pradhan2022_dense", [model], background=x[:50])
    result = export_onnx(bundle, tmp_path / "dense.onnx")
    assert result["members"] == 1 and result["max_difference"] <= 1e-5 and result["checked_rows"] == 256
    inputs = rng.normal(scale=2.0, size=(1000, 6)).astype(np.float32)
    probability, members = onnx_probabilities(tmp_path / "dense.onnx", inputs)
    expected, expected_members = _keras_probabilities([model], inputs)
    np.testing.assert_allclose(probability, expected, rtol=0, atol=1e-5)
    np.testing.assert_allclose(members, expected_members, rtol=0, atol=1e-5)
    assert expected.min() < 0.2 and expected.max() > 0.8                    # the model learnt something
    metadata = {entry.key: entry.value for entry in onnx.load(str(tmp_path / "dense.onnx")).metadata_props}
    assert json.loads(metadata["deepprospect_factor_names"]) == NAMES
    assert json.loads(metadata["deepprospect_input_names"]) == NAMES
    assert metadata["deepprospect_architecture"] == "pradhan2022_dense"


@pytest.mark.parametrize("architecture,patch_size", [("cnn1d", 1), ("cnn2d_patch", 3)])
def test_ensembles_become_one_graph_averaging_the_members(tmp_path, architecture, patch_size):
    import tensorflow as tf

    from deepprospect.models.architectures import build_model
    from deepprospect.models.onnx_export import export_onnx, onnx_probabilities

    members = []
    for seed in range(2):
        tf.keras.utils.set_random_seed(seed)
        members.append(build_model(architecture, 6, patch_size=patch_size))
    bundle = _bundle(tmp_path, architecture, members, patch_size=patch_size)
    export_onnx(bundle, tmp_path / "ensemble.onnx")
    shape = (300,) + tuple(members[0].inputs[0].shape[1:])
    inputs = np.random.default_rng(1).normal(size=shape).astype(np.float32)
    probability, each = onnx_probabilities(tmp_path / "ensemble.onnx", inputs)
    expected, expected_each = _keras_probabilities(members, inputs)
    assert each.shape == (300, 2)
    np.testing.assert_allclose(probability, expected, rtol=0, atol=1e-5)
    np.testing.assert_allclose(each, expected_each, rtol=0, atol=1e-5)
    assert np.abs(expected_each[:, 0] - expected_each[:, 1]).max() > 1e-3      # two different members


def test_the_engine_task_and_what_cannot_be_exported(tmp_path, bad_input, monkeypatch):
    import tensorflow as tf

    from deepprospect.core.errors import DeepProspectError
    from deepprospect.core.feedback import Feedback
    from deepprospect.engine.tasks import run_task
    from deepprospect.models.architectures import build_model
    from deepprospect.models.bundle import load_bundle
    from deepprospect.models.onnx_export import export_onnx

    tf.keras.utils.set_random_seed(3)
    _bundle(tmp_path, "pradhan2022_dense", [build_model("pradhan2022_dense", 6)])
    result = run_task("export_onnx", {"model": str(tmp_path / "pradhan2022_dense.dpm"),
                                      "output": str(tmp_path / "task.onnx")}, Feedback())
    assert result["path"] == str(tmp_path / "task.onnx") and result["max_difference"] <= 1e-5
    with pytest.raises(DeepProspectError, match=r"\.onnx") as error:
        export_onnx(load_bundle(tmp_path / "pradhan2022_dense.dpm"), tmp_path / "model.txt")
    bad_input("ONNX export to a file not ending in .onnx", "error", str(error.value))
    assert not (tmp_path / "model.txt").exists()
    monkeypatch.setitem(__import__("sys").modules, "tf2onnx", None)          # as where it is not installed
    with pytest.raises(DeepProspectError, match="-m pip install tf2onnx onnx onnxruntime"):
        export_onnx(load_bundle(tmp_path / "pradhan2022_dense.dpm"), tmp_path / "later.onnx")
