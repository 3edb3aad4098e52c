"""deepprospect:train — train a prospectivity network, validate it honestly, save a .dpm bundle
and an HTML report (models/training.py)."""
from qgis.core import (
    QgsProcessing, QgsProcessingOutputNumber, QgsProcessingParameterBoolean, QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSource, QgsProcessingParameterField, QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber, QgsProcessingParameterRasterLayer, QgsProcessingParameterDefinition,
)

from .base import DeepProspectAlgorithm


class TrainAlgorithm(DeepProspectAlgorithm):
    NAME = "train"
    DISPLAY_NAME = "Train prospectivity model"
    GROUP = "modelling"
    HELP = (
        "Trains a neural network that tells deposit locations from non-deposit locations using the evidence "
        "stack, checks it on points it never saw, and saves it as a model bundle (.dpm) for mapping and "
        "explanation.\n\n"
        "STACK: the evidence stack (one band per factor, from deepprospect:stack). POINTS: training points "
        "with LABEL_FIELD = 1 for known deposits and 0 for non-deposits (deepprospect:sample_negatives makes "
        "them); at least 10 of each, all on valid pixels of the stack.\n\n"
        "ARCHITECTURE: 'pradhan2022_dense' is the network of Pradhan et al. (2022), Table 2 (four dense "
        "layers of 200 units with dropout; 124,402 weights for 16 factors); 'cnn1d' scans the factor vector "
        "with 1-D convolutions; 'cnn2d_patch' looks at a PATCH_SIZE × PATCH_SIZE pixel window around each "
        "point, so it sees neighbourhood context (nearby shear zones, the shape of an anomaly). Its "
        "training deposits are multiplied by the 8 rotations and flips of their window; window cells "
        "outside the stack or on nodata take the training mean of each factor.\n\n"
        "VALIDATION: 'random' holds out VALIDATION_FRACTION of the points at random, as the paper did; "
        "'spatial_blocks' holds out whole squares of BLOCK_SIZE map units (0 = a fifth of the stack's "
        "width). Evidence is spatially autocorrelated, so random splits overstate how well the model will "
        "do in new ground: prefer spatial blocks to judge a model. Logistic regression and random forest "
        "are fitted on the same split and reported beside the network, so you see whether the deep model "
        "earns its keep. COMPARE_VALIDATION trains a second time with the other split and shows both "
        "in the report.\n\n"
        "EPOCHS, BATCH_SIZE, LEARNING_RATE: Adam training settings (the paper: 200, 32, 0.001). With "
        "EARLY_STOPPING (default on) training stops when the loss on a part of the training points set "
        "aside for that has not improved for PATIENCE epochs, and the best epoch's weights are kept. "
        "DROPOUT and L2 regularise the network. ENSEMBLE_SIZE > 1 trains several members with seeds "
        "SEED, SEED+1, …; their spread is the uncertainty map of deepprospect:predict. The same SEED and "
        "inputs give the same model.\n\n"
        "Outputs: the model bundle, an optional self-contained HTML report (metrics with baselines, "
        "confusion matrix, ROC curves, training curves, split map), and the validation ACCURACY, ROC_AUC "
        "and F1 (deposit class)."
    )

    ARCHITECTURES = ("pradhan2022_dense", "cnn1d", "cnn2d_patch")
    VALIDATIONS = ("random", "spatial_blocks")

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterRasterLayer("STACK", self.tr("Evidence stack")))
        self.addParameter(QgsProcessingParameterFeatureSource(
            "POINTS", self.tr("Training points (deposits and non-deposits)"), [QgsProcessing.SourceType.TypeVectorPoint]))
        self.addParameter(QgsProcessingParameterField(
            "LABEL_FIELD", self.tr("Label field (1 deposit, 0 non-deposit)"), defaultValue="label",
            parentLayerParameterName="POINTS", type=QgsProcessingParameterField.DataType.Any, optional=True))
        self.addParameter(QgsProcessingParameterEnum(
            "ARCHITECTURE", self.tr("Network architecture"), options=list(self.ARCHITECTURES), defaultValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            "PATCH_SIZE", self.tr("Patch size (pixels, odd; cnn2d_patch only)"), QgsProcessingParameterNumber.Type.Integer,
            defaultValue=5, minValue=1, maxValue=31))
        self.addParameter(QgsProcessingParameterNumber(
            "EPOCHS", self.tr("Epochs (maximum)"), QgsProcessingParameterNumber.Type.Integer, defaultValue=200,
            minValue=1, maxValue=100000))
        self.addParameter(QgsProcessingParameterNumber(
            "BATCH_SIZE", self.tr("Batch size"), QgsProcessingParameterNumber.Type.Integer, defaultValue=32,
            minValue=1, maxValue=100000))
        self.addParameter(QgsProcessingParameterNumber(
            "LEARNING_RATE", self.tr("Learning rate (Adam)"), QgsProcessingParameterNumber.Type.Double,
            defaultValue=0.001, minValue=1e-7, maxValue=1.0))
        self.addParameter(QgsProcessingParameterEnum(
            "VALIDATION", self.tr("Validation split"), options=list(self.VALIDATIONS), defaultValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            "VALIDATION_FRACTION", self.tr("Validation fraction"), QgsProcessingParameterNumber.Type.Double,
            defaultValue=0.2, minValue=0.05, maxValue=0.5))
        self.addParameter(QgsProcessingParameterNumber(
            "BLOCK_SIZE", self.tr("Block size for spatial blocks (map units, 0 = automatic)"),
            QgsProcessingParameterNumber.Type.Double, defaultValue=0.0, minValue=0.0))
        self.addParameter(QgsProcessingParameterNumber(
            "ENSEMBLE_SIZE", self.tr("Ensemble size (members)"), QgsProcessingParameterNumber.Type.Integer,
            defaultValue=1, minValue=1, maxValue=50))
        self.addParameter(QgsProcessingParameterNumber(
            "SEED", self.tr("Random seed"), QgsProcessingParameterNumber.Type.Integer, defaultValue=42, minValue=0))
        advanced = [
            QgsProcessingParameterBoolean("EARLY_STOPPING", self.tr("Early stopping (restore best epoch)"),
                                          defaultValue=True),
            QgsProcessingParameterNumber("PATIENCE", self.tr("Early-stopping patience (epochs)"),
                                         QgsProcessingParameterNumber.Type.Integer, defaultValue=20, minValue=1),
            QgsProcessingParameterNumber("DROPOUT", self.tr("Dropout rate"), QgsProcessingParameterNumber.Type.Double,
                                         defaultValue=0.2, minValue=0.0, maxValue=0.9),
            QgsProcessingParameterNumber("L2", self.tr("L2 weight penalty"), QgsProcessingParameterNumber.Type.Double,
                                         defaultValue=0.0, minValue=0.0, maxValue=1.0),
            QgsProcessingParameterBoolean("BALANCE_CLASSES", self.tr("Weight classes equally in the loss"),
                                          defaultValue=True),
            QgsProcessingParameterBoolean(
                "COMPARE_VALIDATION", self.tr("Also train with the other validation split and compare (twice the time)"),
                defaultValue=False),
        ]
        for parameter in advanced:
            parameter.setFlags(parameter.flags() | QgsProcessingParameterDefinition.Flag.FlagAdvanced)
            self.addParameter(parameter)
        self.addParameter(QgsProcessingParameterFileDestination(
            "OUTPUT_MODEL", self.tr("Model bundle"), self.tr("DeepProspect model (*.dpm)")))
        self.addParameter(QgsProcessingParameterFileDestination(
            "OUTPUT_REPORT", self.tr("Training report"), self.tr("HTML files (*.html)"), optional=True,
            createByDefault=False))
        self.addOutput(QgsProcessingOutputNumber("ACCURACY", self.tr("Validation accuracy")))
        self.addOutput(QgsProcessingOutputNumber("ROC_AUC", self.tr("Validation ROC-AUC")))
        self.addOutput(QgsProcessingOutputNumber("F1", self.tr("Validation F1 (deposit class)")))

    def execute(self, parameters, context, feedback):
        stack = self.raster_path(parameters, "STACK", context)
        points, layer_name = self.vector_path(parameters, "POINTS", context, feedback)
        output_model = self.parameterAsFileOutput(parameters, "OUTPUT_MODEL", context)
        output_report = self.parameterAsFileOutput(parameters, "OUTPUT_REPORT", context) or None
        result = self.run_engine("train", {
            "stack": stack, "points": points, "points_layer": layer_name,
            "label_field": self.parameterAsString(parameters, "LABEL_FIELD", context) or "label",
            "architecture": self.ARCHITECTURES[self.parameterAsEnum(parameters, "ARCHITECTURE", context)],
            "patch_size": self.parameterAsInt(parameters, "PATCH_SIZE", context),
            "epochs": self.parameterAsInt(parameters, "EPOCHS", context),
            "batch_size": self.parameterAsInt(parameters, "BATCH_SIZE", context),
            "learning_rate": self.parameterAsDouble(parameters, "LEARNING_RATE", context),
            "dropout": self.parameterAsDouble(parameters, "DROPOUT", context),
            "l2": self.parameterAsDouble(parameters, "L2", context),
            "validation": self.VALIDATIONS[self.parameterAsEnum(parameters, "VALIDATION", context)],
            "validation_fraction": self.parameterAsDouble(parameters, "VALIDATION_FRACTION", context),
            "block_size": self.parameterAsDouble(parameters, "BLOCK_SIZE", context) or None,
            "ensemble_size": self.parameterAsInt(parameters, "ENSEMBLE_SIZE", context),
            "seed": self.parameterAsInt(parameters, "SEED", context),
            "early_stopping": self.parameterAsBoolean(parameters, "EARLY_STOPPING", context),
            "patience": self.parameterAsInt(parameters, "PATIENCE", context),
            "balance_classes": self.parameterAsBoolean(parameters, "BALANCE_CLASSES", context),
            "compare_validation": self.parameterAsBoolean(parameters, "COMPARE_VALIDATION", context),
            "output_model": output_model, "output_report": output_report,
        }, feedback, outputs=[output_model, output_report])
        outputs = {"OUTPUT_MODEL": result["model_path"], "ACCURACY": result["accuracy"], "ROC_AUC": result["roc_auc"],
                   "F1": result["f1"]}
        if result["report_path"]:
            outputs["OUTPUT_REPORT"] = result["report_path"]
        return outputs
