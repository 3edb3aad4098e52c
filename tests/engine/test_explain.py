"""models/explain.py: SHAP of small Keras models against closed forms and the province's known truth."""
import numpy as np
import pytest

from deepprospect.core.errors import DeepProspectError
from deepprospect.core.raster import read_stack_info, sample_stack, pixel_centres


# Small models trained here (training.py is another issue's) -----------------------------

def dense_network(inputs, hidden, output_activation="softmax"):
    """A bundle-storable plain stack: ReLU layers of ``hidden`` units, then 2 outputs
    (models.architectures' ``sequential`` description, built with build_network)."""
    from deepprospect.models.architectures import build_network

    layers = [{"type": "dense", "units": units, "activation": "relu"} for units in hidden]
    layers.append({"type": "dense", "units": 2, "activation": output_activation})
    return build_network({"architecture": "sequential", "input_shape": [inputs], "layers": layers})


def province_training_data(province, seed=0, negatives_per_deposit=5):
    """Raw factor values and labels: the deposits (1) and random valid pixels (0)."""
    import geopandas as gpd

    info = read_stack_info(province["truth_evidence"])
    deposits = gpd.read_file(province["deposits"])
    xy = np.column_stack([deposits.geometry.x, deposits.geometry.y])
    positives, ok, _, _ = sample_stack(info.path, xy)
    positives = positives[ok]
    rng = np.random.default_rng(seed)
    flat = rng.choice(info.width * info.height, size=negatives_per_deposit * len(positives), replace=False)
    negatives, ok, _, _ = sample_stack(info.path, pixel_centres(info, flat // info.width, flat % info.width))
    negatives = negatives[ok]
    values = np.vstack([positives, negatives]).astype(np.float32)
    labels = np.concatenate([np.ones(len(positives)), np.zeros(len(negatives))]).astype(np.int64)
    return values, labels, info


def save_pixel_bundle(path, values, labels, factor_names, members=1, seed=0, epochs=30, hidden=(32, 16)):
    """Train ``members`` small dense softmax models on standardised ``values`` and save a bundle."""
    import tensorflow as tf

    from deepprospect.models.bundle import save_bundle

    mean, std = values.mean(axis=0), values.std(axis=0) + 1e-6
    standardised = (values - mean) / std
    models = []
    for member in range(members):
        tf.keras.utils.set_random_seed(seed + member)
        model = dense_network(values.shape[1], hidden)
        model.compile(tf.keras.optimizers.Adam(0.005), "sparse_categorical_crossentropy")
        model.fit(standardised, labels, epochs=epochs, batch_size=64, verbose=0)
        models.append(model)
    rng = np.random.default_rng(seed)
    background = values[rng.choice(len(values), size=min(100, len(values)), replace=False)]
    metadata = dict(architecture="pradhan2022_dense", factor_names=list(factor_names),
                    normalisation=dict(mean=mean.tolist(), std=std.tolist()), seed=seed)
    return save_bundle(path, models, metadata, background=background)


def save_linear_bundle(path, weights, mean, std, factor_names, background=None):
    """A model whose deposit output is exactly ``Σ w_j z_j`` of the standardised inputs z."""
    from deepprospect.models.bundle import save_bundle

    model = dense_network(len(weights), (), output_activation="linear")
    kernel = np.zeros((len(weights), 2), np.float32)
    kernel[:, 1] = weights
    model.layers[-1].set_weights([kernel, np.zeros(2, np.float32)])
    metadata = dict(architecture="pradhan2022_dense", factor_names=list(factor_names),
                    normalisation=dict(mean=list(mean), std=list(std)))
    return save_bundle(path, [model], metadata, background=background)


@pytest.fixture(scope="module")
def province_bundle(province, tmp_path_factory):
    from deepprospect.models.bundle import load_bundle

    values, labels, info = province_training_data(province)
    path = save_pixel_bundle(tmp_path_factory.mktemp("explain") / "province.dpm", values, labels, info.factor_names)
    return load_bundle(path)


# Tests -------------------------------------------------------------------------------------

def test_linear_model_matches_closed_form(province_stack, tmp_path):
    """For f(z) = w·z with independent background, SHAP_j = w_j (z_j − mean_bg z_j) exactly."""
    from deepprospect.models.bundle import load_bundle
    from deepprospect.models import explain

    info = read_stack_info(province_stack)
    n = len(info.factor_names)
    rng = np.random.default_rng(3)
    weights = rng.normal(size=n).astype(np.float32)
    values, _, _, _ = sample_stack(province_stack, pixel_centres(info, rng.integers(0, 80, 300), rng.integers(0, 80, 300)))
    mean, std = values.mean(axis=0), values.std(axis=0)
    background = values[:50]
    bundle = load_bundle(save_linear_bundle(tmp_path / "linear.dpm", weights, mean, std, info.factor_names, background))
    rows, cols = np.array([5, 40, 77]), np.array([9, 33, 70])
    raw, _, _, _ = sample_stack(province_stack, pixel_centres(info, rows, cols))
    z, z_background = (raw - mean) / std, (background - mean) / std
    expected = weights * (z - z_background.mean(axis=0))
    for name in ("gradient", "deep", "kernel"):
        result = explain.explain_pixels(bundle, province_stack, rows, cols, explainer=name, background_size=50)
        np.testing.assert_allclose(result["shap_values"], expected, atol=2e-3, err_msg=name)
        np.testing.assert_allclose(result["factor_values"], raw, rtol=1e-6)
        assert result["additivity_error"] < 1e-3, name


@pytest.fixture(scope="module")
def province40(tmp_path_factory):
    """A 40 km province: at 20 km, fields with 5–8 km correlation lengths correlate by chance
    (Pb_con with Co_con −0.58, Cu_con −0.68 at seed 1), so no model can tell them apart."""
    from deepprospect.core import synthetic

    return synthetic.generate_province(tmp_path_factory.mktemp("province40"), size_km=40, seed=1)


def test_province_true_top_three_in_computed_top_five(province40, tmp_path):
    """A 3-member ensemble fitted to the province's true probability surface (the law the deposits
    were drawn from) must be explained with the generator's favourable factors on top."""
    import rasterio
    import tensorflow as tf

    from deepprospect.models.bundle import load_bundle, save_bundle
    from deepprospect.models import explain

    stack = province40["truth_evidence"]
    with rasterio.open(stack) as dataset:
        values = dataset.read().reshape(dataset.count, -1).T.astype(np.float32)
        names = list(dataset.descriptions)
    with rasterio.open(province40["truth_probability"]) as dataset:
        probability = dataset.read(1).ravel()
    mean, std = values.mean(axis=0), values.std(axis=0)
    members = []
    for member in range(3):
        tf.keras.utils.set_random_seed(10 + member)
        model = dense_network(16, (32, 16))
        model.compile(tf.keras.optimizers.Adam(0.005), "categorical_crossentropy")
        model.fit((values - mean) / std, np.column_stack([1 - probability, probability]), epochs=10,
                  batch_size=128, verbose=0)
        members.append(model)
    background = values[np.random.default_rng(10).choice(len(values), 100, replace=False)]
    bundle = load_bundle(save_bundle(tmp_path / "province40.dpm", members, dict(
        architecture="pradhan2022_dense", factor_names=names, normalisation=dict(mean=mean, std=std)),
        background=background))

    result = explain.explain_sample(bundle, stack, sample_size=600, background_size=100, seed=1)
    ranking = [name for name, _ in explain.importance(result)]
    truth = province40["truth"]["importance_ranking"][:3]
    assert set(truth) <= set(ranking[:5]), (ranking, truth)
    assert result["shap_values"].shape == (600, 16)
    assert result["additivity_error"] < explain.ADDITIVITY_TOLERANCE
    # same inputs and seed → same outputs
    again = explain.explain_sample(bundle, stack, sample_size=600, background_size=100, seed=1)
    np.testing.assert_array_equal(result["shap_values"], again["shap_values"])


def test_gradient_and_kernel_agree_on_top_three(province_stack, tmp_path):
    """A small network fitted to a known law (Sb_con > Oli_clay > Mag_anamol, nothing else): both
    explainers must rank those three first, in that order."""
    import rasterio
    import tensorflow as tf

    from deepprospect.models.bundle import load_bundle, save_bundle
    from deepprospect.models import explain, explain_methods

    with rasterio.open(province_stack) as dataset:
        values = dataset.read().reshape(dataset.count, -1).T.astype(np.float32)
        names = list(dataset.descriptions)
    z = (values - values.mean(axis=0)) / values.std(axis=0)
    logit = -2.0 + 2.0 * z[:, names.index("Sb_con")] + 1.2 * z[:, names.index("Oli_clay")] \
        + 0.8 * z[:, names.index("Mag_anamol")]
    probability = 1 / (1 + np.exp(-logit))
    tf.keras.utils.set_random_seed(0)
    model = dense_network(16, (16,))
    model.compile(tf.keras.optimizers.Adam(0.01), "categorical_crossentropy")
    model.fit(z, np.column_stack([1 - probability, probability]), epochs=20, batch_size=64, verbose=0)
    bundle = load_bundle(save_bundle(tmp_path / "law.dpm", [model], dict(
        architecture="pradhan2022_dense", factor_names=names,
        normalisation=dict(mean=values.mean(axis=0), std=values.std(axis=0))), background=values[::97]))
    # 10 background rows: the kernel explainer then uses the same background, not k-means centres
    common = dict(sample_size=60, background_size=explain_methods.KERNEL_CENTRES, seed=2)
    gradient = explain.explain_sample(bundle, province_stack, explainer="gradient", **common)
    kernel = explain.explain_sample(bundle, province_stack, explainer="kernel", **common)
    top_gradient = [name for name, _ in explain.importance(gradient)[:3]]
    top_kernel = [name for name, _ in explain.importance(kernel)[:3]]
    assert top_gradient == top_kernel
    # the third may be Boug_anamol, which correlates with Mag_anamol over this small area
    assert top_gradient[:2] == ["Sb_con", "Oli_clay"]
    assert kernel["additivity_error"] < 1e-3


def test_points_come_first_with_labels(province, province_stack, province_bundle):
    import geopandas as gpd
    from deepprospect.models import explain

    deposits = gpd.read_file(province["deposits"])
    xy = np.column_stack([deposits.geometry.x, deposits.geometry.y])[:10]
    result = explain.explain_sample(province_bundle, province_stack, points_xy=xy, points_labels=np.ones(10),
                                    sample_size=30, background_size=30, seed=0)
    assert np.all(result["labels"][:10] == 1) and np.all(np.isnan(result["labels"][10:]))
    np.testing.assert_allclose(result["xy"][:10], xy, atol=125.0)   # pixel centres of 250 m cells


def test_every_deposit_is_explained_when_points_outnumber_the_sample(province, province_stack, province_bundle):
    """More points than pixels to explain: every deposit is kept (in point order), the rest of the
    sample is a draw of the non-deposits, never a draw that leaves deposits out."""
    import geopandas as gpd
    from deepprospect.core.raster import read_stack_info, sample_stack
    from deepprospect.models import explain

    deposits = gpd.read_file(province["deposits"])
    deposit_xy = np.column_stack([deposits.geometry.x, deposits.geometry.y])[:6]
    info = read_stack_info(province_stack)
    rng = np.random.default_rng(3)
    barren_xy = np.column_stack([rng.uniform(info.bounds[0] + 500, info.bounds[2] - 500, 40),
                                 rng.uniform(info.bounds[1] + 500, info.bounds[3] - 500, 40)])
    xy = np.vstack([barren_xy[:20], deposit_xy, barren_xy[20:]])       # deposits in the middle
    labels = np.r_[np.zeros(20), np.ones(6), np.zeros(20)]
    _, ok, rows, cols = sample_stack(province_stack, xy)
    cells = rows * info.width + cols
    assert ok.all() and len(np.unique(cells[20:26])) == 6 and not np.isin(cells[20:26], np.r_[cells[:20], cells[26:]]).any()
    result = explain.explain_sample(province_bundle, province_stack, points_xy=xy, points_labels=labels,
                                    sample_size=12, background_size=20, seed=0)
    assert result["labels"].tolist() == [1.0] * 6 + [0.0] * 6
    np.testing.assert_allclose(result["xy"][:6], deposit_xy, atol=125.0)   # pixel centres of 250 m cells


def test_ensemble_is_mean_of_members(province, province_stack, tmp_path):
    from deepprospect.models.bundle import ModelBundle, load_bundle
    from deepprospect.models import explain

    values, labels, info = province_training_data(province, seed=4)
    bundle = load_bundle(save_pixel_bundle(tmp_path / "ens.dpm", values, labels, info.factor_names,
                                           members=2, epochs=15))
    rows, cols = np.array([10, 50]), np.array([20, 60])
    for name in ("gradient", "deep"):
        both = explain.explain_pixels(bundle, province_stack, rows, cols, explainer=name, background_size=40)
        singles = [explain.explain_pixels(ModelBundle(bundle.metadata, [member], bundle.background), province_stack,
                                          rows, cols, explainer=name, background_size=40)
                   for member in bundle.members]
        np.testing.assert_allclose(both["shap_values"], np.mean([s["shap_values"] for s in singles], axis=0),
                                   atol=1e-5, err_msg=name)
        np.testing.assert_allclose(both["prediction"], np.mean([s["prediction"] for s in singles], axis=0), atol=1e-6)


def test_patch_model_sums_over_cells_and_adds_up(province_stack, tmp_path):
    import tensorflow as tf

    from deepprospect.models.architectures import build_network
    from deepprospect.models.bundle import load_bundle, save_bundle
    from deepprospect.models import explain

    info = read_stack_info(province_stack)
    n = len(info.factor_names)
    tf.keras.utils.set_random_seed(0)
    model = build_network({"architecture": "sequential", "input_shape": [3, 3, n], "layers": [
        {"type": "conv2d", "filters": 8, "kernel_size": 3, "padding": "same", "activation": "relu"},
        {"type": "flatten"}, {"type": "dense", "units": 2, "activation": "softmax"}]})
    rng = np.random.default_rng(0)
    values, _, _, _ = sample_stack(province_stack, pixel_centres(info, rng.integers(0, 80, 200), rng.integers(0, 80, 200)))
    metadata = dict(architecture="cnn2d_patch", patch_size=3, factor_names=info.factor_names,
                    normalisation=dict(mean=values.mean(0).tolist(), std=values.std(0).tolist()))
    bundle = load_bundle(save_bundle(tmp_path / "patch.dpm", [model], metadata))
    rows, cols = np.array([0, 40]), np.array([0, 41])          # a corner pixel exercises the padding
    deep = explain.explain_pixels(bundle, province_stack, rows, cols, explainer="deep", background_size=30)
    gradient = explain.explain_pixels(bundle, province_stack, rows, cols, explainer="gradient", background_size=30)
    assert deep["shap_values"].shape == (2, n) and deep["additivity_error"] < 1e-4
    assert gradient["additivity_error"] < 0.01
    with pytest.raises(DeepProspectError, match="gradient or deep"):
        explain.explain_pixels(bundle, province_stack, rows, cols, explainer="kernel")
    output = explain.contribution_map(bundle, province_stack, tmp_path / "patch_map.tif", background_size=30,
                                      references=4, steps=4, block_size=32)
    _check_map_matches_pixels(output["path"], bundle, province_stack, rows, cols, references=4, steps=4)


def _check_map_matches_pixels(path, bundle, stack, rows, cols, references, steps):
    import rasterio

    with rasterio.open(path) as dataset:
        assert list(dataset.descriptions) == bundle.factor_names
        maps = dataset.read()
        base = float(dataset.tags()["SHAP_BASE_VALUE"])
    info = read_stack_info(stack)
    with rasterio.open(stack) as dataset:
        valid = (dataset.read() != info.nodata).all(axis=0)
    assert np.all((maps[0] == -9999.0) == ~valid)
    from deepprospect.models import explain

    raw, inputs = explain.read_model_inputs(bundle, info, rows, cols)
    prediction = bundle.predict(inputs)
    np.testing.assert_allclose(base + maps[:, rows, cols].sum(axis=0), prediction, atol=0.02)


def test_contribution_map_of_pixel_model(province_stack, province_bundle, tmp_path):
    from deepprospect.models import explain

    output = explain.contribution_map(province_bundle, province_stack, tmp_path / "map.tif", references=8, steps=16,
                                      block_size=32, seed=0)
    assert output["additivity_error"] < 0.05
    assert output["valid_pixels"] == 80 * 80
    _check_map_matches_pixels(output["path"], province_bundle, province_stack, np.array([3, 70]), np.array([60, 5]),
                              references=8, steps=16)


def test_bad_inputs_are_clear(province_stack, province_bundle, tmp_path):
    from deepprospect.models import explain

    with pytest.raises(DeepProspectError, match="outside the evidence stack"):
        explain.explain_pixels(province_bundle, province_stack, [500], [3])
    with pytest.raises(DeepProspectError, match="Unknown explainer"):
        explain.explain_pixels(province_bundle, province_stack, [1], [3], explainer="lime")
    with pytest.raises(DeepProspectError, match="SAMPLE_SIZE"):
        explain.explain_sample(province_bundle, province_stack, sample_size=0)


def test_explainers_run_where_qgis_has_no_console_streams(province_stack, tmp_path, monkeypatch):
    """Inside desktop QGIS sys.stdout/sys.stderr can be None; shap's tqdm progress bars must not
    break there, and the streams are put back afterwards."""
    import sys

    from deepprospect.models import explain
    from deepprospect.models.bundle import load_bundle

    info = read_stack_info(province_stack)
    n = len(info.factor_names)
    rng = np.random.default_rng(5)
    values, _, _, _ = sample_stack(province_stack, pixel_centres(info, rng.integers(0, 80, 120), rng.integers(0, 80, 120)))
    bundle = load_bundle(save_linear_bundle(tmp_path / "linear.dpm", np.linspace(-1, 1, n).astype(np.float32),
                                            values.mean(axis=0), values.std(axis=0), info.factor_names, values[:40]))
    monkeypatch.setattr(sys, "stdout", None)
    monkeypatch.setattr(sys, "stderr", None)
    for name in ("kernel", "deep", "gradient"):
        result = explain.explain_pixels(bundle, province_stack, np.array([3, 50]), np.array([7, 60]),
                                        explainer=name, background_size=40)
        assert result["shap_values"].shape == (2, n), name
        assert sys.stdout is None and sys.stderr is None, name
