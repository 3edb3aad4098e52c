"""The contribution maps' rescale rule (models/deeplift.py) against shap's own DeepExplainer.

shap.DeepExplainer applies DeepLIFT's rescale rule to ReLU and sigmoid units and averages over its
background rows with equal weights: on a network with a one-column sigmoid output it is the same
quantity, computed independently (shap rewrites TensorFlow's gradients op by op); so is the rule
written out in float64 numpy here, for dense networks. A two-column
softmax is σ(z_deposit − z_other), so a softmax network whose other column is all zeros is the
sigmoid network's twin and must get the sigmoid network's values. Weights: Shapley values are
linear in the background distribution, so weighted references equal the weighted sum of
single-reference explanations.
"""
import numpy as np
import pytest

rng = np.random.default_rng(3)
NAMES4 = ["a", "b", "c", "d"]


def _sigmoid_network(n_factors, seed, conv=False):
    import tensorflow as tf

    from deepprospect.models.architectures import build_network

    tf.keras.utils.set_random_seed(seed)
    layers = ([{"type": "reshape", "target_shape": [n_factors, 1]},
               {"type": "conv1d", "filters": 4, "kernel_size": 3, "padding": "same", "activation": "relu"},
               {"type": "flatten"}] if conv else [])
    layers += [{"type": "dense", "units": 24, "activation": "relu"}, {"type": "dropout", "rate": 0.2},
               {"type": "dense", "units": 12, "activation": "relu"}, {"type": "dense", "units": 1, "activation": "sigmoid"}]
    model = build_network({"architecture": "sequential", "input_shape": [n_factors], "layers": layers})
    # spread the biases so that units switch between the inputs and the references
    for layer in model.layers:
        if getattr(layer, "bias", None) is not None:
            layer.bias.assign(rng.normal(scale=0.5, size=layer.bias.shape).astype(np.float32))
    return model


def _shap_deep(model, inputs, background):
    import shap

    values = np.asarray(shap.DeepExplainer(model, background).shap_values(inputs, check_additivity=False))
    return values.reshape(inputs.shape)


def _float64_rescale(model, inputs, references):
    """The rescale rule written out in float64 numpy for a dense ReLU network with a sigmoid
    output, equal reference weights: an independent reference free of float32 cancellation."""
    layers = [(np.float64(layer.kernel.numpy()), np.float64(layer.bias.numpy()), layer.activation.__name__)
              for layer in model.layers if getattr(layer, "kernel", None) is not None]
    functions = {"relu": lambda a: np.maximum(a, 0.0), "sigmoid": lambda a: 1.0 / (1.0 + np.exp(-a))}
    total = np.zeros(inputs.shape)
    for reference in np.float64(references):
        x_side, r_side, multipliers = np.float64(inputs), reference[None], []
        for kernel, bias, name in layers:
            x_pre, r_pre = x_side @ kernel + bias, r_side @ kernel + bias
            x_side, r_side = functions[name](x_pre), functions[name](r_pre)
            change = x_pre - r_pre
            multipliers.append(np.divide(x_side - r_side, change, out=np.zeros_like(change), where=change != 0))
        delta = np.ones((len(inputs), 1))
        for (kernel, _, _), multiplier in zip(layers[::-1], multipliers[::-1]):
            delta = (delta * multiplier) @ kernel.T
        total += delta * (inputs - reference)
    return total / len(references)


def test_rescale_rule_equals_float64_reference_and_shap_deep_explainer():
    from deepprospect.models.deeplift import rescale_function

    model = _sigmoid_network(6, seed=1)
    inputs, references = rng.normal(size=(30, 6)).astype(np.float32), rng.normal(size=(4, 6)).astype(np.float32)
    expected = _float64_rescale(model, inputs, references)
    for fused in (True, False):
        values = rescale_function([model], fused=fused)(inputs, references, np.full(4, 0.25, np.float32)).numpy()
        np.testing.assert_allclose(values, expected, rtol=0, atol=1e-6)
    # shap divides σ(z_x) − σ(z_r) by z_x − z_r in float32: up to 2e-4 of a value off where a
    # pixel's logit nearly equals a reference's, hence its looser tolerance
    np.testing.assert_allclose(values, _shap_deep(model, inputs, references), rtol=0, atol=2e-5)
    assert np.abs(values).max() > 1e-2


