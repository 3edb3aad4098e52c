"""Map-wide prediction (models/predict.py); deepprospect:predict itself is tested in tests/qgis.

References: a closed-form softmax in numpy for a one-layer dense model with fixed weights; a
one-shot in-memory prediction over the whole raster and hand-built patches (padding rule
written out independently) for the patch model; scikit-learn's ROC AUC and numpy quantiles
for the success-rate curve and the classes. The models are tiny networks built here from
``sequential`` descriptions (models/architectures.build_network), saved with
models/bundle.save_bundle, so these tests depend only on the bundle contract.
"""
import numpy as np
import pytest

from conftest import write_tiled_stack
from deepprospect.core.errors import DeepProspectError, OperationCanceled
from deepprospect.core.feedback import Feedback
from deepprospect.core.raster import STACK_NODATA

FACTORS = ["Sb_con", "Oli_clay", "Pb_con", "As_con"]
HEIGHT, WIDTH, TILE = 70, 90, 16
MEAN = np.array([1.0, -0.5, 2.0, 0.0], dtype=np.float32)
STD = np.array([2.0, 0.5, 1.5, 1.0], dtype=np.float32)


# Fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """A 70 × 90 × 4 stack with 16-pixel tiles (so several windows), nodata in a block, on
    scattered pixels of single bands, on the raster's edge, and one NaN."""
    rng = np.random.default_rng(7)
    data = (MEAN[:, None, None] + STD[:, None, None] * rng.normal(size=(4, HEIGHT, WIDTH))).astype(np.float32)
    data[:, 20:26, 40:47] = STACK_NODATA                       # a hole straddling a window border
    band = rng.integers(0, 4, 60)
    data[band, rng.integers(0, HEIGHT, 60), rng.integers(0, WIDTH, 60)] = STACK_NODATA
    data[2, :, 0] = STACK_NODATA                                # the whole left edge in one band
    data[1, 33, 33] = np.nan
    return write_tiled_stack(tmp_path_factory.mktemp("stack") / "stack.tif", data, FACTORS, TILE)


@pytest.fixture(scope="module")
def stack_data(stack):
    import rasterio

    with rasterio.open(stack) as dataset:
        data = dataset.read()
    valid = np.all(np.isfinite(data), axis=0) & np.all(data != STACK_NODATA, axis=0)
    return data, valid


SOFTMAX = {"architecture": "sequential", "input_shape": [len(FACTORS)],
           "layers": [{"type": "dense", "units": 2, "activation": "softmax"}]}


def _softmax_member(seed):
    """One Dense(2, softmax) layer with fixed weights (its output has a closed form)."""
    from deepprospect.models.architectures import build_network

    rng = np.random.default_rng(seed)
    model = build_network(SOFTMAX)
    model.layers[0].set_weights([rng.normal(size=(len(FACTORS), 2)).astype(np.float32),
                                 rng.normal(size=2).astype(np.float32)])
    return model


def _metadata(architecture, patch_size=1):
    return {"architecture": architecture, "factor_names": FACTORS, "patch_size": patch_size,
            "normalisation": {"mean": MEAN.tolist(), "std": STD.tolist()},
            "grid": {"pixel_size": 250.0}}


@pytest.fixture(scope="module")
def dense_bundle_path(tmp_path_factory):
    from deepprospect.models.bundle import save_bundle

    members = [_softmax_member(11), _softmax_member(12)]
    path = tmp_path_factory.mktemp("bundles") / "dense.dpm"
    return save_bundle(path, members, _metadata("pradhan2022_dense"))


@pytest.fixture(scope="module")
def dense_bundle(dense_bundle_path):
    from deepprospect.models.bundle import load_bundle

    return load_bundle(dense_bundle_path)


@pytest.fixture(scope="module")
def patch_bundle(tmp_path_factory):
    import tensorflow as tf

    from deepprospect.models.architectures import build_network
    from deepprospect.models.bundle import load_bundle, save_bundle

    tf.keras.utils.set_random_seed(3)
    model = build_network({"architecture": "sequential", "input_shape": [5, 5, len(FACTORS)], "layers": [
        {"type": "conv2d", "filters": 6, "kernel_size": 3, "activation": "relu"},
        {"type": "flatten"},
        {"type": "dense", "units": 2, "activation": "softmax"}]})
    path = tmp_path_factory.mktemp("bundles") / "patch.dpm"
    save_bundle(path, [model], _metadata("cnn2d_patch", patch_size=5))
    return load_bundle(path)


