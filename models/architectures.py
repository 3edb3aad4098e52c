"""The networks DeepProspect trains, built from a plain description (Keras 3 / TensorFlow 2.20+).

Prospectivity networks are declared in ``catalog.ARCHITECTURES`` (name, label, one-line
description, whether the input is a patch); each entry's ``factory`` names its builder here:

* :func:`dense_network` — exactly Table 2 of Pradhan et al. (2022): four fully connected layers
  of 200 ReLU units, each followed by dropout, and a 2-unit softmax; 124,402 trainable
  parameters for 16 factors. The paper calls it a CNN, but Table 2 has no convolution: this is
  the network as published.
* :func:`factor_cnn` — 1-D convolutions that scan the factor vector (the paper's Figure 3
  "scanning through 16 indicators"), so neighbouring factors in the stack's band order share
  filters.
* :func:`patch_cnn` — a spatial CNN on PATCH_SIZE × PATCH_SIZE × n_factors windows centred on a
  pixel (``core.patches``), so the model sees neighbourhood context such as the proximity to a
  shear zone or the shape of an anomaly, not only the pixel's own values.

A builder takes ``(n_factors, patch_size, dropout, regulariser)`` and returns the Keras
``(inputs, outputs)`` tensors; adding an architecture is one ``Choice`` in the catalog plus its
builder. Every prospectivity model takes standardised inputs and returns (n, 2) softmax
probabilities [non-deposit, deposit]; :func:`build_model` compiles it with Adam and sparse
softmax cross-entropy, labels 0/1.

Network descriptions: every network is built by :func:`build_network` from a JSON-able dict,
``{"architecture": name, **arguments}``; a prospectivity network's arguments are ``n_factors``,
``patch_size`` (1 for pixel networks), ``dropout`` and ``l2`` (:func:`prospectivity_network`).
The bundle stores that description and the weights as arrays, so a model is rebuilt by this
code in whatever Keras version runs, never by deserialising Keras objects from a file. Besides
the prospectivity networks, the descriptions cover the spectral models (``deepgeomap_cnn1d``:
``band_count``, ``class_count``; ``mobilenetv2_stft``: ``band_count``, ``frame_length``,
``frame_step``, ``width``) and ``sequential``: a plain stack of standard layers,
``{"architecture": "sequential", "input_shape": [16], "layers": [{"type": "dense", "units": 2,
"activation": "softmax"}, ...]}`` (types and options in :data:`SEQUENTIAL_LAYERS`, activations
in :data:`ACTIVATIONS`), for small hand-made models with known closed forms.
"""
import weakref

from ..catalog import ARCHITECTURES as CATALOG
from ..core.errors import DeepProspectError
from .registry import resolve

#: The names of the Keras networks of ``catalog.ARCHITECTURES`` in enum order (read from the catalog;
#: its scikit-learn choices, ``kind`` "sklearn", are ``models.sklearn_members``'), for callers that
#: want plain names (``models/bundle_legacy.py``, ``tests/engine/test_bundle.py``).
ARCHITECTURES = tuple(choice.name for choice in CATALOG if choice.options.get("kind", "network") == "network")

#: Layer types of a ``sequential`` description and the options each accepts.
SEQUENTIAL_LAYERS = {
    "dense": ("units", "activation", "use_bias"),
    "conv1d": ("filters", "kernel_size", "strides", "padding", "activation", "use_bias"),
    "conv2d": ("filters", "kernel_size", "strides", "padding", "activation", "use_bias"),
    "flatten": (),
    "dropout": ("rate",),
    "reshape": ("target_shape",),
}
#: Activation names a description may use (Keras' built-in functions of the same name).
ACTIVATIONS = ("linear", "relu", "sigmoid", "softmax", "tanh")

# The description each model was built from, for the bundle (weak: models die normally).
_DESCRIBED = weakref.WeakKeyDictionary()


def build_model(architecture, n_factors, patch_size=5, dropout=0.2, l2=0.0, learning_rate=1e-3):
    """A compiled Keras model for ``architecture``.

    ``n_factors``: number of evidence layers; ``patch_size``: odd side (pixels) of the patch for
    the patch architectures (ignored otherwise); ``dropout``: rate after every hidden dense layer (0–0.9;
    the paper does not publish its rate); ``l2``: L2 weight penalty on kernels (0 = none, as in the
    paper); ``learning_rate``: Adam's step size.
    Input shape (n, n_factors), or (n, patch_size, patch_size, n_factors) for a patch architecture;
    output (n, 2) softmax [non-deposit, deposit].
    """
    import tensorflow as tf

    model = build_network(prospectivity_network(architecture, n_factors, patch_size, dropout, l2))
    model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate=float(learning_rate)),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
    return model


