"""Honest validation: random and spatial-block splits, spatial k-fold folds, metrics, and the
scikit-learn baselines.

Random splits (the paper's 80/20) put neighbouring pixels on both sides of the split; because
geological evidence is spatially autocorrelated, the validation points then resemble training
points far more than a new area would, and the scores overstate skill. Spatial-block splits
send whole square blocks of the map to validation, so no validation point has a training
point in its own block. Spatial k-fold (:func:`spatial_folds`) deals the blocks into folds and
holds each fold out once; an optional buffer drops training points closer than a distance to the
held-out blocks (the "dead zone" of spatial cross-validation).

The schemes are declared in ``catalog.VALIDATION_SCHEMES``; each one's ``factory`` names its
function here: :func:`split_at_random`, :func:`split_by_blocks` (one split) and
:func:`split_into_folds` (a list of splits, one per fold).

All metrics come from scikit-learn. Nothing here imports TensorFlow.
"""
import numpy as np

from ..core.errors import DeepProspectError
from .sklearn_members import single_thread

#: Sentence the report and the help use to explain why random splits flatter a model.
RANDOM_SPLIT_WARNING = (
    "A random split scatters validation points among training points; because geological evidence is "
    "spatially autocorrelated, neighbouring training and validation points carry nearly the same values, so "
    "a random split overstates how well the model will do in unexplored ground. A spatial-block split holds "
    "out whole blocks of the map and is the honest estimate.")


class Split:
    """Indices of the training and validation points, and (for spatial schemes) the blocks.

    ``train``, ``validation``: integer index arrays into the point list; ``scheme``: a name of
    ``catalog.VALIDATION_SCHEMES``; ``block_size``: block side in map units (None for random);
    ``validation_blocks``/``training_blocks``: lists of block bounds (xmin, ymin, xmax, ymax).
    A fold of spatial k-fold also has ``fold`` (1-based), ``buffer`` (map units) and ``dropped``:
    indices of the points left out of training because they lie closer than ``buffer`` to a
    held-out block.
    """

    def __init__(self, scheme, train, validation, block_size=None, validation_blocks=(), training_blocks=(),
                 fold=None, buffer=0.0, dropped=()):
        self.scheme = scheme
        self.train = np.asarray(train, dtype=np.int64)
        self.validation = np.asarray(validation, dtype=np.int64)
        self.block_size = block_size
        self.validation_blocks = [tuple(float(v) for v in block) for block in validation_blocks]
        self.training_blocks = [tuple(float(v) for v in block) for block in training_blocks]
        self.fold, self.buffer = fold, float(buffer)
        self.dropped = np.asarray(dropped, dtype=np.int64)

    def describe(self):
        """Summary for the bundle's metadata (JSON-friendly)."""
        summary = {"scheme": self.scheme, "training_points": int(len(self.train)),
                   "validation_points": int(len(self.validation))}
        if self.block_size is not None:
            summary.update(block_size=float(self.block_size), validation_blocks=len(self.validation_blocks),
                           training_blocks=len(self.training_blocks))
        return summary


def random_split(labels, fraction=0.2, seed=42):
    """Stratified random split (the paper's scheme): ``fraction`` of each class goes to validation.

    ``labels``: int array (n,) of 0/1. Returns a :class:`Split`.
    """
    from sklearn.model_selection import train_test_split

    labels = np.asarray(labels)
    _check_fraction(fraction)
    indices = np.arange(len(labels))
    train, validation = train_test_split(indices, test_size=float(fraction), random_state=int(seed),
                                         stratify=labels)
    return Split("random", np.sort(train), np.sort(validation))


