"""Classical (scikit-learn) ensemble members: logistic regression, random forest and histogram
gradient boosting, fitted on standardised factor values, stored in a bundle as plain number
arrays (never pickled) and rebuilt at load so that ``predict_proba`` of the rebuilt estimator
equals the fitted one bit for bit.

A member's ``.npz`` holds ``estimator`` (the scikit-learn class name, a unicode array) and:

* ``LogisticRegression``: ``coef_`` (1, n_factors), ``intercept_`` (1,), ``classes_`` (2,);
* ``RandomForestClassifier``: ``classes_``, ``n_features``, ``n_outputs``, ``n_trees`` and per
  tree ``tree_<i>_nodes`` (the structured node array of ``tree_.__getstate__()``),
  ``tree_<i>_values`` (n_nodes, n_outputs, n_classes) float64, ``tree_<i>_max_depth``,
  ``tree_<i>_node_count``;
* ``HistGradientBoostingClassifier``: ``classes_``, ``n_features``, ``baseline_prediction``
  (1, 1) float64 (log-odds of the deposit class before any tree), ``n_trees`` and per tree
  ``predictor_<i>_nodes`` (the predictor's structured node array, thresholds in raw standardised
  units) and its two categorical bitset arrays (uint32 (n_categorical_splits, 8)); fitted with
  native categorical columns (``core.factor_encoding`` mode "native") also ``is_categorical``
  (n_factors,) bool and ``categories_<i>`` per categorical column (``models.boosting_categories``).

Structured arrays without object fields load with ``np.load(..., allow_pickle=False)``.
"""
import numpy as np

from .additive_boosting import ESTIMATOR_NAME, AdditiveBoostingModel
from .boosting_categories import category_arrays, has_categories, rebuild_categories

#: Trees of a random forest member, and its smallest leaf (points).
FOREST_TREES = 300
FOREST_MIN_LEAF = 2
#: Iterations of logistic regression's solver.
LOGISTIC_MAX_ITER = 2000


def linear_model(seed, class_weight):
    """An unfitted logistic regression (``class_weight`` "balanced" or None)."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=LOGISTIC_MAX_ITER, class_weight=class_weight)


def forest_model(seed, class_weight):
    """An unfitted random forest of :data:`FOREST_TREES` trees, single-threaded (the summation
    order of the trees' probabilities, and so the result, is then fixed)."""
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=FOREST_TREES, min_samples_leaf=FOREST_MIN_LEAF,
                                  class_weight=class_weight, random_state=int(seed), n_jobs=1)


def boosted_model(seed, class_weight):
    """An unfitted histogram gradient boosting classifier (scikit-learn defaults, no early stopping,
    so every fit on the same points gives the same trees)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(class_weight=class_weight, early_stopping=False, random_state=int(seed))


def fit_members(make_estimator, x, y, seed, ensemble_size=1, balance_classes=True, categorical=None):
    """Fitted estimators: one on all of ``x`` (n, n_inputs) encoded, ``y`` (n,) 0/1 when
    ``ensemble_size`` is 1; else ``ensemble_size`` members, member i fitted on a bootstrap
    resample (seed ``seed + i``) with estimator seed ``seed + i``, so their spread is the
    uncertainty. ``make_estimator(seed, class_weight)``: one of the functions above.
    ``categorical``: bool (n_inputs,) of native category columns, for an estimator that takes
    ``categorical_features`` (gradient boosting); None or all False: none."""
    class_weight = "balanced" if balance_classes else None
    x, y = np.asarray(x, dtype=np.float32), np.asarray(y)
    with single_thread():
        return [_fit_member(make_estimator, x, y, int(seed) + member, ensemble_size, class_weight, categorical)
                for member in range(int(ensemble_size))]


def _fit_member(make_estimator, x, y, member_seed, ensemble_size, class_weight, categorical):
    chosen = _bootstrap(y, member_seed) if ensemble_size > 1 else np.arange(len(y))
    estimator = make_estimator(member_seed, class_weight)
    if categorical is not None and np.any(categorical):
        estimator.set_params(categorical_features=np.asarray(categorical, dtype=bool))
    return estimator.fit(x[chosen], y[chosen])


def single_thread():
    """A context in which OpenMP runs one thread: gradient boosting's OpenMP threads spin-wait
    when the cores are busy (measured: k-fold training took 176 s with two threads on two loaded
    cores, 55 s with one), and one thread sums its histograms in one order on every machine."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="openmp")


