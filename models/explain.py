"""SHAP explanations of a prospectivity model: which factors push a pixel towards "deposit".

What is explained is the ensemble-mean *deposit* probability (softmax output 1) as a function
of the model's standardised inputs. SHAP values do not change under the per-factor affine
standardisation, so each value is "how much this factor moved the deposit probability away
from the base value", in probability units, whatever the factor's own unit.

Three explainers (the ``EXPLAINER`` enum of ``deepprospect:shap``, in this order):

* ``gradient`` — expected gradients (Erion et al. 2021, the method behind
  ``shap.GradientExplainer``), computed deterministically: for every background row the path
  integral is taken with ``steps`` midpoint steps, vectorised in TensorFlow. This gives the
  same quantity as ``shap.GradientExplainer`` without its per-sample Python loop and random
  sampling noise (whose additivity error reached 0.13 in probability on 200 pixels with its
  default 200 samples), and it is the only method fast enough for contribution maps.
* ``deep`` — ``shap.DeepExplainer`` (DeepLIFT rescale rule), exact additivity.
* ``kernel`` — ``shap.KernelExplainer``, model-agnostic and slow; the background is summarised
  by weighted k-means centres (as ``shap.kmeans`` does, without rounding) as the shap authors
  recommend, and every factor is kept (no L1 feature selection). For checking.

Ensembles: Shapley values are linear in the model, so the ensemble mean's SHAP values equal
the average of the members' (DeepExplainer is run per member and averaged).
``cnn2d_patch``: a factor's SHAP value is the sum over all cells of its patch.
"""
import contextlib
import io
import sys

import numpy as np

from ..core.errors import DeepProspectError
from ..core.feedback import ensure_feedback
from ..core.patches import extract_patches
from ..core.raster import (
    STACK_NODATA, GEOTIFF_OPTIONS, bounded_gdal_cache, pixel_centres, read_stack_info, sample_stack, valid_pixels,
)

EXPLAINERS = ("gradient", "deep", "kernel")
#: Above this largest |base + ΣSHAP − prediction| (probability units) the user is warned.
ADDITIVITY_TOLERANCE = 0.01
GRADIENT_STEPS = 16
KERNEL_CENTRES = 10
_FLOAT_BUDGET = 1 << 21   # floats per expected-gradients batch (≈ 8 MB per tensor)


# Public API ------------------------------------------------------------------------------

def explain_sample(bundle, stack_path, points_xy=None, points_labels=None, sample_size=1000,
                   background_size=100, explainer="gradient", seed=0, feedback=None):
    """Explain the model on a sample of pixels of an evidence stack.

    ``bundle``: a loaded :class:`~deepprospect.models.bundle.ModelBundle`; ``stack_path``: the
    evidence stack (same factors, same order); ``points_xy``: optional (n, 2) map coordinates
    in the stack's CRS (e.g. known deposits) that are explained first; ``points_labels``:
    optional (n,) labels of those points (1 deposit, 0 non-deposit; NaN unknown); the rest of
    ``sample_size`` is filled with random valid pixels (label NaN). ``background_size``: rows
    of the SHAP background (the bundle's stored background when it has one, else random
    valid pixels). Same inputs and ``seed`` → same result.

    Returns a dict: ``factor_names``, ``units`` (dict), ``shap_values`` (n, n_factors) in
    probability units, ``base_value`` (float), ``prediction`` (n,) deposit probability,
    ``factor_values`` (n, n_factors) raw values, ``xy`` (n, 2), ``rows``, ``cols``,
    ``labels`` (n,) float with NaN for unknown, ``explainer``, ``additivity_error`` (largest
    |base + ΣSHAP − prediction|).
    """
    feedback = ensure_feedback(feedback)
    explainer = _check_explainer(explainer, bundle)
    info = read_stack_info(stack_path)
    bundle.check_factors(info.factor_names)
    sample_size = int(sample_size)
    if sample_size < 1:
        raise DeepProspectError("SAMPLE_SIZE must be at least 1 (got {}); 1000 is usual.".format(sample_size))
    rng = np.random.default_rng(int(seed))

    rows, cols, labels = _sample_pixels(info, stack_path, points_xy, points_labels, sample_size, rng, feedback)
    feedback.set_progress(5)
    background = _background(bundle, info, stack_path, background_size, rng)
    raw, inputs = _read_inputs(bundle, info, stack_path, rows, cols)
    feedback.set_progress(10)
    feedback.info("Explaining {} pixels with the {} explainer against {} background rows…".format(
        len(rows), explainer, len(background)))
    shap_values, base_value = _explain_inputs(bundle, inputs, background, explainer, int(seed),
                                              feedback.scaled(10, 100))
    result = _result(bundle, raw, inputs, shap_values, base_value, explainer, feedback)
    result.update(xy=pixel_centres(info, rows, cols), rows=rows, cols=cols, labels=labels,
                  background_size=len(background))
    return result