def spatial_block_split(xy, labels, block_size, fraction=0.2, seed=42, origin=None):
    """Whole square blocks of side ``block_size`` (map units) go to validation.

    ``xy``: (n, 2) map coordinates; ``labels``: (n,) 0/1; ``origin``: (x, y) of a block corner
    (the stack's top-left corner, so blocks line up with the grid; default: the points' minimum).
    Blocks are visited in a seeded random order and moved to validation until it holds at least
    ``fraction`` of the deposits and of the non-deposits. Returns a :class:`Split` whose
    ``validation_blocks`` and ``training_blocks`` are the blocks' bounds.
    """
    labels = np.asarray(labels)
    _check_fraction(fraction)
    block_size, keys, block_of_point, bounds = point_blocks(xy, block_size, origin)
    if len(keys) < 3:
        raise DeepProspectError(
            "BLOCK_SIZE {:g} map units leaves only {} block(s) holding points, too few for a spatial split; "
            "use a smaller block (a few times the spatial correlation length, e.g. 1/5 of the area's width)."
            .format(block_size, len(keys)))
    rng = np.random.default_rng(int(seed))
    needed = {cls: fraction * np.sum(labels == cls) for cls in (0, 1)}
    held = {0: 0, 1: 0}
    in_validation = np.zeros(len(keys), dtype=bool)
    for block in rng.permutation(len(keys)):
        if all(held[cls] >= needed[cls] for cls in (0, 1)):
            break
        members = labels[block_of_point == block]
        # a block that adds nothing still missing would only inflate validation
        if not any(held[cls] < needed[cls] and np.any(members == cls) for cls in (0, 1)):
            continue
        in_validation[block] = True
        for cls in (0, 1):
            held[cls] += int(np.sum(members == cls))
    validation = np.flatnonzero(in_validation[block_of_point])
    train = np.flatnonzero(~in_validation[block_of_point])
    for cls, name in ((1, "deposits"), (0, "non-deposits")):
        if np.sum(labels[train] == cls) < 2 or np.sum(labels[validation] == cls) < 2:
            raise DeepProspectError(
                "The spatial-block split with BLOCK_SIZE {:g} cannot put {} on both sides (training and "
                "validation need at least 2 each); use a smaller BLOCK_SIZE or more points.".format(block_size, name))
    return Split("spatial_blocks", train, validation, block_size,
                 [bounds[i] for i in np.flatnonzero(in_validation)], [bounds[i] for i in np.flatnonzero(~in_validation)])


def point_blocks(xy, block_size, origin=None):
    """The square blocks of side ``block_size`` (map units) anchored at ``origin`` (x, y; default
    the points' minimum) that hold the points ``xy`` (n, 2).

    Returns ``(block_size, keys, block_of_point, bounds)``: ``keys`` (m, 2) int (block column,
    block row), ``block_of_point`` (n,) index into ``keys``, ``bounds`` [(xmin, ymin, xmax, ymax)]
    one per key. A point on a block's lower/left edge belongs to that block.
    """
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    block_size = float(block_size)
    if not block_size > 0:
        raise DeepProspectError("BLOCK_SIZE must be a positive distance in map units (got {}).".format(block_size))
    if origin is None:
        origin = (xy[:, 0].min(), xy[:, 1].min())
    x0, y0 = float(origin[0]), float(origin[1])
    block_col = np.floor((xy[:, 0] - x0) / block_size).astype(np.int64)
    block_row = np.floor((xy[:, 1] - y0) / block_size).astype(np.int64)
    keys, block_of_point = np.unique(np.column_stack([block_col, block_row]), axis=0, return_inverse=True)
    bounds = [(x0 + col * block_size, y0 + row * block_size, x0 + (col + 1) * block_size, y0 + (row + 1) * block_size)
              for col, row in keys]
    return block_size, keys, block_of_point.ravel(), bounds


def split_at_random(xy, labels, fraction, seed, block_size=None, origin=None):
    """The catalog's "random" scheme: :func:`random_split` (``xy``, ``block_size`` and ``origin``
    are not used; they are there so every scheme is called the same way)."""
    return random_split(labels, fraction, seed)


def split_by_blocks(xy, labels, fraction, seed, block_size=None, origin=None):
    """The catalog's "spatial_blocks" scheme: :func:`spatial_block_split` with blocks of side
    ``block_size`` (map units) anchored at ``origin`` (x, y)."""
    return spatial_block_split(xy, labels, block_size, fraction, seed, origin=origin)


