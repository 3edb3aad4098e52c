"""What training reads: labelled points with their factor values, and patches around them.

:func:`read_training_points` reads the points with the engine's one point reader
(``core.points.read_points``: one CRS rule, transformed to the stack's CRS) and checks them for
training: labels only 0/1, at least :data:`MIN_PER_CLASS` of each class, every point on a valid
pixel of the stack. :func:`read_patches` reads the windows around the points for the patch
architectures through ``core.pipeline.read_neighbourhoods``, the one way to read a pixel or a
patch. :func:`training_statistics` (``core.factor_encoding``'s) gives the standardisation of the
training split.
"""
from dataclasses import dataclass

import numpy as np

from ..core.errors import DeepProspectError
from ..core.factor_encoding import FactorEncoding, training_statistics  # noqa: F401 (training_statistics: re-exported)
from ..core.feedback import ensure_feedback
from ..core.patches import extract_patches
from ..core.pipeline import read_neighbourhoods
from ..core.points import read_points
from ..core.raster import read_stack_info, sample_stack
from ..core.sampling import one_per_cell
from ..core.wording import agree, counted

#: Fewest points of each class training accepts.
MIN_PER_CLASS = 10


@dataclass
class TrainingData:
    """Points ready for training: map coordinates, labels, raw factor values, pixel indices."""

    xy: np.ndarray            # (n, 2) map units of the stack's CRS
    labels: np.ndarray        # (n,) int 0/1
    values: np.ndarray        # (n, n_factors) raw factor values at the points
    rows: np.ndarray          # (n,) pixel row in the stack
    cols: np.ndarray          # (n,) pixel column in the stack
    factor_names: list
    stack: object             # core.raster.StackInfo
    source: str = ""


def read_training_points(stack_path, points_path, label_field="label", layer=None, feedback=None):
    """Read labelled points and their factor values from the stack; returns :class:`TrainingData`.

    Points in another CRS are transformed to the stack's, a layer without a CRS is taken to be in
    it (``core.points.read_points``, with a warning). Raises :class:`DeepProspectError` when
    the layer cannot be read, the label field is missing
    or holds values other than 0/1, a class has fewer than :data:`MIN_PER_CLASS` points, or
    points fall outside the stack or on nodata. Deposits on one stack cell count once, non-deposits
    on a deposit's cell are left out (:func:`_one_point_per_cell`, with warnings).
    """
    feedback = ensure_feedback(feedback)
    stack = read_stack_info(stack_path)
    frame, xy = read_points(points_path, stack.crs, layer, "POINTS", feedback)
    if label_field not in frame.columns:
        fields = [name for name in frame.columns if name != frame.geometry.name]
        raise DeepProspectError(
            "The training points have no field '{}' (fields: {}). Set LABEL_FIELD to the field holding 1 for "
            "deposits and 0 for non-deposits, or build the points with deepprospect:sample_negatives."
            .format(label_field, ", ".join(fields) or "none"))
    labels = _labels(frame[label_field], label_field, feedback)
    values, inside, rows, cols = sample_stack(stack_path, xy)
    if not inside.all():
        bad = np.flatnonzero(~inside)
        examples = "; ".join("feature {} at ({:.1f}, {:.1f})".format(int(frame.index[i]), *xy[i]) for i in bad[:3])
        raise DeepProspectError(
            "{} of {} training points fall outside the evidence stack or on its nodata pixels (e.g. {}). Clip the "
            "points to the stack's valid area (or extend the stack) and train again.".format(
                len(bad), len(xy), examples))
    keep = _one_point_per_cell(labels, rows * stack.width + cols, feedback)
    xy, labels, values, rows, cols = xy[keep], labels[keep], values[keep], rows[keep], cols[keep]
    _check_class_counts(labels, label_field)
    return TrainingData(xy, labels, values, rows, cols, list(stack.factor_names), stack, str(points_path))