def explain_pixels(bundle, stack_path, rows, cols, explainer="gradient", background_size=100, seed=0,
                   feedback=None):
    """Explain individual pixels (e.g. the one a geologist clicked in the dock widget).

    ``rows``, ``cols``: integer pixel indices (scalars or arrays) in the stack's grid.
    Fast for one pixel: the background and the explainer are built once per bundle and
    cached on it. Raises :class:`DeepProspectError` for pixels outside the stack or on nodata.

    Returns a dict: ``shap_values`` (n, n_factors), ``base_value`` (float), ``prediction``
    (n,), ``factor_values`` (n, n_factors) raw, ``factor_names``, ``units``, ``explainer``,
    ``additivity_error``.
    """
    explainer = _check_explainer(explainer, bundle)
    info = read_stack_info(stack_path)
    bundle.check_factors(info.factor_names)
    rows, cols = np.atleast_1d(np.asarray(rows, dtype=np.int64)), np.atleast_1d(np.asarray(cols, dtype=np.int64))
    outside = (rows < 0) | (rows >= info.height) | (cols < 0) | (cols >= info.width)
    if outside.any():
        raise DeepProspectError("Pixel (row {}, column {}) is outside the evidence stack; click inside it.".format(
            rows[outside][0], cols[outside][0]))
    cache = bundle.__dict__.setdefault("_shap_background_cache", {})
    key = (info.path, int(background_size), int(seed))
    if key not in cache:
        cache[key] = _background(bundle, info, stack_path, background_size, np.random.default_rng(int(seed)))
    background = cache[key]
    raw, inputs = _read_inputs(bundle, info, stack_path, rows, cols)
    shap_values, base_value = _explain_inputs(bundle, inputs, background, explainer, int(seed),
                                              ensure_feedback(feedback))
    return _result(bundle, raw, inputs, shap_values, base_value, explainer, ensure_feedback(feedback))


def importance(result):
    """Mean |SHAP| per factor, sorted descending: list of (factor, mean_abs_shap)."""
    mean_abs = np.abs(np.asarray(result["shap_values"])).mean(axis=0)
    order = np.argsort(-mean_abs, kind="stable")
    return [(result["factor_names"][index], float(mean_abs[index])) for index in order]


def contribution_map(bundle, stack_path, output_path, background_size=100, references=8, steps=8, seed=0,
                     block_size=512, feedback=None):
    """Per-factor SHAP contribution maps over a whole stack, block by block (expected gradients).

    Writes ``output_path``: float32 GeoTIFF, one band per factor (band description = factor
    name) holding that factor's SHAP contribution to the deposit probability, nodata
    :data:`STACK_NODATA` outside valid pixels; the base value is stored in the tag
    ``SHAP_BASE_VALUE``. The background is summarised by ``references`` weighted k-means
    centres and every path integral uses ``steps`` midpoint steps, the same for every pixel (so
    the maps have no sampling speckle); cost ≈ ``references × steps`` gradient evaluations per
    pixel. Memory stays bounded by ``block_size``. Written atomically; honours cancel.

    Returns a dict: ``path``, ``base_value``, ``additivity_error`` (largest over valid pixels),
    ``valid_pixels``.
    """
    # windows are read once: GDAL's default cache (5 % of RAM) would only make memory grow with the map
    with bounded_gdal_cache(64):
        return _contribution_map(bundle, stack_path, output_path, background_size, references, steps, seed,
                                 block_size, feedback)


