"""deepprospect:predict_spectral — apply a spectral bundle (element content or class) to a spectra table or
a hyperspectral raster (models/spectral_regressor.py, models/spectral_classifier.py)."""

from qgis.core import QgsProcessingParameterFile
from qgis.core import QgsProcessingParameterFileDestination

from .base import QT_TRANSLATE_NOOP, DeepProspectAlgorithm
from .spectral_parameters import add_block_size_parameter, add_bundle_parameter


class PredictSpectralAlgorithm(DeepProspectAlgorithm):
    NAME = "predict_spectral"
    DISPLAY_NAME = QT_TRANSLATE_NOOP("DeepProspect", "Predict from spectra")
    GROUP = "spectral"
    HELP = (
        "Applies a spectral model to new spectra: an element-content model from Train element-content model "
        "from spectra (gives ppm) or a classifier from Train spectral classifier (gives a class and its "
        "probability).\n\n"
        "The spectra (a CSV table with one column per wavelength in nm, or a hyperspectral GeoTIFF/ENVI raster "
        "with band wavelengths) must cover the model's wavelength range with the same bands; the model's own "
        "pre-processing is applied. A table gives a CSV (id, prediction, and the measured value when the table "
        "has that column); a raster gives a float32 GeoTIFF processed block by block."
    )
    PARAMETER_HELP = {
        "INPUT": QT_TRANSLATE_NOOP("DeepProspect", "A spectra table (CSV, one column per wavelength in nm) or a "
                                                   "hyperspectral raster"),
        "OUTPUT": QT_TRANSLATE_NOOP("DeepProspect", "A CSV table for a table, a GeoTIFF for a raster"),
    }

    def initAlgorithm(self, config=None):
        add_bundle_parameter(self, QT_TRANSLATE_NOOP("DeepProspect", "Spectral model bundle"))
        self.addParameter(QgsProcessingParameterFile(
            "INPUT", self.tr("Spectra table (CSV) or hyperspectral raster"), QgsProcessingParameterFile.Behavior.File))
        add_block_size_parameter(self, QT_TRANSLATE_NOOP("DeepProspect", "Block size for rasters (pixels)"))
        self.addParameter(QgsProcessingParameterFileDestination(
            "OUTPUT", self.tr("Predictions"), self.tr("CSV table (*.csv);;GeoTIFF raster (*.tif)")))

    def execute(self, parameters, context, feedback):
        output = self.parameterAsFileOutput(parameters, "OUTPUT", context)
        return self.run_engine("predict_spectral", {
            "model": self.parameterAsFile(parameters, "MODEL", context),
            "input": self.parameterAsFile(parameters, "INPUT", context), "output": output,
            "block_size": self.parameterAsInt(parameters, "BLOCK_SIZE", context)}, feedback, outputs=[output])
