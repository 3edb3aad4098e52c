"""The latent laws of the synthetic province (:mod:`core.synthetic`): where deposits are likely.

Both laws give the probability ``P`` of a deposit at each cell of the base grid; the intercept
is set so that the mean of ``P`` over the area is :data:`MEAN_PROBABILITY`. Their order in
:data:`LAWS` is the ``LAW`` enum of ``deepprospect:synthetic_province`` (a public contract).

``linear`` (index 0, the law of every province written before the choice existed)::

    logit P = intercept + Σ_k weight_k · term_k

with ``term_k`` the standardised latent field of ``Sb_con``, ``Oli_clay``, ``Pb_con``,
``As_con`` and ``Mag_anamol`` (mean 0, sd 1 over the area), ``exp(-d / 3 km)`` for the distance
``d`` to the nearest shear zone (``Dist_shear``) and 1 inside the gold-favourable lithology
(``Lith_gold``). Logistic regression on the right factors is the right model for it.

``nonlinear`` (index 1): deposits where a fault corridor *and* a geochemical anomaly coincide,
favoured in some rock units, helped by clay alteration above a threshold and by a moderate
magnetic response (z: a standardised latent field, mean 0 and sd 1 over the area)::

    corridor = 1 where d ≤ 1500 m, else 0            (d: distance to the nearest shear zone)
    anomaly  = max(z_Sb − 0.5, 0)                     (Sb above a threshold, a hinge)
    clay     = max(z_Oli_clay − 0.5, 0)               (a hinge)
    magnetic = 1 where |z_Mag_anamol| ≤ 0.7, else 0   (neither magnetic high nor low)
    logit P  = intercept + 7.0 · corridor · anomaly + 0.8 · corridor + 1.0 · anomaly
               + 2.0 · clay + 1.5 · magnetic + lithology_weight[unit]

with ``lithology_weight`` per unit code (:data:`NONLINEAR_LITHOLOGY_WEIGHTS`): 1 −1.2,
2 +1.0, 3 −1.6, 4 +1.6, 5 0.0 — not monotonic in code order, so the unit must be a categorical
factor (``Lithology``: the unit code, ``lithology_units.tif``). No additive model of the factors
follows the ``corridor · anomaly`` product, the hinges or the magnetic band exactly: on a 40 km
province (seed 1, ideal evidence) the truth surface scores ROC-AUC 0.90 on future deposits,
one-hot logistic regression 0.86; at 100 km 0.88 against 0.81. The gold-favourable units
(``Lith_gold``, the lithology layer's ``gold_favourable``) are those with a positive weight.

A factor's true importance (``truth.json``) is the standard deviation over the area of the
part of the logit that involves it (an interaction term counts for each of its factors); for
the linear law that is ``|weight| × sd(term)``.
"""
import numpy as np

from .synthetic_fields import calibrate_intercept, sigmoid

#: The laws, in the order of the LAW enum (public contract: append only).
LAWS = ("linear", "nonlinear")
MEAN_PROBABILITY = 0.06
SHEAR_DECAY = 3000.0       # m, the linear law's decay of the shear-zone term

#: Coefficients of the linear law's logit on each term.
TRUE_WEIGHTS = {
    "Sb_con": 1.5, "Oli_clay": 1.2, "Pb_con": 1.0, "As_con": 0.6, "Mag_anamol": 0.5,
    "Dist_shear": 1.6, "Lith_gold": 0.8,
}

#: The nonlinear law's thresholds: corridor half-width (m); Sb and clay hinges, magnetic band (standardised).
NONLINEAR_THRESHOLDS = {"corridor_m": 1500.0, "Sb_anomaly_z": 0.5, "Oli_clay_hinge_z": 0.5, "Mag_band_z": 0.7}
#: The nonlinear law's weights on its terms.
NONLINEAR_WEIGHTS = {
    "corridor_and_anomaly": 7.0, "corridor": 0.8, "anomaly": 1.0, "clay_hinge": 2.0, "magnetic_band": 1.5,
}
#: The nonlinear law's weight of each lithology unit (code → logit shift).
NONLINEAR_LITHOLOGY_WEIGHTS = {1: -1.2, 2: 1.0, 3: -1.6, 4: 1.6, 5: 0.0}
#: Which factor each nonlinear term involves (for the true importance).
NONLINEAR_TERM_FACTORS = {
    "corridor_and_anomaly": ("Dist_shear", "Sb_con"), "corridor": ("Dist_shear",), "anomaly": ("Sb_con",),
    "clay_hinge": ("Oli_clay",), "magnetic_band": ("Mag_anamol",), "lithology": ("Lithology",),
}
#: The factor holding the lithology unit code (a categorical band) in the nonlinear law.
LITHOLOGY_FACTOR = "Lithology"


def check_law(law):
    """The law's name from a name or an enum index; a clear ValueError otherwise."""
    if isinstance(law, (int, np.integer)) and not isinstance(law, bool) and 0 <= int(law) < len(LAWS):
        return LAWS[int(law)]
    if law in LAWS:
        return law
    raise ValueError("LAW must be one of {} (or their index 0–{}); got {!r}.".format(
        ", ".join(LAWS), len(LAWS) - 1, law))


def favourable_codes(law, units):
    """The lithology codes a geologist would call gold-favourable under ``law``: the unit flagged in
    ``units`` (code, name, flag) for the linear law, the units with a positive weight otherwise."""
    if law == "linear":
        return [code for code, _, favourable in units if favourable]
    return [code for code, weight in NONLINEAR_LITHOLOGY_WEIGHTS.items() if weight > 0]