def _contribution_map(bundle, stack_path, output_path, background_size, references, steps, seed, block_size,
                      feedback):
    import rasterio

    from ..core.atomic import atomic_output
    from ..core.blocks import dataset_tile_size, iter_blocks

    feedback = ensure_feedback(feedback)
    info = read_stack_info(stack_path)
    bundle.check_factors(info.factor_names)
    rng = np.random.default_rng(int(seed))
    background = _background(bundle, info, stack_path, background_size, rng)
    centres, weights = _weighted_centres(background, int(references), int(seed))
    gradient_fn = _gradient_function(bundle)
    base_value = float(np.dot(weights, _ensemble_output(bundle, centres)))
    half = bundle.patch_size // 2
    worst, counted = 0.0, 0
    with rasterio.open(stack_path) as source, atomic_output(output_path) as temporary:
        options = dict(GEOTIFF_OPTIONS)
        with rasterio.open(temporary, "w", width=info.width, height=info.height, count=len(info.factor_names),
                           dtype="float32", crs=info.crs, transform=info.transform, nodata=STACK_NODATA,
                           **options) as target:
            for index, name in enumerate(info.factor_names, start=1):
                target.set_band_description(index, name)
            target.update_tags(SHAP_BASE_VALUE=repr(base_value), SHAP_METHOD="expected gradients",
                               SHAP_REFERENCES=str(len(centres)), SHAP_STEPS=str(int(steps)))
            blocks = iter_blocks(info.width, info.height, block_size, halo=half, tile_size=dataset_tile_size(source))
            for block in blocks:
                feedback.check_canceled()
                data = source.read(window=block.read_window).astype(np.float32)
                valid = valid_pixels(data, info.nodata)
                inner_valid = valid[block.inner]
                out = np.full((len(info.factor_names),) + inner_valid.shape, STACK_NODATA, dtype=np.float32)
                local_rows, local_cols = np.nonzero(inner_valid)
                if len(local_rows):
                    rows = local_rows + block.inner[0].start
                    cols = local_cols + block.inner[1].start
                    standardised = bundle.standardise(np.moveaxis(data, 0, -1))
                    if bundle.uses_patches:
                        inputs = extract_patches(np.moveaxis(standardised, -1, 0), valid, rows, cols, bundle.patch_size)
                    else:
                        inputs = standardised[rows, cols]
                    values = _expected_gradients(gradient_fn, inputs, centres, weights, int(steps), feedback)
                    values = _per_factor(values)
                    prediction = bundle.predict(inputs)
                    error = np.abs(base_value + values.sum(axis=1) - prediction)
                    worst, counted = max(worst, float(error.max())), counted + len(error)
                    out[:, local_rows, local_cols] = values.T
                target.write(out, window=block.window)
                feedback.set_progress(100.0 * (block.index + 1) / block.count)
    if worst > ADDITIVITY_TOLERANCE:
        feedback.warning(
            "SHAP contribution map (expected gradients, {} references × {} steps): base value + sum of the maps "
            "differs from the predicted probability by up to {:.3f}; raise the number of steps for a closer "
            "decomposition.".format(len(centres), int(steps), worst))
    return dict(path=str(output_path), base_value=base_value, additivity_error=worst, valid_pixels=counted)


def factor_units(bundle_or_names):
    """Units of the factors where known: the bundle's ``units`` metadata, else the paper's
    factors' units (``core.synthetic.UNITS``); dict factor → unit ('' if unknown)."""
    from ..core.synthetic import UNITS

    names = getattr(bundle_or_names, "factor_names", bundle_or_names)
    stored = getattr(bundle_or_names, "metadata", {}).get("units", {}) if hasattr(bundle_or_names, "metadata") else {}
    return {name: stored.get(name) or UNITS.get(name, "") for name in names}


# Sampling -------------------------------------------------------------------------------

def _check_explainer(explainer, bundle):
    if isinstance(explainer, (int, np.integer)):
        explainer = EXPLAINERS[int(explainer)] if 0 <= int(explainer) < len(EXPLAINERS) else str(explainer)
    if explainer not in EXPLAINERS:
        raise DeepProspectError("Unknown explainer '{}'; choose one of {}.".format(explainer, ", ".join(EXPLAINERS)))
    if explainer == "kernel" and bundle.uses_patches:
        raise DeepProspectError(
            "The kernel explainer would treat each of the {0}×{0}×{1} patch cells of this cnn2d_patch model as a "
            "separate player, which is far too slow. Use the gradient or deep explainer for patch models.".format(
                bundle.patch_size, len(bundle.factor_names)))
    return explainer


