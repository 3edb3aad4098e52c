"""Success-rate curve (core/success_rate.py) against closed forms and scikit-learn's ROC AUC."""
import numpy as np
import pytest

from deepprospect.core.errors import DeepProspectError
from deepprospect.core.success_rate import SuccessRateAccumulator, success_rate


def test_exact_small_case_by_hand():
    # 10 pixels ranked 0.9 … 0.0; deposits on the pixels of 0.9 and 0.5.
    pixels = np.linspace(0.0, 0.9, 10)
    curve = success_rate(pixels, [0.9, 0.5])
    # Deposit at 0.9: 9 pixels below, 1 tie → 9.5/10; deposit at 0.5: 5 below, 1 tie → 5.5/10.
    assert curve.auc == pytest.approx((0.95 + 0.55) / 2)
    # Top 10 % of the area (the 0.9 pixel) holds half the deposits; top 50 % holds all.
    assert curve.captured_at(0.1) == pytest.approx(0.5)
    assert curve.captured_at(0.5) == pytest.approx(1.0)
    assert curve.area_fraction[0] == 0 and curve.area_fraction[-1] == 1
    assert curve.captured_fraction[0] == 0 and curve.captured_fraction[-1] == 1
    assert np.all(np.diff(curve.area_fraction) >= 0) and np.all(np.diff(curve.captured_fraction) >= 0)


def test_deposits_on_top_ranked_pixels_give_auc_near_one():
    rng = np.random.default_rng(0)
    pixels = rng.random(100_000)
    top = np.sort(pixels)[-20:]
    curve = success_rate(pixels, top)
    # Closed form: the deposit of rank r from the top outranks N - r pixels (ties: itself, half).
    n = pixels.size
    expected = np.mean([(n - rank - 0.5) / n for rank in range(20)])
    assert curve.auc == pytest.approx(expected, abs=1e-12)
    assert curve.auc > 0.999
    assert curve.captured_at(20 / n) == pytest.approx(1.0)


def test_random_deposits_give_auc_near_half():
    rng = np.random.default_rng(1)
    pixels = rng.random(200_000)
    deposits = pixels[rng.choice(pixels.size, 2000, replace=False)]
    curve = success_rate(pixels, deposits)
    assert curve.auc == pytest.approx(0.5, abs=0.02)
    assert curve.captured_at(0.25) == pytest.approx(0.25, abs=0.03)


def test_auc_equals_mann_whitney_from_scikit_learn_with_ties():
    from sklearn.metrics import auc, roc_auc_score

    rng = np.random.default_rng(2)
    pixels = np.round(rng.beta(2, 5, 5000), 2)         # rounding makes many ties
    deposits = np.round(rng.beta(4, 3, 37), 2)
    curve = success_rate(pixels, deposits)
    labels = np.r_[np.zeros(pixels.size), np.ones(deposits.size)]
    reference = roc_auc_score(labels, np.r_[pixels, deposits])
    assert curve.auc == pytest.approx(reference, abs=1e-12)
    # The trapezoid under the returned vertices is the same number.
    assert auc(curve.area_fraction, curve.captured_fraction) == pytest.approx(reference, abs=1e-12)


def test_streaming_in_blocks_equals_one_shot():
    rng = np.random.default_rng(3)
    pixels = rng.random(30_000).astype(np.float32)
    deposits = pixels[:50]
    one_shot = success_rate(pixels, deposits)
    accumulator = SuccessRateAccumulator(deposits)
    for block in np.array_split(pixels, 7):
        accumulator.add(block)
    streamed = accumulator.result()
    assert streamed.auc == one_shot.auc
    np.testing.assert_array_equal(streamed.captured_fraction, one_shot.captured_fraction)
    np.testing.assert_array_equal(streamed.area_fraction, one_shot.area_fraction)


def test_no_deposits_or_no_pixels_is_a_clear_error():
    with pytest.raises(DeepProspectError, match="deposit"):
        success_rate(np.ones(10), [])
    with pytest.raises(DeepProspectError, match="no valid pixel"):
        SuccessRateAccumulator([0.5]).result()
