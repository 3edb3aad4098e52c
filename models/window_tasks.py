"""What one window of a map-wide model step computes, in the form ``core.pipeline.WindowTask``
needs so that the window can run here or on a Dask worker (``DASK_SCHEDULER``) with the same code:

* :func:`predict_window`: the members' deposit probability (mean, and their spread for the
  uncertainty map) of the window's valid pixels (``models.predict``'s first pass);
* :func:`contribution_window`: the per-factor SHAP contribution of each valid pixel
  (``models.explain.contribution_map``).

Their contexts name the model by its ``.dpm`` file (:class:`SharedBundle`): here the loaded
bundle is used as it is; a worker loads the file once per process and keeps it for every later
window and run (``core.pipeline_dask.process_cached``), so the bundle must be on storage every
worker reads. The SHAP context also carries the background centres, so a worker rebuilds the
same explainer the map's base value came from.
"""
import os
from dataclasses import dataclass, field

import numpy as np

from ..core.errors import DeepProspectError
from ..core.pipeline_dask import process_cached, process_pool
from ..core.raster import STACK_NODATA
from .compiled import PREDICT_BATCH

#: Nodata of the probability and uncertainty maps.
PROBABILITY_NODATA = STACK_NODATA
# Pixels per chunk between two cancel checks (12 of the model's fixed batches,
# models.compiled.PREDICT_BATCH, or 32 without XLA: no padded batch but the window's last), and the budget for one
# chunk of patches (also a whole number of batches).
PIXEL_CHUNK = 12 * PREDICT_BATCH
PATCH_CHUNK_BYTES = 64 * 2 ** 20
#: Valid pixels per window whose additivity (base value + Σ contributions = probability) an exact
#: SHAP method's map checks (:func:`additivity_pixels`).
ADDITIVITY_SAMPLE = 2000


class SharedBundle:
    """A loaded ``ModelBundle`` that travels to Dask workers as its file name: :meth:`get` is the
    bundle itself here, and on a worker the file loaded once per process (keyed by the path, size
    and modification time seen here, so a rewritten bundle is loaded again)."""

    def __init__(self, bundle):
        self._bundle = bundle
        self.path = getattr(bundle, "path", None)
        self.key = None
        try:
            status = os.stat(self.path) if self.path else None
        except OSError:          # moved since it was loaded: fine here, an error for a cluster run
            status = None
        if status is not None:
            self.key = ("bundle", os.path.abspath(self.path), status.st_size, status.st_mtime_ns)

    def require_file(self):
        """A clear error when the bundle has no file the workers could load."""
        if not self.key:
            raise DeepProspectError(
                "Running on a Dask cluster needs the model as a .dpm file every worker can read, and {}: save the "
                "model (or put it back) where the workers reach it.".format(
                    "its file {} is no longer there".format(self.path) if self.path else "this model was never saved"))

    def get(self):
        if self._bundle is None:
            from .bundle import load_bundle

            self._bundle = process_cached(self.key, lambda: load_bundle(self.path))
        return self._bundle

    def __getstate__(self):
        return {"path": self.path, "key": self.key}

    def __setstate__(self, state):
        self.__dict__.update(state, _bundle=None)


# Prediction ---------------------------------------------------------------------------------

@dataclass
class PredictContext:
    """What :func:`predict_window` needs: the bundle, and whether to map the members' spread."""

    bundle: SharedBundle
    spread: bool = False


def predict_window(block, raw, context, feedback):
    """Deposit probability of a window: ``(maps, valid, unseen)`` with ``maps`` the float32
    (rows, cols) probability map (and the members' standard deviation when ``context.spread``),
    nodata off the valid pixels; ``valid`` (rows, cols) bool; ``unseen`` {categorical factor:
    valid cells with a code the model never saw in training}."""
    bundle = context.bundle.get()
    members, valid = predict_window_valid(bundle, raw, block.valid, block.inner, feedback)
    unseen = {}
    if not bundle.encoding.all_continuous:
        unseen = bundle.encoding.unseen_counts(raw[:, block.inner[0], block.inner[1]][:, valid].T)
    maps = [fill(members.mean(axis=0), valid)]
    if context.spread:
        maps.append(fill(members.std(axis=0), valid))
    return maps, valid, unseen