def _random_valid_pixels(info, stack_path, count, rng, exclude=None):
    """Up to ``count`` distinct random valid pixels (rows, cols), drawn without reading the whole stack."""
    taken = set() if exclude is None else set(exclude)
    rows_out, cols_out = [], []
    total = info.width * info.height
    for _ in range(6):
        need = count - len(rows_out)
        if need <= 0:
            break
        draw = min(total, max(64, 3 * need))
        flat = rng.choice(total, size=draw, replace=False)
        rows, cols = flat // info.width, flat % info.width
        _, ok, _, _ = sample_stack(stack_path, pixel_centres(info, rows, cols))
        for row, col in zip(rows[ok], cols[ok]):
            if (row, col) not in taken and len(rows_out) < count:
                taken.add((row, col))
                rows_out.append(row)
                cols_out.append(col)
    return np.asarray(rows_out, dtype=np.int64), np.asarray(cols_out, dtype=np.int64)


def _sample_pixels(info, stack_path, points_xy, points_labels, sample_size, rng, feedback):
    rows, cols, labels = np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    if points_xy is not None and len(points_xy):
        points_xy = np.asarray(points_xy, dtype=float).reshape(-1, 2)
        point_labels = (np.full(len(points_xy), np.nan) if points_labels is None
                        else np.asarray(points_labels, dtype=float))
        _, ok, point_rows, point_cols = sample_stack(stack_path, points_xy)
        if (~ok).any():
            feedback.warning("{} of {} points are outside the stack or on nodata and are not explained.".format(
                int((~ok).sum()), len(ok)))
        # one sample per pixel: two deposits in one cell are the same input
        keys = point_rows[ok] * info.width + point_cols[ok]
        _, first = np.unique(keys, return_index=True)
        keep = np.flatnonzero(ok)[np.sort(first)]
        if len(keep) > sample_size:
            keep = np.sort(rng.choice(keep, size=sample_size, replace=False))
        rows, cols, labels = point_rows[keep], point_cols[keep], point_labels[keep]
    extra_rows, extra_cols = _random_valid_pixels(info, stack_path, sample_size - len(rows), rng,
                                                  exclude=zip(rows.tolist(), cols.tolist()))
    if len(rows) + len(extra_rows) == 0:
        raise DeepProspectError("The evidence stack {} has no valid pixel (all nodata) to explain.".format(stack_path))
    if len(rows) + len(extra_rows) < sample_size:
        feedback.warning("Only {} valid pixels could be sampled (SAMPLE_SIZE {}).".format(
            len(rows) + len(extra_rows), sample_size))
    return (np.concatenate([rows, extra_rows]), np.concatenate([cols, extra_cols]),
            np.concatenate([labels, np.full(len(extra_rows), np.nan)]))


def _background(bundle, info, stack_path, background_size, rng):
    """Standardised background inputs: the bundle's stored background (subsampled), else random pixels."""
    background_size = int(background_size)
    if background_size < 1:
        raise DeepProspectError("BACKGROUND_SIZE must be at least 1 (got {}); 100 is usual.".format(background_size))
    stored = bundle.background
    expected_shape = ((bundle.patch_size, bundle.patch_size, len(bundle.factor_names)) if bundle.uses_patches
                      else (len(bundle.factor_names),))
    if stored is not None and tuple(stored.shape[1:]) == expected_shape and len(stored):
        if len(stored) > background_size:
            stored = stored[np.sort(rng.choice(len(stored), size=background_size, replace=False))]
        return bundle.standardise(stored)
    rows, cols = _random_valid_pixels(info, stack_path, background_size, rng)
    if len(rows) == 0:
        raise DeepProspectError("The evidence stack {} has no valid pixel for a SHAP background.".format(stack_path))
    return _read_inputs(bundle, info, stack_path, rows, cols)[1]


def _read_inputs(bundle, info, stack_path, rows, cols):
    """Raw centre values (n, f) and standardised model inputs for pixels ``rows``, ``cols``."""
    import rasterio
    from rasterio.windows import Window

    raw, ok, _, _ = sample_stack(stack_path, pixel_centres(info, rows, cols))
    if (~ok).any():
        bad = np.flatnonzero(~ok)[0]
        raise DeepProspectError(
            "Pixel (row {}, column {}) is nodata in at least one factor, so the model cannot explain it; "
            "choose a pixel where every factor has a value.".format(rows[bad], cols[bad]))
    if not bundle.uses_patches:
        return raw, bundle.standardise(raw)
    half = bundle.patch_size // 2
    patches = np.zeros((len(rows), bundle.patch_size, bundle.patch_size, len(info.factor_names)), np.float32)
    with rasterio.open(stack_path) as dataset:
        for index, (row, col) in enumerate(zip(rows, cols)):
            row0, col0 = max(0, row - half), max(0, col - half)
            row1, col1 = min(info.height, row + half + 1), min(info.width, col + half + 1)
            data = dataset.read(window=Window(col0, row0, col1 - col0, row1 - row0)).astype(np.float32)
            valid = valid_pixels(data, info.nodata)
            standardised = np.moveaxis(bundle.standardise(np.moveaxis(data, 0, -1)), -1, 0)
            patches[index] = extract_patches(standardised, valid, [row - row0], [col - col0], bundle.patch_size)[0]
    return raw, patches


