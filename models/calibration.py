"""Calibration of the default model's score into a deposit probability, on out-of-fold predictions.

Spatial k-fold cross-validation scores every held-out deposit and a uniform sample of the valid
cells of the held-out blocks with a model that never saw them (``models.cross_validation``). An
isotonic regression (``sklearn.isotonic.IsotonicRegression``, monotone, no shape assumed) of
"this cell holds a known deposit" on those out-of-fold scores, each sampled cell weighted by the
cells it stands for, estimates P(known deposit | score); its mean over the map is the *labelled
prior* π_l = known deposits / valid cells.

Deposits not yet found are in the unlabelled cells, so P(known deposit) understates the chance
that a cell holds a deposit. With a stated prior π (the expected share of valid cells holding a
deposit, found or not; ``TrainingSettings.prior``), the probability is rescaled by π / π_l
(Elkan & Noto 2008: c = π_l / π is the share already discovered), capped at 1. Without one (π = 0)
the map is P(known deposit): every deposit assumed found.

The reliability diagram is cross-fitted: each fold's cells are calibrated by an isotonic
regression fitted on the other folds only, so the diagram is not flattered by fitting and scoring
the same points.
"""
from dataclasses import dataclass

import numpy as np

#: What a single split means for a model calibrated on cross-validation (``models.training``).
UNCALIBRATED_WARNING = (
    "The automatic model is calibrated on the held-out folds of spatial k-fold; with one split its map holds its "
    "raw score (the share of map cells it outranks, 0-1), which orders cells but is not a probability. Choose "
    "Spatial k-fold cross-validation for a calibrated map.")
#: Largest amount added to the calibrated probabilities to keep them strictly increasing in the score.
TIE_BREAK = 1e-6
#: Bins of the reliability diagram (deciles of the calibrated out-of-fold probability).
RELIABILITY_BINS = 10


@dataclass
class FoldScores:
    """One fold's out-of-fold scores: ``cells`` (m,) of the sampled valid held-out cells, each
    standing for ``cell_weight`` cells; ``deposits`` (d,) of the held-out deposits."""

    cells: np.ndarray
    cell_weight: float
    deposits: np.ndarray


def calibrate(members, folds, prior=0.0):
    """Give every member (``models.additive_boosting.AdditiveBoostingModel``) the calibration
    fitted on ``folds`` ([:class:`FoldScores`]) and ``prior`` (0–1, 0: none); returns the
    metadata's "calibration" dict: method, prior, labelled_prior, discovered_fraction, scale and
    the cross-fitted reliability diagram (predicted, observed, cells per bin)."""
    scores, labels, weights = _pooled(folds)
    labelled_prior = float(np.sum(labels * weights) / np.sum(weights * (1 - labels)))
    scale = float(prior) / labelled_prior if prior and prior > 0 else 1.0
    knots, probabilities = _isotonic(scores, labels, weights)
    table = (knots, np.minimum(probabilities * scale, 1.0))
    for member in members:
        member.calibration_ = table
    predicted, observed, cells = reliability(folds, scale)
    return {"method": "isotonic regression on out-of-fold scores", "prior": float(prior) if prior else None,
            "labelled_prior": labelled_prior,
            "discovered_fraction": labelled_prior / float(prior) if prior and prior > 0 else 1.0,
            "scale": scale, "out_of_fold_deposits": int(labels.sum()),
            "out_of_fold_cells": int(np.sum(labels == 0)),
            "reliability": {"predicted": predicted, "observed": observed, "cells": cells}}


def reliability(folds, scale):
    """Cross-fitted reliability diagram: each fold calibrated by the other folds' isotonic fit;
    per decile of calibrated probability (cells weighted), the mean predicted probability, the
    observed share of cells holding a known deposit times ``scale``, and the cells it stands for."""
    predicted_all, labels_all, weights_all = [], [], []
    for number, fold in enumerate(folds):
        others = [other for index, other in enumerate(folds) if index != number]
        if not others:
            continue
        knots, probabilities = _isotonic(*_pooled(others))
        scores, labels, weights = _pooled([fold])
        predicted_all.append(np.minimum(np.interp(scores, knots, probabilities) * scale, 1.0))
        labels_all.append(labels)
        weights_all.append(weights)
    predicted, labels, weights = (np.concatenate(v) for v in (predicted_all, labels_all, weights_all))
    order = np.argsort(predicted, kind="stable")
    cell_weight = np.where(labels == 1, 0.0, weights)[order]
    edges = np.searchsorted(np.cumsum(cell_weight) / cell_weight.sum(), np.linspace(0, 1, RELIABILITY_BINS + 1)[1:-1])
    rows = []
    for part in np.split(order, edges):
        cells = np.where(labels[part] == 1, 0.0, weights[part])
        if cells.sum() <= 0:
            continue
        rows.append((float(np.average(predicted[part], weights=cells)),
                     float(np.sum(labels[part]) / cells.sum() * scale), float(cells.sum())))
    return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]


def _pooled(folds):
    """(scores, labels 1 = deposit, weights) of ``folds``: deposits weigh 1, cells their weight."""
    scores = np.concatenate([np.r_[f.cells, f.deposits] for f in folds]).astype(np.float64)
    labels = np.concatenate([np.r_[np.zeros(len(f.cells)), np.ones(len(f.deposits))] for f in folds])
    weights = np.concatenate([np.r_[np.full(len(f.cells), f.cell_weight), np.ones(len(f.deposits))] for f in folds])
    return scores, labels, weights


def _isotonic(scores, labels, weights):
    """(knots, probabilities): the isotonic fit's steps, to be interpolated with ``np.interp``
    (as ``IsotonicRegression.predict`` does); out of range: the end values."""
    from sklearn.isotonic import IsotonicRegression

    fit = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
    fit.fit(scores, labels, sample_weight=weights)
    knots, probabilities = np.asarray(fit.X_thresholds_, np.float64), np.asarray(fit.y_thresholds_, np.float64)
    # An isotonic fit is flat within its blocks, which would tie cells the score ranks apart and
    # lose ranking skill; a rise of at most TIE_BREAK over the whole range keeps the score's order.
    return knots, probabilities + TIE_BREAK * np.arange(len(knots)) / max(len(knots) - 1, 1)
