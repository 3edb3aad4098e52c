"""The SHAP explainers of ``catalog.EXPLAINERS``: each ``factory`` there names one function here.

Every explainer is ``method(bundle, inputs, background, seed, feedback) → (values, base)``:
``inputs`` and ``background`` are standardised model inputs, (n, n_factors) or patches
(n, p, p, n_factors); ``values`` has the inputs' shape, in probability units of the
ensemble-mean deposit probability; ``base`` is that probability's expectation over the
background (float).

* expected gradients (Erion et al. 2021, the method behind ``shap.GradientExplainer``),
  computed deterministically: for every background row the path integral is taken with
  ``steps`` midpoint steps, vectorised in TensorFlow (``ModelBundle.gradient_function``). This
  gives the same quantity as ``shap.GradientExplainer`` without its per-sample Python loop and
  random sampling noise (whose additivity error reached 0.13 in probability on 200 pixels with
  its default 200 samples); contribution maps of networks that are not a chain of layers (the
  2-D patch CNN) use it.
* ``shap.DeepExplainer`` (DeepLIFT rescale rule), exact additivity, run per member and averaged
  (Shapley values are linear in the model). The same rule batched in one compiled graph
  (``models.deeplift``, :func:`rescale_attributions`) makes the contribution maps of the dense
  network and the 1-D CNN: one forward pass per pixel and one backward pass per reference,
  against 8 × 8 forward and backward passes for expected gradients.
* ``shap.KernelExplainer``, model-agnostic and slow; the background is summarised by weighted
  k-means centres (as ``shap.kmeans`` does, without rounding) as the shap authors recommend,
  and every factor is kept (no L1 feature selection). For checking.
"""

import numpy as np

from ..catalog import EXPLAINERS
from ..core.errors import DeepProspectError
from .registry import resolve

GRADIENT_STEPS = 16
KERNEL_CENTRES = 10
_FLOAT_BUDGET = 1 << 21   # input floats per expected-gradients batch (≈ 8 MB per tensor)
#: Layer-output floats TensorFlow holds per expected-gradients call (≈ 64 MB; the backward pass
#: needs about as much again): keeps SHAP of a 3-member ensemble well under 1 GB.
_ACTIVATION_BUDGET = 1 << 24
#: Most pixels per rescale-rule call: larger batches gain nothing once the matrix products are
#: large (measured on 2 cores) and cost memory.
RESCALE_BATCH = 2048


def explainer_method(name):
    """The function of the explainer called ``name`` in ``catalog.EXPLAINERS`` (its ``factory``)."""
    try:
        choice = EXPLAINERS.get(name)
    except ValueError as error:
        raise DeepProspectError(str(error)) from error
    return resolve(choice)


def gradient_shap(bundle, inputs, background, seed, feedback):
    """Expected gradients against the whole background, equally weighted (``seed`` unused: the
    integral is deterministic)."""
    weights = np.full(len(background), 1.0 / len(background))
    batch, parts = gradient_batches(bundle, inputs.shape[1:], len(background), GRADIENT_STEPS)
    feedback.info("Expected gradients in batches of {} pixels × {} background rows × {} steps, so memory stays "
                  "bounded whatever the sample and ensemble size.".format(
                      min(batch, len(inputs)), parts[0].stop - parts[0].start, GRADIENT_STEPS))
    values = expected_gradients(bundle, inputs, background, weights, GRADIENT_STEPS, feedback)
    return values, float(np.dot(weights, ensemble_output(bundle, background)))


def deep_shap(bundle, inputs, background, seed, feedback):
    """``shap.DeepExplainer`` per member, averaged."""
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