# Explainers ------------------------------------------------------------------------------

def _explain_inputs(bundle, inputs, background, explainer, seed, feedback):
    """(SHAP values with the input's shape, base value) for the ensemble-mean deposit probability."""
    with _quiet_streams():
        if explainer == "gradient":
            gradient_fn = _gradient_function(bundle)
            weights = np.full(len(background), 1.0 / len(background))
            values = _expected_gradients(gradient_fn, inputs, background, weights, GRADIENT_STEPS, feedback)
            base = float(np.dot(weights, _ensemble_output(bundle, background)))
        elif explainer == "deep":
            values, base = _deep(bundle, inputs, background, seed, feedback)
        else:
            values, base = _kernel(bundle, inputs, background, seed, feedback)
    return values, base


def _gradient_function(bundle):
    """A cached tf.function: points → (ensemble deposit probability, its gradient)."""
    cache = bundle.__dict__.setdefault("_shap_function_cache", {})
    if "gradient" not in cache:
        import tensorflow as tf

        members = list(bundle.members)
        shape = [None] + list(members[0].inputs[0].shape[1:])
        signature = [tf.TensorSpec(shape, tf.float32), tf.TensorSpec(shape, tf.float32),
                     tf.TensorSpec([None], tf.float32), tf.TensorSpec([None], tf.float32)]

        @tf.function(input_signature=signature)
        def expected_gradient_batch(inputs, references, weights, alphas):
            # inputs (n, *s), references (k, *s), weights (k,), alphas (m,) → (n, *s)
            extra = len(inputs.shape) - 1
            difference = inputs[:, None] - references[None]                          # n, k, *s
            alpha = tf.reshape(alphas, [1, 1, -1] + [1] * extra)
            points = references[None, :, None] + alpha * difference[:, :, None]    # n, k, m, *s
            flat = tf.reshape(points, tf.concat([[-1], tf.shape(inputs)[1:]], axis=0))
            with tf.GradientTape() as tape:
                tape.watch(flat)
                output = tf.add_n([_deposit_output(model(flat, training=False)) for model in members]) / len(members)
            gradient = tf.reshape(tape.gradient(output, flat), tf.shape(points))
            mean_gradient = tf.reduce_mean(gradient, axis=2)                         # n, k, *s
            weight = tf.reshape(weights, [1, -1] + [1] * extra)
            return tf.reduce_sum(weight * mean_gradient * difference, axis=1)

        cache["gradient"] = expected_gradient_batch
    return cache["gradient"]


