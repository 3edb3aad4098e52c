"""The parameters the spectral algorithms share: the pre-processing chain (defaults from
``catalog.PreprocessingSettings``, steps from ``catalog.PREPROCESSING_STEPS``), the training
options of the two spectral trainers, the model bundle and the block size of the appliers."""
from dataclasses import asdict

from qgis.core import QgsProcessingParameterBoolean
from qgis.core import QgsProcessingParameterFile
from qgis.core import QgsProcessingParameterNumber

from ..catalog import PREPROCESSING_STEPS, PreprocessingSettings
from .base import QT_TRANSLATE_NOOP

INTEGER = QgsProcessingParameterNumber.Type.Integer
DOUBLE = QgsProcessingParameterNumber.Type.Double

#: Pre-processing parameters in dialog order: name → (PreprocessingSettings field, label, type
#: (None: yes/no), minimum, maximum or None).
PREPROCESS_PARAMETERS = {
    "MIN_WAVELENGTH": ("min_wavelength", QT_TRANSLATE_NOOP("DeepProspect", "Shortest wavelength kept (nm)"),
                       DOUBLE, 0.0, None),
    "MAX_WAVELENGTH": ("max_wavelength", QT_TRANSLATE_NOOP("DeepProspect", "Longest wavelength kept (nm)"),
                       DOUBLE, 0.0, None),
    "CONTINUUM_REMOVAL": ("continuum_removal",
                          QT_TRANSLATE_NOOP("DeepProspect", "Remove the continuum (upper convex hull)"), None, None, None),
    "ABSORBANCE": ("absorbance", QT_TRANSLATE_NOOP("DeepProspect", "Convert reflectance to absorbance log10(1/R)"),
                   None, None, None),
    "SMOOTHING": ("smoothing", QT_TRANSLATE_NOOP("DeepProspect", "Savitzky–Golay smoothing"), None, None, None),
    "WINDOW": ("window_nm", QT_TRANSLATE_NOOP("DeepProspect", "Savitzky–Golay window (nm)"), DOUBLE, 1.0, None),
    "POLYORDER": ("polyorder", QT_TRANSLATE_NOOP("DeepProspect", "Savitzky–Golay polynomial order"), INTEGER, 0, 5),
    "DERIVATIVE": ("derivative", QT_TRANSLATE_NOOP("DeepProspect", "Derivative (0 none, 1 first, 2 second)"),
                   INTEGER, 0, 2),
}

#: Tooltips of the shared parameters, in the dialog's words.
SHARED_HELP = {
    "MIN_WAVELENGTH": QT_TRANSLATE_NOOP("DeepProspect", "Bands below this wavelength (nm) are dropped"),
    "MAX_WAVELENGTH": QT_TRANSLATE_NOOP("DeepProspect", "Bands above this wavelength (nm) are dropped"),
    "CONTINUUM_REMOVAL": QT_TRANSLATE_NOOP("DeepProspect", "Divide each spectrum by its upper convex hull (1 "
                                                           "outside absorption features)"),
    "ABSORBANCE": QT_TRANSLATE_NOOP("DeepProspect", "Turn reflectance R into absorbance log10(1/R)"),
    "SMOOTHING": QT_TRANSLATE_NOOP("DeepProspect", "Apply a Savitzky–Golay filter"),
    "WINDOW": QT_TRANSLATE_NOOP("DeepProspect", "Width of the Savitzky–Golay window in nm, turned into an odd "
                                                "number of bands by the band spacing"),
    "POLYORDER": QT_TRANSLATE_NOOP("DeepProspect", "Order of the Savitzky–Golay polynomial"),
    "DERIVATIVE": QT_TRANSLATE_NOOP("DeepProspect", "0 none, 1 the first, 2 the second derivative with respect to "
                                                    "wavelength (per nm)"),
    "EPOCHS": QT_TRANSLATE_NOOP("DeepProspect", "The most passes over the training spectra; early stopping usually "
                                                "ends sooner"),
    "BATCH_SIZE": QT_TRANSLATE_NOOP("DeepProspect", "Spectra per weight update"),
    "PATIENCE": QT_TRANSLATE_NOOP("DeepProspect", "Epochs without improvement before early stopping ends training"),
    "LEARNING_RATE": QT_TRANSLATE_NOOP("DeepProspect", "Step size of the Adam optimiser"),
    "VALIDATION_FRACTION": QT_TRANSLATE_NOOP("DeepProspect", "Share of the spectra held out to score the model "
                                                             "(never seen in training)"),
    "SEED": QT_TRANSLATE_NOOP("DeepProspect", "The same seed gives the same split and model"),
    "MODEL": QT_TRANSLATE_NOOP("DeepProspect", "A model bundle (.dpm) written by a spectral training algorithm"),
    "BLOCK_SIZE": QT_TRANSLATE_NOOP("DeepProspect", "Pixels per side of the windows a raster is processed in, so "
                                                    "any size fits in memory"),
}

