"""deepprospect:train — train a prospectivity network, validate it honestly, save a .dpm bundle
and an HTML report (models/training.py).

The parameters' defaults are those of ``catalog.TrainingSettings``; the ARCHITECTURE and
VALIDATION options, and the help describing them, come from the catalog's registries. The
algorithm sends the engine one ``TrainingSettings.to_dict()``.
"""
from qgis.core import QgsProcessing
from qgis.core import QgsProcessingOutputNumber
from qgis.core import QgsProcessingParameterBoolean
from qgis.core import QgsProcessingParameterDefinition
from qgis.core import QgsProcessingParameterEnum
from qgis.core import QgsProcessingParameterFeatureSource
from qgis.core import QgsProcessingParameterField
from qgis.core import QgsProcessingParameterFileDestination
from qgis.core import QgsProcessingParameterNumber
from qgis.core import QgsProcessingParameterRasterLayer

from ..catalog import ARCHITECTURES, VALIDATION_SCHEMES, TrainingSettings
from .base import DeepProspectAlgorithm

DEFAULTS = TrainingSettings()
PATCH_ARCHITECTURES = ", ".join(ARCHITECTURES.where(uses_patches=True))
INTEGER = QgsProcessingParameterNumber.Type.Integer
DOUBLE = QgsProcessingParameterNumber.Type.Double

#: Number parameters in dialog order: name → (TrainingSettings field, label, type, minimum, maximum or None).
NUMBERS = {
    "PATCH_SIZE": ("patch_size", "Patch size (pixels, odd; {} only)".format(PATCH_ARCHITECTURES), INTEGER, 1, 31),
    "EPOCHS": ("epochs", "Epochs (maximum)", INTEGER, 1, 100000),
    "BATCH_SIZE": ("batch_size", "Batch size", INTEGER, 1, 100000),
    "LEARNING_RATE": ("learning_rate", "Learning rate (Adam)", DOUBLE, 1e-7, 1.0),
    "VALIDATION_FRACTION": ("validation_fraction", "Validation fraction", DOUBLE, 0.05, 0.5),
    "BLOCK_SIZE": ("block_size", "Block size for spatial blocks and folds (map units, 0 = automatic)", DOUBLE, 0.0,
                   None),
    "FOLDS": ("folds", "Folds (spatial k-fold)", INTEGER, 2, 50),
    "BUFFER": ("buffer", "Buffer around held-out blocks (map units, spatial k-fold; 0 = none)", DOUBLE, 0.0, None),
    "ENSEMBLE_SIZE": ("ensemble_size", "Ensemble size (members)", INTEGER, 1, 50),
    "SEED": ("seed", "Random seed", INTEGER, 0, None),
    "PATIENCE": ("patience", "Early-stopping patience (epochs)", INTEGER, 1, None),
    "DROPOUT": ("dropout", "Dropout rate", DOUBLE, 0.0, 0.9),
    "L2": ("l2", "L2 weight penalty", DOUBLE, 0.0, 1.0),
}
#: Yes/no parameters: name → (TrainingSettings field, label).
SWITCHES = {
    "EARLY_STOPPING": ("early_stopping", "Early stopping (restore best epoch)"),
    "BALANCE_CLASSES": ("balance_classes", "Weight classes equally in the loss"),
    "COMPARE_VALIDATION": ("compare_validation",
                           "Also train with the other validation split and compare (twice the time)"),
}
#: The parameters under "Advanced", in dialog order.
ADVANCED = ("EARLY_STOPPING", "PATIENCE", "DROPOUT", "L2", "BALANCE_CLASSES", "COMPARE_VALIDATION")


def _choices(registry):
    """One line per choice of a catalog registry: its name and description."""
    return "\n".join("• '{}': {}".format(choice.name, choice.description) for choice in registry)


