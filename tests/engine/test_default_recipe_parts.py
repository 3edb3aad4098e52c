"""The default model's parts against independent references: its spline basis is
scikit-learn's SplineTransformer's, its stored form predicts bit for bit, its SHAP values are
exact against shap's own explainers, the calibration recovers a known probability curve and the
background cells are uniform, valid and outside what they must avoid."""
import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from deepprospect.core.background_cells import draw_background_cells
from deepprospect.core.raster import read_stack_info
from deepprospect.models.additive_boosting import AdditiveBoostingModel, spline_basis, _fit_knots
from deepprospect.models.calibration import FoldScores, calibrate


def _points(seed=0, n=400, background=3000):
    """Factors (n, 4): three continuous and one categorical position 0–2; deposits where factor 0
    passes a threshold in category 1 — a response no straight line follows."""
    rng = np.random.default_rng(seed)

    def draw(count):
        x = rng.normal(size=(count, 4)).astype(np.float32)
        x[:, 3] = rng.integers(0, 3, count)
        return x
    x, cells = draw(n), draw(background)
    logit = -2.0 + 3.0 * (x[:, 0] > 0.5) + 1.5 * (x[:, 3] == 1) + 0.5 * x[:, 1]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return x, y, cells


@pytest.fixture(scope="module")
def fitted():
    x, y, cells = _points()
    model = AdditiveBoostingModel(seed=1, background=cells, categorical_features=[False, False, False, True])
    return model.fit(x, y), x, y, cells


def test_spline_basis_is_scikit_learns():
    from sklearn.preprocessing import SplineTransformer

    rng = np.random.default_rng(2)
    values = rng.gamma(2.0, size=(2000, 2))
    knots = _fit_knots(values)
    reference = SplineTransformer(n_knots=5, degree=3, knots="quantile", extrapolation="constant").fit(values)
    probe = np.r_[values[:300], [[-5.0, -5.0], [50.0, 50.0]], [knots[0][[0, -1]], knots[1][[0, -1]]]].reshape(-1, 2)
    ours = np.column_stack([spline_basis(probe[:, column], knots[column]) for column in range(2)])
    np.testing.assert_allclose(ours, reference.transform(probe), rtol=0, atol=1e-12)


def test_stored_model_predicts_bit_for_bit(fitted):
    model, x, _, cells = fitted
    rebuilt = AdditiveBoostingModel.from_arrays(dict(model.to_arrays()))
    probe = np.r_[x, cells[:500]]
    probe[:5, 3] = np.nan                          # a category unseen in training
    np.testing.assert_array_equal(rebuilt.predict_proba(probe), model.predict_proba(probe))


def test_score_is_the_mean_rank_among_the_background_cells(fitted):
    model, x, _, cells = fitted
    scores = model.member_scores(cells)
    # an independent rank: how many background cells score below, ties counted half
    expected = np.mean([[(np.sum(row < value) + 0.5 * np.sum(row == value)) / len(row) for value in row]
                        for row in scores], axis=0)
    np.testing.assert_allclose(model.score(cells), expected, atol=1e-12)
    assert model.score(cells).mean() == pytest.approx(0.5, abs=1e-3)


def test_additive_member_values_are_shap_linear_explainers(fitted):
    """Member A is a logistic regression of the spline design: shap's LinearExplainer on that
    design, summed per factor, is member A's part of the values (before rescaling)."""
    import shap

    from deepprospect.models.additive_boosting_shap import _additive_values

    model, x, _, cells = fitted
    # 100 rows: shap's default masker would subsample a larger background
    design, reference = model.additive_design(x[:50]), model.additive_design(cells[:100])
    linear = shap.LinearExplainer(model.additive_, reference).shap_values(design)
    widths = [len(knots) + 2 for knots in model.knots_] + list(model.levels_)
    per_factor = np.column_stack([part.sum(axis=1) for part in np.split(linear, np.cumsum(widths)[:-1], axis=1)])
    ours = _additive_values(model, x[:50], cells[:100], np.full(100, 1 / 100))
    np.testing.assert_allclose(ours[:, [0, 1, 2, 3]], per_factor, atol=1e-9)


