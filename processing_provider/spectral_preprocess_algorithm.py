"""deepprospect:spectral_preprocess — the pre-processing chain of Carvalho et al. (2024) on a spectra
table (CSV → CSV) or a hyperspectral raster (→ GeoTIFF, block-wise), with a plot of a few spectra
(core/spectral.py). Also home of the pre-processing parameters the spectral trainers share."""
import os

from qgis.core import (
    QgsProcessingOutputFile, QgsProcessingParameterBoolean, QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination, QgsProcessingParameterNumber,
)

from .base import DeepProspectAlgorithm

#: The engine's defaults (core/spectral.py ``PreprocessSettings``), repeated because the front cannot
#: import the engine: Carvalho et al.'s best chain for Sb.
CARVALHO_DEFAULTS = {"min_wavelength": 400.0, "max_wavelength": 2400.0, "continuum_removal": True,
                     "absorbance": True, "smoothing": True, "window_nm": 31.0, "polyorder": 2, "derivative": 1}
#: The hyperspectral classifier's default (models/spectral_classifier.py): trim to 400–2400 nm only.
TRIM_ONLY_DEFAULTS = dict(CARVALHO_DEFAULTS, continuum_removal=False, absorbance=False, smoothing=False,
                          derivative=0)

PREPROCESS_HELP = (
    "Pre-processing, in this order, each step switchable: trim to MIN_WAVELENGTH–MAX_WAVELENGTH (nm); "
    "CONTINUUM_REMOVAL divides each spectrum by its upper convex hull (1 outside absorptions); ABSORBANCE "
    "turns reflectance R into log10(1/R); SMOOTHING applies a Savitzky–Golay filter of WINDOW nm (converted "
    "to an odd number of bands) and polynomial order POLYORDER; DERIVATIVE 1 or 2 takes the first or second "
    "derivative with respect to wavelength (per nm). Carvalho et al. (2024) found the best Sb results with "
    "400–2400 nm, continuum removal, absorbance, Savitzky–Golay 31 nm order 2 and the first derivative."
)


def add_preprocess_parameters(algorithm, defaults=None):
    """Add MIN_WAVELENGTH … DERIVATIVE to ``algorithm`` with ``defaults`` (a dict like CARVALHO_DEFAULTS)."""
    d = _Defaults(defaults or CARVALHO_DEFAULTS)
    tr = algorithm.tr
    number = QgsProcessingParameterNumber
    algorithm.addParameter(number("MIN_WAVELENGTH", tr("Shortest wavelength kept (nm)"), number.Type.Double,
                                  defaultValue=d.min_wavelength, minValue=0.0))
    algorithm.addParameter(number("MAX_WAVELENGTH", tr("Longest wavelength kept (nm)"), number.Type.Double,
                                  defaultValue=d.max_wavelength, minValue=0.0))
    algorithm.addParameter(QgsProcessingParameterBoolean(
        "CONTINUUM_REMOVAL", tr("Remove the continuum (upper convex hull)"), defaultValue=d.continuum_removal))
    algorithm.addParameter(QgsProcessingParameterBoolean(
        "ABSORBANCE", tr("Convert reflectance to absorbance log10(1/R)"), defaultValue=d.absorbance))
    algorithm.addParameter(QgsProcessingParameterBoolean(
        "SMOOTHING", tr("Savitzky–Golay smoothing"), defaultValue=d.smoothing))
    algorithm.addParameter(number("WINDOW", tr("Savitzky–Golay window (nm)"), number.Type.Double,
                                  defaultValue=d.window_nm, minValue=1.0))
    algorithm.addParameter(number("POLYORDER", tr("Savitzky–Golay polynomial order"), number.Type.Integer,
                                  defaultValue=d.polyorder, minValue=0, maxValue=5))
    algorithm.addParameter(number("DERIVATIVE", tr("Derivative (0 none, 1 first, 2 second)"), number.Type.Integer,
                                  defaultValue=d.derivative, minValue=0, maxValue=2))


def preprocess_settings(algorithm, parameters, context):
    """The pre-processing chosen in the parameters of ``algorithm``, as the engine's settings dict."""
    return {
        "min_wavelength": algorithm.parameterAsDouble(parameters, "MIN_WAVELENGTH", context),
        "max_wavelength": algorithm.parameterAsDouble(parameters, "MAX_WAVELENGTH", context),
        "continuum_removal": algorithm.parameterAsBool(parameters, "CONTINUUM_REMOVAL", context),
        "absorbance": algorithm.parameterAsBool(parameters, "ABSORBANCE", context),
        "smoothing": algorithm.parameterAsBool(parameters, "SMOOTHING", context),
        "window_nm": algorithm.parameterAsDouble(parameters, "WINDOW", context),
        "polyorder": algorithm.parameterAsInt(parameters, "POLYORDER", context),
        "derivative": algorithm.parameterAsInt(parameters, "DERIVATIVE", context)}


class _Defaults:
    def __init__(self, values):
        self.__dict__.update(values)


class SpectralPreprocessAlgorithm(DeepProspectAlgorithm):
    NAME = "spectral_preprocess"
    DISPLAY_NAME = "Pre-process spectra"
    GROUP = "spectral"
    HELP = (
        "Prepares reflectance spectra for modelling, as Carvalho et al. (2024) did for soil spectra.\n\n"
        "INPUT: a spectra table (CSV: one row per sample, an id column, element or class columns, and one "
        "column per wavelength whose header is the wavelength in nm, as an averaged ASD/FieldSpec export) or "
        "a hyperspectral raster (GeoTIFF or ENVI) whose band wavelengths are in the band descriptions or the "
        "ENVI header. A table gives a table (same ids and other columns, processed spectra); a raster gives "
        "a float32 GeoTIFF, processed block by block. Laboratory values like <0.02 or >4000 are kept as "
        "they are and reported.\n\n" + PREPROCESS_HELP + "\n\n"
        "A plot of a few raw and processed spectra is written beside the output (_spectra.png)."
    )

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFile(
            "INPUT", self.tr("Spectra table (CSV) or hyperspectral raster"), QgsProcessingParameterFile.Behavior.File))
        add_preprocess_parameters(self)
        self.addParameter(QgsProcessingParameterFileDestination(
            "OUTPUT", self.tr("Processed spectra"), self.tr("CSV table (*.csv);;GeoTIFF raster (*.tif)")))
        self.addOutput(QgsProcessingOutputFile("PLOT", self.tr("Plot of raw and processed spectra")))

    def execute(self, parameters, context, feedback):
        output = self.parameterAsFileOutput(parameters, "OUTPUT", context)
        plot = os.path.join(os.path.dirname(output), os.path.splitext(os.path.basename(output))[0] + "_spectra.png")
        result = self.run_engine("spectral_preprocess", {
            "input": self.parameterAsFile(parameters, "INPUT", context), "output": output,
            "settings": preprocess_settings(self, parameters, context)}, feedback, outputs=[output, plot])
        return {"OUTPUT": result["output"], "PLOT": result["plot"]}