def _read(path):
    import rasterio

    with rasterio.open(path) as dataset:
        return dataset.read(1), dataset.nodata, dataset.descriptions[0]


def _closed_form(bundle, data, valid):
    """Deposit probability per member from the layers' weights: softmax of W·z + b."""
    z = ((data[:, valid].T - MEAN) / STD).astype(np.float64)
    members = []
    for model in bundle.members:
        weights, bias = model.layers[-1].get_weights()
        logits = z @ weights + bias
        members.append(1.0 / (1.0 + np.exp(logits[:, 0] - logits[:, 1])))
    return np.array(members)


def _hand_patch(data, valid, row, col, size):
    """The patch rule written out plainly: standardised value, 0 outside the raster or on nodata."""
    half = size // 2
    patch = np.zeros((size, size, data.shape[0]), dtype=np.float32)
    for i in range(size):
        for j in range(size):
            r, c = row + i - half, col + j - half
            if 0 <= r < data.shape[1] and 0 <= c < data.shape[2] and valid[r, c]:
                patch[i, j] = (data[:, r, c] - MEAN) / STD
    return patch


# Block-wise prediction ----------------------------------------------------------------------

def test_dense_map_equals_closed_form_and_nodata_stays_nodata(dense_bundle, stack, stack_data, tmp_path):
    from deepprospect.models.predict import predict_map

    data, valid = stack_data
    result = predict_map(dense_bundle, stack, tmp_path / "p.tif", block_size=32,
                         output_uncertainty=tmp_path / "u.tif")
    probability, nodata, description = _read(result.probability)
    spread, _, _ = _read(result.uncertainty)
    assert description == "deposit_probability" and nodata == STACK_NODATA
    np.testing.assert_array_equal(probability != STACK_NODATA, valid)
    np.testing.assert_array_equal(spread != STACK_NODATA, valid)
    members = _closed_form(dense_bundle, data, valid)
    np.testing.assert_allclose(probability[valid], members.mean(axis=0), atol=2e-6)
    np.testing.assert_allclose(spread[valid], members.std(axis=0), atol=2e-6)
    assert result.valid_pixels == valid.sum()
    assert 0.0 <= probability[valid].min() and probability[valid].max() <= 1.0


def test_patch_map_equals_one_shot_and_hand_built_patches(patch_bundle, stack, stack_data, tmp_path):
    from deepprospect.core.patches import extract_patches
    from deepprospect.models.predict import predict_map

    data, valid = stack_data
    # Windows of 16 pixels with a 2-pixel halo: many window borders, and edge windows.
    result = predict_map(patch_bundle, stack, tmp_path / "p.tif", block_size=16)
    probability, _, _ = _read(result.probability)
    np.testing.assert_array_equal(probability != STACK_NODATA, valid)

    # One shot: the whole raster in memory, every valid pixel at once.
    standardised = ((data - MEAN[:, None, None]) / STD[:, None, None]).astype(np.float32)
    rows, cols = np.nonzero(valid)
    one_shot = patch_bundle.predict(extract_patches(standardised, valid, rows, cols, 5))
    np.testing.assert_allclose(probability[rows, cols], one_shot, atol=2e-6)

    # Hand-built patches at raster corners/edges, on both sides of window borders, next to nodata.
    model = patch_bundle.members[0]
    for row, col in [(0, 1), (69, 89), (15, 16), (16, 15), (31, 32), (32, 47), (26, 40), (19, 47), (48, 1)]:
        assert valid[row, col], (row, col)
        expected = model.predict(_hand_patch(data, valid, row, col, 5)[None], verbose=0)[0, 1]
        assert probability[row, col] == pytest.approx(expected, abs=2e-6), (row, col)


def test_block_size_does_not_change_the_map(patch_bundle, stack, tmp_path):
    from deepprospect.models.predict import predict_map

    small = _read(predict_map(patch_bundle, stack, tmp_path / "a.tif", block_size=16).probability)[0]
    large = _read(predict_map(patch_bundle, stack, tmp_path / "b.tif", block_size=1024).probability)[0]
    # one prediction path with one batch shape: the windows change which pixels share a batch, not the numbers
    np.testing.assert_array_equal(small, large)