PREPROCESS_HELP = (
    "Pre-processing, in this order, each step switchable: " + "; ".join(
        "{}. {}".format(number, step.label) for number, step in enumerate(PREPROCESSING_STEPS, start=1)) + ". "
    "Trimming keeps the shortest to the longest wavelength kept (nm); the log says how many bands it drops, "
    "and warns when that is more than a quarter of them or leaves fewer than 16. Continuum removal divides "
    "each spectrum by its upper convex hull (1 outside absorptions); absorbance turns reflectance R into "
    "log10(1/R); smoothing applies a Savitzky–Golay filter of the window's width in nm (converted to an odd "
    "number of bands by the band spacing: 31 nm is 31 bands at 1 nm, 7 at 5 nm) and the polynomial order; a "
    "window of order + 1 bands or fewer would smooth nothing, so it is widened to order + 2 (odd) with a "
    "warning, and the log gives the bands used. Derivative 1 or 2 takes the first or second derivative with "
    "respect to wavelength (per nm). "
    "Carvalho et al. (2024) found the best Sb results with 400–2400 nm, continuum removal, absorbance, "
    "Savitzky–Golay 31 nm order 2 and the first derivative."
)


def add_preprocess_parameters(algorithm, defaults=PreprocessingSettings()):
    """Add MIN_WAVELENGTH … DERIVATIVE to ``algorithm`` with ``defaults`` (a ``catalog.PreprocessingSettings``)."""
    values = asdict(defaults)
    for name, (field, label, kind, minimum, maximum) in PREPROCESS_PARAMETERS.items():
        if kind is None:
            parameter = QgsProcessingParameterBoolean(name, algorithm.tr(label), defaultValue=values[field])
            parameter.setHelp(algorithm.tr(SHARED_HELP[name]))
        else:
            parameter = _number(algorithm, name, label, kind, values[field], minimum, maximum)
        algorithm.addParameter(parameter)


def preprocess_settings(algorithm, parameters, context):
    """The pre-processing chosen in the parameters of ``algorithm``, as the engine's settings dict."""
    settings = {}
    for name, (field, _, kind, _, _) in PREPROCESS_PARAMETERS.items():
        read = {None: algorithm.parameterAsBool, INTEGER: algorithm.parameterAsInt}.get(kind,
                                                                                     algorithm.parameterAsDouble)
        settings[field] = read(parameters, name, context)
    return settings


def add_training_parameters(algorithm, epochs, patience, learning_rate):
    """Add EPOCHS, BATCH_SIZE, PATIENCE, LEARNING_RATE and VALIDATION_FRACTION (a third of the
    spectra, as Carvalho et al.) to a spectral trainer, with the given defaults."""
    for name, label, kind, default, minimum, maximum in (
            ("EPOCHS", QT_TRANSLATE_NOOP("DeepProspect", "Maximum epochs"), INTEGER, epochs, 1, None),
            ("BATCH_SIZE", QT_TRANSLATE_NOOP("DeepProspect", "Batch size (spectra per update)"), INTEGER, 64, 1, None),
            ("PATIENCE", QT_TRANSLATE_NOOP("DeepProspect", "Early-stopping patience (epochs)"),
             INTEGER, patience, 1, None),
            ("LEARNING_RATE", QT_TRANSLATE_NOOP("DeepProspect", "Learning rate (Adam)"),
             DOUBLE, learning_rate, 1e-6, 1.0),
            ("VALIDATION_FRACTION", QT_TRANSLATE_NOOP("DeepProspect", "Share of spectra held out for validation"),
             DOUBLE, 1 / 3, 0.05, 0.8)):
        algorithm.addParameter(_number(algorithm, name, label, kind, default, minimum, maximum))


def training_arguments(algorithm, parameters, context, output):
    """The engine arguments both trainers send: INPUT, ``output`` (the bundle), the pre-processing
    settings and the values of the parameters :func:`add_training_parameters` and
    :func:`add_seed_parameter` added."""
    return {"input": algorithm.parameterAsFile(parameters, "INPUT", context), "output": output,
            "settings": preprocess_settings(algorithm, parameters, context),
            "epochs": algorithm.parameterAsInt(parameters, "EPOCHS", context),
            "batch_size": algorithm.parameterAsInt(parameters, "BATCH_SIZE", context),
            "patience": algorithm.parameterAsInt(parameters, "PATIENCE", context),
            "learning_rate": algorithm.parameterAsDouble(parameters, "LEARNING_RATE", context),
            "validation_fraction": algorithm.parameterAsDouble(parameters, "VALIDATION_FRACTION", context),
            "seed": algorithm.parameterAsInt(parameters, "SEED", context)}


def add_seed_parameter(algorithm):
    """SEED (42, as Carvalho et al.'s split)."""
    algorithm.addParameter(_number(algorithm, "SEED", "Random seed", INTEGER, 42, 0, None))


def add_bundle_parameter(algorithm, label):
    """MODEL: a DeepProspect model bundle (.dpm)."""
    parameter = QgsProcessingParameterFile("MODEL", algorithm.tr(label), QgsProcessingParameterFile.Behavior.File,
                                           extension="dpm")
    parameter.setHelp(algorithm.tr(SHARED_HELP["MODEL"]))
    algorithm.addParameter(parameter)


def add_block_size_parameter(algorithm, label):
    """BLOCK_SIZE: pixels per side of the windows a raster is processed in (256)."""
    algorithm.addParameter(_number(algorithm, "BLOCK_SIZE", label, INTEGER, 256, 16, None))


def _number(algorithm, name, label, kind, default, minimum, maximum):
    parameter = QgsProcessingParameterNumber(name, algorithm.tr(label), kind, defaultValue=default)
    parameter.setHelp(algorithm.tr(SHARED_HELP[name]))
    if minimum is not None:
        parameter.setMinimum(minimum)
    if maximum is not None:
        parameter.setMaximum(maximum)
    return parameter