def prospectivity_network(architecture, n_factors, patch_size=5, dropout=0.2, l2=0.0):
    """The checked description of a prospectivity network (see :func:`build_model` for the arguments);
    ``patch_size`` is 1 for the pixel architectures."""
    check_architecture(architecture)
    n_factors = int(n_factors)
    if n_factors < 1:
        raise DeepProspectError("The evidence stack has no factors; build it with deepprospect:stack.")
    if not 0.0 <= float(dropout) < 1.0:
        raise DeepProspectError("DROPOUT must be in [0, 1) (got {}); 0.2–0.5 is usual.".format(dropout))
    if float(l2) < 0:
        raise DeepProspectError("L2 must be ≥ 0 (got {}).".format(l2))
    patch_size = check_patch_size(patch_size) if architecture in CATALOG.where(uses_patches=True) else 1
    return {"architecture": architecture, "n_factors": n_factors, "patch_size": patch_size,
            "dropout": float(dropout), "l2": float(l2)}


def build_network(description):
    """An uncompiled Keras model with fresh weights, built from a network ``description`` (module
    docstring). Raises :class:`DeepProspectError` for an unknown architecture or bad arguments."""
    description = dict(description)
    name = description.pop("architecture", None)
    builder = _builders().get(name)
    if builder is None:
        raise DeepProspectError("Unknown network architecture '{}'; this DeepProspect builds: {}.".format(
            name, ", ".join(sorted(_builders()))))
    try:
        model = builder(**description)
    except TypeError as error:           # missing or unexpected arguments in the description
        raise DeepProspectError("The description of the '{}' network is not valid: {}".format(name, error))
    _DESCRIBED[model] = dict(description, architecture=name)
    return model


def describe_network(model):
    """The description :func:`build_network` built ``model`` from (a copy).

    Raises :class:`DeepProspectError` for a model built another way: only described networks can
    be stored, so that any later Keras can rebuild them."""
    try:
        return dict(_DESCRIBED[model])
    except (KeyError, TypeError):
        raise DeepProspectError(
            "This Keras model was not built by models.architectures.build_network (or build_model), so a bundle "
            "could not rebuild it: build it from a description.") from None


def _builders():
    from . import spectral_classifier, spectral_regressor

    builders = {name: (lambda name=name, **arguments: _prospectivity(name, **arguments)) for name in ARCHITECTURES}
    builders.update(sequential=_sequential, deepgeomap_cnn1d=spectral_classifier.build_classifier,
                    mobilenetv2_stft=spectral_regressor.build_regressor)
    return builders


def _prospectivity(architecture, n_factors, patch_size=1, dropout=0.2, l2=0.0):
    """The Keras model of a catalog architecture, built by the function its ``factory`` names."""
    import tensorflow as tf

    description = prospectivity_network(architecture, n_factors, patch_size, dropout, l2)
    regulariser = tf.keras.regularizers.L2(description["l2"]) if description["l2"] else None
    build = resolve(CATALOG.get(architecture))
    inputs, outputs = build(description["n_factors"], description["patch_size"], description["dropout"], regulariser)
    return tf.keras.Model(inputs, outputs, name=architecture)


def dense_network(n_factors, patch_size, dropout, regulariser):
    """Table 2 of Pradhan et al. (2022): 4 × (Dense(200, ReLU) → Dropout) → Dense(2, softmax);
    input (n, n_factors). ``patch_size`` is unused (pixel network)."""
    import tensorflow as tf

    inputs = tf.keras.Input(shape=(n_factors,), name="factors")
    x = inputs
    for index in range(1, 5):
        x = _dense(200, "dense_{}".format(index), regulariser)(x)
        x = tf.keras.layers.Dropout(dropout, name="dropout_{}".format(index))(x)
    return inputs, _dense(2, "dense_5", regulariser, activation="softmax")(x)


def factor_cnn(n_factors, patch_size, dropout, regulariser):
    """1-D CNN scanning the factor vector: Conv1D(32, 3) → Conv1D(64, 3) → Dense(64) → Dense(2,
    softmax); input (n, n_factors). ``patch_size`` is unused (pixel network)."""
    import tensorflow as tf

    layers = tf.keras.layers
    inputs = tf.keras.Input(shape=(n_factors,), name="factors")
    # the factor vector becomes a 1-channel sequence the filters slide along
    x = layers.Reshape((n_factors, 1), name="as_sequence")(inputs)
    x = layers.Conv1D(32, 3, padding="same", activation="relu", kernel_regularizer=regulariser, name="conv_1")(x)
    x = layers.Conv1D(64, 3, padding="same", activation="relu", kernel_regularizer=regulariser, name="conv_2")(x)
    x = layers.Flatten(name="flatten")(x)
    return inputs, _classifier_head(x, dropout, regulariser)


