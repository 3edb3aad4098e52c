"""SHAP explanations of a prospectivity model: which factors push a pixel towards "deposit".

What is explained is the ensemble-mean *deposit* probability (softmax output 1) as a function
of the model's standardised inputs. SHAP values do not change under the per-factor affine
standardisation, so each value is "how much this factor moved the deposit probability away
from the base value", in probability units, whatever the factor's own unit.

The explainers are the choices of ``catalog.EXPLAINERS`` (the ``EXPLAINER`` enum of
``deepprospect:shap``, in that order); their code is in ``models.explain_methods``. Contribution
maps are explained against ``references`` weighted k-means centres of the background, whatever
the sample's explainer: the dense network's and the 1-D CNN's by DeepSHAP's rescale rule
(``models.deeplift``: exact, ``steps`` unused), the 2-D patch CNN's by expected gradients
(``steps`` midpoint steps per path), a scikit-learn model's by shap's exact linear or tree
explainer (``models.sklearn_contribution``). Their additivity is checked on a seeded sample of
each window's pixels for the exact methods, on every pixel for expected gradients
(``models.window_tasks.additivity_pixels``).

Ensembles: Shapley values are linear in the model, so the ensemble mean's SHAP values equal
the average of the members'. ``cnn2d_patch``: a factor's SHAP value is the sum over all cells
of its patch; a categorical factor's, the sum over its one-hot columns (``ModelBundle.per_factor``).
"""
import contextlib
import io
import sys

import numpy as np

from ..catalog import EXPLAINERS
from ..core.errors import DeepProspectError
from ..core.feedback import ensure_feedback
from ..core.pipeline import Grid, RasterOutput, WindowTask, map_windows, read_neighbourhoods
from ..core.raster import STACK_NODATA, pixel_centres, read_stack_info, sample_stack
from . import contribution_fidelity
from .sklearn_members import is_sklearn_member
from .sklearn_contribution import ContributionMethod
from .sklearn_shap import explainer_label, explainer_name, sklearn_shap
from .explain_methods import ensemble_output, expected_gradients, explainer_method, weighted_centres
from .window_tasks import ContributionContext, SharedBundle, contribution_method, contribution_window
from ..core.wording import agree, counted

#: The explainer used when none is named: the first of ``catalog.EXPLAINERS``.
DEFAULT_EXPLAINER = EXPLAINERS.at(0).name
#: Above this largest |base + ΣSHAP − prediction| (probability units) the user is warned.
ADDITIVITY_TOLERANCE = 0.01


# Public API ------------------------------------------------------------------------------