def test_one_dimensional_convolutions_equal_shap_deep_explainer():
    from deepprospect.models.deeplift import rescale_function

    model = _sigmoid_network(6, seed=1, conv=True)
    inputs, references = rng.normal(size=(30, 6)).astype(np.float32), rng.normal(size=(4, 6)).astype(np.float32)
    values = rescale_function([model])(inputs, references, np.full(4, 0.25, np.float32)).numpy()
    np.testing.assert_allclose(values, _shap_deep(model, inputs, references), rtol=0, atol=2e-5)
    assert np.abs(values).max() > 1e-2


def test_weighted_references_and_the_softmax_twin_and_additivity():
    """Weights (0.1, 0.2, 0.7) equal Σ w_k × shap against reference k alone; the softmax twin and a
    two-member ensemble (the mean of the members' values) get the same numbers; base + Σ values
    = probability."""
    from deepprospect.models.architectures import build_network
    from deepprospect.models.compiled import deposit_output
    from deepprospect.models.deeplift import rescale_function

    sigmoid = _sigmoid_network(5, seed=2)
    twin = build_network({"architecture": "sequential", "input_shape": [5], "layers": [
        {"type": "dense", "units": 24, "activation": "relu"}, {"type": "dense", "units": 12, "activation": "relu"},
        {"type": "dense", "units": 2, "activation": "softmax"}]})
    hidden = [layer for layer in sigmoid.layers if getattr(layer, "kernel", None) is not None]
    for source, target in zip(hidden[:2], twin.layers[:2]):
        target.set_weights(source.get_weights())
    kernel, bias = hidden[2].get_weights()
    twin.layers[2].set_weights([np.hstack([np.zeros_like(kernel), kernel]), np.concatenate([[0.0], bias]).astype(np.float32)])
    inputs, references = rng.normal(size=(25, 5)).astype(np.float32), rng.normal(size=(3, 5)).astype(np.float32)
    weights = np.array([0.1, 0.2, 0.7], np.float32)
    expected = sum(weight * _shap_deep(sigmoid, inputs, references[index:index + 1])
                   for index, weight in enumerate(weights))
    for members in ([sigmoid], [twin], [sigmoid, twin]):
        values = rescale_function(members)(inputs, references, weights).numpy()
        np.testing.assert_allclose(values, expected, rtol=0, atol=2e-5)    # shap's float32 rounding, as above
    other = _sigmoid_network(5, seed=4)
    values = rescale_function([twin, other])(inputs, references, weights).numpy()
    probability = lambda x: np.mean([deposit_output(m(x, training=False)).numpy() for m in (twin, other)], axis=0)
    base = float(np.dot(weights, probability(references)))
    np.testing.assert_allclose(base + values.sum(axis=1), probability(inputs), rtol=0, atol=1e-6)


def test_networks_without_a_chain_are_left_to_expected_gradients():
    from deepprospect.models.architectures import build_model
    from deepprospect.models.deeplift import layer_chain, rescale_function

    assert rescale_function([build_model("cnn2d_patch", 4, patch_size=3)]) is None      # branches, pooling
    assert layer_chain(build_model("pradhan2022_dense", 4)) is not None
    assert layer_chain(build_model("cnn1d", 4)) is not None