def evaluate_law(law, fields, shear_distance, lithology, favourable, inner):
    """The law on the base grid. ``fields``: standardised latent fields (dict of (rows, cols)),
    ``shear_distance`` (m), ``lithology`` unit codes, ``favourable`` bool mask, all (rows, cols);
    ``inner``: the area's slices. Returns a dict: ``intercept``, ``probability`` (rows, cols),
    ``true_importance`` (factor → float) and ``document`` (the law for truth.json)."""
    if law == "linear":
        return _linear_law(fields, shear_distance, favourable, inner)
    return _nonlinear_law(fields, shear_distance, lithology, inner)


def linear_terms(fields, shear_distance, favourable):
    """The linear law's terms (dict of (rows, cols) arrays)."""
    terms = {name: fields[name] for name in ("Sb_con", "Oli_clay", "Pb_con", "As_con", "Mag_anamol")}
    terms["Dist_shear"] = np.exp(-shear_distance / SHEAR_DECAY)
    terms["Lith_gold"] = favourable.astype(float)
    return terms


def nonlinear_terms(fields, shear_distance, lithology):
    """The nonlinear law's terms (dict of (rows, cols) float arrays), ``lithology`` already weighted."""
    corridor = (shear_distance <= NONLINEAR_THRESHOLDS["corridor_m"]).astype(float)
    anomaly = np.maximum(fields["Sb_con"] - NONLINEAR_THRESHOLDS["Sb_anomaly_z"], 0.0)
    unit_weight = np.zeros(lithology.shape)
    for code, weight in NONLINEAR_LITHOLOGY_WEIGHTS.items():
        unit_weight[lithology == code] = weight
    return {
        "corridor_and_anomaly": corridor * anomaly, "corridor": corridor, "anomaly": anomaly,
        "clay_hinge": np.maximum(fields["Oli_clay"] - NONLINEAR_THRESHOLDS["Oli_clay_hinge_z"], 0.0),
        "magnetic_band": (np.abs(fields["Mag_anamol"]) <= NONLINEAR_THRESHOLDS["Mag_band_z"]).astype(float),
        "lithology": unit_weight,
    }


def _linear_law(fields, shear_distance, favourable, inner):
    terms = linear_terms(fields, shear_distance, favourable)
    linear = sum(TRUE_WEIGHTS[name] * term for name, term in terms.items())
    intercept = calibrate_intercept(linear[inner], MEAN_PROBABILITY)
    probability = sigmoid(intercept + linear)
    true_importance = {name: TRUE_WEIGHTS[name] * float(np.std(term[inner])) for name, term in terms.items()}
    document = {
        "law": "linear",
        "description": "Synthetic DeepProspect province; latent law: logit P = intercept + sum(weight * term).",
        "weights": TRUE_WEIGHTS,
        "terms": {
            "Sb_con": "standardised latent log-concentration", "Pb_con": "standardised latent log-concentration",
            "As_con": "standardised latent log-concentration", "Oli_clay": "standardised latent clay ratio",
            "Mag_anamol": "standardised latent magnetic anomaly",
            "Dist_shear": "exp(-distance to nearest shear zone / {} m)".format(SHEAR_DECAY),
            "Lith_gold": "1 inside the gold-favourable lithology, else 0",
        },
    }
    return dict(intercept=intercept, probability=probability, true_importance=true_importance, document=document)


def _nonlinear_law(fields, shear_distance, lithology, inner):
    terms = nonlinear_terms(fields, shear_distance, lithology)
    weights = dict(NONLINEAR_WEIGHTS, lithology=1.0)
    parts = {name: weights[name] * term for name, term in terms.items()}
    logit = sum(parts.values())
    intercept = calibrate_intercept(logit[inner], MEAN_PROBABILITY)
    probability = sigmoid(intercept + logit)
    factors = sorted({factor for names in NONLINEAR_TERM_FACTORS.values() for factor in names})
    true_importance = {}
    for factor in factors:
        involved = sum(part for name, part in parts.items() if factor in NONLINEAR_TERM_FACTORS[name])
        true_importance[factor] = float(np.std(involved[inner]))
    document = _nonlinear_document()
    return dict(intercept=intercept, probability=probability, true_importance=true_importance, document=document)


def _nonlinear_document():
    """The nonlinear law as truth.json states it (the same numbers as the constants above)."""
    thresholds = NONLINEAR_THRESHOLDS
    return {
        "law": "nonlinear",
        "description": ("Synthetic DeepProspect province; latent law: logit P = intercept + sum(weight * term) + "
                        "lithology_weights[unit], with a corridor x anomaly interaction and thresholds."),
        "weights": NONLINEAR_WEIGHTS,
        "thresholds": thresholds,
        "lithology_weights": {str(code): weight for code, weight in NONLINEAR_LITHOLOGY_WEIGHTS.items()},
        "terms": {
            "corridor": "1 where the distance to the nearest shear zone <= {} m, else 0".format(
                thresholds["corridor_m"]),
            "anomaly": "max(z_Sb_con - {}, 0)".format(thresholds["Sb_anomaly_z"]),
            "corridor_and_anomaly": "corridor * anomaly",
            "clay_hinge": "max(z_Oli_clay - {}, 0)".format(thresholds["Oli_clay_hinge_z"]),
            "magnetic_band": "1 where |z_Mag_anamol| <= {}, else 0".format(thresholds["Mag_band_z"]),
            "lithology": "lithology_weights of the cell's unit code (factor {}, categorical; lithology_units.tif)"
                         .format(LITHOLOGY_FACTOR),
            "z_*": "standardised latent field (mean 0, sd 1 over the area); from truth_evidence.tif: "
                   "z = ln(value / median) / (0.92 * log_sd) for an element, (Oli_clay - 1) / 0.15, "
                   "(Mag_anamol - 35) / 120",
        },
        "term_factors": {name: list(names) for name, names in NONLINEAR_TERM_FACTORS.items()},
    }
