"""SHAP contribution maps of scikit-learn bundles (models/sklearn_contribution.py through
models/explain.contribution_map), on the conftest's 80 × 80 province stack with tiny models.

References, computed here independently of the code under test:
* logistic regression: coef · (x − mean of the background) in log-odds, scaled per pixel by the
  logistic secant slope (the closed form ``models.sklearn_shap`` documents), from the bundle's
  stored coefficients (``test_sklearn_architectures._check_linear_closed_form``);
* trees: ``shap.TreeExplainer`` (interventional, probability output) called directly on the
  fitted estimators, and scikit-learn's own ``predict_proba`` for additivity at every pixel.
"""
import numpy as np
import pytest
import rasterio

from deepprospect.models import sklearn_members

SEED = 4


def _small_forest(seed, class_weight):
    """A 15-tree random forest (the catalog's has 300: too slow for a test of exactness)."""
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=15, min_samples_leaf=sklearn_members.FOREST_MIN_LEAF,
                                  class_weight=class_weight, random_state=seed, n_jobs=1)


def _small_boosting(seed, class_weight):
    """A 30-iteration histogram gradient boosting (the catalog's settings otherwise)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=30, class_weight=class_weight, early_stopping=False,
                                          random_state=seed)


def _stack(path):
    """(raw values float32 (bands, rows, cols), valid mask, factor names) of the whole stack."""
    with rasterio.open(path) as stack:
        raw = stack.read().astype(np.float32)
        return raw, (stack.read_masks() > 0).all(axis=0), list(stack.descriptions)


def _tiny_bundle(stack_path, folder, make, architecture, background_rows):
    """A 2-member bundle of ``make``'s estimator fitted on 300 random pixels (label: a noisy
    threshold on two factors), with ``background_rows`` raw pixels as its SHAP background.
    Returns (loaded bundle, fitted members)."""
    from deepprospect.models.bundle import load_bundle, save_bundle

    raw, valid, names = _stack(stack_path)
    rng = np.random.default_rng(SEED)
    rows, cols = np.nonzero(valid)
    chosen = rng.choice(len(rows), size=300, replace=False)
    values = raw[:, rows[chosen], cols[chosen]].T
    mean, std = values.mean(axis=0), values.std(axis=0)
    x = ((values - mean) / std).astype(np.float32)
    labels = (x[:, 0] - 0.7 * x[:, 3] + rng.normal(scale=0.5, size=len(x)) > 0.3).astype(np.int64)
    members = sklearn_members.fit_members(make, x, labels, seed=SEED, ensemble_size=2)
    metadata = dict(architecture=architecture, factor_names=names, patch_size=1,
                    normalisation=dict(mean=mean.tolist(), std=std.tolist()))
    path = save_bundle(folder / "{}.dpm".format(architecture), members, metadata, background=values[:background_rows])
    return load_bundle(path), members


def _map(path):
    """(bands (factors, rows, cols), tags) of a contribution map."""
    with rasterio.open(path) as dataset:
        return dataset.read(), dataset.tags()


def _check_adds_up(bundle, stack_path, maps, base):
    """base + Σ bands == the bundle's ensemble-mean probability at every valid pixel (1e-5),
    nodata elsewhere; returns the standardised inputs of every pixel (factors last)."""
    raw, valid, _ = _stack(stack_path)
    mean = np.asarray(bundle.metadata["normalisation"]["mean"], dtype=np.float32)
    std = np.asarray(bundle.metadata["normalisation"]["std"], dtype=np.float32)
    x = ((np.moveaxis(raw, 0, -1) - mean) / std).astype(np.float32)
    probability = np.mean([member.predict_proba(x[valid])[:, 1] for member in bundle.members], axis=0)
    np.testing.assert_allclose(base + maps[:, valid].sum(axis=0), probability, rtol=0, atol=1e-5)
    assert np.all(maps[:, ~valid] == -9999.0)
    return x


def test_linear_map_is_the_closed_form(province_stack, tmp_path):
    from test_sklearn_architectures import _check_linear_closed_form

    from deepprospect.models.explain import contribution_map

    bundle, _ = _tiny_bundle(province_stack, tmp_path, sklearn_members.linear_model, "logistic_regression", 40)
    result = contribution_map(bundle, province_stack, tmp_path / "linear.tif", background_size=40, references=3,
                              block_size=32)
    maps, tags = _map(result["path"])
    assert "LinearExplainer" in tags["SHAP_METHOD"] and result["additivity_error"] < 1e-5
    base = float(tags["SHAP_BASE_VALUE"])
    _check_adds_up(bundle, province_stack, maps, base)
    raw, _, _ = _stack(province_stack)
    rows, cols = np.array([0, 17, 40, 79, 63]), np.array([5, 79, 41, 0, 22])
    _check_linear_closed_form(bundle, dict(explainer="linear", factor_values=raw[:, rows, cols].T.astype(np.float64),
                                           shap_values=maps[:, rows, cols].T, base_value=base))


def _direct_tree_shap(members, inputs, background):
    """shap.TreeExplainer of each fitted member against ``background`` (equal weights), deposit
    class, averaged: (values (n, f), base value)."""
    import shap

    values, base = np.zeros(inputs.shape), 0.0
    for member in members:
        explainer = shap.TreeExplainer(member, data=background, model_output="probability",
                                       feature_perturbation="interventional")
        member_values = np.asarray(explainer.shap_values(inputs, check_additivity=False))
        values += member_values[..., 1] if member_values.ndim == 3 else member_values
        base += float(np.atleast_1d(explainer.expected_value)[-1])
    return values / len(members), base / len(members)


@pytest.mark.parametrize("make, architecture", [(_small_forest, "random_forest"),
                                                (_small_boosting, "gradient_boosting")])
def test_tree_map_adds_up_and_equals_shap_tree_explainer(province_stack, tmp_path, make, architecture):
    """With MAP_REFERENCES at least the background's rows the references are the background
    itself, equally weighted: the map must equal shap's TreeExplainer against that background.
    (Additivity at every pixel also covers a forest pixel whose value equals a split threshold's
    float32 rounding, where shap and scikit-learn once went different ways.)"""
    from deepprospect.models.explain import contribution_map

    bundle, fitted = _tiny_bundle(province_stack, tmp_path, make, architecture, 4)
    result = contribution_map(bundle, province_stack, tmp_path / "tree.tif", background_size=4, references=8,
                              block_size=32)
    maps, tags = _map(result["path"])
    assert "TreeExplainer" in tags["SHAP_METHOD"] and result["additivity_error"] < 1e-5
    assert result["valid_pixels"] == 80 * 80
    x = _check_adds_up(bundle, province_stack, maps, float(tags["SHAP_BASE_VALUE"]))
    rows, cols = np.array([2, 30, 55, 78]), np.array([70, 31, 9, 78])
    background = bundle.standardise(bundle.background)
    expected, base = _direct_tree_shap(fitted, x[rows, cols], background)
    np.testing.assert_allclose(maps[:, rows, cols].T, expected, rtol=0, atol=1e-5)
    assert float(tags["SHAP_BASE_VALUE"]) == pytest.approx(base, abs=1e-6)


def test_tree_map_against_weighted_references(province_stack, tmp_path):
    """Fewer references than background rows: k-means centres (cluster shares as weights), each
    replaced by its nearest background row; the base value is the weighted mean prediction at
    those rows and the map still adds up at every pixel."""
    from sklearn.cluster import KMeans

    from deepprospect.models.explain import contribution_map

    bundle, fitted = _tiny_bundle(province_stack, tmp_path, _small_forest, "random_forest", 30)
    result = contribution_map(bundle, province_stack, tmp_path / "weighted.tif", background_size=30, references=3,
                              seed=7, block_size=64)
    maps, tags = _map(result["path"])
    _check_adds_up(bundle, province_stack, maps, float(tags["SHAP_BASE_VALUE"]))
    background = bundle.standardise(bundle.background)
    kmeans = KMeans(n_clusters=3, n_init=4, random_state=7).fit(background)
    weights = np.bincount(kmeans.labels_, minlength=3) / len(background)
    nearest = [np.argmin(((background - centre) ** 2).sum(axis=1)) for centre in kmeans.cluster_centers_]
    at_references = np.mean([member.predict_proba(background[nearest])[:, 1] for member in fitted], axis=0)
    assert float(tags["SHAP_BASE_VALUE"]) == pytest.approx(float(np.dot(weights, at_references)), abs=1e-6)
    assert tags["SHAP_REFERENCES"] == "3"