def explain_sample(bundle, stack_path, points_xy=None, points_labels=None, sample_size=1000,
                   background_size=100, explainer=DEFAULT_EXPLAINER, seed=0, feedback=None):
    """Explain the model on a sample of pixels of an evidence stack.

    ``bundle``: a loaded :class:`~deepprospect.models.bundle.ModelBundle`; ``stack_path``: the
    evidence stack (same factors, same order); ``points_xy``: optional (n, 2) map coordinates
    in the stack's CRS (e.g. known deposits) that are explained first; ``points_labels``:
    optional (n,) labels of those points (1 deposit, 0 non-deposit; NaN unknown); with more
    points than ``sample_size`` every deposit is kept first, then a random draw of the others; the
    rest of ``sample_size`` is filled with random valid pixels (label NaN). ``background_size``: rows
    of the SHAP background (the bundle's stored background when it has one, else random
    valid pixels). ``explainer``: a name (or enum index) of ``catalog.EXPLAINERS``. Same inputs
    and ``seed`` → same result.

    Returns a dict: ``factor_names``, ``units`` (dict), ``shap_values`` (n, n_factors) in
    probability units, ``base_value`` (float), ``prediction`` (n,) deposit probability,
    ``factor_values`` (n, n_factors) raw values, ``xy`` (n, 2), ``rows``, ``cols``,
    ``labels`` (n,) float with NaN for unknown, ``explainer``, ``additivity_error`` (largest
    |base + ΣSHAP − prediction|), ``categorical`` (names of the categorical factors: a factor's
    SHAP value is the sum over its one-hot columns, ``ModelBundle.per_factor``).
    """
    feedback = ensure_feedback(feedback)
    explainer = _check_explainer(explainer, bundle)
    info = read_stack_info(stack_path)
    bundle.check_factors(info.factor_names)
    sample_size = int(sample_size)
    if sample_size < 1:
        raise DeepProspectError("SAMPLE_SIZE must be at least 1 (got {}); 1000 is usual.".format(sample_size))
    rng = np.random.default_rng(int(seed))

    rows, cols, labels = _sample_pixels(info, points_xy, points_labels, sample_size, rng, feedback)
    feedback.set_progress(5)
    background = _background(bundle, info, background_size, rng)
    if len(background) < int(background_size):
        feedback.warning("Only {} background rows are available (the model's stored training sample, or the "
                         "stack's valid pixels), fewer than BACKGROUND_SIZE {}: SHAP uses those.".format(
                             len(background), int(background_size)))
    raw, inputs = read_model_inputs(bundle, info, rows, cols)
    feedback.set_progress(10)
    feedback.info("Explaining {} with the {} explainer against {}…".format(
        counted(len(rows), "pixel"), explainer, counted(len(background), "background row")))
    shap_values, base_value = _explain_inputs(bundle, inputs, background, explainer, int(seed),
                                              feedback.scaled(10, 100))
    result = _result(bundle, raw, inputs, shap_values, base_value, explainer, feedback)
    result.update(xy=pixel_centres(info, rows, cols), rows=rows, cols=cols, labels=labels,
                  background_size=len(background))
    return result


