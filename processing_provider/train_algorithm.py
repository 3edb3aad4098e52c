"""deepprospect:train — train a prospectivity network, validate it honestly, save a .dpm bundle
and an HTML report (models/training.py).

The parameters' defaults are those of ``catalog.TrainingSettings``; the ARCHITECTURE and
VALIDATION options, and the help describing them, come from the catalog's registries. The
algorithm sends the engine one ``TrainingSettings.to_dict()``.
"""
import os
from pathlib import Path

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
from .base import QT_TRANSLATE_NOOP, DeepProspectAlgorithm, chosen, temporary_output
from .help_text import choices_help

DEFAULTS = TrainingSettings()
INTEGER = QgsProcessingParameterNumber.Type.Integer
DOUBLE = QgsProcessingParameterNumber.Type.Double

#: Number parameters in dialog order: name → (TrainingSettings field, label, type, minimum, maximum or None).
NUMBERS = {
    "PATCH_SIZE": ("patch_size", QT_TRANSLATE_NOOP("DeepProspect", "Patch size (pixels, odd; patch networks only)"),
                   INTEGER, 1, 31),
    "EPOCHS": ("epochs", QT_TRANSLATE_NOOP("DeepProspect", "Epochs (maximum)"), INTEGER, 1, 100000),
    "BATCH_SIZE": ("batch_size", QT_TRANSLATE_NOOP("DeepProspect", "Batch size (points per update)"),
                   INTEGER, 1, 100000),
    "LEARNING_RATE": ("learning_rate", QT_TRANSLATE_NOOP("DeepProspect", "Learning rate (Adam)"), DOUBLE, 1e-7, 1.0),
    "VALIDATION_FRACTION": ("validation_fraction",
                            QT_TRANSLATE_NOOP("DeepProspect", "Share of points held out (single split)"),
                            DOUBLE, 0.05, 0.5),
    "BLOCK_SIZE": ("block_size",
                   QT_TRANSLATE_NOOP("DeepProspect", "Block size for spatial blocks and folds (map units, 0 = automatic)"),
                   DOUBLE, 0.0, None),
    "FOLDS": ("folds", QT_TRANSLATE_NOOP("DeepProspect", "Folds (spatial k-fold)"), INTEGER, 2, 50),
    "BUFFER": ("buffer",
               QT_TRANSLATE_NOOP("DeepProspect", "Buffer around held-out blocks (map units, spatial k-fold; 0 = none)"),
               DOUBLE, 0.0, None),
    "ENSEMBLE_SIZE": ("ensemble_size", QT_TRANSLATE_NOOP("DeepProspect", "Ensemble size (members)"), INTEGER, 1, 50),
    "SEED": ("seed", QT_TRANSLATE_NOOP("DeepProspect", "Random seed"), INTEGER, 0, None),
    "PRIOR": ("prior", QT_TRANSLATE_NOOP("DeepProspect", "Expected share of cells holding a deposit, found or not "
                                                         "(0 = only the known ones)"), DOUBLE, 0.0, 1.0),
    "PATIENCE": ("patience", QT_TRANSLATE_NOOP("DeepProspect", "Early-stopping patience (epochs)"), INTEGER, 1, None),
    "DROPOUT": ("dropout", QT_TRANSLATE_NOOP("DeepProspect", "Dropout rate"), DOUBLE, 0.0, 0.9),
    "L2": ("l2", QT_TRANSLATE_NOOP("DeepProspect", "L2 weight penalty"), DOUBLE, 0.0, 1.0),
}
#: Yes/no parameters: name → (TrainingSettings field, label).
SWITCHES = {
    "EARLY_STOPPING": ("early_stopping", QT_TRANSLATE_NOOP("DeepProspect", "Early stopping (restore best epoch)")),
    "BALANCE_CLASSES": ("balance_classes", QT_TRANSLATE_NOOP("DeepProspect", "Weight classes equally in the loss")),
    "COMPARE_VALIDATION": ("compare_validation",
                           QT_TRANSLATE_NOOP("DeepProspect",
                                             "Also train with the other validation split and compare (twice the time)")),
}
#: The parameters under "Advanced", in dialog order.
ADVANCED = ("EARLY_STOPPING", "PATIENCE", "DROPOUT", "L2", "BALANCE_CLASSES", "COMPARE_VALIDATION")


def _labels(names, registry=ARCHITECTURES):
    """The labels of the choices ``names``, for help texts."""
    return ", ".join(registry.label(name) for name in names)