def _bootstrap(labels, seed):
    """Indices of a bootstrap resample of ``labels`` that holds both classes (redrawn if not)."""
    rng = np.random.default_rng(seed)
    while True:
        chosen = rng.integers(0, len(labels), len(labels))
        if len(np.unique(labels[chosen])) == 2:
            return chosen


def deposit_probabilities(members, x):
    """Deposit probability per member: float32 (n_members, n) for standardised values (n, n_factors)."""
    x = np.asarray(x, dtype=np.float32)
    if len(x) == 0:
        return np.zeros((len(members), 0), dtype=np.float32)
    with single_thread():
        return np.array([member.predict_proba(x)[:, list(member.classes_).index(1)] for member in members],
                        dtype=np.float32)


def is_sklearn_member(model):
    """Whether ``model`` is a scikit-learn estimator or the default recipe built of them
    (``models.additive_boosting``), not a Keras network."""
    return type(model).__module__.startswith("sklearn.") or type(model).__name__ == ESTIMATOR_NAME


def describe_members(members):
    """The bundle's ``network`` entry of scikit-learn ``members``: {kind: "sklearn", estimator,
    n_factors}."""
    return {"kind": "sklearn", "estimator": type(members[0]).__name__, "n_factors": int(members[0].n_features_in_)}


def member_arrays(estimator):
    """{name: numpy array} of a fitted estimator (module docstring), nothing pickled."""
    name = type(estimator).__name__
    if name == ESTIMATOR_NAME:
        return estimator.to_arrays()
    arrays = {"estimator": np.array(name), "classes_": np.asarray(estimator.classes_)}
    if name == "LogisticRegression":
        arrays.update(coef_=estimator.coef_, intercept_=estimator.intercept_)
    elif name == "RandomForestClassifier":
        arrays.update(n_features=np.int64(estimator.n_features_in_), n_outputs=np.int64(estimator.n_outputs_),
                      n_trees=np.int64(len(estimator.estimators_)))
        for index, tree in enumerate(estimator.estimators_):
            state = tree.tree_.__getstate__()
            for key in ("nodes", "values", "max_depth", "node_count"):
                arrays["tree_{}_{}".format(index, key)] = np.asarray(state[key])
    elif name == "HistGradientBoostingClassifier":
        predictors = [iteration[0] for iteration in estimator._predictors]
        arrays.update(n_features=np.int64(estimator.n_features_in_), n_trees=np.int64(len(predictors)),
                      baseline_prediction=np.asarray(estimator._baseline_prediction))
        for index, predictor in enumerate(predictors):
            arrays["predictor_{}_nodes".format(index)] = predictor.nodes
            arrays["predictor_{}_binned_bitsets".format(index)] = predictor.binned_left_cat_bitsets
            arrays["predictor_{}_raw_bitsets".format(index)] = predictor.raw_left_cat_bitsets
        if has_categories(estimator):
            arrays.update(category_arrays(estimator))
    else:
        raise ValueError("cannot store a {} member".format(name))
    return arrays


def rebuild_member(arrays):
    """The fitted estimator stored as ``arrays`` ({name: array}, :func:`member_arrays`)."""
    name = str(arrays["estimator"])
    rebuild = {"LogisticRegression": _rebuild_linear, "RandomForestClassifier": _rebuild_forest,
               "HistGradientBoostingClassifier": _rebuild_boosted,
               ESTIMATOR_NAME: AdditiveBoostingModel.from_arrays}.get(name)
    if rebuild is None:
        raise ValueError("a member of unknown estimator '{}'".format(name))
    return rebuild(arrays)


def _rebuild_linear(arrays):
    estimator = linear_model(0, None)
    estimator.coef_ = np.asarray(arrays["coef_"])
    estimator.intercept_ = np.asarray(arrays["intercept_"])
    estimator.classes_ = np.asarray(arrays["classes_"])
    estimator.n_features_in_ = estimator.coef_.shape[1]
    estimator.n_iter_ = np.zeros(1, dtype=np.int32)
    return estimator