def kernel_shap(bundle, inputs, background, seed, feedback):
    """``shap.KernelExplainer`` of the ensemble mean against :data:`KERNEL_CENTRES` weighted centres."""
    import shap

    from shap.utils._legacy import DenseData

    np.random.seed(seed)  # KernelExplainer samples coalitions with numpy's global generator
    centres, weights = weighted_centres(background, KERNEL_CENTRES, seed)
    summary = DenseData(centres, [str(index) for index in range(centres.shape[1])], None, weights.copy())
    explainer = shap.KernelExplainer(lambda values: ensemble_output(bundle, values.astype(np.float32)), summary)
    out = np.empty(inputs.shape, dtype=np.float32)
    chunk = 10
    for start in range(0, len(inputs), chunk):
        feedback.check_canceled()
        out[start:start + chunk] = np.asarray(explainer.shap_values(inputs[start:start + chunk], silent=True, l1_reg=False))
        feedback.set_progress(100.0 * min(len(inputs), start + chunk) / len(inputs))
    return out, float(np.atleast_1d(explainer.expected_value)[0])


def expected_gradients(bundle, inputs, references, weights, steps, feedback):
    """Expected gradients of every input against weighted references, midpoint rule in ``steps``.

    ``inputs`` (n, *s), ``references`` (k, *s) standardised; ``weights`` (k,) any positive
    numbers (normalised here). Returns float32 (n, *s) in probability units.

    Memory: TensorFlow keeps every layer's output of every member for each path point until the
    gradient is taken, so the batches are sized by those activations (:func:`gradient_batches`),
    not only by the inputs: a 3-member ``cnn1d`` ensemble on 200 pixels with 100 references
    peaked at 4.1 GB with input-sized batches.
    """
    import tensorflow as tf

    gradient_fn = bundle.gradient_function()
    steps = max(1, int(steps))
    alphas = tf.constant((np.arange(steps) + 0.5) / steps, dtype=tf.float32)
    # normalise in float64, then cast: under numpy 2 a float32 array divided by a float64 scalar is
    # float64, which the float32 signature of the tf.function refuses
    weights = np.asarray(weights, dtype=np.float64)
    weights = (weights / weights.sum()).astype(np.float32)
    batch, reference_parts = gradient_batches(bundle, inputs.shape[1:], len(references), steps)
    parts = [(tf.constant(references[part], dtype=tf.float32), tf.constant(weights[part]))
             for part in reference_parts]
    out = np.empty(inputs.shape, dtype=np.float32)
    for start in range(0, len(inputs), batch):
        feedback.check_canceled()
        chunk = tf.constant(inputs[start:start + batch], dtype=tf.float32)
        # the weighted sum over references is split only when one input's paths exceed the budget
        out[start:start + batch] = sum(gradient_fn(chunk, references_t, weights_t, alphas).numpy()
                                       for references_t, weights_t in parts)
        feedback.set_progress(100.0 * min(len(inputs), start + batch) / len(inputs))
    return out


def rescale_attributions(bundle, inputs, references, weights, feedback):
    """DeepSHAP of every input against weighted references by the rescale rule (``models.deeplift``):
    ``inputs`` (n, *s), ``references`` (k, *s) standardised, ``weights`` (k,) positive (normalised
    here); ``feedback`` is checked for cancel (progress is the caller's). Returns float32 (n, *s) in probability units, adding up exactly (float32 rounding) to
    the prediction minus Σ w_k p(r_k); None when the network is not a chain of layers that
    ``models.deeplift`` handles (then use :func:`expected_gradients`).

    One compiled graph per bundle (kept with it), batches sized like :func:`expected_gradients`'
    with one path point per reference (the rescale multipliers of every unit and pair are held).
    """
    import tensorflow as tf

    function = _rescale_function(bundle)
    if function is None:
        return None
    weights = np.asarray(weights, dtype=np.float64)
    weights = tf.constant((weights / weights.sum()).astype(np.float32))
    batch, _ = gradient_batches(bundle, inputs.shape[1:], len(references), 1)
    batch = min(batch, RESCALE_BATCH)
    references = tf.constant(references, dtype=tf.float32)
    # one batch shape, the last one padded with zeros: XLA compiles once per shape
    padded = np.zeros((batch,) + inputs.shape[1:], dtype=np.float32)
    out = np.empty(inputs.shape, dtype=np.float32)
    for start in range(0, len(inputs), batch):
        feedback.check_canceled()
        count = min(batch, len(inputs) - start)
        padded[:count] = inputs[start:start + count]
        padded[count:] = 0.0
        out[start:start + count] = _call_rescale(bundle, function, tf.constant(padded), references, weights)[:count]
    return out