def explain_pixels(bundle, stack_path, rows, cols, explainer=DEFAULT_EXPLAINER, background_size=100, seed=0,
                   feedback=None):
    """Explain individual pixels (e.g. the one a geologist clicked in the dock widget).

    ``rows``, ``cols``: integer pixel indices (scalars or arrays) in the stack's grid.
    Fast for one pixel: the background is drawn once per bundle, stack, size and seed and kept
    by the bundle (``ModelBundle.remember``), as are its compiled functions. Raises
    :class:`DeepProspectError` for pixels outside the stack or on nodata.

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
    background = bundle.remember(
        ("shap background", info.path, int(background_size), int(seed)),
        lambda: _background(bundle, info, background_size, np.random.default_rng(int(seed))))
    raw, inputs = read_model_inputs(bundle, info, rows, cols)
    shap_values, base_value = _explain_inputs(bundle, inputs, background, explainer, int(seed),
                                              ensure_feedback(feedback))
    return _result(bundle, raw, inputs, shap_values, base_value, explainer, ensure_feedback(feedback))


def importance(result):
    """Mean |SHAP| per factor, sorted descending: list of (factor, mean_abs_shap)."""
    mean_abs = np.abs(np.asarray(result["shap_values"])).mean(axis=0)
    order = np.argsort(-mean_abs, kind="stable")
    return [(result["factor_names"][index], float(mean_abs[index])) for index in order]


def contribution_map(bundle, stack_path, output_path, background_size=100, references=8, steps=8, seed=0,
                     block_size=512, feedback=None, scheduler=None):
    """Per-factor SHAP contribution maps over a whole stack, window by window (module docstring: which method).

    Writes ``output_path``: float32 GeoTIFF, one band per factor (band description = factor
    name) holding that factor's SHAP contribution to the deposit probability, nodata
    :data:`STACK_NODATA` outside valid pixels; the base value is stored in the tag
    ``SHAP_BASE_VALUE``. The background is summarised by ``references`` weighted k-means
    centres, the same for every pixel (so the maps have no sampling speckle); for expected
    gradients every path integral uses ``steps`` midpoint steps, cost ≈ ``references × steps``
    gradient evaluations per pixel (the rescale rule: one forward pass per pixel and one backward
    pass per reference). Windows of ``block_size`` pixels go through ``core.pipeline.map_windows`` (bounded
    memory, written atomically, honours cancel). A scikit-learn model has no gradients: its maps
    come from :func:`models.sklearn_contribution.sklearn_map_method` (``steps`` unused).
    ``scheduler``: a Dask scheduler's address to explain the windows on its workers
    (``models.window_tasks``; the stack and the bundle's file on storage they reach, the same
    bytes as a local run), None or empty to explain here.

    Returns a dict: ``path``, ``base_value``, ``additivity_error`` (largest over the checked pixels),
    ``valid_pixels``, ``method`` (a label), ``fidelity`` (the maps' agreement with
    the explanation against the whole background at a few pixels,
    :func:`models.contribution_fidelity.measure`; also in the raster's tags) or None.
    """
    feedback = ensure_feedback(feedback)
    info = read_stack_info(stack_path)
    bundle.check_factors(info.factor_names)
    rng = np.random.default_rng(int(seed))
    background = _background(bundle, info, background_size, rng)
    centres, weights = weighted_centres(background, int(references), int(seed))
    method = contribution_method(bundle, background, centres, weights, int(steps), feedback)
    fidelity = contribution_fidelity.measure(bundle, info, background, centres, int(steps), method, seed, feedback)
    shared = SharedBundle(bundle)
    if scheduler:
        shared.require_file()
    context = ContributionContext(shared, background, centres, weights, int(steps), method.base_value,
                                  len(info.factor_names), method)
    additivity = dict(worst=0.0, counted=0)
    output = RasterOutput(output_path, count=len(info.factor_names), descriptions=tuple(info.factor_names),
                          tags=dict(method.tags, SHAP_BASE_VALUE=repr(method.base_value),
                                    **(contribution_fidelity.tags(fidelity) if fidelity else {})))

    def collect(block, value):
        bands, worst, counted = value
        additivity.update(worst=max(additivity["worst"], worst), counted=additivity["counted"] + counted)
        return [bands]

    map_windows([info.path], [output], WindowTask(contribution_window, context, collect),
                grid=Grid(info.width, info.height, info.crs, info.transform), block_size=block_size,
                halo=bundle.patch_size // 2, feedback=feedback, scheduler=scheduler or None)
    if additivity["worst"] > ADDITIVITY_TOLERANCE:
        feedback.warning("SHAP contribution map ({}): base value + sum of the maps differs from the predicted "
                         "probability by up to {:.3f}; {}.".format(method.label, additivity["worst"], method.advice))
    return dict(path=str(output_path), base_value=method.base_value, additivity_error=additivity["worst"],
                valid_pixels=additivity["counted"], method=method.label, fidelity=fidelity)


def _gradient_map_method(bundle, centres, weights, steps, feedback):
    """The network's ``ContributionMethod``. A chain of layers (the dense network, the 1-D CNN):
    DeepSHAP by the rescale rule against the weighted ``centres`` (``models.deeplift``: one forward
    pass per pixel and one backward pass per centre, exactly additive; ``steps`` unused). Other
    networks: expected gradients from the centres, ``steps`` midpoint steps per path. Base value
    (both): the weighted mean prediction at the centres."""
    from .explain_methods import rescale_attributions

    base_value = float(np.dot(weights, ensemble_output(bundle, centres)))
    probe = rescale_attributions(bundle, centres[:1], centres, weights, feedback)
    if probe is not None:
        feedback.info("Contribution maps by DeepSHAP's rescale rule against {} background centres: exact "
                      "(base value + sum of the maps = the probability), MAP_STEPS is not used.".format(len(centres)))
        return ContributionMethod(
            lambda inputs: rescale_attributions(bundle, inputs, centres, weights, feedback), base_value,
            dict(SHAP_METHOD="DeepSHAP (DeepLIFT rescale rule)", SHAP_REFERENCES=str(len(centres))),
            "DeepSHAP rescale rule, {} references".format(len(centres)),
            "the rescale rule is exact up to float32 rounding, so please report this with the model")
    return ContributionMethod(
        lambda inputs: expected_gradients(bundle, inputs, centres, weights, steps, feedback), base_value,
        dict(SHAP_METHOD="expected gradients", SHAP_REFERENCES=str(len(centres)), SHAP_STEPS=str(steps)),
        "expected gradients, {} references × {} steps".format(len(centres), steps),
        "raise the number of steps for a closer decomposition")


def factor_units(bundle_or_names):
    """Units of the factors where known: the bundle's ``units`` metadata, else the paper's
    factors' units (``core.synthetic.UNITS``); dict factor → unit ('' if unknown)."""
    from ..core.synthetic import UNITS

    names = getattr(bundle_or_names, "factor_names", bundle_or_names)
    stored = getattr(bundle_or_names, "metadata", {}).get("units", {}) if hasattr(bundle_or_names, "metadata") else {}
    return {name: stored.get(name) or UNITS.get(name, "") for name in names}


def read_model_inputs(bundle, info, rows, cols):
    """Raw factor values (n, n_factors) float64 and the model inputs (standardised values or
    patches, ``ModelBundle.window_inputs``) of pixels ``rows``, ``cols`` of the stack ``info``;
    a clear error when one is nodata in some factor."""
    rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    raw = np.full((len(rows), len(info.factor_names)), np.nan)
    ok = np.zeros(len(rows), dtype=bool)
    indexes, inputs = [], []
    for part in read_neighbourhoods(info.path, rows, cols, halo=bundle.patch_size // 2):
        raw[part.indexes] = part.data[:, part.rows, part.cols].T
        ok[part.indexes] = part.valid[part.rows, part.cols]
        if ok[part.indexes].all():
            indexes.append(part.indexes)
            inputs.append(bundle.window_inputs(part.data, part.valid, part.rows, part.cols))
    if not ok.all():
        bad = np.flatnonzero(~ok)[0]
        raise DeepProspectError(
            "Pixel (row {}, column {}) is nodata in at least one factor, so the model cannot explain it; "
            "choose a pixel where every factor has a value.".format(rows[bad], cols[bad]))
    if not inputs:
        return raw, bundle.standardise(raw)
    stacked = np.concatenate(inputs)
    ordered = np.empty_like(stacked)
    ordered[np.concatenate(indexes)] = stacked
    return raw, ordered


# Sampling -------------------------------------------------------------------------------

def _check_explainer(explainer, bundle):
    """The explainer's name, from a name or an enum index; a clear error for an unknown one or
    one that cannot explain this bundle."""
    if isinstance(explainer, (int, np.integer)):
        explainer = EXPLAINERS.at(explainer).name if 0 <= int(explainer) < len(EXPLAINERS) else str(explainer)
    if explainer not in EXPLAINERS:
        raise DeepProspectError("Unknown explainer '{}'; choose one of {}.".format(
            explainer, ", ".join(EXPLAINERS.names())))
    if bundle.uses_patches and not EXPLAINERS.get(explainer).options.get("supports_patches", True):
        usable = [choice.name for choice in EXPLAINERS if choice.options.get("supports_patches", True)]
        raise DeepProspectError(
            "The {2} explainer would treat each of the {0}×{0}×{1} patch cells of this {3} model as a "
            "separate player, which is far too slow. Use the {4} explainer for patch models.".format(
                bundle.patch_size, len(bundle.factor_names), explainer, bundle.architecture, " or ".join(usable)))
    if is_sklearn_member(bundle.members[0]):          # shap's exact explainer for that model, always
        return explainer_name(bundle.members[0])
    return explainer


def _random_valid_pixels(info, count, rng, exclude=None):
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
        _, ok, _, _ = sample_stack(info.path, pixel_centres(info, rows, cols))
        for row, col in zip(rows[ok], cols[ok]):
            if (row, col) not in taken and len(rows_out) < count:
                taken.add((row, col))
                rows_out.append(row)
                cols_out.append(col)
    return np.asarray(rows_out, dtype=np.int64), np.asarray(cols_out, dtype=np.int64)


def _sample_pixels(info, points_xy, points_labels, sample_size, rng, feedback):
    rows, cols, labels = np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    if points_xy is not None and len(points_xy):
        points_xy = np.asarray(points_xy, dtype=float).reshape(-1, 2)
        point_labels = (np.full(len(points_xy), np.nan) if points_labels is None
                        else np.asarray(points_labels, dtype=float))
        _, ok, point_rows, point_cols = sample_stack(info.path, points_xy)
        if (~ok).any():
            outside = int((~ok).sum())
            verb = agree(outside, "is", "are")
            feedback.warning("{} of {} {} outside the stack or on nodata and {} not explained.".format(
                outside, counted(len(ok), "point"), verb, verb))
        # one sample per pixel: two deposits in one cell are the same input
        keys = point_rows[ok] * info.width + point_cols[ok]
        _, first = np.unique(keys, return_index=True)
        keep = np.flatnonzero(ok)[np.sort(first)]
        if len(keep) > sample_size:
            keep = _deposits_first(keep, point_labels, sample_size, rng)
        rows, cols, labels = point_rows[keep], point_cols[keep], point_labels[keep]
    extra_rows, extra_cols = _random_valid_pixels(info, sample_size - len(rows), rng,
                                                  exclude=zip(rows.tolist(), cols.tolist()))
    if len(rows) + len(extra_rows) == 0:
        raise DeepProspectError("The evidence stack {} has no valid pixel (all nodata) to explain.".format(info.path))
    if len(rows) + len(extra_rows) < sample_size:
        feedback.warning("Only {} valid pixels could be sampled (SAMPLE_SIZE {}): all of them are explained.".format(
            len(rows) + len(extra_rows), sample_size))
    return (np.concatenate([rows, extra_rows]), np.concatenate([cols, extra_cols]),
            np.concatenate([labels, np.full(len(extra_rows), np.nan)]))


def _deposits_first(candidates, labels, size, rng):
    """``size`` of the point indices ``candidates`` (int (n,)) with 0/1/NaN ``labels``: every
    deposit (a random draw of them when there are more than ``size``), then a random draw of the
    other points; each part in point order. A geologist asks first why the known deposits score."""
    is_deposit = labels[candidates] == 1
    deposits = rng.choice(candidates[is_deposit], size=min(size, int(is_deposit.sum())), replace=False)
    others = rng.choice(candidates[~is_deposit], size=size - len(deposits), replace=False)
    return np.concatenate([np.sort(deposits), np.sort(others)])


def _background(bundle, info, background_size, rng):
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
    rows, cols = _random_valid_pixels(info, background_size, rng)
    if len(rows) == 0:
        raise DeepProspectError("The evidence stack {} has no valid pixel for a SHAP background.".format(info.path))
    return read_model_inputs(bundle, info, rows, cols)[1]


# Explaining ------------------------------------------------------------------------------

def _explain_inputs(bundle, inputs, background, explainer, seed, feedback):
    """(SHAP values with the input's shape, base value) for the ensemble-mean deposit probability."""
    with _quiet_streams():
        if is_sklearn_member(bundle.members[0]):
            feedback.info("A {} model is explained with {} (exact for it), whatever EXPLAINER says.".format(
                bundle.architecture, explainer_label(bundle.members[0])))
            return sklearn_shap(bundle.members, inputs, background, feedback)
        return explainer_method(explainer)(bundle, inputs, background, seed, feedback)


def _result(bundle, raw, inputs, shap_values, base_value, explainer, feedback):
    shap_values = bundle.per_factor(np.asarray(shap_values, dtype=np.float64))   # one per factor
    prediction = bundle.predict(inputs).astype(np.float64)
    error = float(np.abs(base_value + shap_values.sum(axis=1) - prediction).max()) if len(prediction) else 0.0
    if error > ADDITIVITY_TOLERANCE:
        feedback.warning(
            "The {} explainer's SHAP values do not add up exactly: base value + sum of SHAP differs from the "
            "predicted deposit probability by up to {:.3f}. The ranking of factors is still usable; the deep "
            "explainer is exactly additive.".format(explainer, error))
    return dict(factor_names=bundle.factor_names, units=factor_units(bundle), shap_values=shap_values,
                base_value=float(base_value), prediction=prediction, factor_values=np.asarray(raw, dtype=np.float64),
                explainer=explainer, additivity_error=error,
                categorical=[name for name, categorical in zip(bundle.factor_names, bundle.encoding.categorical)
                             if categorical])


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
