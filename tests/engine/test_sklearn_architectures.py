"""Classical scikit-learn members (models/sklearn_members.py): stored as plain number arrays
(no pickle) and rebuilt so that predict_proba equals the fitted estimator's bit for bit.

References: scikit-learn's own ``predict_proba`` of the estimator that was fitted; numpy's
``np.load(..., allow_pickle=False)`` of the stored arrays.
"""
import io

import numpy as np
import pytest

from deepprospect.models import sklearn_members

MAKERS = [sklearn_members.linear_model, sklearn_members.forest_model, sklearn_members.boosted_model]


def _points(seed=3, n=240, factors=5):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, factors)).astype(np.float32)
    logit = 1.5 * x[:, 0] - x[:, 1] ** 2 + 0.5 * x[:, 2]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    return x, y


@pytest.mark.parametrize("make", MAKERS, ids=lambda make: make.__name__)
def test_rebuilt_member_predicts_bit_for_bit(make):
    x, y = _points()
    members = sklearn_members.fit_members(make, x, y, seed=5, ensemble_size=2)
    test_x = np.random.default_rng(9).normal(scale=2.0, size=(500, x.shape[1])).astype(np.float32)
    for fitted in members:
        buffer = io.BytesIO()
        np.savez(buffer, **sklearn_members.member_arrays(fitted))
        with np.load(io.BytesIO(buffer.getvalue()), allow_pickle=False) as loaded:
            arrays = {key: loaded[key] for key in loaded.files}
        rebuilt = sklearn_members.rebuild_member(arrays)
        assert type(rebuilt) is type(fitted)
        assert np.array_equal(rebuilt.predict_proba(test_x), fitted.predict_proba(test_x))
    reference = np.array([m.predict_proba(test_x)[:, 1] for m in members], dtype=np.float32)
    assert np.array_equal(sklearn_members.deposit_probabilities(members, test_x), reference)


@pytest.mark.parametrize("make", MAKERS, ids=lambda make: make.__name__)
def test_ensemble_members_are_bootstrap_fits_with_their_own_seeds(make):
    x, y = _points()
    first, second = sklearn_members.fit_members(make, x, y, seed=5, ensemble_size=2)
    chosen = np.random.default_rng(6).integers(0, len(y), len(y))
    alone = make(6, "balanced").fit(x[chosen], y[chosen])
    assert np.array_equal(alone.predict_proba(x), second.predict_proba(x))
    assert not np.array_equal(first.predict_proba(x), second.predict_proba(x))
    single, = sklearn_members.fit_members(make, x, y, seed=5, ensemble_size=1)
    assert np.array_equal(single.predict_proba(x), make(5, "balanced").fit(x, y).predict_proba(x))


@pytest.mark.parametrize("make", MAKERS, ids=lambda make: make.__name__)
def test_bundle_of_sklearn_members_round_trips_without_pickle(tmp_path, make):
    import zipfile

    from deepprospect.models.bundle import load_bundle, save_bundle

    x, y = _points()
    members = sklearn_members.fit_members(make, x, y, seed=5, ensemble_size=2)
    factors = ["f{}".format(index) for index in range(x.shape[1])]
    metadata = {"architecture": "pradhan2022_dense", "factor_names": factors, "patch_size": 1,
                "normalisation": {"mean": [0.0] * len(factors), "std": [1.0] * len(factors)}}
    path = save_bundle(tmp_path / "model.dpm", members, metadata, background=x[:10])
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        assert not any(name.startswith("keras/") for name in names)
        for name in (n for n in names if n.endswith((".npz", ".npy"))):
            loaded = np.load(io.BytesIO(archive.read(name)), allow_pickle=False)
            if hasattr(loaded, "files"):
                assert all(loaded[key].dtype != object for key in loaded.files)
    bundle = load_bundle(path)
    assert bundle.metadata["network"]["kind"] == "sklearn"
    test_x = np.random.default_rng(9).normal(scale=2.0, size=(300, x.shape[1])).astype(np.float32)
    reference = np.array([m.predict_proba(test_x)[:, 1] for m in members], dtype=np.float32)
    assert np.array_equal(bundle.predict_members(test_x), reference)
    for loaded, fitted in zip(bundle.members, members):
        assert np.array_equal(loaded.predict_proba(test_x), fitted.predict_proba(test_x))
