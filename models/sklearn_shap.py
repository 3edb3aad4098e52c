"""SHAP of a bundle whose members are scikit-learn estimators (``models.sklearn_members``), in the
same output as the networks' explainers (``models.explain_methods``): SHAP values (n, n_factors)
in deposit-probability units and a base value, averaged over the members, so that base value +
sum of SHAP = the ensemble-mean deposit probability.

* Trees (random forest, gradient boosting): ``shap.TreeExplainer`` with the background as data
  (interventional), ``model_output="probability"``: exact Shapley values of each member's deposit
  probability, base value = its mean over the background.
* Logistic regression: ``shap.LinearExplainer`` against the background (independent features):
  φᵢ = coefᵢ · (xᵢ − mean of background i) in log-odds, base = intercept + coef · background mean.
  To report probability units like every other model, each pixel's log-odds values are scaled
  by the secant slope of the logistic function between the base log-odds b and the pixel's
  log-odds z, (σ(z) − σ(b)) / (z − b) (σ'(b) when z = b): the values keep their ratios (the
  ranking of factors is the linear model's) and add up to σ(z) − σ(b) exactly.
"""
import numpy as np

from .additive_boosting_shap import additive_boosting_shap
from .boosting_categories import categorical_tree_shap, has_categories


def sklearn_shap(members, inputs, background, feedback, weights=None):
    """(SHAP values float32 (n, n_factors), base value float) of the ensemble-mean deposit
    probability of scikit-learn ``members`` for standardised ``inputs`` (n, n_factors) against
    the standardised ``background`` (k, n_factors) (rows weighted by ``weights`` (k,) for the
    default model; None: equally)."""
    inputs = np.asarray(inputs, dtype=np.float32)
    background = np.asarray(background, dtype=np.float32)
    total, base = np.zeros(inputs.shape, dtype=np.float64), 0.0
    for number, member in enumerate(members):
        feedback.check_canceled()
        if explainer_name(member) == "additive":
            values, member_base = additive_boosting_shap(member, inputs, background, weights)
        else:
            values, member_base = (_linear if hasattr(member, "coef_") else tree_shap)(member, inputs, background)
        total += values
        base += member_base
        feedback.set_progress(100.0 * (number + 1) / len(members))
    return (total / len(members)).astype(np.float32), base / len(members)


def explainer_label(member):
    """The explainer of ``member`` in words, for messages and the report."""
    return {"linear": "shap's linear explainer", "tree": "shap's tree explainer",
            "additive": "its additive terms and shap's tree explainer per member, rescaled through the rank "
                        "average and the calibration"}[explainer_name(member)]


def explainer_name(member):
    """The explainer used for ``member``: "linear", "tree" or "additive" (the default model's,
    ``models.additive_boosting_shap``)."""
    if hasattr(member, "additive_"):
        return "additive"
    return "linear" if hasattr(member, "coef_") else "tree"


def linear_log_odds(member, inputs, background):
    """shap.LinearExplainer's (values (n, n_factors), base value) in log-odds for a logistic regression."""
    import shap

    explainer = shap.LinearExplainer(member, background)
    values = np.asarray(explainer.shap_values(inputs), dtype=np.float64)
    return values, float(np.atleast_1d(explainer.expected_value)[-1])


def _linear(member, inputs, background):
    values, base = linear_log_odds(member, inputs, background)
    log_odds = base + values.sum(axis=1)
    probability = _deposit(member, inputs)
    base_probability = 1.0 / (1.0 + np.exp(-base))
    change = log_odds - base
    flat = np.abs(change) < 1e-12
    slope = np.where(flat, base_probability * (1.0 - base_probability),
                     (probability - base_probability) / np.where(flat, 1.0, change))
    scaled = values * slope[:, None]
    return scaled, base_probability


def tree_shap(member, inputs, background, model_output="probability"):
    """shap's TreeExplainer (interventional) of a tree ``member``: (values float64 (n, n_columns),
    base value) of its deposit probability (``model_output`` "probability") or log-odds ("raw")."""
    import shap

    if has_categories(member):             # native categorical splits: shap would read them as thresholds
        return categorical_tree_shap(member, inputs, background, model_output=model_output)
    member = _float32_thresholds(member) if hasattr(member, "_predictors") else _forest_float32_thresholds(member)
    explainer = shap.TreeExplainer(member, data=background, model_output=model_output,
                                   feature_perturbation="interventional")
    values = np.asarray(explainer.shap_values(inputs, check_additivity=False), dtype=np.float64)
    if values.ndim == 3:                   # one slice per class: keep the deposit class's
        values = values[..., list(member.classes_).index(1)]
    return values, float(np.atleast_1d(explainer.expected_value)[-1])


def _deposit(member, inputs):
    """The member's deposit probability (float64 (n,)) as the bundle predicts it (float32)."""
    from .sklearn_members import deposit_probabilities

    return deposit_probabilities([member], inputs)[0].astype(np.float64)


def _round_down_to_float32(thresholds):
    """The largest float32 ≤ each float64 threshold (as float32)."""
    rounded = thresholds.astype(np.float32)
    above = rounded.astype(np.float64) > thresholds
    rounded[above] = np.nextafter(rounded[above], np.float32(-np.inf))
    return rounded


def _forest_float32_thresholds(member):
    """A copy of a random forest member whose split thresholds are rounded *down* to float32, for
    the reason :func:`_float32_thresholds` gives (measured: a 15-tree forest's additivity error
    reached 0.044 in probability at a pixel whose value equalled a threshold's float32 rounding)."""
    import copy

    from sklearn.tree._tree import Tree

    rounded = copy.copy(member)
    rounded.estimators_ = []
    for estimator in member.estimators_:
        state = estimator.tree_.__getstate__()
        nodes = state["nodes"].copy()
        nodes["threshold"] = _round_down_to_float32(nodes["threshold"])
        tree = Tree(estimator.tree_.n_features, np.asarray(estimator.tree_.n_classes), estimator.tree_.n_outputs)
        tree.__setstate__(dict(state, nodes=nodes))
        copied = copy.copy(estimator)
        copied.tree_ = tree
        rounded.estimators_.append(copied)
    return rounded


def _float32_thresholds(member):
    """A copy of a gradient boosting member whose split thresholds are rounded *down* to float32.

    shap stores thresholds as float32 rounded to nearest, so a pixel value between a float64
    threshold and its rounded-up float32 went the other way in shap than in scikit-learn (measured:
    up to 0.005 in log-odds on the test province). Inputs are float32, so x ≤ t exactly when x ≤
    the largest float32 ≤ t: the copy predicts the same numbers, and shap follows it exactly."""
    import copy

    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor

    rounded = copy.copy(member)
    rounded._predictors = []
    for iteration in member._predictors:
        trees = []
        for predictor in iteration:
            nodes = predictor.nodes.copy()
            nodes["num_threshold"] = _round_down_to_float32(nodes["num_threshold"])
            trees.append(TreePredictor(nodes, predictor.binned_left_cat_bitsets, predictor.raw_left_cat_bitsets))
        rounded._predictors.append(trees)
    return rounded
