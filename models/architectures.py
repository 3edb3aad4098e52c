"""The three prospectivity networks DeepProspect trains (Keras, TensorFlow 2.15).

* ``pradhan2022_dense`` — exactly Table 2 of Pradhan et al. (2022): four fully connected
  layers of 200 ReLU units, each followed by dropout, and a 2-unit softmax; 124,402
  trainable parameters for 16 factors. The paper calls it a CNN, but Table 2 has no
  convolution: this is the network as published.
* ``cnn1d`` — 1-D convolutions that scan the factor vector (the paper's Figure 3 "scanning
  through 16 indicators"), so neighbouring factors in the stack's band order share filters.
* ``cnn2d_patch`` — a spatial CNN on PATCH_SIZE × PATCH_SIZE × n_factors windows centred on a
  pixel (``core.patches``), so the model sees neighbourhood context such as the proximity to
  a shear zone or the shape of an anomaly, not only the pixel's own values.

Every model takes standardised inputs and returns (n, 2) softmax probabilities
[non-deposit, deposit]; it is compiled with Adam and sparse softmax cross-entropy, labels 0/1.
"""
from ..core.errors import DeepProspectError

#: Architecture ids, in the order of the ``ARCHITECTURE`` enum of ``deepprospect:train``.
ARCHITECTURES = ("pradhan2022_dense", "cnn1d", "cnn2d_patch")

#: Architectures whose input is a patch around each pixel rather than the pixel's factor vector.
PATCH_ARCHITECTURES = ("cnn2d_patch",)

DESCRIPTIONS = {
    "pradhan2022_dense": "Pradhan et al. (2022), Table 2: 4 × Dense(200, ReLU) + Dropout, Dense(2, softmax)",
    "cnn1d": "1-D CNN scanning the factor vector: Conv1D(32, 3) → Conv1D(64, 3) → Dense(64) → Dense(2, softmax)",
    "cnn2d_patch": "2-D CNN on a square neighbourhood patch: Conv2D(32, 1×1) → 2 × Conv2D(32, 3×3) → centre "
                   "pixel + neighbourhood mean → Dense(64) → Dense(2, softmax)",
}


def build_model(architecture, n_factors, patch_size=5, dropout=0.2, l2=0.0, learning_rate=1e-3):
    """A compiled Keras model for ``architecture``.

    ``n_factors``: number of evidence layers; ``patch_size``: odd side (pixels) of the patch for
    ``cnn2d_patch`` (ignored otherwise); ``dropout``: rate after every hidden dense layer (0–0.9;
    the paper does not publish its rate); ``l2``: L2 weight penalty on kernels (0 = none, as in the
    paper); ``learning_rate``: Adam's step size.
    Input shape (n, n_factors), or (n, patch_size, patch_size, n_factors) for ``cnn2d_patch``;
    output (n, 2) softmax [non-deposit, deposit].
    """
    import tensorflow as tf

    check_architecture(architecture)
    n_factors = int(n_factors)
    if n_factors < 1:
        raise DeepProspectError("The evidence stack has no factors; build it with deepprospect:stack.")
    if not 0.0 <= float(dropout) < 1.0:
        raise DeepProspectError("DROPOUT must be in [0, 1) (got {}); 0.2–0.5 is usual.".format(dropout))
    if float(l2) < 0:
        raise DeepProspectError("L2 must be ≥ 0 (got {}).".format(l2))
    layers = tf.keras.layers
    regulariser = tf.keras.regularizers.L2(float(l2)) if l2 else None

    def dense(units, name, activation="relu"):
        return layers.Dense(units, activation=activation, kernel_regularizer=regulariser, name=name)

    if architecture == "pradhan2022_dense":
        inputs = tf.keras.Input(shape=(n_factors,), name="factors")
        x = inputs
        for index in range(1, 5):
            x = dense(200, "dense_{}".format(index))(x)
            x = layers.Dropout(dropout, name="dropout_{}".format(index))(x)
        outputs = dense(2, "dense_5", activation="softmax")(x)
    elif architecture == "cnn1d":
        inputs = tf.keras.Input(shape=(n_factors,), name="factors")
        # the factor vector becomes a 1-channel sequence the filters slide along
        x = layers.Reshape((n_factors, 1), name="as_sequence")(inputs)
        x = layers.Conv1D(32, 3, padding="same", activation="relu", kernel_regularizer=regulariser, name="conv_1")(x)
        x = layers.Conv1D(64, 3, padding="same", activation="relu", kernel_regularizer=regulariser, name="conv_2")(x)
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dropout(dropout, name="dropout_1")(x)
        x = dense(64, "dense_1")(x)
        x = layers.Dropout(dropout, name="dropout_2")(x)
        outputs = dense(2, "output", activation="softmax")(x)
    else:
        patch_size = check_patch_size(patch_size)
        half = patch_size // 2
        inputs = tf.keras.Input(shape=(patch_size, patch_size, n_factors), name="patches")
        # 1×1 convolution: the factors of each pixel are mixed first, as the dense network does
        x = layers.Conv2D(32, 1, activation="relu", kernel_regularizer=regulariser, name="pixel_mix")(inputs)
        x = layers.Conv2D(32, 3, padding="same", activation="relu", kernel_regularizer=regulariser, name="conv_1")(x)
        x = layers.Conv2D(32, 3, padding="same", activation="relu", kernel_regularizer=regulariser, name="conv_2")(x)
        # what the filters see around the centre pixel, and the average over the whole neighbourhood:
        # few weights (small training sets) and no preferred direction (rotation/flip augmentation)
        centre = layers.Flatten(name="centre")(layers.Cropping2D(half, name="centre_pixel")(x))
        context = layers.GlobalAveragePooling2D(name="neighbourhood")(x)
        x = layers.Concatenate(name="centre_and_neighbourhood")([centre, context])
        x = layers.Dropout(dropout, name="dropout_1")(x)
        x = dense(64, "dense_1")(x)
        x = layers.Dropout(dropout, name="dropout_2")(x)
        outputs = dense(2, "output", activation="softmax")(x)
    model = tf.keras.Model(inputs, outputs, name=architecture)
    model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate=float(learning_rate)),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
    return model


def trainable_parameter_count(model):
    """Number of trainable weights of a Keras model (the "Trainable parameters" of Table 2)."""
    import numpy as np

    return int(sum(np.prod(weight.shape) for weight in model.trainable_weights))


def check_architecture(architecture):
    """``architecture`` if it is known, else a clear error listing the choices."""
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
