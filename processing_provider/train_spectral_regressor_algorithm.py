"""deepprospect:train_spectral_regressor — element content from reflectance spectra with the CNN of
Carvalho et al. (2024), PLS and random forest beside it (models/spectral_regressor.py)."""

from qgis.core import QgsProcessingOutputFile
from qgis.core import QgsProcessingOutputNumber
from qgis.core import QgsProcessingParameterBoolean
from qgis.core import QgsProcessingParameterFile
from qgis.core import QgsProcessingParameterFileDestination
from qgis.core import QgsProcessingParameterNumber
from qgis.core import QgsProcessingParameterString

from .base import QT_TRANSLATE_NOOP, DeepProspectAlgorithm
from .spectral_parameters import PREPROCESS_HELP, add_preprocess_parameters
from .spectral_parameters import DOUBLE, INTEGER, add_seed_parameter, add_training_parameters, training_arguments

#: Carvalho et al.'s outlier threshold for Sb (ppm): the 7 samples above it came mainly from contaminated ground.
DEFAULT_OUTLIER_PPM = 1000.0


class TrainSpectralRegressorAlgorithm(DeepProspectAlgorithm):
    NAME = "train_spectral_regressor"
    DISPLAY_NAME = QT_TRANSLATE_NOOP("DeepProspect", "Train element-content model from spectra")
    GROUP = "spectral"
    HELP = (
        "Learns to estimate an element's content (ppm, or other units) from laboratory reflectance spectra of "
        "soils, after Carvalho et al. (2024, Sb in northern Portugal), and tells you honestly whether it beats "
        "classical chemometrics.\n\n"
        "The spectra table (CSV) has one column per wavelength in nm and the laboratory results. Values of the "
        "element column written <x, < x or >x (below detection, over range), n.d., b.d.l. (not detected), "
        "empty or - (missing) or other text are left out and listed with their sample ids. Samples above the "
        "outlier threshold (the paper: 1000 ppm Sb, samples mainly from contaminated ground) are left out; 0 keeps all. Left unset in "
        "a script, it is 1000 for ppm and off for other units.\n\n" + PREPROCESS_HELP + "\n\n"
        "Each processed spectrum becomes an STFT spectrogram read by a compact MobileNetV2-style network (one "
        "convolution, three inverted-residual blocks, batch norm, ReLU6). Frames are given in nm: 64 nm per "
        "frame, a frame every 32 nm by default, converted to bands by the band spacing (64 bands at 1 nm, 13 "
        "at 5 nm; at least 8 bands, the step keeping its share: 8/4 at 10 nm); frame length and step in bands, "
        "when not 0, are used instead. The log says the bands used and warns when a frame covers fewer than 5 "
        "bands or the spectra give fewer than 8 frames. Learning log10 of the content suits log-normal "
        "contents and needs every value positive; without it values may be 0 or negative. Scores are reported "
        "in the element's units. The validation share of the samples is drawn at random with the seed (42, as "
        "the paper), or, with a group column, whole groups (e.g. a site) go to one side only. Training stops "
        "early when the loss on a monitor part of the training samples has not improved for the patience; "
        "the validation samples are never seen. The saved network is then refitted on all samples for the "
        "epoch count early stopping chose: the validation scores estimate it.\n\n"
        "With the baselines, PLS regression (components by 5-fold cross-validation) and a random forest are "
        "fitted on the same split and processed spectra. Results: the model bundle (.dpm), a metrics table in "
        "the paper's Table 3 layout (R², RMSE train/validation per method), a predicted-vs-measured plot and "
        "the learning curves, written beside the bundle."
    )
    PARAMETER_HELP = {
        "INPUT": QT_TRANSLATE_NOOP("DeepProspect", "CSV: one row per sample, an id column, the element columns and "
                                                   "one column per wavelength (nm)"),
        "TARGET": QT_TRANSLATE_NOOP("DeepProspect", "The column of laboratory results to learn (e.g. Sb)"),
        "OUTLIER_THRESHOLD": QT_TRANSLATE_NOOP("DeepProspect", "Samples above this content (in the element's "
                                                               "units) are left out; 0 keeps all"),
        "FRAME_LENGTH": QT_TRANSLATE_NOOP("DeepProspect", "Bands per STFT frame; 0 takes the frame length in nm "
                                                          "instead"),
        "FRAME_STEP": QT_TRANSLATE_NOOP("DeepProspect", "Bands between STFT frames; 0 takes the frame step in nm "
                                                        "instead"),
        "GROUP_FIELD": QT_TRANSLATE_NOOP("DeepProspect", "A column naming groups (e.g. a site) kept whole on one "
                                                         "side of the split"),
        "LOG_TARGET": QT_TRANSLATE_NOOP("DeepProspect", "Learn log10 of the content (every value must then be "
                                                        "positive)"),
        "BASELINES": QT_TRANSLATE_NOOP("DeepProspect", "Also fit PLS regression and a random forest on the same "
                                                       "split, for comparison"),
        "UNITS": QT_TRANSLATE_NOOP("DeepProspect", "Units of the element column, for labels and reports (ppm, %, "
                                                   "ppb, …)"),
        "FRAME_LENGTH_NM": QT_TRANSLATE_NOOP("DeepProspect", "Width of an STFT frame in nm, turned into bands by "
                                                             "the band spacing"),
        "FRAME_STEP_NM": QT_TRANSLATE_NOOP("DeepProspect", "Distance between STFT frames in nm"),
        "OUTPUT": QT_TRANSLATE_NOOP("DeepProspect", "The model bundle (.dpm); the metrics table and the plots are "
                                                    "written beside it"),
    }
    DEFAULT_TEXT = {"GROUP_FIELD": "none (a random split)"}

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFile(
            "INPUT", self.tr("Spectra table (CSV) with laboratory results"), QgsProcessingParameterFile.Behavior.File,
            extension="csv"))
        self.addParameter(QgsProcessingParameterString("TARGET", self.tr("Element column"), defaultValue="Sb"))
        self.addParameter(QgsProcessingParameterNumber(
            "OUTLIER_THRESHOLD", self.tr("Leave out samples above (element units; 0 = keep all)"),
            QgsProcessingParameterNumber.Type.Double, defaultValue=DEFAULT_OUTLIER_PPM, minValue=0.0))
        add_preprocess_parameters(self)
        self.addParameter(QgsProcessingParameterNumber(
            "FRAME_LENGTH", self.tr("STFT frame length in bands (0 = from the length in nm)"), INTEGER, defaultValue=0,
            minValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            "FRAME_STEP", self.tr("STFT frame step in bands (0 = from the step in nm)"), INTEGER, defaultValue=0,
            minValue=0))
        add_training_parameters(self, epochs=300, patience=30, learning_rate=0.003)
        self.addParameter(QgsProcessingParameterString(
            "GROUP_FIELD", self.tr("Group column for a grouped split (optional)"), optional=True))
        self.addParameter(QgsProcessingParameterBoolean("LOG_TARGET", self.tr("Learn log10 of the content"),
                                                        defaultValue=True))
        self.addParameter(QgsProcessingParameterBoolean(
            "BASELINES", self.tr("Fit PLS and random-forest baselines"), defaultValue=True))
        add_seed_parameter(self)
        self.addParameter(QgsProcessingParameterString("UNITS", self.tr("Units of the element column"),
                                                       defaultValue="ppm"))
        self.addParameter(QgsProcessingParameterNumber("FRAME_LENGTH_NM", self.tr("STFT frame length (nm)"), DOUBLE,
                                                       defaultValue=64.0, minValue=1.0))
        self.addParameter(QgsProcessingParameterNumber("FRAME_STEP_NM", self.tr("STFT frame step (nm)"), DOUBLE,
                                                       defaultValue=32.0, minValue=1.0))
        self.addParameter(QgsProcessingParameterFileDestination(
            "OUTPUT", self.tr("Model bundle"), self.tr("DeepProspect model (*.dpm)")))
        for name, label in (("METRICS", "Metrics table (CSV)"), ("SCATTER", "Predicted vs measured plot"),
                            ("LEARNING_CURVES", "Learning curves")):
            self.addOutput(QgsProcessingOutputFile(name, self.tr(label)))
        for name, label in (("R2_VALIDATION", "CNN validation R²"),
                            ("RMSE_VALIDATION", "CNN validation RMSE (element units)"),
                            ("PLS_R2_VALIDATION", "PLS validation R²"), ("RF_R2_VALIDATION", "Random forest validation R²")):
            self.addOutput(QgsProcessingOutputNumber(name, self.tr(label)))

    def execute(self, parameters, context, feedback):
        output = self.parameterAsFileOutput(parameters, "OUTPUT", context)
        units = self.parameterAsString(parameters, "UNITS", context).strip() or "ppm"
        if parameters.get("OUTLIER_THRESHOLD") is None:
            # the default, 1000, is the paper's Sb threshold in ppm: no threshold for other units
            threshold = DEFAULT_OUTLIER_PPM if units == "ppm" else None
        else:
            threshold = self.parameterAsDouble(parameters, "OUTLIER_THRESHOLD", context) or None
        result = self.run_engine("train_spectral_regressor", dict(
            training_arguments(self, parameters, context, output),
            target=self.parameterAsString(parameters, "TARGET", context).strip(), units=units,
            outlier_threshold=threshold,
            frame_length=self.parameterAsInt(parameters, "FRAME_LENGTH", context),
            frame_step=self.parameterAsInt(parameters, "FRAME_STEP", context),
            frame_length_nm=self.parameterAsDouble(parameters, "FRAME_LENGTH_NM", context),
            frame_step_nm=self.parameterAsDouble(parameters, "FRAME_STEP_NM", context),
            group_column=self.parameterAsString(parameters, "GROUP_FIELD", context).strip() or None,
            log_target=self.parameterAsBool(parameters, "LOG_TARGET", context),
            baselines=self.parameterAsBool(parameters, "BASELINES", context)), feedback, outputs=[output])
        return dict(result, OUTPUT=output)
