"""deepprospect:predict — a trained model applied to a whole evidence stack (models/predict.py)."""
import json
import zipfile
from pathlib import Path

from qgis.core import QgsProcessing
from qgis.core import QgsProcessingException
from qgis.core import QgsProcessingOutputFile
from qgis.core import QgsProcessingOutputNumber
from qgis.core import QgsProcessingParameterDefinition
from qgis.core import QgsProcessingParameterFeatureSource
from qgis.core import QgsProcessingParameterFile
from qgis.core import QgsProcessingParameterNumber
from qgis.core import QgsProcessingParameterRasterDestination
from qgis.core import QgsProcessingParameterRasterLayer
from qgis.core import QgsProcessingParameterString

from .base import QT_TRANSLATE_NOOP, DeepProspectAlgorithm

#: The advanced parameter of the map-wide algorithms (predict, SHAP contribution maps, IDW) that
#: computes the map's windows on the workers of a Dask cluster (core/pipeline_dask.py, docs/scale_out.md).
DASK_SCHEDULER = "DASK_SCHEDULER"
DASK_SCHEDULER_LABEL = QT_TRANSLATE_NOOP("DeepProspect", "Dask scheduler, to spread the map over several computers")
DASK_SCHEDULER_HELP = QT_TRANSLATE_NOOP(
    "DeepProspect", "Leave empty to compute on this computer. For maps too large for one computer: the address of a "
                    "Dask scheduler (such as tcp://10.0.0.5:8786) whose workers run the engine's Python; they compute "
                    "the map window by window and this computer writes it, the same file as a run here. The inputs "
                    "must be where every worker can read them (a shared folder, or /vsis3/… object storage): see "
                    "docs/scale_out.md in the plugin's folder")


def add_dask_scheduler(algorithm):
    """Add the advanced :data:`DASK_SCHEDULER` parameter (empty: run here) to ``algorithm``."""
    parameter = QgsProcessingParameterString(DASK_SCHEDULER, algorithm.tr(DASK_SCHEDULER_LABEL), defaultValue="",
                                             optional=True)
    parameter.setFlags(parameter.flags() | QgsProcessingParameterDefinition.Flag.FlagAdvanced)
    parameter.setHelp(algorithm.tr(DASK_SCHEDULER_HELP))
    algorithm.addParameter(parameter)


def dask_scheduler(algorithm, parameters, context):
    """The scheduler address the user gave, or None to run on this computer."""
    return (algorithm.parameterAsString(parameters, DASK_SCHEDULER, context) or "").strip() or None


