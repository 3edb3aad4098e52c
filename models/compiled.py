"""The compiled TensorFlow functions of a bundle's member models, owned by
:class:`models.bundle.ModelBundle` (nothing else builds or caches them).

One prediction path: the map, the values at pixels and points (``models.predict``) and SHAP's
base value and additivity check (``models.explain``) all go through
:meth:`CompiledEnsemble.predict_members`, which gives TensorFlow batches of exactly
:data:`PREDICT_BATCH` rows. TensorFlow picks its CPU kernels by batch shape, and kernels for
other shapes round differently in the last bits (measured on AMD EPYC: up to 1.2e-7 between a
batch of 1 and one of 3000), which is enough to reorder near-equal pixels in a success-rate
curve. With one shape for every call, each row goes through the same instructions wherever it
sits in the batch, so a pixel's probability is the same number whatever else is predicted with
it: the inspector and the values at deposits equal the map bit for bit
(tests/engine/test_predict.py checks it on the CPU the tests run on).

The members' graphs are compiled by XLA (``jit_compile``). Measured on 2 cores with the paper's
network (issue 19): TensorFlow's own kernels keep a row's number independent of its place in the
batch only up to 3072 rows (at 6144 and more, a row computes differently in some positions) and
run at 305k px/s there; XLA's keep it at every size tried (3072–16384) and run at 447k px/s with
8192 rows, Keras's own best batch being 430k. Where XLA cannot compile a member (a platform
without it), the plain graphs at :data:`UNFUSED_BATCH` rows are used from then on.

The gradient function is the ensemble-mean deposit probability's expected gradients against
weighted references (``models.explain_methods``), one compiled graph for all members.
"""
import numpy as np

from ..core.errors import DeepProspectError

#: Rows per model call, always (the last batch is padded): see the module docstring. 8192 = 2¹³ is
#: a whole number of the row blocks CPU matrix kernels work in (4 to 48 rows), so no row falls in
#: a remainder block computed another way; the inspector's single pixel costs about 20 ms.
PREDICT_BATCH = 8192
#: Rows per call of the plain (not XLA-compiled) graphs: the most at which TensorFlow's kernels
#: still compute a row the same way wherever it sits in the batch (measured).
UNFUSED_BATCH = 3072


class CompiledEnsemble:
    """Compiled functions of a list of Keras member models, built on first use and kept."""

    def __init__(self, members):
        self.members = list(members)
        self._prediction_functions = {}
        self._gradient_function = None
        self._fused = True

    @property
    def batch(self):
        """Rows of every model call: :data:`PREDICT_BATCH`, or :data:`UNFUSED_BATCH` without XLA."""
        return PREDICT_BATCH if self._fused else UNFUSED_BATCH

    def predict_members(self, inputs):
        """Deposit probability of every member, float32 (n_members, n), for standardised model
        inputs (n, n_factors), or patches (n, p, p, n_factors) for patch models.

        Every model call gets exactly :attr:`batch` rows, the last batch padded with zeros,
        through one compiled graph per member (eager calls cost about twice the arithmetic on a
        CPU).
        """
        import tensorflow as tf

        inputs = np.asarray(inputs, dtype=np.float32)
        functions = self._member_functions(inputs.shape[1:])
        batch = self.batch
        outputs = np.empty((len(functions), len(inputs)), dtype=np.float32)
        padded = np.zeros((batch,) + inputs.shape[1:], dtype=np.float32)
        for start in range(0, len(inputs), batch):
            count = min(batch, len(inputs) - start)
            padded[:count] = inputs[start:start + count]
            padded[count:] = 0.0
            rows = tf.constant(padded)
            for index, function in enumerate(functions):
                try:
                    predicted = function(rows).numpy()[:count]
                except (tf.errors.OpError, NotImplementedError):
                    if not self._fused:
                        raise
                    self._fused = False
                    self._prediction_functions.clear()
                    return self.predict_members(inputs)
                outputs[index, start:start + count] = predicted[:, -1] if predicted.shape[-1] > 1 else predicted[:, 0]
        return outputs

    def _member_functions(self, input_shape):
        """One tf.function per member for batches of shape (:attr:`batch`, *input_shape)."""
        import tensorflow as tf

        input_shape = tuple(int(size) for size in input_shape)
        expected = tuple(self.members[0].inputs[0].shape[1:])
        if input_shape != expected:
            raise DeepProspectError("The model takes inputs of shape {} but was given {}.".format(expected, input_shape))
        if input_shape not in self._prediction_functions:
            signature = [tf.TensorSpec((self.batch,) + input_shape, tf.float32)]
            self._prediction_functions[input_shape] = [
                tf.function(lambda x, model=model: model(x, training=False), input_signature=signature,
                            jit_compile=self._fused)
                for model in self.members]
        return self._prediction_functions[input_shape]

    def gradient_function(self):
        """A tf.function ``(inputs (n, *s), references (k, *s), weights (k,), alphas (m,)) → (n, *s)``:
        for every input, the weighted sum over references of the mean gradient of the ensemble's
        deposit probability along the straight path from the reference to the input (at the
        fractions ``alphas``), times (input − reference), all float32."""
        if self._gradient_function is None:
            self._gradient_function = _expected_gradient_batch(self.members)
        return self._gradient_function


def _expected_gradient_batch(members):
    import tensorflow as tf

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
            output = tf.add_n([deposit_output(model(flat, training=False)) for model in members]) / len(members)
        gradient = tf.reshape(tape.gradient(output, flat), tf.shape(points))
        mean_gradient = tf.reduce_mean(gradient, axis=2)                         # n, k, *s
        weight = tf.reshape(weights, [1, -1] + [1] * extra)
        return tf.reduce_sum(weight * mean_gradient * difference, axis=1)

    return expected_gradient_batch


def deposit_output(output):
    """The deposit column of a model's output: softmax column 1 of (n, 2), or the single sigmoid of (n, 1)."""
    return output[:, -1] if output.shape[-1] > 1 else output[:, 0]