def _expected_gradients(gradient_fn, inputs, references, weights, steps, feedback):
    """Expected gradients of every input against weighted references, midpoint rule in ``steps``."""
    import tensorflow as tf

    steps = max(1, int(steps))
    alphas = tf.constant((np.arange(steps) + 0.5) / steps, dtype=tf.float32)
    references_t = tf.constant(references, dtype=tf.float32)
    # normalise in float64, then cast: under numpy 2 a float32 array divided by a float64 scalar is
    # float64, which the float32 signature of the tf.function refuses
    weights = np.asarray(weights, dtype=np.float64)
    weights_t = tf.constant((weights / weights.sum()).astype(np.float32))
    per_input = len(references) * steps * int(np.prod(inputs.shape[1:]))
    batch = max(1, _FLOAT_BUDGET // per_input)
    out = np.empty(inputs.shape, dtype=np.float32)
    for start in range(0, len(inputs), batch):
        feedback.check_canceled()
        chunk = tf.constant(inputs[start:start + batch], dtype=tf.float32)
        out[start:start + batch] = gradient_fn(chunk, references_t, weights_t, alphas).numpy()
        feedback.set_progress(100.0 * min(len(inputs), start + batch) / len(inputs))
    return out


def _deep(bundle, inputs, background, seed, feedback):
    import shap
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    total, base = np.zeros(inputs.shape, dtype=np.float64), 0.0
    chunk = 100
    steps = len(bundle.members) * ((len(inputs) + chunk - 1) // chunk)
    done = 0
    for model in bundle.members:
        explainer = shap.DeepExplainer(model, background)
        expected = np.atleast_1d(np.asarray(explainer.expected_value))
        base += float(expected[-1])
        for start in range(0, len(inputs), chunk):
            feedback.check_canceled()
            values = explainer.shap_values(inputs[start:start + chunk], check_additivity=False)
            total[start:start + chunk] += _last_output(values, inputs.ndim)
            done += 1
            feedback.set_progress(100.0 * done / steps)
    count = len(bundle.members)
    return (total / count).astype(np.float32), base / count


def _kernel(bundle, inputs, background, seed, feedback):
    import shap

    from shap.utils._legacy import DenseData

    np.random.seed(seed)  # KernelExplainer samples coalitions with numpy's global generator
    centres, weights = _weighted_centres(background, KERNEL_CENTRES, seed)
    summary = DenseData(centres, [str(index) for index in range(centres.shape[1])], None, weights.copy())
    explainer = shap.KernelExplainer(lambda values: _ensemble_output(bundle, values.astype(np.float32)), summary)
    out = np.empty(inputs.shape, dtype=np.float32)
    chunk = 10
    for start in range(0, len(inputs), chunk):
        feedback.check_canceled()
        out[start:start + chunk] = np.asarray(explainer.shap_values(inputs[start:start + chunk], silent=True, l1_reg=False))
        feedback.set_progress(100.0 * min(len(inputs), start + chunk) / len(inputs))
    return out, float(np.atleast_1d(explainer.expected_value)[0])


def _last_output(values, input_ndim):
    """DeepExplainer's values for the deposit output, whatever layout this shap version uses."""
    if isinstance(values, list):
        return np.asarray(values[-1])
    values = np.asarray(values)
    return values[..., -1] if values.ndim == input_ndim + 1 else values


def _deposit_output(output):
    return output[:, -1] if output.shape[-1] > 1 else output[:, 0]


def _ensemble_output(bundle, inputs):
    return bundle.predict(np.asarray(inputs, dtype=np.float32)).astype(np.float64)


def _weighted_centres(background, count, seed):
    """``count`` k-means centres of the background (flattened) with their cluster shares as weights."""
    if len(background) <= count:
        return background, np.full(len(background), 1.0 / len(background))
    from sklearn.cluster import KMeans

    flat = background.reshape(len(background), -1)
    kmeans = KMeans(n_clusters=count, n_init=4, random_state=seed).fit(flat)
    weights = np.bincount(kmeans.labels_, minlength=count).astype(float)
    centres = kmeans.cluster_centers_.reshape((count,) + background.shape[1:]).astype(np.float32)
    return centres, weights / weights.sum()


def _per_factor(values):
    """(n, f) SHAP values; patch models' (n, p, p, f) are summed over the patch cells."""
    return values.reshape(len(values), -1, values.shape[-1]).sum(axis=1) if values.ndim > 2 else values


def _result(bundle, raw, inputs, shap_values, base_value, explainer, feedback):
    shap_values = _per_factor(np.asarray(shap_values, dtype=np.float64))
    prediction = bundle.predict(inputs).astype(np.float64)
    error = float(np.abs(base_value + shap_values.sum(axis=1) - prediction).max()) if len(prediction) else 0.0
    if error > ADDITIVITY_TOLERANCE:
        feedback.warning(
            "The {} explainer's SHAP values do not add up exactly: base value + sum of SHAP differs from the "
            "predicted deposit probability by up to {:.3f}. The ranking of factors is still usable; the deep "
            "explainer is exactly additive.".format(explainer, error))
    return dict(factor_names=bundle.factor_names, units=factor_units(bundle), shap_values=shap_values,
                base_value=float(base_value), prediction=prediction, factor_values=np.asarray(raw, dtype=np.float64),
                explainer=explainer, additivity_error=error)


@contextlib.contextmanager
def _quiet_streams():
    """shap's tqdm progress bars write to sys.stderr, which is None inside QGIS: give them a sink."""
    saved = sys.stdout, sys.stderr
    if sys.stdout is None:
        sys.stdout = io.StringIO()
    if sys.stderr is None:
        sys.stderr = io.StringIO()
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