def patch_cnn(n_factors, patch_size, dropout, regulariser):
    """2-D CNN on a patch: Conv2D(32, 1×1) → 2 × Conv2D(32, 3×3) → centre pixel + neighbourhood
    mean → Dense(64) → Dense(2, softmax); input (n, patch_size, patch_size, n_factors)."""
    import tensorflow as tf

    layers = tf.keras.layers
    inputs = tf.keras.Input(shape=(patch_size, patch_size, n_factors), name="patches")
    # 1×1 convolution: the factors of each pixel are mixed first, as the dense network does
    x = layers.Conv2D(32, 1, activation="relu", kernel_regularizer=regulariser, name="pixel_mix")(inputs)
    x = layers.Conv2D(32, 3, padding="same", activation="relu", kernel_regularizer=regulariser, name="conv_1")(x)
    x = layers.Conv2D(32, 3, padding="same", activation="relu", kernel_regularizer=regulariser, name="conv_2")(x)
    # what the filters see around the centre pixel, and the average over the whole neighbourhood:
    # few weights (small training sets) and no preferred direction (rotation/flip augmentation)
    centre = layers.Flatten(name="centre")(layers.Cropping2D(patch_size // 2, name="centre_pixel")(x))
    context = layers.GlobalAveragePooling2D(name="neighbourhood")(x)
    x = layers.Concatenate(name="centre_and_neighbourhood")([centre, context])
    return inputs, _classifier_head(x, dropout, regulariser)


def _classifier_head(x, dropout, regulariser):
    """Dropout → Dense(64, ReLU) → Dropout → Dense(2, softmax), the CNNs' common ending."""
    import tensorflow as tf

    x = tf.keras.layers.Dropout(dropout, name="dropout_1")(x)
    x = _dense(64, "dense_1", regulariser)(x)
    x = tf.keras.layers.Dropout(dropout, name="dropout_2")(x)
    return _dense(2, "output", regulariser, activation="softmax")(x)


def _dense(units, name, regulariser, activation="relu"):
    import tensorflow as tf

    return tf.keras.layers.Dense(units, activation=activation, kernel_regularizer=regulariser, name=name)


def _sequential(input_shape, layers):
    """A plain stack of the :data:`SEQUENTIAL_LAYERS` on inputs of ``input_shape`` (without the batch axis)."""
    import tensorflow as tf

    stack = [tf.keras.Input(tuple(int(size) for size in input_shape))]
    for layer in layers:
        options = dict(layer)
        kind = options.pop("type", None)
        if kind not in SEQUENTIAL_LAYERS or set(options) - set(SEQUENTIAL_LAYERS[kind]):
            raise DeepProspectError("A sequential network cannot hold the layer {}; layer types and options: {}.".format(
                layer, SEQUENTIAL_LAYERS))
        if options.get("activation", "linear") not in ACTIVATIONS:
            raise DeepProspectError("Unknown activation '{}'; use one of {}.".format(
                options["activation"], ", ".join(ACTIVATIONS)))
        stack.append(_sequential_layer(tf.keras.layers, kind, options))
    return tf.keras.Sequential(stack)


def _sequential_layer(layers, kind, options):
    if kind == "dense":
        return layers.Dense(**options)
    if kind == "conv1d":
        return layers.Conv1D(**options)
    if kind == "conv2d":
        return layers.Conv2D(**options)
    if kind == "flatten":
        return layers.Flatten()
    if kind == "dropout":
        return layers.Dropout(**options)
    return layers.Reshape(tuple(options["target_shape"]))


def trainable_parameter_count(model):
    """Number of trainable weights of a Keras model (the "Trainable parameters" of Table 2); of a
    scikit-learn member: its coefficients, or its trees' nodes."""
    import numpy as np

    from .sklearn_members import is_sklearn_member, parameter_count

    if is_sklearn_member(model):
        return parameter_count(model)

    return int(sum(np.prod(weight.shape) for weight in model.trainable_weights))


def check_architecture(architecture):
    """``architecture`` if it is a known network, else a clear error listing the networks."""
    if architecture not in ARCHITECTURES:
        raise DeepProspectError("Unknown ARCHITECTURE '{}'; choose one of: {}.".format(
            architecture, ", ".join(ARCHITECTURES)))
    return architecture


def check_patch_size(patch_size):
    """``patch_size`` as an int if it is odd and 1–31, else a clear error."""
    value = int(patch_size)
    if value != patch_size or value < 1 or value % 2 == 0 or value > 31:
        raise DeepProspectError(
            "PATCH_SIZE must be an odd number of pixels between 1 and 31 (got {}), so the patch has a "
            "centre pixel; 5 is a good start.".format(patch_size))
    return value