def _rebuild_forest(arrays):
    from sklearn.tree import DecisionTreeClassifier
    from sklearn.tree._tree import Tree

    classes = np.asarray(arrays["classes_"])
    n_features, n_outputs = int(arrays["n_features"]), int(arrays["n_outputs"])
    estimator = forest_model(0, None)
    trees = []
    for index in range(int(arrays["n_trees"])):
        tree = Tree(n_features, np.array([len(classes)], dtype=np.intp), n_outputs)
        tree.__setstate__({key: arrays["tree_{}_{}".format(index, key)]
                           for key in ("nodes", "values", "max_depth", "node_count")})
        member = DecisionTreeClassifier(min_samples_leaf=FOREST_MIN_LEAF)
        member.tree_, member.classes_, member.n_classes_ = tree, classes, len(classes)
        member.n_outputs_, member.n_features_in_ = n_outputs, n_features
        member.max_features_ = n_features
        trees.append(member)
    estimator.estimators_, estimator.classes_, estimator.n_classes_ = trees, classes, len(classes)
    estimator.n_outputs_, estimator.n_features_in_ = n_outputs, n_features
    estimator.estimator_ = trees[0]
    return estimator


def _rebuild_boosted(arrays):
    from sklearn.ensemble._hist_gradient_boosting.binning import _BinMapper
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor

    estimator = boosted_model(0, None)
    n_features = int(arrays["n_features"])
    estimator._predictors = [[TreePredictor(arrays["predictor_{}_nodes".format(index)],
                                            arrays["predictor_{}_binned_bitsets".format(index)],
                                            arrays["predictor_{}_raw_bitsets".format(index)])]
                             for index in range(int(arrays["n_trees"]))]
    estimator._baseline_prediction = np.asarray(arrays["baseline_prediction"])
    estimator.classes_ = np.asarray(arrays["classes_"])
    estimator.n_features_in_, estimator.n_trees_per_iteration_ = n_features, 1
    estimator._preprocessor, estimator.is_categorical_ = None, None
    bin_mapper = _BinMapper()
    bin_mapper.is_categorical_ = np.zeros(n_features, dtype=bool)
    bin_mapper.bin_thresholds_ = [None] * n_features
    estimator._bin_mapper = bin_mapper
    estimator._loss = estimator._get_loss(sample_weight=None)
    return rebuild_categories(estimator, arrays)


class SklearnEnsemble:
    """The prediction of a bundle's scikit-learn members (owned by ``models.bundle.ModelBundle``,
    in place of the compiled Keras functions of ``models.compiled``)."""

    def __init__(self, members):
        self.members = list(members)

    def predict_members(self, inputs):
        """Deposit probability of every member, float32 (n_members, n), for standardised inputs
        (n, n_factors)."""
        return deposit_probabilities(self.members, inputs)

    def gradient_function(self):
        raise ValueError("a {} member has no gradients; SHAP explains it with shap's tree or linear "
                         "explainer".format(type(self.members[0]).__name__))


def estimator_settings(estimator):
    """The settings DeepProspect chose for an unfitted ``estimator``, for the bundle's metadata
    (e.g. a gradient boosting's ``learning_rate`` is the shrinkage of its trees)."""
    if hasattr(estimator, "hyperparameters"):
        return estimator.hyperparameters()
    chosen = ("C", "max_iter", "n_estimators", "max_depth", "max_features", "min_samples_leaf", "learning_rate",
              "max_leaf_nodes", "l2_regularization", "early_stopping")
    return {key: value for key, value in estimator.get_params().items() if key in chosen}


def member_npz_bytes(estimator):
    """The ``.npz`` file (bytes) of one member: :func:`member_arrays`, nothing pickled."""
    import io

    buffer = io.BytesIO()
    np.savez(buffer, **member_arrays(estimator))
    return buffer.getvalue()


def parameter_count(estimator):
    """Numbers fitted in one member: coefficients and intercept, or the nodes of every tree."""
    if hasattr(estimator, "parameter_count"):
        return estimator.parameter_count()
    if hasattr(estimator, "coef_"):
        return int(estimator.coef_.size + estimator.intercept_.size)
    if hasattr(estimator, "estimators_"):
        return int(sum(tree.tree_.node_count for tree in estimator.estimators_))
    return int(sum(len(iteration[0].nodes) for iteration in estimator._predictors))