HELP = (
    "Trains a neural network that tells deposit locations from non-deposit locations using the evidence "
    "stack, checks it on points it never saw, and saves it as a model bundle (.dpm) for mapping and "
    "explanation.\n\n"
    "STACK: the evidence stack (one band per factor, from deepprospect:stack). POINTS: training points "
    "with LABEL_FIELD = 1 for known deposits and 0 for non-deposits (deepprospect:sample_negatives makes "
    "them); at least 10 of each, all on valid pixels of the stack.\n\n"
    "ARCHITECTURE:\n" + _choices(ARCHITECTURES) + "\n"
    "The network of Pradhan et al. (2022), Table 2, has 124,402 weights for 16 factors. A patch "
    "architecture ({}) looks at a PATCH_SIZE × PATCH_SIZE pixel window around each point, so it sees "
    "neighbourhood context (nearby shear zones, the shape of an anomaly). Its training deposits are "
    "multiplied by the 8 rotations and flips of their window; window cells outside the stack or on "
    "nodata take the training mean of each factor.\n\n".format(PATCH_ARCHITECTURES) +
    "The scikit-learn classifiers ({}) are fitted on the standardised factors with the same validation, "
    "folds and baselines; with ENSEMBLE_SIZE above 1 each member is fitted on a bootstrap resample (seeds "
    "SEED, SEED + 1, …), so the uncertainty map is their spread. EPOCHS, BATCH_SIZE, LEARNING_RATE, "
    "DROPOUT, L2, EARLY_STOPPING and PATCH_SIZE do not apply to them.\n\n".format(
        ", ".join(ARCHITECTURES.where(kind="sklearn"))) +
    "VALIDATION:\n" + _choices(VALIDATION_SCHEMES) + "\n"
    "A random split holds out VALIDATION_FRACTION of the points, as the paper did; spatial blocks are "
    "squares of BLOCK_SIZE map units (0 = a fifth of the stack's width). Evidence is spatially "
    "autocorrelated, so random splits overstate how well the model will do in new ground, and one "
    "spatial split is noisy (the same network can score 0.69 or 0.80 by the split's seed alone). "
    "Spatial k-fold (the default) deals the blocks into FOLDS folds by SEED and holds each out once; "
    "training points closer than BUFFER map units to a held-out block are left out of that fold. It "
    "costs FOLDS + 1 trainings: the final model is then trained on all points, and the folds' mean ± sd "
    "(ROC-AUC, PR-AUC and the held-out prediction-rate AUC: held-out deposits ranked against every valid "
    "cell of the held-out blocks) estimates its skill. Logistic regression and random forest are fitted "
    "on the same split or folds and reported beside the network, so you see whether the deep model "
    "earns its keep. COMPARE_VALIDATION also trains with each single split and shows them in the "
    "report.\n\n"
    "EPOCHS, BATCH_SIZE, LEARNING_RATE: Adam training settings (the paper: 200, 32, 0.001). With "
    "EARLY_STOPPING (default on) training stops when the loss on a part of the training points set "
    "aside for that has not improved for PATIENCE epochs, and the best epoch's weights are kept. "
    "DROPOUT and L2 regularise the network. ENSEMBLE_SIZE > 1 trains several members with seeds "
    "SEED, SEED+1, …; their spread is the uncertainty map of deepprospect:predict. The same SEED and "
    "inputs give the same model.\n\n"
    "Outputs: the model bundle, an optional self-contained HTML report (metrics with baselines, "
    "per-fold table and prediction-rate curves, confusion matrix, ROC curves, training curves, split or "
    "fold map), and the validation ACCURACY, ROC_AUC and F1 (deposit class); with spatial k-fold "
    "ROC_AUC is the mean over the folds, ROC_AUC_SD its standard deviation and PREDICTION_RATE_AUC the "
    "mean held-out prediction-rate AUC (both empty for a single split); ACCURACY and F1 are then those "
    "of every point's held-out prediction."
)


