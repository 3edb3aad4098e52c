"""SHAP contribution maps of a bundle whose members are scikit-learn estimators (logistic
regression, random forest, gradient boosting): they have no gradients, so
``models.explain.contribution_map`` asks :func:`sklearn_map_method` how to explain each window
instead of integrating gradients. The window loop, the valid mask, the output raster and the
additivity check stay the network's (``core.pipeline.map_windows`` in ``contribution_map``).

Values come from ``models.sklearn_shap.sklearn_shap`` (probability units of the ensemble-mean
deposit probability, averaged over members), against:

* logistic regression — shap's LinearExplainer against the whole background (it only uses the
  background's mean): the map equals the SHAP report's values at the same pixels and costs a
  matrix product per window.
* trees — shap's TreeExplainer (interventional, probability output) against the ``references``
  weighted k-means centres that the networks' maps integrate from, each replaced by the
  background row nearest to it, r_k (weight w_k, its cluster's share): a tree splits on
  thresholds and category codes, and a real sample is a valid input where an averaged code is
  not. Interventional Shapley values are linear in the background's distribution, so
  φ(x) = Σ_k w_k φ(x; r_k) with each row as a one-row background, and the base value is
  Σ_k w_k f(r_k): exact for the weighted background (shap's own TreeExplainer weights every
  background row equally). Cost ∝ pixels × references × trees × leaves, measured for a
  200 × 200 map, 16 factors, 8 references, one member, on two shared busy cores: 82 s for a
  100-tree random forest (47 leaves a tree; the catalog's forest has 300 trees), 23 s for the
  catalog's gradient boosting (100 trees), 2 s for a logistic regression.

Every explainer here is exact: base value + Σ bands equals the predicted probability to float32
rounding (~1e-6).
"""
from collections import namedtuple

import numpy as np

from ..core.feedback import Feedback
from .sklearn_shap import explainer_name, sklearn_shap

#: How ``contribution_map`` explains a window: ``explain(inputs (n, n_factors)) → SHAP values
#: (n, n_factors)`` in probability units; ``base_value`` (float, probability); ``tags`` for the
#: GeoTIFF (``SHAP_METHOD`` …); ``label`` for messages; ``advice`` when the values do not add up.
ContributionMethod = namedtuple("ContributionMethod", "explain base_value tags label advice")

_SHAP_CLASS = {"linear": "LinearExplainer", "tree": "TreeExplainer",
               "additive": "TreeExplainer and additive terms, rescaled"}


def sklearn_map_method(members, background, centres, weights, feedback):
    """The :class:`ContributionMethod` of scikit-learn ``members``: ``background`` (k, n_factors)
    standardised model inputs (the logistic regression's reference), ``centres`` (c, n_factors)
    k-means centres of it and their ``weights`` (c,) (the trees' references are the background
    rows nearest to the centres); ``feedback`` is checked for cancel (progress is the window
    loop's)."""
    name = explainer_name(members[0])
    quiet = _CancelOnly(feedback)
    if name == "linear":
        def explain(inputs):
            return sklearn_shap(members, inputs, background, quiet)

        references, label = len(background), "mean of {} background rows".format(len(background))
    else:
        rows = nearest_rows(background, centres)
        weights = np.asarray(weights, dtype=np.float64) / np.sum(weights)

        def explain(inputs):
            if name == "additive":
                return sklearn_shap(members, inputs, rows, quiet, weights)
            return _weighted_tree_shap(members, inputs, rows, weights, quiet)

        references, label = len(rows), "{} weighted background rows, interventional".format(len(rows))
        feedback.info("This model has no gradients: its contribution map is exact tree SHAP against {} weighted "
                      "background rows (MAP_REFERENCES; the time grows with it; MAP_STEPS is not used).".format(
                          len(rows)))
    explainer = "shap " + _SHAP_CLASS[name]
    base_value = float(explain(np.asarray(background[:1], dtype=np.float32))[1])
    return ContributionMethod(
        lambda inputs: explain(inputs)[0], base_value,
        dict(SHAP_METHOD=explainer + " (exact)", SHAP_REFERENCES=str(references)),
        "{}, {}".format(explainer, label), "{} is exact, so please report this with the model".format(explainer))


def nearest_rows(background, centres):
    """The row of ``background`` (k, n_factors) nearest (Euclidean) to each of ``centres``
    (c, n_factors): float32 (c, n_factors)."""
    background = np.asarray(background, dtype=np.float64)
    distances = ((background[None] - np.asarray(centres, dtype=np.float64)[:, None]) ** 2).sum(axis=2)
    return background[distances.argmin(axis=1)].astype(np.float32)


def _weighted_tree_shap(members, inputs, references, weights, feedback):
    """(Σ_k w_k φ(inputs; r_k) float32 (n, n_factors), Σ_k w_k base_k): tree SHAP of ``inputs``
    against each reference row ``r_k`` alone as background, weighted by ``w_k``."""
    total, base = np.zeros(np.shape(inputs), dtype=np.float64), 0.0
    for reference, weight in zip(references, weights):
        values, reference_base = sklearn_shap(members, inputs, reference[None], feedback)
        total += weight * values
        base += weight * reference_base
    return total.astype(np.float32), base


class _CancelOnly(Feedback):
    """The map's cancel, without the per-member progress of ``sklearn_shap`` (the window loop
    reports progress window by window)."""

    def __init__(self, parent):
        self._parent = parent

    def is_canceled(self):
        return self._parent.is_canceled()
