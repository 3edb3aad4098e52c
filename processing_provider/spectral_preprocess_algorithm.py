"""deepprospect:spectral_preprocess — the pre-processing chain of Carvalho et al. (2024) on a spectra
table (CSV → CSV) or a hyperspectral raster (→ GeoTIFF, block-wise), with a plot of a few spectra
(core/spectral.py). Also home of the pre-processing parameters the spectral trainers share."""
from pathlib import Path

import numpy as np
from qgis.core import (
    QgsProcessingOutputFile, QgsProcessingParameterBoolean, QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination, QgsProcessingParameterNumber,
)

from .base import DeepProspectAlgorithm
from ..core import spectral
from ..core.errors import DeepProspectError

PREPROCESS_HELP = (
    "Pre-processing, in this order, each step switchable: trim to MIN_WAVELENGTH–MAX_WAVELENGTH (nm); "
    "CONTINUUM_REMOVAL divides each spectrum by its upper convex hull (1 outside absorptions); ABSORBANCE "
    "turns reflectance R into log10(1/R); SMOOTHING applies a Savitzky–Golay filter of WINDOW nm (converted "
    "to an odd number of bands) and polynomial order POLYORDER; DERIVATIVE 1 or 2 takes the first or second "
    "derivative with respect to wavelength (per nm). Carvalho et al. (2024) found the best Sb results with "
    "400–2400 nm, continuum removal, absorbance, Savitzky–Golay 31 nm order 2 and the first derivative."
)


def add_preprocess_parameters(algorithm, defaults=None):
    """Add MIN_WAVELENGTH … DERIVATIVE to ``algorithm`` with ``defaults`` (a PreprocessSettings)."""
    d = defaults or spectral.PreprocessSettings()
    tr = algorithm.tr
    number = QgsProcessingParameterNumber
    algorithm.addParameter(number("MIN_WAVELENGTH", tr("Shortest wavelength kept (nm)"), number.Double,
                                  defaultValue=d.min_wavelength, minValue=0.0))
    algorithm.addParameter(number("MAX_WAVELENGTH", tr("Longest wavelength kept (nm)"), number.Double,
                                  defaultValue=d.max_wavelength, minValue=0.0))
    algorithm.addParameter(QgsProcessingParameterBoolean(
        "CONTINUUM_REMOVAL", tr("Remove the continuum (upper convex hull)"), defaultValue=d.continuum_removal))
    algorithm.addParameter(QgsProcessingParameterBoolean(
        "ABSORBANCE", tr("Convert reflectance to absorbance log10(1/R)"), defaultValue=d.absorbance))
    algorithm.addParameter(QgsProcessingParameterBoolean(
        "SMOOTHING", tr("Savitzky–Golay smoothing"), defaultValue=d.smoothing))
    algorithm.addParameter(number("WINDOW", tr("Savitzky–Golay window (nm)"), number.Double,
                                  defaultValue=d.window_nm, minValue=1.0))
    algorithm.addParameter(number("POLYORDER", tr("Savitzky–Golay polynomial order"), number.Integer,
                                  defaultValue=d.polyorder, minValue=0, maxValue=5))
    algorithm.addParameter(number("DERIVATIVE", tr("Derivative (0 none, 1 first, 2 second)"), number.Integer,
                                  defaultValue=d.derivative, minValue=0, maxValue=2))


def preprocess_settings(algorithm, parameters, context):
    """The PreprocessSettings chosen in the parameters of ``algorithm``."""
    settings = spectral.PreprocessSettings(
        min_wavelength=algorithm.parameterAsDouble(parameters, "MIN_WAVELENGTH", context),
        max_wavelength=algorithm.parameterAsDouble(parameters, "MAX_WAVELENGTH", context),
        continuum_removal=algorithm.parameterAsBool(parameters, "CONTINUUM_REMOVAL", context),
        absorbance=algorithm.parameterAsBool(parameters, "ABSORBANCE", context),
        smoothing=algorithm.parameterAsBool(parameters, "SMOOTHING", context),
        window_nm=algorithm.parameterAsDouble(parameters, "WINDOW", context),
        polyorder=algorithm.parameterAsInt(parameters, "POLYORDER", context),
        derivative=algorithm.parameterAsInt(parameters, "DERIVATIVE", context))
    if settings.min_wavelength >= settings.max_wavelength:
        raise DeepProspectError("MIN_WAVELENGTH ({:g} nm) must be below MAX_WAVELENGTH ({:g} nm).".format(
            settings.min_wavelength, settings.max_wavelength))
    return settings