def test_predict_at_pixels_matches_the_map(dense_bundle, patch_bundle, stack, stack_data, tmp_path):
    from deepprospect.models.predict import predict_at_pixels, predict_map

    _, valid = stack_data
    rows = np.array([0, 69, 31, 32, 20, 33, 5, -1, 70])
    cols = np.array([1, 89, 32, 47, 40, 33, 0, 3, 3])       # (20, 40) hole, (33, 33) NaN, (5, 0) edge nodata
    for bundle in (dense_bundle, patch_bundle):
        probability = _read(predict_map(bundle, stack, tmp_path / "m.tif", block_size=16).probability)[0]
        members = predict_at_pixels(bundle, stack, rows, cols)
        assert members.shape == (len(bundle.members), rows.size) and members.dtype == np.float32
        inside = (rows >= 0) & (rows < HEIGHT) & (cols >= 0) & (cols < WIDTH)
        for k in range(rows.size):
            if inside[k] and valid[rows[k], cols[k]]:
                # bit for bit: the point and the map go through the same ModelBundle.predict_members
                assert members[:, k].mean() == probability[rows[k], cols[k]]
            else:
                assert np.isnan(members[:, k]).all()


def test_a_pixel_gets_the_same_probability_in_any_batch(dense_bundle, patch_bundle):
    """ModelBundle.predict_members' promise (the one prediction path): a pixel's number does not
    depend on how many pixels, or which, are predicted with it, nor on where it falls in a batch;
    with XLA's graphs, and with the plain graphs used where XLA cannot compile."""
    from deepprospect.models.compiled import CompiledEnsemble

    for fused in (True, False):
        rng = np.random.default_rng(5)
        for bundle, shape in ((dense_bundle, (len(FACTORS),)), (patch_bundle, (5, 5, len(FACTORS)))):
            ensemble = CompiledEnsemble(bundle.members)
            ensemble._fused = fused
            batch = ensemble.batch
            inputs = rng.normal(size=(2 * batch + 17,) + shape).astype(np.float32)
            together = ensemble.predict_members(inputs)
            picked = np.array([0, 1, batch - 1, batch, 2 * batch + 16])
            alone = np.concatenate([ensemble.predict_members(inputs[[k]]) for k in picked], axis=1)
            np.testing.assert_array_equal(alone, together[:, picked])
            order = rng.permutation(len(inputs))
            np.testing.assert_array_equal(ensemble.predict_members(inputs[order]), together[:, order])
            # the closed form of the softmax members, 1e-6: either graph computes the model
            if bundle is dense_bundle:
                kernel, bias = bundle.members[0].layers[0].get_weights()
                logits = inputs @ kernel + bias
                np.testing.assert_allclose(together[0], 1 / (1 + np.exp(logits[:, 0] - logits[:, 1])), atol=1e-6)


# Bad input, cancel ---------------------------------------------------------------------------

def test_mismatched_bundle_fails_before_writing(stack, tmp_path):
    from deepprospect.models.architectures import build_network
    from deepprospect.models.bundle import load_bundle, save_bundle
    from deepprospect.models.predict import predict_map

    model = build_network(SOFTMAX)
    metadata = _metadata("pradhan2022_dense")
    metadata["factor_names"] = ["Sb_con", "Oli_clay", "Au_con", "As_con"]
    bundle = load_bundle(save_bundle(tmp_path / "other.dpm", [model], metadata))
    with pytest.raises(DeepProspectError) as error:
        predict_map(bundle, stack, tmp_path / "out" / "p.tif")
    assert "Au_con" in str(error.value) and "Pb_con" in str(error.value)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_uncertainty_needs_an_ensemble(patch_bundle, stack, tmp_path):
    from deepprospect.models.predict import predict_map

    with pytest.raises(DeepProspectError, match="single member"):
        predict_map(patch_bundle, stack, tmp_path / "p.tif", output_uncertainty=tmp_path / "u.tif")
    assert list(tmp_path.iterdir()) == []


class _CancelAfter(Feedback):
    def __init__(self, calls):
        self.calls, self.progress = calls, []

    def set_progress(self, percent):
        self.progress.append(percent)

    def is_canceled(self):
        self.calls -= 1
        return self.calls < 0


def test_cancel_leaves_nothing_behind(dense_bundle, stack, tmp_path):
    from deepprospect.models.predict import predict_map

    feedback = _CancelAfter(4)
    with pytest.raises(OperationCanceled):
        predict_map(dense_bundle, stack, tmp_path / "p.tif", block_size=16, output_uncertainty=tmp_path / "u.tif",
                    output_classes=tmp_path / "c.tif", feedback=feedback)
    assert 0 < len(feedback.progress) and max(feedback.progress) < 100
    assert list(tmp_path.iterdir()) == []


# Classes, success rate, styles ---------------------------------------------------------------

