"""Gradient boosting with native categorical splits: stored without pickle, rebuilt, explained.

scikit-learn's ``HistGradientBoostingClassifier`` fitted with ``categorical_features`` puts a
fitted ``ColumnTransformer`` in front of its trees: the categorical columns (here the
category's position 0…k−1 from ``core.factor_encoding``, NaN when unseen) go through an
``OrdinalEncoder`` (value → its index among the values seen in fitting, anything else → NaN) and
come FIRST, the numeric columns follow unchanged. The trees' ``feature_idx`` count in that order,
and a categorical node sends a category left when it is in the node's bitset.

* Storage: the column mask and each categorical column's fitted categories
  (:func:`category_arrays`); :func:`rebuild_categories` puts an equivalent plain transformer
  (:class:`CategoryColumns`) and the bin mapper's known categories back, so the rebuilt member's
  ``predict_proba`` equals the fitted one's bit for bit.
* SHAP: shap's TreeExplainer reads a categorical node as a numeric threshold, which is wrong. So
  each categorical node becomes a numeric split on a *virtual* 0/1 column "this node sends the
  cell right" (computed here with the node's bitsets and missing-value rule); shap explains the
  trees on the columns plus the virtual ones (interventional, probability output), and each
  virtual column's value is added to its categorical factor, as one-hot columns are. The values
  stay exactly additive (base + sum = the member's deposit probability).
"""
import numpy as np


def has_categories(member):
    """Whether a fitted (or rebuilt) gradient boosting ``member`` has categorical columns."""
    mask = getattr(member, "is_categorical_", None)
    return mask is not None and bool(np.any(mask))


def category_arrays(member):
    """{name: array} for the member's ``.npz``: ``is_categorical`` (n_columns,) bool and per
    categorical column (in column order) ``categories_<i>`` float32, the values seen in fitting."""
    arrays = {"is_categorical": np.asarray(member.is_categorical_, dtype=bool)}
    encoder = member._preprocessor.named_transformers_["encoder"] if not isinstance(
        member._preprocessor, CategoryColumns) else member._preprocessor
    for index, categories in enumerate(encoder.categories_):
        arrays["categories_{}".format(index)] = np.asarray(categories)
    return arrays


def rebuild_categories(estimator, arrays):
    """Give a rebuilt member (``models.sklearn_members``) its categorical columns back from
    ``arrays`` (:func:`category_arrays`); nothing to do for a member without them."""
    if "is_categorical" not in arrays:
        return estimator
    mask = np.asarray(arrays["is_categorical"], dtype=bool)
    categories = [np.asarray(arrays["categories_{}".format(index)]) for index in range(int(mask.sum()))]
    estimator.is_categorical_ = mask
    estimator._preprocessor = CategoryColumns(mask, categories)
    remapped = np.zeros(mask.size, dtype=bool)
    remapped[:len(categories)] = True
    estimator._is_categorical_remapped = remapped
    estimator._bin_mapper.is_categorical_ = remapped.astype(np.uint8)
    estimator._bin_mapper.bin_thresholds_ = [np.arange(len(c), dtype=np.float64) for c in categories] + [
        None] * int((~mask).sum())
    return estimator


class CategoryColumns:
    """What the fitted ``ColumnTransformer`` does at prediction: categorical columns first, each
    value replaced by its index among ``categories`` (NaN when not among them), then the numeric
    columns as they are; float64 (n, n_columns)."""

    def __init__(self, mask, categories):
        self.mask, self.categories_ = np.asarray(mask, dtype=bool), list(categories)

    def transform(self, x):
        x = np.asarray(x)
        coded = [_index_of(x[:, column], categories)
                 for column, categories in zip(np.flatnonzero(self.mask), self.categories_)]
        numeric = x[:, ~self.mask].astype(np.float64)
        return np.ascontiguousarray(np.column_stack(coded + [numeric]) if coded else numeric)


def _index_of(column, categories):
    position = np.clip(np.searchsorted(categories, column), 0, max(len(categories) - 1, 0))
    found = categories[position] == column.astype(categories.dtype)
    return np.where(found, position.astype(np.float64), np.nan)


# SHAP ----------------------------------------------------------------------------------------