def is_table(path):
    """True for a CSV/TXT spectra table, False for a raster."""
    return Path(path).suffix.lower() in (".csv", ".txt")


def read_table(path, feedback):
    """Read a spectra table and report its censored values."""
    table = spectral.read_spectra_table(path)
    feedback.info("Read {} spectra with {} bands ({:g}–{:g} nm) from {}.".format(
        len(table), len(table.wavelengths), table.wavelengths[0], table.wavelengths[-1], path))
    for line in table.censored_report():
        feedback.warning("Censored laboratory values (kept as flagged, not as numbers): " + line)
    return table


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
            "INPUT", self.tr("Spectra table (CSV) or hyperspectral raster"), QgsProcessingParameterFile.File))
        add_preprocess_parameters(self)
        self.addParameter(QgsProcessingParameterFileDestination(
            "OUTPUT", self.tr("Processed spectra"), self.tr("CSV table (*.csv);;GeoTIFF raster (*.tif)")))
        self.addOutput(QgsProcessingOutputFile("PLOT", self.tr("Plot of raw and processed spectra")))

    def execute(self, parameters, context, feedback, qgis_feedback):
        source = self.parameterAsFile(parameters, "INPUT", context)
        output = self.parameterAsFileOutput(parameters, "OUTPUT", context)
        settings = preprocess_settings(self, parameters, context)
        plot = str(Path(output).with_name(Path(output).stem + "_spectra.png"))
        feedback.info("Steps: " + settings.describe())
        if is_table(source):
            if Path(output).suffix.lower() != ".csv":
                raise DeepProspectError("A spectra table gives a table: name the OUTPUT with .csv.")
            table = read_table(source, feedback)
            wavelengths, processed = spectral.preprocess(table.wavelengths, table.spectra, settings)
            spectral.write_spectra_table(output, table, wavelengths, processed, digits=8)
            picks = np.linspace(0, len(table) - 1, min(6, len(table))).astype(int)
            spectral.plot_spectra(plot, table.wavelengths, table.spectra[picks], wavelengths, processed[picks],
                                  [table.ids[i] for i in picks], "Spectra of " + Path(source).name,
                                  spectral.processed_label(settings))
        else:
            if Path(output).suffix.lower() not in (".tif", ".tiff"):
                raise DeepProspectError("A raster gives a raster: name the OUTPUT with .tif.")
            wavelengths = spectral.preprocess_raster(source, output, settings, feedback=feedback.scaled(0, 95))
            self._plot_raster(source, output, wavelengths, settings, plot)
        return {"OUTPUT": output, "PLOT": plot}

    def _plot_raster(self, source, output, wavelengths, settings, plot):
        import rasterio

        raw_wavelengths = spectral.raster_wavelengths(source)
        with rasterio.open(source) as raw, rasterio.open(output) as done:
            rows = np.linspace(0, raw.height - 1, 4).astype(int)[1:3]
            cols = np.linspace(0, raw.width - 1, 5).astype(int)[1:4]
            picks = [(r, c) for r in rows for c in cols]
            spectra = np.array([raw.read(window=((r, r + 1), (c, c + 1)))[:, 0, 0] for r, c in picks], float)
            processed = np.array([done.read(window=((r, r + 1), (c, c + 1)))[:, 0, 0] for r, c in picks], float)
            processed[processed == done.nodata] = np.nan
        spectral.plot_spectra(plot, raw_wavelengths, spectra, wavelengths, processed,
                              ["pixel ({}, {})".format(r, c) for r, c in picks], "Pixels of " + Path(source).name,
                              spectral.processed_label(settings))