def test_shap_adds_up_to_the_calibrated_probability(fitted):
    from deepprospect.models.additive_boosting_shap import additive_boosting_shap

    model, x, _, cells = fitted
    model.calibration_ = (np.array([0.0, 0.5, 1.0]), np.array([0.001, 0.01, 0.3]))
    try:
        weights = np.arange(1, 9, dtype=float)
        values, base = additive_boosting_shap(model, x[:100], cells[:8], weights)
        expected_base = np.average(model.predict_proba(cells[:8])[:, 1], weights=weights)
        assert base == pytest.approx(expected_base, abs=1e-12)
        # shap's tree explainer sums in float32 (relative 1e-7 of a member's log-odds)
        np.testing.assert_allclose(base + values.sum(axis=1), model.predict_proba(x[:100])[:, 1], atol=1e-6)
        # the threshold factor and the category drive the law; the third continuous factor is noise
        assert np.abs(values[:, 2]).mean() < np.abs(values[:, 0]).mean()
    finally:
        model.calibration_ = None


def test_calibration_recovers_a_known_curve_and_scales_to_the_prior():
    """Cells with score s hold a known deposit with probability q(s) = 0.002 + 0.02 s²; the
    isotonic calibration must find q, and a stated prior must scale it by prior / mean(q)."""
    rng = np.random.default_rng(5)
    folds = []
    for _ in range(5):
        cells = rng.random(40000)
        holds = rng.random(len(cells)) < 0.002 + 0.02 * cells ** 2
        folds.append(FoldScores(cells[~holds], 2.0, cells[holds]))   # every sampled cell stands for two

    class Member:
        calibration_ = None
    members = [Member()]
    mean_q = 0.002 + 0.02 / 3
    unscaled = calibrate(members, folds, prior=0.0)
    assert unscaled["labelled_prior"] == pytest.approx(mean_q / 2, rel=0.05)      # half the cells were sampled
    knots, probabilities = members[0].calibration_
    for score in (0.2, 0.5, 0.9):
        expected = (0.002 + 0.02 * score ** 2) / (2 - (0.002 + 0.02 * score ** 2))
        assert np.interp(score, knots, probabilities) == pytest.approx(expected, rel=0.25, abs=5e-4)
    assert np.all(np.diff(probabilities) > 0)                                       # keeps the score's ranking
    scaled = calibrate(members, folds, prior=0.05)
    assert scaled["scale"] == pytest.approx(0.05 / scaled["labelled_prior"])
    np.testing.assert_allclose(members[0].calibration_[1], np.minimum(probabilities * scaled["scale"], 1.0), rtol=1e-9)
    predicted, observed = np.array(scaled["reliability"]["predicted"]), np.array(scaled["reliability"]["observed"])
    assert np.all(np.abs(np.log(observed[-5:] / predicted[-5:])) < np.log(1.5))


def _stack(path, nodata_share=0.3, size=60):
    rng = np.random.default_rng(0)
    data = rng.normal(size=(2, size, size)).astype(np.float32)
    data[:, rng.random((size, size)) < nodata_share] = -9999.0
    with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=2, dtype="float32",
                       crs="EPSG:32645", transform=from_origin(1000, 2000, 10, 10), nodata=-9999.0) as dataset:
        dataset.write(data)
        for band, name in ((1, "Sb_con"), (2, "Oli_clay")):
            dataset.set_band_description(band, name)
    return data


def test_background_cells_are_valid_distinct_and_avoid_blocks_and_deposits(tmp_path):
    data = _stack(tmp_path / "stack.tif")
    info = read_stack_info(str(tmp_path / "stack.tif"))
    valid = data[0] != -9999.0
    excluded_cells = np.flatnonzero(valid.ravel())[:40]
    block = (1000.0, 1900.0, 1300.0, 2000.0)           # the top-left 30 × 10 cells
    drawn = draw_background_cells(info, 1000, seed=3, exclude_cells=excluded_cells, exclude_blocks=[block])
    cells = drawn.rows * 60 + drawn.cols
    assert len(cells) == 1000 and len(np.unique(cells)) == 1000
    assert valid[drawn.rows, drawn.cols].all()
    np.testing.assert_array_equal(drawn.values, data[:, drawn.rows, drawn.cols].T)
    assert not np.isin(cells, excluded_cells).any()
    assert not ((drawn.rows < 10) & (drawn.cols < 30)).any()
    assert drawn.valid_cells == pytest.approx(valid.sum(), rel=0.05)
    # asking for more than there is returns every allowed cell once
    everything = draw_background_cells(info, 10 ** 6, seed=3)
    assert len(everything.rows) == valid.sum()