def test_classes_follow_area_fractions(dense_bundle, stack, stack_data, tmp_path):
    from deepprospect.models.predict import predict_map

    _, valid = stack_data
    result = predict_map(dense_bundle, stack, tmp_path / "p.tif", block_size=32, output_classes=tmp_path / "c.tif",
                         class_fractions=(0.05, 0.10, 0.25))
    probability = _read(result.probability)[0][valid]
    classes, nodata, _ = _read(result.classes)
    assert nodata == 0
    np.testing.assert_array_equal(classes != 0, valid)
    shares = [np.mean(classes[valid] == value) for value in (4, 3, 2, 1)]
    # numpy's quantiles as reference: the classes' shares of the valid area.
    expected = [np.mean(probability >= np.quantile(probability, q)) for q in (0.95, 0.90, 0.75)]
    np.testing.assert_allclose(np.cumsum(shares)[:3], expected, atol=1.5 / valid.sum() + 1e-3)
    np.testing.assert_allclose(shares, [0.05, 0.05, 0.15, 0.75], atol=0.003)
    # Every very-high pixel is at least as prospective as every high pixel, and so on.
    for upper, lower in ((4, 3), (3, 2), (2, 1)):
        assert probability[classes[valid] == upper].min() >= probability[classes[valid] == lower].max()
    qml = (tmp_path / "c.qml").read_text()
    assert "Very high (top 5 % of area)" in qml and "Low (remaining 75 %)" in qml


def test_success_rate_against_scikit_learn(dense_bundle, stack, stack_data, tmp_path):
    from sklearn.metrics import roc_auc_score

    from deepprospect.core.raster import pixel_centres, read_stack_info
    from deepprospect.models.predict import predict_map

    data, valid = stack_data
    info = read_stack_info(stack)
    reference = _closed_form(dense_bundle, data, valid).mean(axis=0)
    rows, cols = np.nonzero(valid)
    order = np.argsort(-reference)
    top = order[:12]
    # Deposits on the 12 top-ranked pixels, plus one outside the raster and one on nodata (dropped).
    xy = np.vstack([pixel_centres(info, rows[top], cols[top]), [[0.0, 0.0]], pixel_centres(info, [22], [42])])
    result = predict_map(dense_bundle, stack, tmp_path / "p.tif", deposits_xy=xy)
    assert result.deposits_used == 12 and result.deposits_dropped == 2
    probability = _read(result.probability)[0]
    labels = np.r_[np.zeros(valid.sum()), np.ones(12)]
    expected = roc_auc_score(labels, np.r_[probability[valid], probability[rows[top], cols[top]]])
    assert result.auc == pytest.approx(expected, abs=1e-12)
    assert result.auc > 0.99
    csv_lines = (tmp_path / "p_success_rate.csv").read_text().splitlines()
    assert csv_lines[0] == "area_fraction,deposits_captured_fraction,probability_threshold"
    assert csv_lines[-1].startswith("1.000000,1.000000")
    assert (tmp_path / "p_success_rate.png").stat().st_size > 10_000

    # Deposits on random valid pixels: the AUC is near one half.
    rng = np.random.default_rng(5)
    pick = rng.choice(rows.size, 400, replace=False)
    result = predict_map(dense_bundle, stack, tmp_path / "r.tif", deposits_xy=pixel_centres(info, rows[pick], cols[pick]))
    assert result.auc == pytest.approx(0.5, abs=0.05)



def test_a_member_xla_cannot_compile_is_predicted_by_its_plain_graph():
    """The fallback of models.compiled: an operation XLA has no kernel for (a NumPy call here, as on
    a platform without XLA) switches the ensemble to its plain graphs, same values."""
    import keras
    import tensorflow as tf

    from deepprospect.models.compiled import UNFUSED_BATCH, CompiledEnsemble

    class NumpyHalf(keras.layers.Layer):
        def call(self, inputs):
            half = tf.numpy_function(lambda array: (array * 0.5).astype(np.float32), [inputs], tf.float32)
            return tf.reshape(half, tf.shape(inputs))

    inputs = keras.Input((len(FACTORS),))
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(NumpyHalf()(inputs)))
    ensemble = CompiledEnsemble([model])
    pixels = np.random.default_rng(2).normal(size=(10, len(FACTORS))).astype(np.float32)
    predicted = ensemble.predict_members(pixels)
    kernel, bias = model.layers[-1].get_weights()
    expected = 1 / (1 + np.exp(-((0.5 * pixels) @ kernel + bias)[:, 0]))
    assert ensemble.batch == UNFUSED_BATCH
    np.testing.assert_allclose(predicted[0], expected, atol=1e-6)
