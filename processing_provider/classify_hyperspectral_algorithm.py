"""deepprospect:classify_hyperspectral — a hyperspectral raster classified pixel by pixel with a DeepGeoMap
bundle (1-D CNN) or its SAM baseline, block-wise (models/spectral_classifier.py). The METHOD options
are ``catalog.CLASSIFICATION_METHODS``."""

from qgis.core import QgsProcessingParameterEnum
from qgis.core import QgsProcessingParameterRasterDestination
from qgis.core import QgsProcessingParameterRasterLayer

from ..catalog import CLASSIFICATION_METHODS
from .base import QT_TRANSLATE_NOOP, DeepProspectAlgorithm
from .help_text import choices_help
from .spectral_parameters import add_block_size_parameter, add_bundle_parameter


class ClassifyHyperspectralAlgorithm(DeepProspectAlgorithm):
    NAME = "classify_hyperspectral"
    DISPLAY_NAME = QT_TRANSLATE_NOOP("DeepProspect", "Classify hyperspectral image")
    GROUP = "spectral"
    HELP = (
        "Maps classes (rock, alteration, ore types) over a hyperspectral image with a model from Train "
        "spectral classifier. Every pixel is classified from its own spectrum.\n\n"
        "The hyperspectral raster (GeoTIFF or ENVI) has band wavelengths in the band descriptions or the ENVI "
        "header; it must cover the same spectral range with the same bands as the training spectra, otherwise "
        "the algorithm stops and says what differs. The model's pre-processing is applied to each pixel.\n\n"
        "Method:\n" + choices_help(CLASSIFICATION_METHODS) + "\n"
        "Output: a two-band raster, band 1 the class code (1, 2, … in the order of the model's class names) "
        "and band 2 the method's score; pixels with nodata in any band stay nodata. A style with the class "
        "names is written beside it and applied. The image is processed in windows, so any size fits in memory."
    )
    PARAMETER_HELP = {
        "INPUT": QT_TRANSLATE_NOOP("DeepProspect", "The hyperspectral raster, with the training spectra's range "
                                                   "and bands"),
        "METHOD": QT_TRANSLATE_NOOP("DeepProspect", "The 1-D CNN of the bundle, or its spectral angle mapper "
                                                    "baseline"),
        "OUTPUT": QT_TRANSLATE_NOOP("DeepProspect", "Band 1 the class code, band 2 the score, with a style naming "
                                                    "the classes"),
    }

    def initAlgorithm(self, config=None):
        add_bundle_parameter(self, QT_TRANSLATE_NOOP("DeepProspect", "Spectral classifier bundle"))
        self.addParameter(QgsProcessingParameterRasterLayer("INPUT", self.tr("Hyperspectral raster")))
        self.addParameter(QgsProcessingParameterEnum(
            "METHOD", self.tr("Classification method"),
            options=[self.tr(method.label) for method in CLASSIFICATION_METHODS],
            defaultValue=0))
        add_block_size_parameter(self, QT_TRANSLATE_NOOP("DeepProspect", "Block size (pixels)"))
        self.addParameter(QgsProcessingParameterRasterDestination("OUTPUT", self.tr("Class raster")))

    def execute(self, parameters, context, feedback):
        output = self.parameterAsOutputLayer(parameters, "OUTPUT", context)
        method = CLASSIFICATION_METHODS.at(self.parameterAsEnum(parameters, "METHOD", context)).name
        result = self.run_engine("classify_hyperspectral", {
            "model": self.parameterAsFile(parameters, "MODEL", context),
            "input": self.raster_path(parameters, "INPUT", context), "output": output, "method": method,
            "block_size": self.parameterAsInt(parameters, "BLOCK_SIZE", context)}, feedback, outputs=[output])
        self.load_with_style(context, output, result["STYLE"], "Classes ({})".format(method.upper()))
        return {"OUTPUT": output, "STYLE": result["STYLE"]}