def test_contribution_map_of_the_dense_network_is_deep_shap_and_adds_up(tmp_path):
    """Whole map against shap.DeepExplainer at three pixels: 5 stored background rows and
    ``references`` ≥ 5, so the references are exactly those rows, equally weighted."""
    import rasterio
    from rasterio.transform import from_origin

    from deepprospect.core.raster import write_geotiff
    from deepprospect.models import explain
    from deepprospect.models.bundle import load_bundle, save_bundle

    names = ["f{}".format(index) for index in range(6)]
    model = _sigmoid_network(6, seed=5)
    background = rng.normal(size=(5, 6)).astype(np.float32)
    bundle = load_bundle(save_bundle(tmp_path / "m.dpm", [model], dict(
        architecture="pradhan2022_dense", factor_names=names, normalisation=dict(mean=[0.0] * 6, std=[1.0] * 6)),
        background=background))
    stack = tmp_path / "stack.tif"
    write_geotiff(stack, rng.normal(size=(6, 40, 50)).astype(np.float32), from_origin(0, 400, 10, 10), "EPSG:32645",
                  names)
    result = explain.contribution_map(bundle, stack, tmp_path / "shap.tif", background_size=5, references=8,
                                      block_size=32)
    assert result["valid_pixels"] == 40 * 50 and result["additivity_error"] < 1e-5
    with rasterio.open(tmp_path / "shap.tif") as dataset:
        maps, tags = dataset.read(), dataset.tags()
    with rasterio.open(stack) as dataset:
        pixels = dataset.read()[:, [0, 17, 39], [0, 33, 49]].T
    assert tags["SHAP_METHOD"].startswith("DeepSHAP")
    np.testing.assert_allclose(maps[:, [0, 17, 39], [0, 33, 49]].T, _float64_rescale(model, pixels, background),
                               rtol=0, atol=1e-6)
    assert float(tags["SHAP_BASE_VALUE"]) == pytest.approx(float(bundle.predict(background).mean()), abs=1e-6)


def test_a_platform_where_xla_fails_gets_the_unfused_graph(tmp_path):
    import tensorflow as tf

    from deepprospect.core.feedback import Feedback
    from deepprospect.models.bundle import load_bundle, save_bundle
    from deepprospect.models.explain_methods import rescale_attributions

    model = _sigmoid_network(4, seed=6)
    bundle = load_bundle(save_bundle(tmp_path / "m.dpm", [model], dict(
        architecture="pradhan2022_dense", factor_names=NAMES4, normalisation=dict(mean=[0.0] * 4, std=[1.0] * 4))))

    def without_xla(*arguments):
        raise tf.errors.UnimplementedError(None, None, "XLA is not available on this platform")

    bundle.remember(("rescale function", True), lambda: without_xla)
    inputs, references = rng.normal(size=(7, 4)).astype(np.float32), rng.normal(size=(2, 4)).astype(np.float32)
    values = rescale_attributions(bundle, inputs, references, np.ones(2), Feedback())
    np.testing.assert_allclose(values, _float64_rescale(model, inputs, references), rtol=0, atol=1e-6)
    assert rescale_attributions(bundle, inputs, references, np.ones(2), Feedback()) is not None   # stays unfused



def test_map_fidelity_compares_the_references_with_the_whole_background(tmp_path):
    """models.contribution_fidelity against the float64 rescale rule written out here: the maps'
    weighted centres (weighted sum of single-reference explanations) and every background row."""
    from scipy.stats import spearmanr

    from deepprospect.models.bundle import load_bundle, save_bundle
    from deepprospect.models.contribution_fidelity import reference_fidelity
    from deepprospect.models.explain_methods import weighted_centres
    from deepprospect.models.window_tasks import contribution_method

    model = _sigmoid_network(4, seed=7)
    bundle = load_bundle(save_bundle(tmp_path / "m.dpm", [model], dict(
        architecture="pradhan2022_dense", factor_names=NAMES4, normalisation=dict(mean=[0.0] * 4, std=[1.0] * 4))))
    background = rng.normal(size=(30, 4)).astype(np.float32)
    inputs = rng.normal(size=(60, 4)).astype(np.float32)
    centres, weights = weighted_centres(background, 3, 0)
    method = contribution_method(bundle, background, centres, weights, 8, None)
    fidelity = reference_fidelity(bundle, inputs, background, 8, method)

    few = sum(weight * _float64_rescale(model, inputs, centre[None]) for centre, weight in zip(centres, weights))
    every = _float64_rescale(model, inputs, background)
    assert fidelity["pixels"] == 60 and fidelity["background"] == 30
    assert fidelity["difference"] == pytest.approx(np.abs(few - every).mean() / np.abs(every).mean(), abs=1e-4)
    assert fidelity["correlation"] == pytest.approx(
        np.mean([np.corrcoef(few[:, k], every[:, k])[0, 1] for k in range(4)]), abs=1e-4)
    assert fidelity["ranking"] == pytest.approx(spearmanr(np.abs(few).mean(0), np.abs(every).mean(0))[0], abs=1e-6)
    assert 0.05 < fidelity["difference"] < 1.5       # three centres of thirty rows: close, not equal