PATCH_LABELS = _labels(ARCHITECTURES.where(uses_patches=True))
SKLEARN_LABELS = _labels(ARCHITECTURES.where(kind="sklearn"))

HELP = (
    "Trains a model that tells deposit locations from non-deposit locations using the evidence stack, "
    "checks it on points it never saw, and saves it as a model bundle (.dpm) for mapping and explanation, "
    "with an HTML report.\n\n"
    "Training points: known deposits (label 1) and non-deposits (label 0), as Sample non-deposit "
    "locations makes them; at least 10 of each, all on valid pixels of the stack.\n\n"
    "Model:\n" + choices_help(ARCHITECTURES) + "\n"
    "Automatic (the default) was chosen by measurement: on a synthetic province whose deposits follow "
    "thresholds and interactions, scored on a second draw of deposits no model saw, it beat logistic "
    "regression by 0.03 and random forest by 0.014 ROC-AUC (five seeds), and on a linear province it "
    "matched logistic regression; the networks did not do better. It treats the problem as "
    "positive-unlabelled: the deposits (one per cell) are contrasted with 5,000 random valid cells of the "
    "stack, because a random non-deposit may be a deposit nobody has found. A smooth response curve per "
    "factor (cubic splines, a level per category) and depth-2 boosted trees (pairs of factors, e.g. a fault "
    "corridor and an anomaly together) are averaged by rank. With spatial k-fold its probabilities are "
    "calibrated on the held-out predictions (isotonic regression) and scaled to the Expected share of cells "
    "holding a deposit; the report shows the reliability diagram.\n\n"
    "The network of Pradhan et al. (2022), Table 2, has 124,402 weights for 16 factors. A patch "
    "architecture ({}) looks at a square window of pixels (Patch size) around each point, so it sees "
    "neighbourhood context (nearby shear zones, the shape of an anomaly). Its training deposits are "
    "multiplied by the 8 rotations and flips of their window; window cells outside the stack or on "
    "nodata take the training mean of each factor.\n\n".format(PATCH_LABELS) +
    "The scikit-learn classifiers ({}) are fitted on the standardised factors with the same validation, "
    "folds and baselines; with an ensemble of more than one member each member is fitted on a bootstrap "
    "resample (seeds Random seed, Random seed + 1, …), so the uncertainty map is their spread. Epochs, "
    "batch size, learning rate, dropout, L2, early stopping and patch size do not apply to them.\n\n".format(
        SKLEARN_LABELS) +
    "Validation:\n" + choices_help(VALIDATION_SCHEMES) + "\n"
    "Evidence is spatially autocorrelated, so a random split overstates how well the model will do in new "
    "ground, and one spatial split is noisy (the same network can score 0.69 or 0.80 by the split's seed "
    "alone). Spatial k-fold cross-validation (the default) deals square blocks of Block size into Folds "
    "folds and holds each out once; it costs Folds + 1 trainings: the final model is then trained on all "
    "points, and the folds' mean ± sd (ROC-AUC, PR-AUC and the held-out prediction-rate AUC: held-out "
    "deposits ranked against every valid cell of the held-out blocks) estimates its skill. Logistic "
    "regression, random forest and gradient boosting are fitted on the same split or folds and reported beside the network, "
    "so you see whether the deep model earns its keep.\n\n"
    "An ensemble of two or more members (seeds Random seed, Random seed + 1, …) gives the uncertainty map "
    "of Predict prospectivity map. The same seed and inputs give the same model.\n\n"
    "Results: the model bundle; the HTML report (metrics with baselines, per-fold table and "
    "prediction-rate curves, confusion matrix, ROC curves, training curves, split or fold map); the "
    "validation accuracy, ROC-AUC and F1 (deposit class). With spatial k-fold the ROC-AUC is the mean over "
    "the folds, with its standard deviation and the mean held-out prediction-rate AUC (both empty for a "
    "single split); accuracy and F1 are then those of every point's held-out prediction."
)

