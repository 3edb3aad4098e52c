"""deepprospect:classify_hyperspectral — a hyperspectral raster classified pixel by pixel with a DeepGeoMap
bundle (1-D CNN) or its SAM baseline, block-wise (models/spectral_classifier.py)."""

from qgis.core import (
    QgsProcessingParameterEnum, QgsProcessingParameterFile, QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination, QgsProcessingParameterRasterLayer,
)

from .base import DeepProspectAlgorithm


class ClassifyHyperspectralAlgorithm(DeepProspectAlgorithm):
    NAME = "classify_hyperspectral"
    DISPLAY_NAME = "Classify hyperspectral image"
    GROUP = "spectral"
    METHODS = ("cnn", "sam")
    HELP = (
        "Maps classes (rock, alteration, ore types) over a hyperspectral image with a model from "
        "deepprospect:train_spectral_classifier. Every pixel is classified from its own spectrum.\n\n"
        "MODEL: the spectral classifier bundle (.dpm). INPUT: the hyperspectral raster (GeoTIFF or ENVI) with "
        "band wavelengths in the band descriptions or the ENVI header; it must cover the same spectral range "
        "with the same bands as the training spectra, otherwise the algorithm stops and says what differs. "
        "The model's pre-processing is applied to each pixel.\n\n"
        "METHOD: the 1-D CNN (DeepGeoMap) or the spectral angle mapper baseline built from the training class "
        "means. Output: a two-band raster, band 1 the class code (1, 2, … in the order of the model's class "
        "names) and band 2 the CNN's probability for that class (or, for SAM, the spectral angle in radians); "
        "pixels with nodata in any band stay nodata. A style with the class names is written beside it and "
        "applied. The image is processed in blocks of BLOCK_SIZE pixels, so any size fits in memory."
    )

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFile("MODEL", self.tr("Spectral classifier bundle"),
                                                     QgsProcessingParameterFile.Behavior.File, extension="dpm"))
        self.addParameter(QgsProcessingParameterRasterLayer("INPUT", self.tr("Hyperspectral raster")))
        self.addParameter(QgsProcessingParameterEnum(
            "METHOD", self.tr("Method"), options=["1-D CNN (DeepGeoMap)", "Spectral angle mapper (SAM)"],
            defaultValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            "BLOCK_SIZE", self.tr("Block size (pixels)"), QgsProcessingParameterNumber.Type.Integer, defaultValue=256,
            minValue=16))
        self.addParameter(QgsProcessingParameterRasterDestination("OUTPUT", self.tr("Class raster")))

    def execute(self, parameters, context, feedback):
        output = self.parameterAsOutputLayer(parameters, "OUTPUT", context)
        method = self.METHODS[self.parameterAsEnum(parameters, "METHOD", context)]
        result = self.run_engine("classify_hyperspectral", {
            "model": self.parameterAsFile(parameters, "MODEL", context),
            "input": self.raster_path(parameters, "INPUT", context), "output": output, "method": method,
            "block_size": self.parameterAsInt(parameters, "BLOCK_SIZE", context)}, feedback, outputs=[output])
        self.load_with_style(context, output, result["STYLE"], "Classes ({})".format(method.upper()))
        return {"OUTPUT": output, "STYLE": result["STYLE"]}