def _one_point_per_cell(labels, cells, feedback):
    """Which points (bool (n,)) training keeps on the stack cells ``cells`` (row-major indices), each
    case logged: one deposit per cell (a deposit is counted once; see ``one_per_cell``); no non-deposit on a
    deposit's cell (a cell cannot be both, and the known deposit wins). Non-deposits sharing a cell
    are kept (randomly drawn background may repeat a cell; the warning says how often)."""
    deposits, _ = one_per_cell(labels == 1, cells, "deposit", feedback)
    conflict = (labels == 0) & np.isin(cells, cells[labels == 1])
    if conflict.any():
        count = int(conflict.sum())
        feedback.warning(
            "{} {} on a stack cell that also holds a deposit ({}) and {} left out: a cell cannot be both. Check "
            "LABEL_FIELD and the points.".format(counted(count, "non-deposit"), agree(count, "lies", "lie"),
                                                 counted(len(np.unique(cells[conflict])), "cell"),
                                                 agree(count, "was", "were")))
    barren = (labels == 0) & ~conflict
    _, counts = np.unique(cells[barren], return_counts=True)
    if (counts > 1).any():
        extra, crowded = int((counts - 1).sum()), int((counts > 1).sum())
        feedback.warning(
            "{} {} on a stack cell that already holds another non-deposit ({}); {} kept, so {} more in "
            "training. deepprospect:sample_negatives draws at most one per cell.".format(
                counted(extra, "non-deposit"), agree(extra, "lies", "lie"), counted(crowded, "cell"),
                agree(extra, "it is", "they are"), agree(crowded, "that cell weighs", "those cells weigh")))
    return deposits | barren


def _check_class_counts(labels, label_field):
    for value, name in ((1, "deposits"), (0, "non-deposits")):
        count = int(np.sum(labels == value))
        if count < MIN_PER_CLASS:
            raise DeepProspectError(
                "Only {} {} ({} = {}) among the training points; at least {} of each class are needed to train "
                "and validate. Add known occurrences, or sample more non-deposits with "
                "deepprospect:sample_negatives.".format(count, name, label_field, value, MIN_PER_CLASS))


def read_patches(stack_path, rows, cols, patch_size, mean=None, std=None, feedback=None, encoding=None):
    """Model-input patches (n, patch_size, patch_size, n_inputs) centred on pixels ``rows``, ``cols``
    (integer arrays (n,), inside the stack): the ``encoding``'s inputs
    (``core.factor_encoding.FactorEncoding``), or without one the factors standardised with
    ``mean``, ``std`` ((n_factors,) in the factors' units).

    Uses :func:`core.patches.extract_patches`, so padding is the same as in block-wise prediction.
    """
    if encoding is None:
        names = list(range(len(mean)))
        encoding = FactorEncoding(names, None, mean, std)
    patches = np.empty((len(rows), patch_size, patch_size, encoding.n_inputs), dtype=np.float32)
    for found in read_neighbourhoods(stack_path, rows, cols, patch_size // 2, feedback):
        patches[found.indexes] = extract_patches(encoding.encode_window(found.data), found.valid, found.rows,
                                                 found.cols, patch_size)
    return patches


def _labels(column, label_field, feedback):
    """The 0/1 labels of ``column`` as int64 (n,); a clear error for empty or other values, a log line
    when they are text ('1'/'0')."""
    if column.isna().any():
        raise DeepProspectError("{} training points have an empty '{}'; give every point 1 (deposit) or 0 "
                                "(non-deposit).".format(int(column.isna().sum()), label_field))
    try:
        values = column.to_numpy(dtype=float)
    except (TypeError, ValueError):
        bad = sorted({str(v) for v in column if str(v) not in ("0", "1")})
        raise DeepProspectError("LABEL_FIELD '{}' must hold 1 (deposit) or 0 (non-deposit); found {}.".format(
            label_field, ", ".join(bad[:5])))
    bad = sorted(set(values[(values != 0) & (values != 1)].tolist()))
    if bad:
        raise DeepProspectError(
            "LABEL_FIELD '{}' must hold only 1 (deposit) and 0 (non-deposit); found also {}. Recode the field, "
            "or pick the right one.".format(label_field, ", ".join("{:g}".format(v) for v in bad[:5])))
    if column.dtype.kind in "OSU" or str(column.dtype) == "string":
        feedback.info("LABEL_FIELD '{}' holds text; '1' is read as a deposit and '0' as a non-deposit."
                      .format(label_field))
    return values.astype(np.int64)