#: Tooltips, in the dialog's words.
PARAMETER_HELP = {
    "STACK": QT_TRANSLATE_NOOP("DeepProspect", "The evidence stack: one band per factor, as Stack evidence layers "
                                               "writes it"),
    "POINTS": QT_TRANSLATE_NOOP("DeepProspect", "Point layer of known deposits (label 1) and non-deposits (label "
                                                "0), e.g. from Sample non-deposit locations"),
    "LABEL_FIELD": QT_TRANSLATE_NOOP("DeepProspect", "The field holding 1 for a deposit and 0 for a non-deposit"),
    "ARCHITECTURE": QT_TRANSLATE_NOOP("DeepProspect", "Which model learns the evidence. Automatic (the default) "
                                                      "is the one that scored best on deposits no model saw; the "
                                                      "others are neural networks and scikit-learn classifiers"),
    "PATCH_SIZE": QT_TRANSLATE_NOOP("DeepProspect", "Side of the square pixel window a patch network sees around "
                                                    "each point (odd)"),
    "EPOCHS": QT_TRANSLATE_NOOP("DeepProspect", "The most passes over the training points (the paper: 200); early "
                                                "stopping usually ends sooner"),
    "BATCH_SIZE": QT_TRANSLATE_NOOP("DeepProspect", "Training points per weight update (the paper: 32)"),
    "LEARNING_RATE": QT_TRANSLATE_NOOP("DeepProspect", "Step size of the Adam optimiser (0.001 is Adam's usual "
                                                       "default; the paper does not give its rate)"),
    "VALIDATION": QT_TRANSLATE_NOOP("DeepProspect", "How points are held out to check the model; spatial schemes "
                                                    "hold out whole blocks of ground"),
    "VALIDATION_FRACTION": QT_TRANSLATE_NOOP("DeepProspect", "Share of the points held out by a single split "
                                                             "(random or spatial blocks)"),
    "BLOCK_SIZE": QT_TRANSLATE_NOOP("DeepProspect", "Side of the square blocks of spatial validation, in map "
                                                    "units; several times the clustering scale of your deposits. "
                                                    "0: a fifth of the stack's width"),
    "FOLDS": QT_TRANSLATE_NOOP("DeepProspect", "How many folds spatial k-fold cross-validation deals the blocks "
                                               "into; each is held out once"),
    "BUFFER": QT_TRANSLATE_NOOP("DeepProspect", "Training points closer than this (map units) to a held-out block "
                                                "are left out of that fold"),
    "ENSEMBLE_SIZE": QT_TRANSLATE_NOOP("DeepProspect", "How many models are trained with different seeds; 2 or "
                                                       "more give an uncertainty map"),
    "SEED": QT_TRANSLATE_NOOP("DeepProspect", "The same seed and inputs give the same model"),
    "PRIOR": QT_TRANSLATE_NOOP("DeepProspect", "The automatic model's probabilities are calibrated so that, over "
                                               "the map, they add up to this share of cells holding a deposit, "
                                               "found or not (e.g. 0.06). 0: the share holding a known deposit, "
                                               "as if every deposit were already found"),
    "EARLY_STOPPING": QT_TRANSLATE_NOOP("DeepProspect", "Stop when the loss on a set-aside part of the training "
                                                        "points has not improved for Patience epochs, and keep the "
                                                        "best epoch's weights"),
    "PATIENCE": QT_TRANSLATE_NOOP("DeepProspect", "Epochs without improvement before early stopping ends training"),
    "DROPOUT": QT_TRANSLATE_NOOP("DeepProspect", "Share of a layer's units switched off at random while training "
                                                 "(regularisation)"),
    "L2": QT_TRANSLATE_NOOP("DeepProspect", "Penalty on large weights (regularisation); 0: none"),
    "BALANCE_CLASSES": QT_TRANSLATE_NOOP("DeepProspect", "Weight deposits and non-deposits equally in the loss, "
                                                         "whatever their numbers"),
    "COMPARE_VALIDATION": QT_TRANSLATE_NOOP("DeepProspect", "Also train with each single split and show them in "
                                                            "the report (twice the time)"),
    "OUTPUT_MODEL": QT_TRANSLATE_NOOP("DeepProspect", "The trained model (.dpm) for Predict prospectivity map and "
                                                      "Explain the model; always written, and kept (not a "
                                                      "temporary file) when no name is chosen"),
    "OUTPUT_REPORT": QT_TRANSLATE_NOOP("DeepProspect", "Self-contained HTML page with the metrics, baselines and "
                                                       "charts; skip it (scripts: an empty value) to leave it out"),
}

