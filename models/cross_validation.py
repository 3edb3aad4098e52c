"""Spatial k-fold cross-validation: every model scored on the same folds, then the final model
trained on all points.

One spatial split cannot tell models apart (the same network scores 0.69 to 0.80 validation
ROC-AUC depending on the split's seed alone), so the catalog's cross-validation scheme deals the
blocks into folds (``models.evaluation.spatial_folds``) and holds each fold out once. On each
fold the network (``models.training_loop.train_on_split``) and the baselines are fitted on the
same training points and scored on the same held-out points:

* ROC-AUC and PR-AUC of the held-out points (scikit-learn);
* the held-out **prediction-rate AUC**: the held-out deposits ranked against the valid cells of
  the held-out blocks, as the map is used (``core.success_rate``). On a large stack at most
  :data:`MAX_CELLS_PER_FOLD` cells are drawn uniformly at random (seeded) from the held-out
  blocks; the AUC is a Mann–Whitney probability, so a uniform sample estimates it without bias
  (standard error below 0.005 for 20,000 cells).

The fold figures are summarised as mean ± sample standard deviation (ddof 1). Then the final
model is trained on all points (early stopping on spatial blocks of them); the cross-validation
figures estimate its skill. Metadata shape: ``models.training`` ("cross_validation").
"""
from dataclasses import dataclass

import numpy as np

from ..catalog import ARCHITECTURES
from ..core.raster import pixel_centres, sample_stack
from .calibration import FoldScores, calibrate
from ..core.success_rate import success_rate
from .evaluation import Split, baseline_probability, classification_metrics
from .training_data import read_patches
from .training_loop import SplitRun, deposit_probability, encoded_inputs, make_folds, train_network, \
    train_on_split

#: Most held-out cells ranked per fold for the prediction-rate AUC (uniform sample above it).
MAX_CELLS_PER_FOLD = 20000
#: Area fractions (0–1) at which each fold's prediction-rate curve is kept: 0, 0.01, …, 1.
CURVE_AREAS = np.linspace(0.0, 1.0, 101)
#: The fold scores summarised as mean ± sd.
SCORES = ("roc_auc", "pr_auc", "prediction_rate_auc")
NETWORK = "network"
# Network inputs predicted at once (patches of many cells would not fit in memory in one go).
_BATCH = 2048


@dataclass
class CrossValidation:
    """What :func:`cross_validate` returns.

    ``split``: every point on both sides (the final model trains on all, each point was held
    out once); ``run``: the final model's ``SplitRun`` whose ``metrics``/``baselines`` are the
    cross-validated figures and whose ``probability``/``baseline_probabilities`` are the
    out-of-fold probabilities of every point; ``folds``: the fold splits; ``table``: the
    metadata's "cross_validation" dict.
    """

    split: Split
    run: SplitRun
    folds: list
    table: dict


def cross_validate(stack_path, data, settings, feedback):
    """Train and score every model on each fold of ``settings.validation``, then train the final
    network on all points. ``settings``: a checked ``catalog.TrainingSettings``. Returns
    :class:`CrossValidation`."""
    folds = make_folds(data, settings.validation, settings.folds, settings.block_size, settings.seed,
                       settings.buffer)
    share = 100.0 / (len(folds) + 1)
    results, out_of_fold, member_aucs, fold_scores = [], {}, [], []
    for number, fold in enumerate(folds):
        feedback.info("Fold {}/{}: {} training points ({} left out by the buffer), {} held out in {} blocks.".format(
            fold.fold, len(folds), len(fold.train), len(fold.dropped), len(fold.validation),
            len(fold.validation_blocks)))
        run = train_on_split(stack_path, data, fold, settings, feedback.scaled(share * number, share * (number + 1)))
        probabilities = dict({NETWORK: run.probability}, **run.baseline_probabilities)
        for name, probability in probabilities.items():
            out_of_fold.setdefault(name, np.full(len(data.labels), np.nan))[fold.validation] = probability
        member_aucs.append(run.metrics["members_roc_auc"])
        results.append(_score_fold(stack_path, data, fold, run, settings, probabilities, fold_scores))
    feedback.info("Training the final model on all {} points.".format(len(data.labels)))
    everything = _all_points(data, folds)
    run = _train_final(stack_path, data, everything, settings, feedback.scaled(share * len(folds), 100.0))
    table = _table(folds, results, settings)
    if ARCHITECTURES.get(settings.architecture).options.get("calibrated"):
        table["calibration"] = calibrate(run.members, fold_scores, settings.prior)
        _log_calibration(table["calibration"], feedback)
    run.metrics = _pooled_metrics(data.labels, out_of_fold[NETWORK], results, NETWORK)
    run.metrics["members_roc_auc"] = [float(v) for v in np.mean(np.array(member_aucs, dtype=float), axis=0)]
    run.baselines = {name: _pooled_metrics(data.labels, out_of_fold[name], results, name)
                     for name in out_of_fold if name != NETWORK}
    run.probability = out_of_fold.pop(NETWORK)
    run.baseline_probabilities = out_of_fold
    _log_summary(table["summary"], feedback)
    return CrossValidation(everything, run, folds, table)


