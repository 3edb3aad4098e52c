"""A trained network bundle as one ONNX file, for users who deploy the model elsewhere (a web
service, another GIS, a cluster without TensorFlow), and its inference with ``onnxruntime``.

The file holds one graph for the whole ensemble:

* input ``model_inputs``, float32 (n, n_inputs), or patches (n, p, p, n_inputs) for a patch
  model: the bundle's model inputs, i.e. continuous factors standardised with the training mean
  and standard deviation ((value − mean) / sd) and categorical factors one-hot, exactly what
  ``ModelBundle.standardise`` / ``window_inputs`` give (the encoding is written into the file's
  metadata, see below; patches are 0 outside the raster and on nodata);
* output ``deposit_probability``, float32 (n,): the ensemble-mean deposit probability, the value
  ``deepprospect:predict`` maps; output ``member_probabilities``, float32 (n, members), each
  member's, whose spread is the uncertainty map.

Metadata (``metadata_props``, strings): ``deepprospect_factor_names``, ``deepprospect_input_names``
(the model input columns), ``deepprospect_encoding`` (JSON: mean, sd, categories), the
architecture, the patch size and the bundle's name.

Conversion: TensorFlow's graph of the members through ``tf2onnx`` (what Keras 3's
``model.export(format="onnx")`` uses), opset :data:`OPSET`. The export checks itself: onnxruntime
must give the bundle's probabilities to :data:`TOLERANCE` on sample inputs, else the file is not kept.
scikit-learn bundles (logistic regression, forests, boosting) are not exported: their ONNX
converters are another package (skl2onnx) and the engine does not ship it.
"""
import json
from pathlib import Path

import numpy as np

from ..core.atomic import atomic_output
from ..core.errors import DeepProspectError
from .sklearn_members import is_sklearn_member

#: ONNX operator set of the exported graph (onnxruntime ≥ 1.14 runs it).
OPSET = 17
#: Largest |onnxruntime − TensorFlow| deposit probability the export accepts (issue 19: 1e-5).
TOLERANCE = 1e-5
#: Rows per onnxruntime call in :func:`onnx_probabilities` (one call for a million rows was slower).
ONNX_BATCH = 4096
#: Sample inputs the export checks itself on (the stored background first, then random ones).
CHECK_ROWS = 256


def export_onnx(bundle, output_path, feedback=None):
    """Write ``bundle`` (a loaded network ``ModelBundle``) to ``output_path`` (.onnx) as one graph
    (module docstring) and check it with onnxruntime. Returns a dict: ``path``, ``members``,
    ``opset``, ``max_difference`` (largest |onnxruntime − bundle| deposit probability on the check
    inputs; None when onnxruntime is not installed, then the file is written unchecked) and
    ``checked_rows``."""
    from ..core.feedback import ensure_feedback

    feedback = ensure_feedback(feedback)
    if is_sklearn_member(bundle.members[0]):
        raise DeepProspectError(
            "A {} model is a scikit-learn model, not a network: ONNX export covers the networks (dense network, "
            "1-D CNN, 2-D patch CNN). Train one of those to export it.".format(bundle.architecture))
    output_path = Path(output_path)
    if output_path.suffix.lower() != ".onnx":
        raise DeepProspectError("The ONNX file must end in .onnx (got {}).".format(output_path.name))
    proto = _convert(bundle)
    _describe(proto, bundle)
    inputs = check_inputs(bundle)
    with atomic_output(output_path) as partial:
        Path(partial).write_bytes(proto.SerializeToString())
        difference = _check(partial, bundle, inputs, feedback)
    feedback.info("Wrote {} ({} member{}, ONNX opset {}).".format(output_path, len(bundle.members),
                                                                   "" if len(bundle.members) == 1 else "s", OPSET))
    return dict(path=str(output_path), members=len(bundle.members), opset=OPSET, max_difference=difference,
                checked_rows=len(inputs))


def onnx_probabilities(path, inputs):
    """(deposit probability (n,), member probabilities (n, members)), float32, of model inputs
    ``inputs`` ((n, n_inputs) or patches) by onnxruntime from the file at ``path``; a clear error
    when onnxruntime is not installed."""
    try:
        import onnxruntime
    except ImportError as error:
        raise DeepProspectError("onnxruntime is not installed in the engine's Python; install it to run ONNX "
                                "models: {}".format(install_command("onnxruntime"))) from error
    options = onnxruntime.SessionOptions()
    # idle threads sleep instead of spinning: on a shared machine spinning threads cost more than
    # they save (measured: 70k px/s spinning, 150k px/s without, 2 cores under load)
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    inputs = np.asarray(inputs, dtype=np.float32)
    parts = [session.run(["deposit_probability", "member_probabilities"], {"model_inputs": inputs[start:start + ONNX_BATCH]})
             for start in range(0, len(inputs), ONNX_BATCH)] or [session.run(
                 ["deposit_probability", "member_probabilities"], {"model_inputs": inputs})]
    return np.concatenate([part[0] for part in parts]), np.concatenate([part[1] for part in parts])


