"""deepprospect:train_spectral_classifier — the DeepGeoMap 1-D CNN from labelled spectra, compared with a
spectral angle mapper (models/spectral_classifier.py)."""

from qgis.core import QgsProcessingOutputFile
from qgis.core import QgsProcessingOutputNumber
from qgis.core import QgsProcessingParameterFile
from qgis.core import QgsProcessingParameterFileDestination
from qgis.core import QgsProcessingParameterString

from ..catalog import TRIM_ONLY_PREPROCESSING
from .base import QT_TRANSLATE_NOOP, DeepProspectAlgorithm
from .spectral_parameters import PREPROCESS_HELP, add_preprocess_parameters
from .spectral_parameters import add_seed_parameter, add_training_parameters, training_arguments


class TrainSpectralClassifierAlgorithm(DeepProspectAlgorithm):
    NAME = "train_spectral_classifier"
    DISPLAY_NAME = QT_TRANSLATE_NOOP("DeepProspect", "Train spectral classifier (DeepGeoMap 1-D CNN)")
    GROUP = "spectral"
    HELP = (
        "Trains a 1-D convolutional network that recognises a class (a rock, alteration or ore type) from one "
        "spectrum, after DeepGeoMap (Living Planet Symposium 2022). It looks only at the spectrum, not at the "
        "neighbourhood, so it can be trained on laboratory or point-spectrometer spectra of geochemically "
        "checked samples and then map a hyperspectral image (Classify hyperspectral image) taken with the same "
        "spectral range and number of bands.\n\n"
        "The labelled spectra table (CSV) has one column per wavelength in nm and a class column (names or "
        "codes); at least 6 spectra per class.\n\n" + PREPROCESS_HELP + " Defaults here: trim only; the "
        "network learns its own features.\n\n"
        "Training: categorical cross-entropy with Adam, early stopping on a monitor part of the training "
        "spectra. The validation share of the spectra (stratified by class, with the seed) is held out. A "
        "spectral angle mapper (SAM) built from the class mean spectra of the same training spectra is scored "
        "on the same validation spectra (the slides report 98.8 % accuracy for DeepGeoMap, shadows included, and 85.1 % for ENVI's SAM, shadows excluded, on 400 bands). Results: the model "
        "bundle (.dpm) and a report (CSV: accuracy and kappa of both, confusion matrices) beside it."
    )
    PARAMETER_HELP = {
        "INPUT": QT_TRANSLATE_NOOP("DeepProspect", "CSV: one row per spectrum, a class column and one column per "
                                                   "wavelength (nm)"),
        "CLASS_FIELD": QT_TRANSLATE_NOOP("DeepProspect", "The column naming each spectrum's class (names or codes)"),
        "OUTPUT": QT_TRANSLATE_NOOP("DeepProspect", "The model bundle (.dpm); the CNN-vs-SAM report is written "
                                                    "beside it"),
    }

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFile(
            "INPUT", self.tr("Labelled spectra table (CSV)"), QgsProcessingParameterFile.Behavior.File, extension="csv"))
        self.addParameter(QgsProcessingParameterString("CLASS_FIELD", self.tr("Class column"), defaultValue="class"))
        add_preprocess_parameters(self, TRIM_ONLY_PREPROCESSING)
        add_training_parameters(self, epochs=150, patience=20, learning_rate=0.001)
        add_seed_parameter(self)
        self.addParameter(QgsProcessingParameterFileDestination(
            "OUTPUT", self.tr("Model bundle"), self.tr("DeepProspect model (*.dpm)")))
        self.addOutput(QgsProcessingOutputFile("REPORT", self.tr("Report: CNN vs SAM (CSV)")))
        self.addOutput(QgsProcessingOutputNumber("ACCURACY_VALIDATION", self.tr("CNN validation accuracy")))
        self.addOutput(QgsProcessingOutputNumber("SAM_ACCURACY_VALIDATION", self.tr("SAM validation accuracy")))

    def execute(self, parameters, context, feedback):
        output = self.parameterAsFileOutput(parameters, "OUTPUT", context)
        result = self.run_engine("train_spectral_classifier", dict(
            training_arguments(self, parameters, context, output),
            class_field=self.parameterAsString(parameters, "CLASS_FIELD", context).strip()), feedback, outputs=[output])
        return dict(result, OUTPUT=output)