def categorical_tree_shap(member, inputs, background, model_output="probability"):
    """(SHAP values float64 (n, n_columns) of the deposit probability (``model_output``
    "probability") or of the log-odds ("raw"), base value float) of a gradient boosting ``member``
    with categorical splits, for its inputs (n, n_columns) against ``background`` (k, n_columns)
    (module docstring)."""
    import shap

    columns = _column_of_remapped(member)
    x, reference = member._preprocessor.transform(inputs), member._preprocessor.transform(background)
    known, f_index = member._bin_mapper.make_known_categories_bitsets()
    trees, virtual_of = [], []
    for iteration in member._predictors:
        trees.append(_shap_tree(iteration[0], x.shape[1], virtual_of))
    x_all = np.column_stack([x] + [_goes_right(member, node, x, known, f_index) for node in virtual_of])
    reference_all = np.column_stack([reference] + [_goes_right(member, node, reference, known, f_index)
                                                   for node in virtual_of])
    model = {"trees": trees, "base_offset": float(np.ravel(member._baseline_prediction)[0]),
             "tree_output": "log_odds", "objective": "binary_crossentropy", "input_dtype": np.float64}
    explainer = shap.TreeExplainer(model, data=reference_all, model_output=model_output,
                                   feature_perturbation="interventional")
    values = np.asarray(explainer.shap_values(x_all, check_additivity=False), dtype=np.float64)
    owner = np.concatenate([columns, [columns[node[1]["feature_idx"]] for node in virtual_of]]).astype(np.int64)
    out = np.zeros((len(x), len(columns)))
    np.add.at(out.T, owner, values.T)
    return out, float(np.atleast_1d(explainer.expected_value)[-1])


def _column_of_remapped(member):
    """For each column the trees see (categorical first), the member's own input column."""
    mask = np.asarray(member.is_categorical_, dtype=bool)
    return np.concatenate([np.flatnonzero(mask), np.flatnonzero(~mask)])


def _shap_tree(predictor, n_columns, virtual_of):
    """shap's dict of one tree; every categorical node becomes a split at 0.5 on a new virtual
    column (numbered after the ``n_columns`` real ones and those already in ``virtual_of``),
    appended to ``virtual_of`` as (predictor, node)."""
    nodes = predictor.nodes
    features = np.where(nodes["is_leaf"] == 1, -2, nodes["feature_idx"]).astype(np.int64)
    # shap compares in float64 like scikit-learn does (dict trees, float64 inputs): thresholds as they are
    thresholds = nodes["num_threshold"].astype(np.float64)
    for index in np.flatnonzero((nodes["is_categorical"] == 1) & (nodes["is_leaf"] == 0)):
        features[index] = n_columns + len(virtual_of)
        thresholds[index] = 0.5
        virtual_of.append((predictor, nodes[index]))
    leaf = nodes["is_leaf"] == 1
    left = np.where(leaf, -1, nodes["left"].astype(np.int64))
    right = np.where(leaf, -1, nodes["right"].astype(np.int64))
    return {"children_left": left, "children_right": right,
            "children_default": np.where(leaf, -1, np.where(nodes["missing_go_to_left"] == 1, left, right)),
            "features": features, "thresholds": thresholds, "values": nodes["value"].astype(np.float64)[:, None],
            "node_sample_weight": nodes["count"].astype(np.float64)}


def _goes_right(member, virtual, x, known, f_index):
    """1.0 where the categorical node sends a row of ``x`` (the trees' columns) right, else 0.0:
    scikit-learn's rule (missing, negative or unknown → the missing branch; in the node's bitset → left)."""
    predictor, node = virtual
    values = x[:, int(node["feature_idx"])]
    missing = ~np.isfinite(values) | (values < 0)
    codes = np.where(missing, 0, values).astype(np.int64)
    left = _in_bitset(predictor.raw_left_cat_bitsets[int(node["bitset_idx"])], codes)
    known_code = _in_bitset(known[f_index[int(node["feature_idx"])]], codes)
    to_missing_branch = missing | (~left & ~known_code)
    goes_left = np.where(to_missing_branch, bool(node["missing_go_to_left"]), left)
    return (~goes_left).astype(np.float64)


def _in_bitset(bitset, codes):
    """Whether each code (int, 0…255) is set in a scikit-learn bitset (8 uint32 words)."""
    words = np.asarray(bitset, dtype=np.uint64)[np.clip(codes // 32, 0, 7)]
    return ((words >> (codes % 32).astype(np.uint64)) & np.uint64(1)).astype(bool) & (codes < 256)
