"""deepprospect:spectral_preprocess — the pre-processing chain of Carvalho et al. (2024) on a spectra
table (CSV → CSV) or a hyperspectral raster (→ GeoTIFF, block-wise), with a plot of a few spectra
(core/spectral_preprocessing.py, core/spectral.py). Its parameters are ``spectral_parameters``'s."""
import os

from qgis.core import QgsProcessingOutputFile
from qgis.core import QgsProcessingParameterFile
from qgis.core import QgsProcessingParameterFileDestination

from .base import QT_TRANSLATE_NOOP, DeepProspectAlgorithm
from .spectral_parameters import PREPROCESS_HELP, add_preprocess_parameters, preprocess_settings


class SpectralPreprocessAlgorithm(DeepProspectAlgorithm):
    NAME = "spectral_preprocess"
    DISPLAY_NAME = QT_TRANSLATE_NOOP("DeepProspect", "Pre-process spectra")
    GROUP = "spectral"
    HELP = (
        "Prepares reflectance spectra for modelling, as Carvalho et al. (2024) did for soil spectra.\n\n"
        "The input is a spectra table (CSV: one row per sample, an id column, element or class columns, and "
        "one column per wavelength whose header is the wavelength in nm, as an averaged ASD/FieldSpec export) "
        "or a hyperspectral raster (GeoTIFF or ENVI) whose band wavelengths are in the band descriptions or the "
        "ENVI header. A table gives a table (same ids and other columns, processed spectra); a raster gives a "
        "float32 GeoTIFF, processed block by block. Laboratory values like <0.02 or >4000 are kept as they are "
        "and reported.\n\n" + PREPROCESS_HELP + "\n\n"
        "A plot of a few raw and processed spectra is written beside the output (_spectra.png)."
    )
    PARAMETER_HELP = {
        "INPUT": QT_TRANSLATE_NOOP("DeepProspect", "A spectra table (CSV, one column per wavelength in nm) or a "
                                                   "hyperspectral raster"),
        "OUTPUT": QT_TRANSLATE_NOOP("DeepProspect", "A CSV table for a table, a GeoTIFF for a raster; a plot of a "
                                                    "few spectra goes beside it"),
    }

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