def _rescale_function(bundle):
    """The bundle's compiled rescale-rule function (XLA-fused unless that failed before), or None."""
    from .deeplift import rescale_function

    if bundle.remember(("rescale unfused",), lambda: [False])[0]:
        return bundle.remember(("rescale function", False), lambda: rescale_function(bundle.members, fused=False))
    return bundle.remember(("rescale function", True), lambda: rescale_function(bundle.members, fused=True))


def _call_rescale(bundle, function, inputs, references, weights):
    """``function``'s values as numpy; where XLA cannot compile it (a platform without it), the
    unfused graph from then on (same values to float32 rounding)."""
    import tensorflow as tf

    try:
        return function(inputs, references, weights).numpy()
    except (tf.errors.OpError, NotImplementedError):
        unfused = bundle.remember(("rescale unfused",), lambda: [False])
        if unfused[0]:
            raise
        unfused[0] = True
        return _rescale_function(bundle)(inputs, references, weights).numpy()


def gradient_batches(bundle, input_shape, reference_count, steps):
    """(inputs per batch, reference slices) for :func:`expected_gradients`: at most
    :data:`_FLOAT_BUDGET` input floats and :data:`_ACTIVATION_BUDGET` activation floats (every
    member's layer outputs at every path point) per call; references are split into slices only
    when a single input's paths exceed the activation budget."""
    per_point = activation_floats(bundle)
    per_reference = steps * per_point
    references_per_call = max(1, min(reference_count, _ACTIVATION_BUDGET // per_reference))
    reference_parts = [slice(start, start + references_per_call)
                       for start in range(0, reference_count, references_per_call)]
    per_input = reference_count * steps * int(np.prod(input_shape))
    batch = max(1, min(_FLOAT_BUDGET // per_input, _ACTIVATION_BUDGET // (references_per_call * per_reference)))
    return batch, reference_parts


def activation_floats(bundle):
    """Floats every member's layers output for one model input (summed over layers and members)."""
    total = 0
    for model in bundle.members:
        for layer in model.layers:
            shapes = layer.output if isinstance(layer.output, (list, tuple)) else [layer.output]
            total += sum(int(np.prod(tensor.shape[1:])) for tensor in shapes)
    return max(1, total)


def ensemble_output(bundle, inputs):
    """The ensemble-mean deposit probability of standardised ``inputs``, float64 (n,)."""
    return bundle.predict(np.asarray(inputs, dtype=np.float32)).astype(np.float64)


def weighted_centres(background, count, seed):
    """``count`` k-means centres of the background (flattened) with their cluster shares as weights."""
    if len(background) <= count:
        return background, np.full(len(background), 1.0 / len(background))
    from sklearn.cluster import KMeans

    flat = background.reshape(len(background), -1)
    kmeans = KMeans(n_clusters=count, n_init=4, random_state=seed).fit(flat)
    weights = np.bincount(kmeans.labels_, minlength=count).astype(float)
    centres = kmeans.cluster_centers_.reshape((count,) + background.shape[1:]).astype(np.float32)
    return centres, weights / weights.sum()


def _last_output(values, input_ndim):
    """DeepExplainer's values for the deposit output, whatever layout this shap version uses."""
    if isinstance(values, list):
        return np.asarray(values[-1])
    values = np.asarray(values)
    return values[..., -1] if values.ndim == input_ndim + 1 else values
