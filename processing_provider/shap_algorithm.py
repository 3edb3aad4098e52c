"""deepprospect:shap — SHAP factor importance, the paper's Figures 5 and 6, contribution maps."""
from qgis.core import QgsProcessing
from qgis.core import QgsProcessingOutputFile
from qgis.core import QgsProcessingOutputNumber
from qgis.core import QgsProcessingParameterEnum
from qgis.core import QgsProcessingParameterFeatureSource
from qgis.core import QgsProcessingParameterFile
from qgis.core import QgsProcessingParameterFolderDestination
from qgis.core import QgsProcessingParameterNumber
from qgis.core import QgsProcessingParameterRasterDestination
from qgis.core import QgsProcessingParameterRasterLayer

from ..catalog import EXPLAINERS
from .base import QT_TRANSLATE_NOOP, DeepProspectAlgorithm
from .help_text import choices_help
from .predict_algorithm import add_dask_scheduler, dask_scheduler


class ShapAlgorithm(DeepProspectAlgorithm):
    NAME = "shap"
    DISPLAY_NAME = QT_TRANSLATE_NOOP("DeepProspect", "Explain the model (SHAP)")
    GROUP = "explanation"
    HELP = (
        "Shows which evidence layers the model relies on, and how, with SHAP values (Pradhan et al. 2022, "
        "Figures 5 and 6). A SHAP value is how much one factor moved one pixel's deposit probability up or down "
        "from the average (the base value); base value + the sum of a pixel's SHAP values = its prediction.\n\n"
        "The points to explain are known deposits (field 'label': 1 deposit, 0 non-deposit; without it every "
        "point counts as a deposit); they are explained first: with more points than pixels to explain, every "
        "deposit is kept and the other points are drawn at random; the rest of the pixels to explain are "
        "random valid pixels.\n\n"
        "Explainer:\n" + choices_help(EXPLAINERS) + "\n"
        "Kernel SHAP does not work for patch models.\n\n"
        "The output folder receives importance.csv, shap_values.csv, importance_bar.png, summary_beeswarm.png, "
        "class_swarm_<factor>.png and dependence_<factor>.png for the top four factors, correlation_heatmap.png "
        "and explanation.html (everything on one page with a reading guide). The SHAP contribution maps have "
        "one band per factor with its SHAP contribution at every pixel, explained against the background "
        "references (k-means centres of the background pixels) whatever the explainer chosen above: the dense "
        "network's and the 1-D CNN's maps use DeepSHAP's rescale rule (exact: base value + the maps = the "
        "probability; the integration steps are not used), the 2-D patch CNN's use expected gradients "
        "(references × integration steps gradient evaluations per pixel), scikit-learn models' use shap's exact "
        "linear or tree explainers. For ensembles SHAP is averaged over members; for patch models a factor's "
        "SHAP is summed over its patch."
    )
    PARAMETER_HELP = {
        "MODEL": QT_TRANSLATE_NOOP("DeepProspect", "The model bundle written by Train prospectivity model"),
        "STACK": QT_TRANSLATE_NOOP("DeepProspect", "The evidence stack the model was trained on"),
        "POINTS": QT_TRANSLATE_NOOP("DeepProspect", "Known deposits to explain first (optional)"),
        "SAMPLE_SIZE": QT_TRANSLATE_NOOP("DeepProspect", "How many pixels are explained: the points first, then "
                                                         "random valid pixels"),
        "BACKGROUND_SIZE": QT_TRANSLATE_NOOP("DeepProspect", "Pixels that define 'average' (the bundle's stored "
                                                             "background when it has one)"),
        "EXPLAINER": QT_TRANSLATE_NOOP("DeepProspect", "How SHAP values are computed; expected gradients is fast "
                                                       "and the default"),
        "SEED": QT_TRANSLATE_NOOP("DeepProspect", "The same seed picks the same pixels"),
        "OUTPUT_FOLDER": QT_TRANSLATE_NOOP("DeepProspect", "Folder for the charts, tables and the explanation page"),
        "OUTPUT_RASTER": QT_TRANSLATE_NOOP("DeepProspect", "One band per factor with its SHAP contribution at "
                                                           "every pixel (slow on big stacks)"),
        "MAP_REFERENCES": QT_TRANSLATE_NOOP("DeepProspect", "Background references (k-means centres) of the "
                                                            "contribution maps. Each costs about one prediction "
                                                            "per pixel; more come closer to the explanation "
                                                            "against every background pixel (the log and "
                                                            "explanation.html say how close)"),
        "MAP_STEPS": QT_TRANSLATE_NOOP("DeepProspect", "Integration steps per reference of the 2-D patch CNN's "
                                                       "contribution maps (expected gradients; other models' maps "
                                                       "are exact and do not use it)"),
    }

    MODEL, STACK, POINTS, SAMPLE_SIZE, BACKGROUND_SIZE = "MODEL", "STACK", "POINTS", "SAMPLE_SIZE", "BACKGROUND_SIZE"
    EXPLAINER, SEED, OUTPUT_FOLDER, OUTPUT_RASTER = "EXPLAINER", "SEED", "OUTPUT_FOLDER", "OUTPUT_RASTER"
    MAP_REFERENCES, MAP_STEPS = "MAP_REFERENCES", "MAP_STEPS"

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFile(self.MODEL, self.tr("Model bundle (.dpm)"), extension="dpm"))
        self.addParameter(QgsProcessingParameterRasterLayer(self.STACK, self.tr("Evidence stack")))
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.POINTS, self.tr("Points to explain (known deposits, optional)"), [QgsProcessing.SourceType.TypeVectorPoint],
            optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.SAMPLE_SIZE, self.tr("Pixels to explain"), QgsProcessingParameterNumber.Type.Integer, 1000, minValue=1))
        self.addParameter(QgsProcessingParameterNumber(
            self.BACKGROUND_SIZE, self.tr("Background pixels"), QgsProcessingParameterNumber.Type.Integer, 100, minValue=1))
        self.addParameter(QgsProcessingParameterEnum(
            self.EXPLAINER, self.tr("SHAP method (explainer)"), options=[self.tr(choice.label) for choice in EXPLAINERS],
            defaultValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.SEED, self.tr("Random seed"), QgsProcessingParameterNumber.Type.Integer, 0, minValue=0))
        self.addParameter(QgsProcessingParameterFolderDestination(
            self.OUTPUT_FOLDER, self.tr("Folder for the charts and tables")))
        self.addParameter(QgsProcessingParameterRasterDestination(
            self.OUTPUT_RASTER, self.tr("SHAP contribution maps (one band per factor)"), optional=True,
            createByDefault=False))
        self.addParameter(QgsProcessingParameterNumber(
            self.MAP_REFERENCES, self.tr("Maps: background references (k-means centres)"),
            QgsProcessingParameterNumber.Type.Integer, 8, minValue=1, maxValue=100))
        self.addParameter(QgsProcessingParameterNumber(
            self.MAP_STEPS, self.tr("Maps: integration steps"), QgsProcessingParameterNumber.Type.Integer, 8,
            minValue=1, maxValue=64))
        add_dask_scheduler(self)
        self.addOutput(QgsProcessingOutputFile("HTML", self.tr("Explanation page")))
        self.addOutput(QgsProcessingOutputNumber("ADDITIVITY_ERROR", self.tr("Largest additivity error")))

    def execute(self, parameters, context, feedback):
        stack = self.raster_path(parameters, self.STACK, context)
        points = points_layer = None
        if parameters.get(self.POINTS):
            points, points_layer = self.vector_path(parameters, self.POINTS, context, feedback)
        folder = self.parameterAsString(parameters, self.OUTPUT_FOLDER, context)
        raster = self.parameterAsOutputLayer(parameters, self.OUTPUT_RASTER, context) or None
        result = self.run_engine("shap", {
            "stack": stack, "model": self.parameterAsFile(parameters, self.MODEL, context), "points": points,
            "points_layer": points_layer,
            "explainer": EXPLAINERS.at(self.parameterAsEnum(parameters, self.EXPLAINER, context)).name,
            "sample_size": self.parameterAsInt(parameters, self.SAMPLE_SIZE, context),
            "background_size": self.parameterAsInt(parameters, self.BACKGROUND_SIZE, context),
            "seed": self.parameterAsInt(parameters, self.SEED, context), "folder": folder, "raster": raster,
            "map_references": self.parameterAsInt(parameters, self.MAP_REFERENCES, context),
            "map_steps": self.parameterAsInt(parameters, self.MAP_STEPS, context),
            "dask_scheduler": dask_scheduler(self, parameters, context),
        }, feedback, outputs=[folder, raster])
        outputs = {self.OUTPUT_FOLDER: folder, "HTML": result["html"], "ADDITIVITY_ERROR": result["additivity_error"]}
        if raster:
            outputs[self.OUTPUT_RASTER] = raster
        return outputs