class TrainAlgorithm(DeepProspectAlgorithm):
    NAME = "train"
    DISPLAY_NAME = QT_TRANSLATE_NOOP("DeepProspect", "Train prospectivity model")
    GROUP = "modelling"
    HELP = HELP
    PARAMETER_HELP = PARAMETER_HELP
    DEFAULT_TEXT = {"OUTPUT_MODEL": "left as a temporary file, skipped or empty, <stack name>_model.dpm in the "
                                    "saved project's folder, else beside the evidence stack (numbered, never "
                                    "replacing a file)",
                    "OUTPUT_REPORT": "left as a temporary file, <bundle name>_report.html beside the model bundle",
                    "BLOCK_SIZE": "0 (a fifth of the stack's width)"}

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterRasterLayer("STACK", self.tr("Evidence stack")))
        self.addParameter(QgsProcessingParameterFeatureSource(
            "POINTS", self.tr("Training points (deposits and non-deposits)"), [QgsProcessing.SourceType.TypeVectorPoint]))
        self.addParameter(QgsProcessingParameterField(
            "LABEL_FIELD", self.tr("Label field (1 deposit, 0 non-deposit)"), defaultValue=DEFAULTS.label_field,
            parentLayerParameterName="POINTS", type=QgsProcessingParameterField.DataType.Any, optional=True))
        self.addParameter(QgsProcessingParameterEnum(
            "ARCHITECTURE", self.tr("Model (network or classifier)"), options=[self.tr(choice.label) for choice in ARCHITECTURES],
            defaultValue=ARCHITECTURES.index(DEFAULTS.architecture)))
        for name in ("PATCH_SIZE", "EPOCHS", "BATCH_SIZE", "LEARNING_RATE"):
            self.addParameter(self._number(name))
        self.addParameter(QgsProcessingParameterEnum(
            "VALIDATION", self.tr("Validation split"), options=[self.tr(choice.label) for choice in VALIDATION_SCHEMES],
            defaultValue=VALIDATION_SCHEMES.index(DEFAULTS.validation)))
        for name in ("VALIDATION_FRACTION", "BLOCK_SIZE", "FOLDS", "BUFFER", "ENSEMBLE_SIZE", "SEED", "PRIOR"):
            self.addParameter(self._number(name))
        for name in ADVANCED:
            parameter = self._number(name) if name in NUMBERS else self._switch(name)
            parameter.setFlags(parameter.flags() | QgsProcessingParameterDefinition.Flag.FlagAdvanced)
            self.addParameter(parameter)
        self.addParameter(QgsProcessingParameterFileDestination(
            "OUTPUT_MODEL", self.tr("Model bundle"), self.tr("DeepProspect model (*.dpm)"),
            defaultValue=QgsProcessing.TEMPORARY_OUTPUT, optional=True, createByDefault=True))
        self.addParameter(QgsProcessingParameterFileDestination(
            "OUTPUT_REPORT", self.tr("Training report"), self.tr("HTML files (*.html)"), optional=True,
            createByDefault=True, defaultValue=QgsProcessing.TEMPORARY_OUTPUT))
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
        # "optional" only so that scripts may leave it out: a bundle is always written
        output_model = self.parameterAsFileOutput(parameters, "OUTPUT_MODEL", context) or temporary_output("model.dpm")
        if not chosen(parameters.get("OUTPUT_MODEL")):
            output_model = default_bundle_path(stack, context, output_model)
            feedback.pushInfo(self.tr("Model bundle: {} (no file name was chosen).").format(output_model))
        report = parameters.get("OUTPUT_REPORT", QgsProcessing.TEMPORARY_OUTPUT)
        output_report = self.parameterAsFileOutput(parameters, "OUTPUT_REPORT", context) if report else None
        if output_report and not chosen(report):
            output_report = str(Path(output_model).with_name(Path(output_model).stem + "_report.html"))
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


def default_bundle_path(stack, context, temporary):
    """Where a bundle left as a temporary file is saved: <stack name>_model.dpm (then _model_2, …:
    never replacing a file) in the saved project's folder, else beside the evidence stack; QGIS's
    ``temporary`` path when neither folder can be written to."""
    project = context.project()
    folders = [project.homePath()] if project is not None and project.fileName() else []
    if os.path.isfile(stack.split("|")[0]):
        folders.append(os.path.dirname(os.path.abspath(stack.split("|")[0])))
    name = Path(stack.split("|")[0]).stem or "deepprospect"
    for folder in folders:
        if folder and os.path.isdir(folder) and os.access(folder, os.W_OK):
            path, number = Path(folder) / "{}_model.dpm".format(name), 1
            while path.exists():
                number += 1
                path = Path(folder) / "{}_model_{}.dpm".format(name, number)
            return str(path)
    return temporary
