"""How raw factor values become a model's input columns: the one encoding of training,
prediction, SHAP and the inspector.

An evidence stack records which factors are categorical (``core.factor_kinds``). The encoding is
built from the *training* points' raw values only:

* a **continuous** factor is one column, standardised with the training mean and standard
  deviation: ``(value − mean) / std`` in float32 (a constant factor has std 1);
* a **categorical** factor (lithology, stratigraphic unit, …) in mode ``one_hot`` (networks,
  logistic regression, random forest) is one 0/1 column per code seen in training, codes sorted
  ascending; in mode ``native`` (gradient boosting with scikit-learn's categorical splits) it is
  one column holding the code's position 0…k−1 in that sorted list.

A code never seen in training has no column of its own: in ``one_hot`` it becomes all zeros (the
model then sees "none of the known units", the same as the reference a linear model's intercept
stands for), in ``native`` it is missing (NaN, which the trees send down their missing-value
branch). Prediction counts those cells per factor (:meth:`FactorEncoding.unseen_counts`).
A cell without a value (NaN: patch cells outside the raster or on nodata, padded cells of a
stored background) encodes to 0 in every column: the training mean of a continuous factor,
no category of a one-hot factor; missing (NaN) in a native categorical column.

A bundle stores the encoding in its metadata (:meth:`FactorEncoding.to_metadata`, key
``factor_encoding``) beside ``normalisation`` (mean and std of every factor's raw values); a
bundle without it is all-continuous, and its inputs are computed with exactly the arithmetic of
the bundles written before categorical factors existed.
"""
from dataclasses import dataclass, field

import numpy as np

CONTINUOUS, CATEGORICAL = "continuous", "categorical"
ONE_HOT, NATIVE = "one_hot", "native"
#: What a code unseen in training becomes, in words (the report and the docs say it).
UNSEEN_RULE = ("a code not seen in training becomes all zeros in its factor's one-hot columns (missing for "
               "gradient boosting's native categories), and its cells are counted at prediction")


def training_statistics(values):
    """Per-factor mean and standard deviation (float32, (n_factors,)) of the training points'
    raw ``values`` (n, n_factors); a constant factor gets std 1 so it standardises to 0 instead of
    dividing by zero."""
    values = np.asarray(values, dtype=np.float64)
    mean = values.mean(axis=0)
    std = values.std(axis=0)
    std[~(std > 0)] = 1.0
    return mean.astype(np.float32), std.astype(np.float32)


def code_label(code):
    """A category code as people write it: 3.0 → "3", 2.5 → "2.5"."""
    return "{:g}".format(float(code))


def category_label(names, code):
    """The name of category ``code`` in ``names`` ({code label: name}, a stack's categories), else
    its code as people write it ("3")."""
    label = code_label(code)
    return names.get(label) or label


