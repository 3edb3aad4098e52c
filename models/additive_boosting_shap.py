"""SHAP values of the default model (``models.additive_boosting``), one per factor, in units of
its deposit probability, exactly additive: base value + Σ values = the model's probability.

Each member is explained exactly in its own log-odds, against a (weighted) background:

* member A is additive, so factor j's interventional Shapley value is its own term minus that
  term's background mean: g_j(x_j) − E[g_j] (the spline curve of a continuous factor, the
  coefficient of a category);
* member B is explained by shap's ``TreeExplainer`` (interventional, raw log-odds output),
  through the virtual columns of ``models.boosting_categories`` when it has native categories.

The model's score is the mean of the members' *ranks*, and its probability a monotone calibration
of that score; neither step is additive, so each one passes the values through DeepLIFT's
rescale rule (as shap's DeepExplainer does for a non-linear activation): every value is
multiplied by Δoutput / Δinput of the step between the background's mean and the pixel (the
local slope where the two coincide). The values keep each member's ranking of the factors, and
the sums stay exact.
"""
import numpy as np

# Below this change of a step's input the rescale multiplier is the step's local slope instead.
_FLAT = 1e-12


def additive_boosting_shap(model, inputs, background, weights=None):
    """(SHAP values float64 (n, n_factors), base value float) of ``model``'s deposit probability
    for encoded ``inputs`` (n, n_factors) against encoded ``background`` (k, n_factors) rows,
    weighted by ``weights`` (k,) (None: equally)."""
    inputs = np.asarray(inputs, dtype=np.float32)
    background = np.asarray(background, dtype=np.float32)
    weights = np.full(len(background), 1.0 / len(background)) if weights is None else \
        np.asarray(weights, dtype=np.float64) / np.sum(weights)
    member_values = [_additive_values(model, inputs, background, weights),
                     _tree_values(model, inputs, background, weights)]
    scores, background_scores = model.member_scores(inputs), model.member_scores(background)
    ranks, background_ranks = model.member_ranks(scores), model.member_ranks(background_scores)
    score_values = np.zeros(inputs.shape, dtype=np.float64)
    for member, values in enumerate(member_values):
        base_score = float(np.dot(weights, background_scores[member]))
        base_rank = float(np.dot(weights, background_ranks[member]))

        def rank_of(s, member=member):
            return model.member_ranks(np.vstack([s, s]))[member]
        multiplier = _rescale(scores[member] - base_score, ranks[member] - base_rank, scores[member], rank_of,
                              np.std(model.reference_scores_[member]))
        score_values += 0.5 * values * multiplier[:, None]
    score, background_score = ranks.mean(axis=0), background_ranks.mean(axis=0)
    base_score = float(np.dot(weights, background_score))
    probability = model.calibrated(score)
    base_probability = float(np.dot(weights, model.calibrated(background_score)))
    multiplier = _rescale(score - base_score, probability - base_probability, score, model.calibrated, 0.05)
    return score_values * multiplier[:, None], base_probability


def _rescale(input_change, output_change, at, step, spread):
    """DeepLIFT's rescale multiplier (n,): Δoutput / Δinput, or the step's slope at ``at`` by a
    central difference of ±1 % of ``spread`` where Δinput is 0."""
    flat = np.abs(input_change) < _FLAT
    multiplier = output_change / np.where(flat, 1.0, input_change)
    if flat.any():
        h = max(0.01 * float(spread), 1e-9)
        multiplier[flat] = (step(at[flat] + h) - step(at[flat] - h)) / (2.0 * h)
    return multiplier


def _additive_values(model, inputs, background, weights):
    """Member A's exact values (n, n_factors) in log-odds: each factor's term minus its weighted
    background mean."""
    coef = model.additive_.coef_.ravel()
    design, reference = model.additive_design(inputs), model.additive_design(background)
    values = np.zeros(inputs.shape, dtype=np.float64)
    start = 0
    widths = {column: len(knots) + 2 for column, knots in zip(np.flatnonzero(~model.is_categorical_), model.knots_)}
    widths.update(zip(np.flatnonzero(model.is_categorical_), model.levels_))
    for column in list(np.flatnonzero(~model.is_categorical_)) + list(np.flatnonzero(model.is_categorical_)):
        part = slice(start, start + widths[column])
        term = design[:, part] @ coef[part]
        values[:, column] = term - float(np.dot(weights, reference[:, part] @ coef[part]))
        start += widths[column]
    return values


def _tree_values(model, inputs, background, weights):
    """Member B's interventional tree SHAP values (n, n_factors) in raw log-odds, against the
    background rows weighted by ``weights`` (one explainer for equal weights, else one per row:
    interventional values are linear in the background's distribution)."""
    if np.allclose(weights, weights[0]):
        return _tree_log_odds(model.boosting_, inputs, background)
    total = np.zeros(inputs.shape, dtype=np.float64)
    for row, weight in zip(background, weights):
        total += weight * _tree_log_odds(model.boosting_, inputs, row[None])
    return total


def _tree_log_odds(member, inputs, background):
    from .sklearn_shap import tree_shap

    return tree_shap(member, inputs, background, model_output="raw")[0]