def spatial_folds(xy, labels, block_size, folds=5, seed=42, origin=None, buffer=0.0):
    """Spatial k-fold: the blocks of side ``block_size`` (map units, anchored at ``origin``) that
    hold points are dealt into ``folds`` folds, and each fold is held out once.

    Blocks are assigned by scikit-learn's ``StratifiedGroupKFold`` (a block is a group; groups
    shuffled with ``seed``, each fold getting about the same share of deposits). Training points
    closer than ``buffer`` map units to a held-out block (:func:`distance_to_blocks`) are left
    out of that fold's training. Returns a list of ``folds`` :class:`Split` objects (``scheme``
    "spatial_kfold", ``fold`` 1…folds). Raises :class:`DeepProspectError` when there are fewer
    blocks than folds, or a fold would hold fewer than 2 deposits or non-deposits on a side.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    labels = np.asarray(labels)
    folds, buffer = int(folds), float(buffer or 0.0)
    if folds < 2:
        raise DeepProspectError("FOLDS must be at least 2 (got {}); 5 is usual.".format(folds))
    if buffer < 0:
        raise DeepProspectError("BUFFER must be a distance ≥ 0 in map units (got {:g}).".format(buffer))
    block_size, keys, block_of_point, bounds = point_blocks(xy, block_size, origin)
    if len(keys) < folds:
        raise DeepProspectError(
            "BLOCK_SIZE {:g} map units leaves only {} block(s) holding points, fewer than FOLDS = {}; use a smaller "
            "BLOCK_SIZE or fewer folds.".format(block_size, len(keys), folds))
    dealer = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=int(seed))
    splits = []
    for number, (_, held_out) in enumerate(dealer.split(np.zeros(len(labels)), labels, block_of_point), start=1):
        held_blocks = np.unique(block_of_point[held_out])
        others = np.setdiff1d(np.arange(len(labels)), held_out)
        near = distance_to_blocks(np.asarray(xy, dtype=float)[others], [bounds[i] for i in held_blocks]) < buffer
        train, dropped = others[~near], others[near]
        _check_fold(labels, train, held_out, number, block_size, buffer)
        kept_blocks = np.setdiff1d(np.unique(block_of_point[train]), held_blocks)
        splits.append(Split("spatial_kfold", train, np.sort(held_out), block_size, [bounds[i] for i in held_blocks],
                            [bounds[i] for i in kept_blocks], fold=number, buffer=buffer, dropped=dropped))
    return splits


def distance_to_blocks(xy, blocks):
    """Distance (map units) from each point of ``xy`` (n, 2) to the nearest of the squares
    ``blocks`` [(xmin, ymin, xmax, ymax)]: 0 inside or on a square's edge. Returns (n,) float64."""
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    boxes = np.asarray(blocks, dtype=float).reshape(-1, 4)
    if not len(boxes):
        return np.full(len(xy), np.inf)
    x, y = xy[:, 0:1], xy[:, 1:2]
    dx = np.maximum(np.maximum(boxes[:, 0] - x, x - boxes[:, 2]), 0.0)
    dy = np.maximum(np.maximum(boxes[:, 1] - y, y - boxes[:, 3]), 0.0)
    return np.hypot(dx, dy).min(axis=1)


def split_into_folds(xy, labels, folds, seed, block_size=None, origin=None, buffer=0.0):
    """The catalog's "spatial_kfold" scheme: :func:`spatial_folds`."""
    return spatial_folds(xy, labels, block_size, folds, seed, origin, buffer)


def _check_fold(labels, train, held_out, number, block_size, buffer):
    for cls, name in ((1, "deposits"), (0, "non-deposits")):
        if np.sum(labels[train] == cls) < 2 or np.sum(labels[held_out] == cls) < 2:
            raise DeepProspectError(
                "Fold {} of the spatial k-fold (BLOCK_SIZE {:g}, BUFFER {:g}) cannot put {} on both sides "
                "(training and held out need at least 2 each); use a smaller BLOCK_SIZE, fewer FOLDS, a "
                "smaller BUFFER or more points.".format(number, block_size, buffer, name))


