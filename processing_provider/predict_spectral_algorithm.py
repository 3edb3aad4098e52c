"""deepprospect:predict_spectral — apply a spectral bundle (element content or class) to a spectra table or
a hyperspectral raster (models/spectral_regressor.py, models/spectral_classifier.py)."""
from pathlib import Path

import numpy as np
from qgis.core import QgsProcessingParameterFile, QgsProcessingParameterFileDestination, QgsProcessingParameterNumber

from .base import DeepProspectAlgorithm
from .spectral_preprocess_algorithm import is_table, read_table
from ..core.errors import DeepProspectError


class PredictSpectralAlgorithm(DeepProspectAlgorithm):
    NAME = "predict_spectral"
    DISPLAY_NAME = "Predict from spectra"
    GROUP = "spectral"
    REQUIRES = ("tensorflow",)
    HELP = (
        "Applies a spectral model to new spectra: an element-content model from "
        "deepprospect:train_spectral_regressor (gives ppm) or a classifier from "
        "deepprospect:train_spectral_classifier (gives a class and its probability).\n\n"
        "MODEL: the bundle (.dpm). INPUT: a spectra table (CSV, one column per wavelength in nm) or a "
        "hyperspectral raster (GeoTIFF/ENVI with band wavelengths). The spectra must cover the model's "
        "wavelength range with the same bands; the model's own pre-processing is applied. A table gives a CSV "
        "(id, prediction, and the measured value when the table has that column); a raster gives a float32 "
        "GeoTIFF processed block by block (BLOCK_SIZE pixels)."
    )

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFile("MODEL", self.tr("Spectral model bundle"),
                                                     QgsProcessingParameterFile.File, extension="dpm"))
        self.addParameter(QgsProcessingParameterFile(
            "INPUT", self.tr("Spectra table (CSV) or hyperspectral raster"), QgsProcessingParameterFile.File))
        self.addParameter(QgsProcessingParameterNumber(
            "BLOCK_SIZE", self.tr("Block size for rasters (pixels)"), QgsProcessingParameterNumber.Integer,
            defaultValue=256, minValue=16))
        self.addParameter(QgsProcessingParameterFileDestination(
            "OUTPUT", self.tr("Predictions"), self.tr("CSV table (*.csv);;GeoTIFF raster (*.tif)")))

    def execute(self, parameters, context, feedback, qgis_feedback):
        from ..models import spectral_classifier as classifier
        from ..models import spectral_regressor as regressor

        bundle = regressor.load_spectral_bundle(self.parameterAsFile(parameters, "MODEL", context))
        source = self.parameterAsFile(parameters, "INPUT", context)
        output = self.parameterAsFileOutput(parameters, "OUTPUT", context)
        block_size = self.parameterAsInt(parameters, "BLOCK_SIZE", context)
        is_regressor = bundle.kind == regressor.KIND
        if is_table(source):
            if Path(output).suffix.lower() != ".csv":
                raise DeepProspectError("A spectra table gives a table: name the OUTPUT with .csv.")
            table = read_table(source, feedback)
            if is_regressor:
                predicted = regressor.predict_content(bundle, table.wavelengths, table.spectra)
                self._write_regression(output, table, bundle, predicted)
            else:
                classes, probability = classifier.classify_spectra(bundle, table.wavelengths, table.spectra)
                self._write_classes(output, table, bundle, classes, probability)
        else:
            if Path(output).suffix.lower() not in (".tif", ".tiff"):
                raise DeepProspectError("A raster gives a raster: name the OUTPUT with .tif.")
            if is_regressor:
                regressor.predict_content_raster(bundle, source, output, block_size, feedback)
            else:
                classifier.classify_raster(bundle, source, output, "cnn", block_size, feedback)
        return {"OUTPUT": output}

    def _write_regression(self, output, table, bundle, predicted):
        import csv

        from ..core.atomic import atomic_output

        target = bundle.metadata["target"]["name"]
        with atomic_output(output) as temporary:
            with open(temporary, "w", newline="") as handle:
                writer = csv.writer(handle)
                measured = target in table.targets
                writer.writerow([table.id_column, "predicted_" + target + "_ppm"] + (["measured_" + target] if measured else []))
                for row, identifier in enumerate(table.ids):
                    cells = [identifier, "" if np.isnan(predicted[row]) else "{:.4g}".format(predicted[row])]
                    if measured:
                        flag = table.censored[target][row]
                        value = table.censored_values[target][row] if flag else table.targets[target][row]
                        cells.append(flag + ("{:g}".format(value) if np.isfinite(value) else ""))
                    writer.writerow(cells)

    def _write_classes(self, output, table, bundle, classes, probability):
        import csv

        from ..core.atomic import atomic_output

        names = bundle.metadata["class_names"]
        with atomic_output(output) as temporary:
            with open(temporary, "w", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow([table.id_column, "predicted_class", "probability"])
                for identifier, index, score in zip(table.ids, classes, probability):
                    writer.writerow([identifier, names[index] if index >= 0 else "",
                                     "{:.4f}".format(score) if index >= 0 else ""])