def held_out_cells(stack, blocks, limit=MAX_CELLS_PER_FOLD, seed=42):
    """Pixel (rows, cols) (int64 (m,)) of the cells whose centres lie in the squares ``blocks``
    [(xmin, ymin, xmax, ymax)] of ``stack`` (``core.raster.StackInfo``), all of them or, when
    there are more than ``limit``, ``limit`` drawn uniformly without replacement (``seed``).
    Returns (rows, cols, total cells in the blocks)."""
    transform = stack.transform
    centre_x = transform.c + (np.arange(stack.width) + 0.5) * transform.a
    centre_y = transform.f + (np.arange(stack.height) + 0.5) * transform.e
    spans = [(np.flatnonzero((centre_y >= ymin) & (centre_y < ymax)),
              np.flatnonzero((centre_x >= xmin) & (centre_x < xmax))) for xmin, ymin, xmax, ymax in blocks]
    counts = np.array([len(rows) * len(cols) for rows, cols in spans], dtype=np.int64)
    total = int(counts.sum())
    chosen = np.arange(total) if total <= limit else np.sort(
        np.random.default_rng(int(seed)).choice(total, size=int(limit), replace=False))
    starts = np.concatenate([[0], np.cumsum(counts)])
    which = np.searchsorted(starts, chosen, side="right") - 1
    rows, cols = np.empty(len(chosen), np.int64), np.empty(len(chosen), np.int64)
    for block in np.unique(which):
        local = chosen[which == block] - starts[block]
        block_rows, block_cols = spans[block]
        rows[which == block] = block_rows[local // len(block_cols)]
        cols[which == block] = block_cols[local % len(block_cols)]
    return rows, cols, total


def _score_fold(stack_path, data, fold, run, settings, probabilities, fold_scores):
    """One fold's row of the table: point counts and, per model, ROC-AUC, PR-AUC, the held-out
    prediction-rate AUC and its curve at :data:`CURVE_AREAS`. Appends the model's out-of-fold
    scores of the held-out cells and deposits to ``fold_scores`` (``models.calibration``)."""
    rows, cols, total = held_out_cells(data.stack, fold.validation_blocks, MAX_CELLS_PER_FOLD,
                                       settings.seed + fold.fold)
    sampled = len(rows)
    values, valid, _, _ = sample_stack(stack_path, pixel_centres(data.stack, rows, cols))
    rows, cols, values = rows[valid], cols[valid], values[valid]
    cells = _cell_probabilities(stack_path, run, rows, cols, values, settings)
    labels = data.labels[fold.validation]
    fold_scores.append(FoldScores(cells[NETWORK], total / max(sampled, 1), probabilities[NETWORK][labels == 1]))
    scores = dict({NETWORK: run.metrics}, **run.baselines)
    models = {}
    for name, probability in probabilities.items():
        rate = success_rate(cells[name], probability[labels == 1])
        models[name] = {"roc_auc": scores[name]["roc_auc"], "pr_auc": scores[name]["pr_auc"],
                        "prediction_rate_auc": rate.auc,
                        "captured_fraction": np.interp(CURVE_AREAS, rate.area_fraction, rate.captured_fraction).tolist()}
    return {"fold": fold.fold, "training_points": int(len(fold.train)), "held_out_points": int(len(fold.validation)),
            "held_out_deposits": int(labels.sum()), "dropped_by_buffer": int(len(fold.dropped)),
            "held_out_blocks": len(fold.validation_blocks), "held_out_cells": total, "ranked_cells": int(len(rows)),
            "models": models}


def _cell_probabilities(stack_path, run, rows, cols, values, settings):
    """{model: deposit probability (m,)} of the cells (raw factor ``values`` (m, n_factors)) under
    the fold's network (ensemble mean) and baselines (encoded like their training points: the
    fold's encodings)."""
    encoded = run.encoding.encode(values)
    network = np.empty(len(rows))
    for start in range(0, len(rows), _BATCH):
        part = slice(start, start + _BATCH)
        inputs = read_patches(stack_path, rows[part], cols[part], settings.patch_size, encoding=run.encoding) \
            if settings.uses_patches else encoded[part]
        network[part] = np.mean([deposit_probability(model, inputs) for model in run.members], axis=0)
    cells = {NETWORK: network}
    baseline_inputs = run.baseline_encoding.encode(values)
    cells.update({name: baseline_probability(model, baseline_inputs) for name, model in run.baseline_models.items()})
    return cells


def _all_points(data, folds):
    """The split of the final model: every point trains, every point was held out once."""
    everything = np.arange(len(data.labels))
    blocks = sorted({block for fold in folds for block in fold.validation_blocks})
    return Split(folds[0].scheme, everything, everything, folds[0].block_size, blocks, blocks,
                 buffer=folds[0].buffer)


def _train_final(stack_path, data, split, settings, feedback):
    """The network trained on all points (early stopping on spatial blocks of them); a
    ``SplitRun`` whose scores :func:`cross_validate` fills in."""
    encoding, baseline_encoding, _, inputs = encoded_inputs(stack_path, data, split.train, settings, feedback)
    members, history, class_weight = train_network(data, inputs, split, settings, feedback, encoding=encoding)
    return SplitRun(members, history, None, None, None, None, encoding, inputs, class_weight,
                    baseline_encoding=baseline_encoding)


def _pooled_metrics(labels, out_of_fold, results, name):
    """``classification_metrics`` of every point's out-of-fold probability, with ``roc_auc`` and
    ``pr_auc`` replaced by their means over the folds (the cross-validation estimate)."""
    metrics = classification_metrics(labels, out_of_fold)
    for score in ("roc_auc", "pr_auc"):
        metrics[score] = float(np.mean([fold["models"][name][score] for fold in results]))
    return metrics


def _table(folds, results, settings):
    """The metadata's "cross_validation" dict (``models.training`` documents it)."""
    summary = {}
    for name in results[0]["models"]:
        summary[name] = {}
        for score in SCORES:
            values = np.array([fold["models"][name][score] for fold in results], dtype=float)
            summary[name][score] = {"mean": float(np.mean(values)),
                                    "sd": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0}
    return {"folds": len(folds), "buffer": float(settings.buffer), "block_size": float(folds[0].block_size),
            "max_cells_per_fold": MAX_CELLS_PER_FOLD, "area_fraction": CURVE_AREAS.tolist(),
            "fold_results": results, "summary": summary}


def _log_calibration(calibration, feedback):
    prior = calibration["prior"]
    feedback.info("Calibrated on out-of-fold predictions ({}): {:.4f} of the valid cells hold a known deposit{}.".format(
        calibration["method"], calibration["labelled_prior"],
        "" if prior is None else "; probabilities are scaled to the stated prior {:.4f} ({:.0%} of the deposits "
        "found)".format(prior, calibration["discovered_fraction"])))


def _log_summary(summary, feedback):
    for name, scores in summary.items():
        feedback.info("Cross-validated {}: ROC-AUC {:.3f} ± {:.3f}, prediction-rate AUC {:.3f} ± {:.3f}.".format(
            "model" if name == NETWORK else name.replace("_", " "), scores["roc_auc"]["mean"], scores["roc_auc"]["sd"],
            scores["prediction_rate_auc"]["mean"], scores["prediction_rate_auc"]["sd"]))