class PredictAlgorithm(DeepProspectAlgorithm):
    NAME = "predict"
    DISPLAY_NAME = QT_TRANSLATE_NOOP("DeepProspect", "Predict prospectivity map")
    GROUP = "mapping"
    HELP = (
        "Applies a trained model (.dpm) to every pixel of an evidence stack and writes the probability "
        "that a deposit is present (0–1): the prospectivity map.\n\n"
        "The evidence stack must have the same factors in the same order as the one the model was trained on "
        "(a mismatch is reported, listing missing and extra factors). Pixels with nodata in any factor stay "
        "nodata. The stack is read window by window, so any size of province fits in memory; for patch "
        "models each window is read with a margin, so the result is exactly the same as pixel by pixel.\n\n"
        "With known deposits, DeepProspect ranks the area from most to least prospective and draws the "
        "success-rate curve: the share of known deposits captured against the share of area. Its area under "
        "the curve is 0.5 for a map no better than chance and close to 1 when the deposits sit in the most "
        "prospective few percent. The curve is saved as a chart (PNG) and a table (CSV) beside the map.\n\n"
        "The uncertainty map is the spread (standard deviation) between the members of an ensemble model: "
        "high where the members disagree. A model with a single member has no spread: the uncertainty map is "
        "then left out and the log says so.\n\n"
        "The classes are very high / high / moderate / low by share of area: by default the top 5 % of the "
        "area is very high, the next 5 % high, the next 15 % moderate (Pradhan et al. 2022 expected gold in "
        "about 5–7 % of their province).\n\n"
        "Each map is written with a style file (.qml) beside it, so it opens coloured in QGIS.\n\n"
        "A map too large for one computer can be computed on several: see the advanced Dask scheduler setting."
    )
    PARAMETER_HELP = {
        "STACK": QT_TRANSLATE_NOOP("DeepProspect", "The evidence stack, with the factors the model was trained on, "
                                                   "in the same order"),
        "MODEL": QT_TRANSLATE_NOOP("DeepProspect", "The model bundle written by Train prospectivity model"),
        "BLOCK_SIZE": QT_TRANSLATE_NOOP("DeepProspect", "Pixels per side of each window the stack is read in; the "
                                                        "default suits most computers"),
        "DEPOSITS": QT_TRANSLATE_NOOP("DeepProspect", "Known occurrences, to draw the success-rate curve and "
                                                      "compute its area under the curve"),
        "VERY_HIGH_PERCENT": QT_TRANSLATE_NOOP("DeepProspect", "Share of the area, from the most prospective pixel "
                                                               "down, classed very high"),
        "HIGH_PERCENT": QT_TRANSLATE_NOOP("DeepProspect", "Share of the area (counted from the top) down to which "
                                                          "pixels are at least high"),
        "MODERATE_PERCENT": QT_TRANSLATE_NOOP("DeepProspect", "Share of the area (counted from the top) down to "
                                                              "which pixels are at least moderate"),
        "OUTPUT": QT_TRANSLATE_NOOP("DeepProspect", "Probability of a deposit (0–1) at every valid pixel, float32 "
                                                    "GeoTIFF with a style"),
        "OUTPUT_UNCERTAINTY": QT_TRANSLATE_NOOP("DeepProspect", "Spread between the members of an ensemble model; "
                                                                "left out for a single member"),
        "OUTPUT_CLASSES": QT_TRANSLATE_NOOP("DeepProspect", "Very high (4), high (3), moderate (2) and low (1) by "
                                                            "share of area"),
    }

    STACK, MODEL, BLOCK_SIZE, DEPOSITS = "STACK", "MODEL", "BLOCK_SIZE", "DEPOSITS"
    OUTPUT, OUTPUT_UNCERTAINTY, OUTPUT_CLASSES = "OUTPUT", "OUTPUT_UNCERTAINTY", "OUTPUT_CLASSES"
    VERY_HIGH_PERCENT, HIGH_PERCENT, MODERATE_PERCENT = "VERY_HIGH_PERCENT", "HIGH_PERCENT", "MODERATE_PERCENT"

    #: The engine's defaults (core/pipeline.py, models/map_classes.py), repeated here because the front
    #: cannot import the engine.
    DEFAULT_BLOCK_SIZE = 1024
    DEFAULT_CLASS_FRACTIONS = (0.05, 0.10, 0.25)

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterRasterLayer(self.STACK, self.tr("Evidence stack")))
        self.addParameter(QgsProcessingParameterFile(
            self.MODEL, self.tr("Model bundle (.dpm)"), QgsProcessingParameterFile.Behavior.File, extension="dpm"))
        self.addParameter(QgsProcessingParameterNumber(
            self.BLOCK_SIZE, self.tr("Processing window (pixels per side)"), QgsProcessingParameterNumber.Type.Integer,
            defaultValue=self.DEFAULT_BLOCK_SIZE, minValue=16, maxValue=8192))
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.DEPOSITS, self.tr("Known deposits, to draw the success-rate curve"),
            [QgsProcessing.SourceType.TypeVectorPoint], optional=True))
        for name, label, default in zip(
                (self.VERY_HIGH_PERCENT, self.HIGH_PERCENT, self.MODERATE_PERCENT),
                (QT_TRANSLATE_NOOP("DeepProspect", "Classes: very high = top … % of the area"),
                 QT_TRANSLATE_NOOP("DeepProspect", "Classes: high = down to top … %"),
                 QT_TRANSLATE_NOOP("DeepProspect", "Classes: moderate = down to top … %")),
                self.DEFAULT_CLASS_FRACTIONS):
            parameter = QgsProcessingParameterNumber(name, self.tr(label), QgsProcessingParameterNumber.Type.Double,
                                                     defaultValue=100 * default, minValue=0.01, maxValue=99.99)
            parameter.setFlags(parameter.flags() | QgsProcessingParameterDefinition.Flag.FlagAdvanced)
            self.addParameter(parameter)
        add_dask_scheduler(self)
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Prospectivity (probability)")))
        self.addParameter(QgsProcessingParameterRasterDestination(
            self.OUTPUT_UNCERTAINTY, self.tr("Uncertainty (spread between ensemble members)"),
            optional=True, createByDefault=False))
        self.addParameter(QgsProcessingParameterRasterDestination(
            self.OUTPUT_CLASSES, self.tr("Prospectivity classes"), optional=True, createByDefault=False))
        self.addOutput(QgsProcessingOutputNumber("SUCCESS_RATE_AUC", self.tr("Success-rate AUC")))
        self.addOutput(QgsProcessingOutputFile("SUCCESS_RATE_CSV", self.tr("Success-rate curve (CSV)")))
        self.addOutput(QgsProcessingOutputFile("SUCCESS_RATE_PNG", self.tr("Success-rate chart (PNG)")))
        self.addOutput(QgsProcessingOutputNumber("VALID_PIXELS", self.tr("Pixels predicted")))

    def execute(self, parameters, context, feedback):
        stack = self.raster_path(parameters, self.STACK, context)
        model_path = self.parameterAsFile(parameters, self.MODEL, context)
        if not model_path:
            raise QgsProcessingException(self.tr("Choose a model bundle (.dpm) written by the training step."))
        output = self._destination(parameters, self.OUTPUT, context)
        uncertainty = self._destination(parameters, self.OUTPUT_UNCERTAINTY, context)
        if uncertainty and member_count(model_path) == 1:
            feedback.pushInfo(self.tr("The model has a single member, so there is no spread between members: the "
                                      "uncertainty map is left out (train an ensemble of two or more for one)."))
            uncertainty = None
        classes = self._destination(parameters, self.OUTPUT_CLASSES, context)
        deposits = deposits_layer = None
        if self.parameterAsSource(parameters, self.DEPOSITS, context) is not None:
            deposits, deposits_layer = self.vector_path(parameters, self.DEPOSITS, context, feedback)
        result = self.run_engine("predict", {
            "stack": stack, "model": model_path, "output": output, "output_uncertainty": uncertainty,
            "output_classes": classes, "deposits": deposits, "deposits_layer": deposits_layer,
            "block_size": self.parameterAsInt(parameters, self.BLOCK_SIZE, context),
            "class_fractions": [self.parameterAsDouble(parameters, name, context) / 100.0
                                for name in (self.VERY_HIGH_PERCENT, self.HIGH_PERCENT, self.MODERATE_PERCENT)],
            "dask_scheduler": dask_scheduler(self, parameters, context),
        }, feedback, outputs=[output, uncertainty, classes])

        styles = result["styles"]
        self.load_with_style(context, output, styles["probability"], self.tr("Prospectivity"))
        outputs = {self.OUTPUT: output, "VALID_PIXELS": result["valid_pixels"]}
        if uncertainty:
            self.load_with_style(context, uncertainty, styles["uncertainty"], self.tr("Uncertainty"))
            outputs[self.OUTPUT_UNCERTAINTY] = uncertainty
        if classes:
            self.load_with_style(context, classes, styles["classes"], self.tr("Prospectivity classes"))
            outputs[self.OUTPUT_CLASSES] = classes
        if result.get("success_rate_auc") is not None:
            outputs.update(SUCCESS_RATE_AUC=result["success_rate_auc"], SUCCESS_RATE_CSV=result["success_rate_csv"],
                           SUCCESS_RATE_PNG=result["success_rate_png"])
        return outputs

    def _destination(self, parameters, name, context):
        """The output path, or None when an optional output was left empty; GeoTIFF only."""
        path = self.parameterAsOutputLayer(parameters, name, context)
        if not path:
            return None
        if Path(path).suffix.lower() not in (".tif", ".tiff"):
            raise QgsProcessingException(self.tr(
                "{}: DeepProspect writes GeoTIFF; give the file a .tif extension ({}).").format(name, path))
        return path


def member_count(model_path):
    """How many ensemble members the bundle at ``model_path`` holds, read from its metadata.json
    (a zip entry: no engine needed), or None when that cannot be told (the engine then reports
    what is wrong with the file)."""
    try:
        with zipfile.ZipFile(model_path) as archive:
            metadata = json.loads(archive.read("metadata.json"))
        return int(metadata.get("ensemble_size") or len(metadata["members"]))
    except (OSError, KeyError, ValueError, TypeError, zipfile.BadZipFile):
        return None