@dataclass
class FactorEncoding:
    """The encoding of ``factor_names`` (module docstring).

    ``kinds``: "continuous" | "categorical" per factor; ``mean``, ``std``: float32 (n_factors,)
    raw-unit statistics of the training points (used for continuous factors); ``codes``: per
    factor the sorted training codes (empty for continuous ones); ``categories``: per factor a
    dict code label → category name (may be empty); ``mode``: "one_hot" or "native".
    """

    factor_names: list
    kinds: list
    mean: np.ndarray
    std: np.ndarray
    codes: list = field(default_factory=list)
    categories: list = field(default_factory=list)
    mode: str = ONE_HOT

    def __post_init__(self):
        count = len(self.factor_names)
        self.kinds = list(self.kinds) if self.kinds else [CONTINUOUS] * count
        self.mean = np.asarray(self.mean, dtype=np.float32).reshape(count)
        self.std = np.asarray(self.std, dtype=np.float32).reshape(count)
        self.codes = [np.asarray(c, dtype=np.float32) for c in (self.codes or [()] * count)]
        self.categories = [dict(c or {}) for c in (self.categories or [{}] * count)]
        widths = [len(c) if kind == CATEGORICAL and self.mode == ONE_HOT else 1
                  for kind, c in zip(self.kinds, self.codes)]
        self.starts = np.concatenate([[0], np.cumsum(widths)[:-1]]).astype(np.int64)
        self.widths = np.asarray(widths, dtype=np.int64)

    # Built from training -------------------------------------------------------------------
    @classmethod
    def from_training(cls, factor_names, values, kinds=None, categories=None, mode=ONE_HOT):
        """The encoding of the training points' raw ``values`` (n, n_factors). ``kinds`` and
        ``categories`` as the stack records them (``core.raster.StackInfo``); None: all continuous."""
        values = np.asarray(values, dtype=np.float64)
        mean, std = training_statistics(values)
        kinds = list(kinds) if kinds else [CONTINUOUS] * len(factor_names)
        codes = [np.unique(values[:, i][np.isfinite(values[:, i])]) if kind == CATEGORICAL else ()
                 for i, kind in enumerate(kinds)]
        for i, kind in enumerate(kinds):
            if kind == CATEGORICAL and not len(codes[i]):
                kinds[i] = CONTINUOUS
        return cls(list(factor_names), kinds, mean, std, codes, categories, mode)

    # Shape ----------------------------------------------------------------------------------
    @property
    def n_factors(self):
        return len(self.factor_names)

    @property
    def n_inputs(self):
        """Model input columns (as many as factors unless some are one-hot)."""
        return int(self.widths.sum())

    @property
    def all_continuous(self):
        return CATEGORICAL not in self.kinds

    @property
    def categorical(self):
        """bool (n_factors,): which factors are categorical."""
        return np.array([kind == CATEGORICAL for kind in self.kinds], dtype=bool)

    def column_factor(self):
        """int (n_inputs,): the factor index of every input column."""
        return np.repeat(np.arange(self.n_factors), self.widths)

    def categorical_columns(self):
        """bool (n_inputs,): input columns holding native category indices (mode "native")."""
        native = self.categorical & (self.mode == NATIVE)
        return np.repeat(native, self.widths)

    def input_names(self):
        """Names of the input columns: the factor's, or ``factor=category`` for one-hot columns."""
        names = []
        for index, name in enumerate(self.factor_names):
            if self.kinds[index] == CATEGORICAL and self.mode == ONE_HOT:
                names += ["{}={}".format(name, self.category_name(index, code)) for code in self.codes[index]]
            else:
                names.append(name)
        return names

    def category_name(self, factor, code):
        """The category's name where the stack has one, else its code ("3")."""
        return category_label(self.categories[factor], code)

    # Encoding -------------------------------------------------------------------------------
    def encode(self, values):
        """Raw factor values (…, n_factors) → model inputs float32 (…, n_inputs). Float64 values are
        standardised in float64 (as training always did), anything else in float32 (as prediction)."""
        values = np.asarray(values)
        if values.dtype != np.float64:
            values = values.astype(np.float32)
        if self.all_continuous:
            # the arithmetic of bundles written before categorical factors: identical numbers
            out = ((values - self.mean) / self.std).astype(np.float32)
            out[~np.isfinite(out)] = 0.0
            return out
        out = np.zeros(values.shape[:-1] + (self.n_inputs,), dtype=np.float32)
        for factor in range(self.n_factors):
            column, start = values[..., factor], self.starts[factor]
            if self.kinds[factor] == CONTINUOUS:
                standardised = (column - self.mean[factor]) / self.std[factor]
                out[..., start] = np.where(np.isfinite(standardised), standardised, 0.0)
            elif self.mode == ONE_HOT:
                out[..., start:start + self.widths[factor]] = column[..., None] == self.codes[factor]
            else:
                out[..., start] = self._positions(factor, column)
        return out

    def encode_window(self, window):
        """A window of the stack (n_factors, h, w) → model inputs float32 (n_inputs, h, w)."""
        if self.all_continuous:
            out = ((window.astype(np.float32) - self.mean[:, None, None]) / self.std[:, None, None]).astype(np.float32)
            out[~np.isfinite(out)] = 0.0
            return out
        return np.ascontiguousarray(np.moveaxis(self.encode(np.moveaxis(window, 0, -1)), -1, 0))

    def _positions(self, factor, column):
        """Native mode: the position of each code in the training codes, NaN when unseen or missing."""
        codes = self.codes[factor]
        position = np.clip(np.searchsorted(codes, column), 0, len(codes) - 1)
        return np.where(codes[position] == column, position.astype(np.float32), np.float32(np.nan))

    def decode(self, inputs):
        """Model inputs (…, n_inputs) → raw factor values float32 (…, n_factors): the inverse of
        :meth:`encode` (a one-hot group of zeros, or a missing native index, → NaN)."""
        inputs = np.asarray(inputs, dtype=np.float32)
        if self.all_continuous:
            return (inputs * self.std + self.mean).astype(np.float32)
        out = np.empty(inputs.shape[:-1] + (self.n_factors,), dtype=np.float32)
        for factor in range(self.n_factors):
            start, width = self.starts[factor], self.widths[factor]
            if self.kinds[factor] == CONTINUOUS:
                out[..., factor] = inputs[..., start] * self.std[factor] + self.mean[factor]
                continue
            if self.mode == ONE_HOT:
                group = inputs[..., start:start + width]
                position, present = group.argmax(axis=-1), group.max(axis=-1) > 0.5
            else:
                present = np.isfinite(inputs[..., start])
                position = np.where(present, inputs[..., start], 0).astype(np.int64)
            out[..., factor] = np.where(present, self.codes[factor][position], np.nan)
        return out

    def collapse(self, values):
        """Per-column values (…, n_inputs), e.g. SHAP values → one per factor (…, n_factors): the
        sum of each factor's columns."""
        values = np.asarray(values)
        if self.n_inputs == self.n_factors:
            return values
        return np.add.reduceat(values, self.starts, axis=-1)

    def unseen_counts(self, values):
        """{factor name: cells} of categorical factors whose finite raw ``values`` (…, n_factors)
        hold a code not seen in training (only factors with at least one such cell)."""
        counts = {}
        for factor in np.flatnonzero(self.categorical):
            column = np.asarray(values[..., factor], dtype=np.float32)
            unseen = int((np.isfinite(column) & ~np.isin(column, self.codes[factor])).sum())
            if unseen:
                counts[self.factor_names[factor]] = unseen
        return counts

    # Metadata -------------------------------------------------------------------------------
    def to_metadata(self):
        """The bundle's ``factor_encoding`` (JSON-able); mean and std live in ``normalisation``."""
        factors = []
        for index, name in enumerate(self.factor_names):
            entry = {"name": name, "kind": self.kinds[index]}
            if self.kinds[index] == CATEGORICAL:
                entry.update(codes=[float(code) for code in self.codes[index]],
                             categories=dict(self.categories[index]))
            factors.append(entry)
        return {"mode": self.mode, "unseen": UNSEEN_RULE, "factors": factors}

    @classmethod
    def from_metadata(cls, metadata):
        """The encoding of a bundle's metadata; all-continuous without ``factor_encoding``."""
        names = list(metadata["factor_names"])
        stored = metadata.get("factor_encoding") or {}
        entries = {entry["name"]: entry for entry in stored.get("factors") or ()}
        kinds = [entries.get(name, {}).get("kind", CONTINUOUS) for name in names]
        codes = [entries.get(name, {}).get("codes") or () for name in names]
        categories = [entries.get(name, {}).get("categories") or {} for name in names]
        normalisation = metadata["normalisation"]
        return cls(names, kinds, normalisation["mean"], normalisation["std"], codes, categories,
                   stored.get("mode", ONE_HOT))