def install_command(packages):
    """The command that installs ``packages`` into this (the engine's) Python. Not in the engine's
    lock: tf2onnx has no release for TensorFlow 2.20 on Python 3.9 (the resolver falls back to
    tf2onnx 1.8 of 2021) and pins protobuf 3.20 on Intel Macs."""
    import sys

    return '"{}" -m pip install {}'.format(sys.executable, packages)


def check_inputs(bundle, rows=CHECK_ROWS, seed=0):
    """Model inputs to compare ONNX with TensorFlow on: the bundle's stored background (standardised),
    then standard-normal rows, ``rows`` in all, float32 (rows, *input shape)."""
    shape = tuple(int(size) for size in bundle.members[0].inputs[0].shape[1:])
    sample = np.random.default_rng(seed).normal(size=(rows,) + shape).astype(np.float32)
    stored = bundle.background
    if stored is not None and len(stored) and tuple(np.shape(stored)[1:])[:-1] == shape[:-1]:
        standardised = bundle.standardise(stored)[:rows]
        if tuple(standardised.shape[1:]) == shape:
            sample[:len(standardised)] = standardised
    return sample


def _convert(bundle):
    """The ONNX ``ModelProto`` of the ensemble graph (tf2onnx); a clear error when tf2onnx is missing."""
    try:
        import tf2onnx
    except ImportError as error:
        raise DeepProspectError("ONNX export is optional and needs the tf2onnx and onnx packages in the engine's "
                                "Python: {}".format(install_command("tf2onnx onnx onnxruntime"))) from error
    import tensorflow as tf

    from .compiled import deposit_output

    members = list(bundle.members)
    shape = [None] + [int(size) for size in members[0].inputs[0].shape[1:]]
    signature = [tf.TensorSpec(shape, tf.float32, name="model_inputs")]

    @tf.function(input_signature=signature)
    def ensemble(model_inputs):
        each = tf.stack([deposit_output(model(model_inputs, training=False)) for model in members], axis=1)
        return {"deposit_probability": tf.reduce_mean(each, axis=1), "member_probabilities": each}

    proto, _ = tf2onnx.convert.from_function(ensemble, input_signature=signature, opset=OPSET)
    return proto


def _describe(proto, bundle):
    """Write what a user needs to prepare the inputs into the file's metadata."""
    encoding = bundle.encoding
    entries = {
        "deepprospect_factor_names": json.dumps(list(bundle.factor_names)),
        "deepprospect_input_names": json.dumps(list(encoding.input_names())),
        "deepprospect_encoding": json.dumps(encoding.to_metadata()),
        "deepprospect_architecture": str(bundle.architecture),
        "deepprospect_patch_size": str(int(bundle.patch_size)),
        "deepprospect_inputs": "model_inputs: standardised factor values (value - mean) / sd, categorical factors "
                               "one-hot, float32 (n, inputs) or patches (n, p, p, inputs)",
    }
    for key, value in entries.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.doc_string = "DeepProspect prospectivity model ({}), {} member(s)".format(bundle.architecture,
                                                                                   len(bundle.members))


def _check(path, bundle, inputs, feedback):
    """Largest |onnxruntime − bundle| deposit probability on ``inputs``; an error above
    :data:`TOLERANCE`; None (with a log line) when onnxruntime is not installed."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        feedback.warning("onnxruntime is not installed, so the ONNX file could not be checked against the model.")
        return None
    probability, members = onnx_probabilities(path, inputs)
    expected = bundle.predict_members(inputs)
    difference = float(max(np.abs(probability - expected.mean(axis=0)).max(), np.abs(members - expected.T).max()))
    if not difference <= TOLERANCE:
        raise DeepProspectError("The ONNX graph's probabilities differ from the model's by up to {:.2g} (more than "
                                "{:g}); the file was not written. Please report this with the model.".format(
                                    difference, TOLERANCE))
    feedback.info("Checked with onnxruntime on {} inputs: largest difference from the model {:.1e} "
                  "(probability units).".format(len(inputs), difference))
    return difference
