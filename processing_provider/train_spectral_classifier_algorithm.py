"""deepprospect:train_spectral_classifier — the DeepGeoMap 1-D CNN from labelled spectra, compared with a
spectral angle mapper (models/spectral_classifier.py)."""

from qgis.core import (
    QgsProcessingOutputFile, QgsProcessingOutputNumber, QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination, QgsProcessingParameterNumber, QgsProcessingParameterString,
)

from .base import DeepProspectAlgorithm
from .spectral_preprocess_algorithm import PREPROCESS_HELP, TRIM_ONLY_DEFAULTS, add_preprocess_parameters, preprocess_settings


class TrainSpectralClassifierAlgorithm(DeepProspectAlgorithm):
    NAME = "train_spectral_classifier"
    DISPLAY_NAME = "Train spectral classifier (DeepGeoMap 1-D CNN)"
    GROUP = "spectral"
    HELP = (
        "Trains a 1-D convolutional network that recognises a class (a rock, alteration or ore type) from one "
        "spectrum, after DeepGeoMap (Living Planet Symposium 2022). It looks only at the spectrum, not at the "
        "neighbourhood, so it can be trained on laboratory or point-spectrometer spectra of geochemically "
        "checked samples and then map a hyperspectral image (deepprospect:classify_hyperspectral) taken with "
        "the same spectral range and number of bands.\n\n"
        "INPUT: spectra table (CSV, one column per wavelength in nm) with a class column CLASS_FIELD (names "
        "or codes); at least 6 spectra per class.\n\n" + PREPROCESS_HELP + " Defaults here: trim only; the "
        "network learns its own features.\n\n"
        "Training: categorical cross-entropy with Adam, batches of BATCH_SIZE, at most EPOCHS epochs, early "
        "stopping after PATIENCE epochs without improvement on a monitor part of the training spectra. "
        "VALIDATION_FRACTION of the spectra (stratified by class, SEED) are held out. A spectral angle mapper "
        "(SAM) built from the class mean spectra of the same training spectra is scored on the same validation "
        "spectra (the slides: DeepGeoMap 98.8 % vs SAM 85.1 %). Outputs: the model bundle (.dpm) and a report "
        "(CSV: accuracy and kappa of both, confusion matrices) beside it."
    )

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFile(
            "INPUT", self.tr("Labelled spectra table (CSV)"), QgsProcessingParameterFile.Behavior.File, extension="csv"))
        self.addParameter(QgsProcessingParameterString("CLASS_FIELD", self.tr("Class column"), defaultValue="class"))
        add_preprocess_parameters(self, TRIM_ONLY_DEFAULTS)
        integer = QgsProcessingParameterNumber.Type.Integer
        self.addParameter(QgsProcessingParameterNumber("EPOCHS", self.tr("Maximum epochs"), integer,
                                                       defaultValue=150, minValue=1))
        self.addParameter(QgsProcessingParameterNumber("BATCH_SIZE", self.tr("Batch size"), integer,
                                                       defaultValue=64, minValue=1))
        self.addParameter(QgsProcessingParameterNumber("PATIENCE", self.tr("Early-stopping patience (epochs)"),
                                                       integer, defaultValue=20, minValue=1))
        self.addParameter(QgsProcessingParameterNumber(
            "LEARNING_RATE", self.tr("Learning rate (Adam)"), QgsProcessingParameterNumber.Type.Double,
            defaultValue=0.001, minValue=1e-6, maxValue=1.0))
        self.addParameter(QgsProcessingParameterNumber(
            "VALIDATION_FRACTION", self.tr("Validation fraction"), QgsProcessingParameterNumber.Type.Double,
            defaultValue=1 / 3, minValue=0.05, maxValue=0.8))
        self.addParameter(QgsProcessingParameterNumber("SEED", self.tr("Random seed"), integer, defaultValue=42,
                                                       minValue=0))
        self.addParameter(QgsProcessingParameterFileDestination(
            "OUTPUT", self.tr("Model bundle"), self.tr("DeepProspect model (*.dpm)")))
        self.addOutput(QgsProcessingOutputFile("REPORT", self.tr("Report: CNN vs SAM (CSV)")))
        self.addOutput(QgsProcessingOutputNumber("ACCURACY_VALIDATION", self.tr("CNN validation accuracy")))
        self.addOutput(QgsProcessingOutputNumber("SAM_ACCURACY_VALIDATION", self.tr("SAM validation accuracy")))

    def execute(self, parameters, context, feedback):
        output = self.parameterAsFileOutput(parameters, "OUTPUT", context)
        result = self.run_engine("train_spectral_classifier", {
            "input": self.parameterAsFile(parameters, "INPUT", context), "output": output,
            "class_field": self.parameterAsString(parameters, "CLASS_FIELD", context).strip(),
            "settings": preprocess_settings(self, parameters, context),
            "epochs": self.parameterAsInt(parameters, "EPOCHS", context),
            "batch_size": self.parameterAsInt(parameters, "BATCH_SIZE", context),
            "patience": self.parameterAsInt(parameters, "PATIENCE", context),
            "learning_rate": self.parameterAsDouble(parameters, "LEARNING_RATE", context),
            "validation_fraction": self.parameterAsDouble(parameters, "VALIDATION_FRACTION", context),
            "seed": self.parameterAsInt(parameters, "SEED", context)}, feedback, outputs=[output])
        return dict(result, OUTPUT=output)
