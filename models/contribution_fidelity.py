"""How far a contribution map's few references are from the whole background.

A contribution map explains every pixel against ``references`` weighted k-means centres of the
background (``models.explain.contribution_map``): each reference costs about one prediction per
pixel, so a map against all 100 background pixels would take about 100 predictions' time. SHAP
values depend on the background they are measured against, and a centre is not an average of
its cluster's explanations, so fewer references give different numbers, not only noisier ones.
Measured on the 100 km synthetic province with the paper's network (issue 19), against the
explanation with all 100 background pixels: 3 centres, mean per-factor r 0.90 and a mean
difference of 57 % of a contribution; 8 centres, r 0.95 and 34 %; 16, r 0.96 and 31 %; 32,
r 0.98 and 17 %. The factors' ranking by mean |SHAP| agreed to Spearman 0.94–0.97 at 3 to 32.

This module measures that agreement for the map being made, on a few random valid pixels, so
the user reads it beside the map (log, raster tags, explanation page) and chooses
``MAP_REFERENCES`` knowingly.
"""
import numpy as np

#: Random valid pixels explained both ways: enough for r and the ranking to two decimals, few
#: enough that the whole background costs a fraction of the map.
FIDELITY_PIXELS = 200
#: For expected gradients (every reference costs ``steps`` gradients per pixel) and tree SHAP
#: (one explainer per reference).
FIDELITY_PIXELS_COSTLY = 50


def measure(bundle, info, background, centres, steps, method, seed, feedback):
    """:func:`reference_fidelity` at :data:`FIDELITY_PIXELS` random valid pixels of the stack
    ``info`` (drawn with ``seed``), with ``references`` (those ``method`` really uses), told to
    ``feedback``; None when the references are the whole background (nothing to compare) or the
    stack has no valid pixel."""
    from .explain import _random_valid_pixels, read_model_inputs

    references = int(method.tags.get("SHAP_REFERENCES", len(centres)))
    if references >= len(background):
        return None     # a logistic regression's maps already use every background row
    rows, cols = _random_valid_pixels(info, FIDELITY_PIXELS, np.random.default_rng([int(seed), 19]))
    fidelity = reference_fidelity(bundle, read_model_inputs(bundle, info, rows, cols)[1], background, steps, method)
    if fidelity is None:
        return None
    fidelity["references"] = references
    feedback.info(describe(fidelity))
    return fidelity


def reference_fidelity(bundle, inputs, background, steps, method):
    """Agreement of ``method`` (a ``ContributionMethod`` against weighted centres) with the same
    method against every row of ``background`` (k, *s) standardised, at ``inputs`` (n, *s) model
    inputs of random valid pixels.

    Returns a dict: ``pixels``; ``background`` (rows); ``correlation`` the mean over factors of
    Pearson's r between the two explanations (factors constant in both left out); ``difference``
    the mean |φ_references − φ_background| over the mean |φ_background| (0 is identical);
    ``ranking`` Spearman's correlation of the factors' mean |SHAP| — or None when there is no
    pixel to compare.
    """
    from scipy.stats import spearmanr

    from .window_tasks import contribution_method

    if not len(inputs):
        return None
    if "SHAP_STEPS" in method.tags or "Tree" in method.tags.get("SHAP_METHOD", ""):
        inputs = inputs[:FIDELITY_PIXELS_COSTLY]
    uniform = np.full(len(background), 1.0 / len(background))
    whole = contribution_method(bundle, background, background, uniform, steps, None)
    few = bundle.per_factor(method.explain(inputs)).astype(np.float64)
    every = bundle.per_factor(whole.explain(inputs)).astype(np.float64)
    scale = np.abs(every).mean()
    return dict(pixels=len(inputs), background=len(background), correlation=_mean_correlation(few, every),
                difference=float(np.abs(few - every).mean() / scale) if scale > 0 else 0.0,
                ranking=_ranking(spearmanr, np.abs(few).mean(axis=0), np.abs(every).mean(axis=0)))


def describe(fidelity):
    """One sentence for the log and the explanation page (a :func:`measure` result)."""
    return ("At {pixels} random valid pixels the maps against {references} references agree with the explanation "
            "against all {background} background pixels to r = {correlation:.2f} per factor (mean difference "
            "{percent:.0f} % of a contribution; factor ranking Spearman {ranking:.2f}). More map references (MAP_REFERENCES) bring "
            "them closer; each costs about one prediction per pixel.").format(
                percent=100 * fidelity["difference"], **fidelity)


def tags(fidelity):
    """The raster tags that record it."""
    return dict(SHAP_FIDELITY_PIXELS=str(fidelity["pixels"]), SHAP_FIDELITY_R="{:.3f}".format(fidelity["correlation"]),
                SHAP_FIDELITY_DIFFERENCE="{:.3f}".format(fidelity["difference"]),
                SHAP_FIDELITY_RANKING="{:.3f}".format(fidelity["ranking"]))


def _mean_correlation(few, every):
    values = []
    for factor in range(every.shape[1]):
        if np.std(every[:, factor]) > 0 and np.std(few[:, factor]) > 0:
            values.append(np.corrcoef(few[:, factor], every[:, factor])[0, 1])
    return float(np.mean(values)) if values else 1.0


def _ranking(spearmanr, few, every):
    if np.ptp(every) == 0 or np.ptp(few) == 0:
        return 1.0
    return float(spearmanr(few, every)[0])