def predict_window_valid(bundle, raw, valid_all, inner, feedback):
    """Member probabilities for the valid pixels of ``raw[:, inner]``.

    ``raw``: (n_factors, h, w) read with halo, ``valid_all`` its valid-pixel mask; ``inner``:
    slices of the pixels to predict. Returns ``(members (n_members, n_valid) float32, valid
    (rows, cols) bool)``. The pixels go to the model in chunks; the next chunk's inputs are made
    (standardised, or cut into patches) in a helper thread while the model predicts this one.
    """
    valid = valid_all[inner]
    rows, cols = np.nonzero(valid)
    rows = rows + inner[0].start
    cols = cols + inner[1].start
    if rows.size == 0:
        return np.zeros((len(bundle.members), 0), dtype=np.float32), valid
    chunk, standardised = PIXEL_CHUNK, None
    if bundle.uses_patches:
        # patches for a few thousand pixels at a time, so memory stays bounded
        patches = PATCH_CHUNK_BYTES // (bundle.patch_size ** 2 * bundle.encoding.n_inputs * 4)
        chunk = max(1, patches // PREDICT_BATCH) * PREDICT_BATCH
        standardised = bundle.standardised_window(raw)
    parts = [slice(start, start + chunk) for start in range(0, rows.size, chunk)]

    def inputs(part):
        return bundle.window_inputs(raw, valid_all, rows[part], cols[part], standardised)

    helper = process_pool("model-inputs")
    outputs, upcoming = [], helper.submit(inputs, parts[0])
    for index in range(len(parts)):
        if feedback is not None:
            feedback.check_canceled()
        ready = upcoming.result()
        if index + 1 < len(parts):
            upcoming = helper.submit(inputs, parts[index + 1])
        outputs.append(bundle.predict_members(ready))
    return np.concatenate(outputs, axis=1), valid


def fill(values, valid):
    """A (rows, cols) float32 map with ``values`` on valid pixels and nodata elsewhere."""
    band = np.full(valid.shape, PROBABILITY_NODATA, dtype=np.float32)
    band[valid] = np.clip(values, 0.0, 1.0)
    return band


# SHAP contribution maps ---------------------------------------------------------------------

@dataclass
class ContributionContext:
    """What :func:`contribution_window` needs: the bundle, the background (raw rows), its weighted
    centres and the number of path steps (what :func:`contribution_method` builds the explainer
    from), the map's base value and its number of factors. ``method``: the explainer already built
    here (not sent to workers, which build their own from the rest)."""

    bundle: SharedBundle
    background: np.ndarray
    centres: np.ndarray
    weights: np.ndarray
    steps: int
    base_value: float
    factors: int
    method: object = field(default=None, repr=False)

    def explainer(self):
        if self.method is None:
            key = ("contribution", self.bundle.key, self.steps, _digest(self.background, self.centres, self.weights))
            self.method = process_cached(key, lambda: contribution_method(
                self.bundle.get(), self.background, self.centres, self.weights, self.steps, None))
        return self.method

    def __getstate__(self):
        return dict(self.__dict__, method=None)


def contribution_method(bundle, background, centres, weights, steps, feedback):
    """The ``ContributionMethod`` that explains ``bundle``'s windows: shap's exact explainers for
    scikit-learn members (``models.sklearn_contribution``), else the network's gradient-based
    method (``models.explain``) from the weighted ``centres`` with ``steps`` path steps."""
    from ..core.feedback import ensure_feedback
    from .explain import _gradient_map_method
    from .sklearn_contribution import sklearn_map_method
    from .sklearn_members import is_sklearn_member

    feedback = ensure_feedback(feedback)
    if is_sklearn_member(bundle.members[0]):
        return sklearn_map_method(bundle.members, background, centres, weights, feedback)
    return _gradient_map_method(bundle, centres, weights, int(steps), feedback)


def contribution_window(block, data, context, feedback):
    """SHAP contributions of a window's valid pixels: ``(bands, worst, counted)`` with ``bands``
    float32 (factors, rows, cols), nodata off the valid pixels; ``worst`` the largest
    |base value + Σ contributions − probability| over the pixels :func:`additivity_pixels` picks;
    ``counted`` the number of valid pixels."""
    bundle = context.bundle.get()
    valid = block.valid[block.inner]
    rows, cols = np.nonzero(valid)
    bands = np.full((context.factors,) + valid.shape, STACK_NODATA, dtype=np.float32)
    if not len(rows):
        return bands, 0.0, 0
    inputs = bundle.window_inputs(data, block.valid, rows + block.inner[0].start, cols + block.inner[1].start)
    method = context.explainer()
    values = bundle.per_factor(method.explain(inputs))
    checked = additivity_pixels(len(rows), method, (int(block.window.row_off), int(block.window.col_off)))
    error = np.abs(context.base_value + values[checked].sum(axis=1) - bundle.predict(inputs[checked]))
    bands[:, rows, cols] = values.T
    return bands, float(error.max()), len(rows)


def additivity_pixels(count, method, corner):
    """Indices (sorted) of the ``count`` valid pixels of a window whose additivity is checked.

    An exact method (DeepSHAP's rescale rule, shap's exact explainers: no ``SHAP_STEPS`` tag)
    can only miss by float32 rounding or a bug that shows on any pixel, so at most
    :data:`ADDITIVITY_SAMPLE` pixels are checked, drawn with a seed made from the window's
    top-left ``corner`` (row, col): the same pixels on every run, here or on a Dask worker.
    (Checking predicts the pixels again: on the dense network, checking all of them cost about
    a tenth of the map's time.) Expected gradients' error varies pixel to pixel (it is what the run
    reports and warns about), so every pixel is checked."""
    if count <= ADDITIVITY_SAMPLE or "SHAP_STEPS" in method.tags:
        return np.arange(count)
    rng = np.random.default_rng([ADDITIVITY_SAMPLE, *corner])
    return np.sort(rng.choice(count, ADDITIVITY_SAMPLE, replace=False))


def _digest(*arrays):
    import hashlib

    digest = hashlib.sha256()
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()