def default_block_size(bounds, pixel_size):
    """A block side for a map of ``bounds`` (xmin, ymin, xmax, ymax): 1/5 of its longer side,
    rounded to whole pixels, so there are about 25 blocks."""
    side = max(bounds[2] - bounds[0], bounds[3] - bounds[1]) / 5.0
    return float(max(1, round(side / pixel_size)) * pixel_size)


def classification_metrics(labels, probability, threshold=0.5):
    """Validation metrics of deposit probabilities against 0/1 labels (scikit-learn).

    Returns a dict: ``accuracy``; ``deposit`` and ``non_deposit`` each with ``precision``,
    ``recall``, ``f1``, ``support``; ``macro_f1``; ``confusion_matrix`` in the layout of Table 3 of
    Pradhan et al. (2022) — rows actual [deposit, non-deposit], columns predicted
    [deposit, non-deposit], i.e. [[TP, FN], [FP, TN]]; ``roc_auc``; ``pr_auc`` (average
    precision); ``threshold``; ``n``.
    """
    from sklearn import metrics

    labels = np.asarray(labels).astype(int)
    probability = np.asarray(probability, dtype=float)
    predicted = (probability >= threshold).astype(int)
    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        labels, predicted, labels=[1, 0], zero_division=0)
    confusion = metrics.confusion_matrix(labels, predicted, labels=[1, 0])
    both = len(np.unique(labels)) == 2
    result = {
        "accuracy": float(metrics.accuracy_score(labels, predicted)),
        "roc_auc": float(metrics.roc_auc_score(labels, probability)) if both else float("nan"),
        "pr_auc": float(metrics.average_precision_score(labels, probability)) if both else float("nan"),
        "macro_f1": float(np.mean(f1)),
        "confusion_matrix": confusion.astype(int).tolist(),
        "confusion_matrix_layout": "rows actual [deposit, non-deposit]; columns predicted [deposit, non-deposit]",
        "threshold": float(threshold),
        "n": int(len(labels)),
    }
    for index, name in enumerate(("deposit", "non_deposit")):
        result[name] = {"precision": float(precision[index]), "recall": float(recall[index]),
                        "f1": float(f1[index]), "support": int(support[index])}
    return result


def fit_baselines(train_x, train_y, validation_x, validation_y, seed=42, class_weight="balanced"):
    """The catalog's baselines (option ``baseline``: logistic regression, random forest, gradient
    boosting) fitted on the same split.

    ``train_x``/``validation_x``: standardised factor values (n, n_factors). Returns
    ``({name: metrics}, {name: validation deposit probability})``.
    """
    models = fit_baseline_models(train_x, train_y, seed, class_weight)
    return score_baselines(models, validation_x, validation_y)


def fit_baseline_models(train_x, train_y, seed=42, class_weight="balanced"):
    """{name: fitted scikit-learn classifier}: the catalog's baselines fitted on
    standardised factor values ``train_x`` (n, n_factors) and 0/1 labels ``train_y`` (n,)."""
    from ..catalog import ARCHITECTURES
    from .registry import resolve

    # the catalog's baselines (``baseline`` option), in its order: their estimators of models.sklearn_members
    models = {name: resolve(ARCHITECTURES.get(name))(int(seed), class_weight)
              for name in ARCHITECTURES.where(baseline=True)}
    with single_thread():
        for model in models.values():
            model.fit(train_x, train_y)
    return models


def baseline_probability(model, x):
    """Deposit probability (n,) of a fitted scikit-learn classifier for factor values ``x`` (n, n_factors)."""
    with single_thread():
        return model.predict_proba(x)[:, list(model.classes_).index(1)]


def score_baselines(models, validation_x, validation_y):
    """``({name: metrics}, {name: validation deposit probability})`` of fitted ``models``."""
    scores, probabilities = {}, {}
    for name, model in models.items():
        probability = baseline_probability(model, validation_x)
        scores[name] = classification_metrics(validation_y, probability)
        probabilities[name] = probability
    return scores, probabilities


def _check_fraction(fraction):
    if not 0.05 <= float(fraction) <= 0.5:
        raise DeepProspectError(
            "VALIDATION_FRACTION must be between 0.05 and 0.5 (got {}); the paper used 0.2.".format(fraction))