class TrainAlgorithm(DeepProspectAlgorithm):
    NAME = "train"
    DISPLAY_NAME = "Train prospectivity model"
    GROUP = "modelling"
    HELP = HELP

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterRasterLayer("STACK", self.tr("Evidence stack")))
        self.addParameter(QgsProcessingParameterFeatureSource(
            "POINTS", self.tr("Training points (deposits and non-deposits)"), [QgsProcessing.SourceType.TypeVectorPoint]))
        self.addParameter(QgsProcessingParameterField(
            "LABEL_FIELD", self.tr("Label field (1 deposit, 0 non-deposit)"), defaultValue=DEFAULTS.label_field,
            parentLayerParameterName="POINTS", type=QgsProcessingParameterField.DataType.Any, optional=True))
        self.addParameter(QgsProcessingParameterEnum(
            "ARCHITECTURE", self.tr("Network architecture"), options=list(ARCHITECTURES.names()),
            defaultValue=ARCHITECTURES.index(DEFAULTS.architecture)))
        for name in ("PATCH_SIZE", "EPOCHS", "BATCH_SIZE", "LEARNING_RATE"):
            self.addParameter(self._number(name))
        self.addParameter(QgsProcessingParameterEnum(
            "VALIDATION", self.tr("Validation split"), options=list(VALIDATION_SCHEMES.names()),
            defaultValue=VALIDATION_SCHEMES.index(DEFAULTS.validation)))
        for name in ("VALIDATION_FRACTION", "BLOCK_SIZE", "FOLDS", "BUFFER", "ENSEMBLE_SIZE", "SEED"):
            self.addParameter(self._number(name))
        for name in ADVANCED:
            parameter = self._number(name) if name in NUMBERS else self._switch(name)
            parameter.setFlags(parameter.flags() | QgsProcessingParameterDefinition.Flag.FlagAdvanced)
            self.addParameter(parameter)
        self.addParameter(QgsProcessingParameterFileDestination(
            "OUTPUT_MODEL", self.tr("Model bundle"), self.tr("DeepProspect model (*.dpm)")))
        self.addParameter(QgsProcessingParameterFileDestination(
            "OUTPUT_REPORT", self.tr("Training report"), self.tr("HTML files (*.html)"), optional=True,
            createByDefault=False))
        self.addOutput(QgsProcessingOutputNumber("ACCURACY", self.tr("Validation accuracy")))
        self.addOutput(QgsProcessingOutputNumber("ROC_AUC", self.tr("Validation ROC-AUC (k-fold: mean of folds)")))
        self.addOutput(QgsProcessingOutputNumber("ROC_AUC_SD", self.tr("ROC-AUC standard deviation over the folds")))
        self.addOutput(QgsProcessingOutputNumber("PREDICTION_RATE_AUC",
                                                 self.tr("Held-out prediction-rate AUC (mean of folds)")))
        self.addOutput(QgsProcessingOutputNumber("F1", self.tr("Validation F1 (deposit class)")))

    def _number(self, name):
        field, label, kind, minimum, maximum = NUMBERS[name]
        limits = dict(minValue=minimum) if maximum is None else dict(minValue=minimum, maxValue=maximum)
        default = getattr(DEFAULTS, field)
        # a number parameter cannot be empty: 0 stands for None ("automatic")
        default = 0.0 if default is None else default
        return QgsProcessingParameterNumber(name, self.tr(label), kind, defaultValue=default, **limits)

    def _switch(self, name):
        field, label = SWITCHES[name]
        return QgsProcessingParameterBoolean(name, self.tr(label), defaultValue=getattr(DEFAULTS, field))

    def training_settings(self, parameters, context):
        """The :class:`TrainingSettings` the dialog's ``parameters`` ask for."""
        values = {field: (self.parameterAsInt if kind == INTEGER else self.parameterAsDouble)(parameters, name, context)
                  for name, (field, _, kind, _, _) in NUMBERS.items()}
        values.update({field: self.parameterAsBoolean(parameters, name, context)
                       for name, (field, _) in SWITCHES.items()})
        return TrainingSettings(
            label_field=self.parameterAsString(parameters, "LABEL_FIELD", context) or DEFAULTS.label_field,
            architecture=ARCHITECTURES.at(self.parameterAsEnum(parameters, "ARCHITECTURE", context)).name,
            validation=VALIDATION_SCHEMES.at(self.parameterAsEnum(parameters, "VALIDATION", context)).name,
            **dict(values, block_size=values["block_size"] or None))

    def execute(self, parameters, context, feedback):
        stack = self.raster_path(parameters, "STACK", context)
        points, layer_name = self.vector_path(parameters, "POINTS", context, feedback)
        output_model = self.parameterAsFileOutput(parameters, "OUTPUT_MODEL", context)
        output_report = self.parameterAsFileOutput(parameters, "OUTPUT_REPORT", context) or None
        result = self.run_engine("train", {
            "stack": stack, "points": points, "points_layer": layer_name,
            "settings": self.training_settings(parameters, context).to_dict(),
            "output_model": output_model, "output_report": output_report,
        }, feedback, outputs=[output_model, output_report])
        outputs = {"OUTPUT_MODEL": result["model_path"], "ACCURACY": result["accuracy"], "ROC_AUC": result["roc_auc"],
                   "F1": result["f1"], "ROC_AUC_SD": result.get("roc_auc_sd"),
                   "PREDICTION_RATE_AUC": result.get("prediction_rate_auc")}
        if result["report_path"]:
            outputs["OUTPUT_REPORT"] = result["report_path"]
        return outputs
