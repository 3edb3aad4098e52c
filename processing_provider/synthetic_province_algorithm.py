"""deepprospect:synthetic_province — a test area with known truth (core/synthetic.py)."""
from qgis.core import QgsProcessingContext
from qgis.core import QgsProcessingOutputFile
from qgis.core import QgsProcessingOutputNumber
from qgis.core import QgsProcessingOutputVectorLayer
from qgis.core import QgsProcessingParameterEnum
from qgis.core import QgsProcessingParameterFolderDestination
from qgis.core import QgsProcessingParameterNumber
from qgis.core import QgsProject

from .base import QT_TRANSLATE_NOOP, DeepProspectAlgorithm


class SyntheticProvinceAlgorithm(DeepProspectAlgorithm):
    NAME = "synthetic_province"
    DISPLAY_NAME = QT_TRANSLATE_NOOP("DeepProspect", "Synthetic province (known truth)")
    GROUP = "evidence"
    HELP = (
        "Generates a realistic test area whose answer is known, to learn DeepProspect or to check "
        "a workflow before using real data.\n\n"
        "It writes, in UTM zone 45N: geochemical soil samples (about one per km², nine elements, "
        "with unsampled forest reserves), magnetic (WGS 84) and Bouguer (UTM 44N) anomaly grids, "
        "30 m Landsat clay and silica ratios, shear zones, lineaments, lithology with a "
        "gold-favourable unit (and lithology_units.tif: the unit codes, to stack as a categorical "
        "factor), and known deposits drawn from a documented law of some of the factors. "
        "truth.json gives that law, the true importance of each factor, and truth_probability.tif "
        "the true probability surface. future_deposits.gpkg is a second, independent draw from the "
        "same law — deposits 'found later' — for scoring a map on deposits no model saw: do not "
        "train on it.\n\n"
        "Two laws: nonlinear (the default) puts deposits where a fault corridor and a geochemical "
        "(Sb) anomaly coincide, favoured in some rock units, with thresholds, so a network or a tree "
        "model can beat a linear one; linear makes the logit a weighted sum of the factors (provinces "
        "made before the choice existed), for which logistic regression is the right model."
    )

    PARAMETER_HELP = {
        "SIZE_KM": QT_TRANSLATE_NOOP("DeepProspect", "Side of the square area in km: 20 for a quick test, 100 "
                                                     "for a province (about 0.12 deposits per km²)"),
        "SEED": QT_TRANSLATE_NOOP("DeepProspect", "The same seed, size and law give the same data"),
        "LAW": QT_TRANSLATE_NOOP("DeepProspect", "Where the deposits are: nonlinear (a fault corridor and an Sb "
                                                 "anomaly together, thresholds, some rock units favoured; stack "
                                                 "lithology_units.tif as a categorical factor) or linear (a weighted "
                                                 "sum of the factors, as provinces made before this choice)"),
        "OUTPUT_FOLDER": QT_TRANSLATE_NOOP("DeepProspect", "Folder for the province's files, truth.json and "
                                                           "future_deposits.gpkg"),
    }

    SIZE_KM, SEED, LAW, OUTPUT_FOLDER = "SIZE_KM", "SEED", "LAW", "OUTPUT_FOLDER"
    #: LAW's options, in the engine's order (core/synthetic_laws.LAWS; a public contract: append only).
    LAW_OPTIONS = ("Linear (weighted sum of the factors)",
                   "Nonlinear (fault corridor x anomaly, thresholds, lithology units)")
    DEFAULT_LAW = 1

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterNumber(
            self.SIZE_KM, self.tr("Side of the square area (km)"), QgsProcessingParameterNumber.Type.Double,
            defaultValue=100.0, minValue=5.0, maxValue=500.0))
        self.addParameter(QgsProcessingParameterNumber(
            self.SEED, self.tr("Random seed"), QgsProcessingParameterNumber.Type.Integer, defaultValue=1, minValue=0))
        self.addParameter(QgsProcessingParameterEnum(
            self.LAW, self.tr("Law of the deposits"), options=[self.tr(label) for label in self.LAW_OPTIONS],
            defaultValue=self.DEFAULT_LAW))
        self.addParameter(QgsProcessingParameterFolderDestination(
            self.OUTPUT_FOLDER, self.tr("Folder for the province's files")))
        self.addOutput(QgsProcessingOutputFile("TRUTH", self.tr("Truth (JSON)")))
        self.addOutput(QgsProcessingOutputNumber("DEPOSIT_COUNT", self.tr("Number of deposits")))
        self.addOutput(QgsProcessingOutputVectorLayer(
            "FUTURE_DEPOSITS", self.tr("Future deposits (for scoring only; never train on them)")))
        self.addOutput(QgsProcessingOutputNumber("FUTURE_DEPOSIT_COUNT", self.tr("Number of future deposits")))
        self.addOutput(QgsProcessingOutputNumber("SAMPLE_COUNT", self.tr("Number of geochemical samples")))

    def execute(self, parameters, context, feedback):
        folder = self.parameterAsString(parameters, self.OUTPUT_FOLDER, context)
        result = self.run_engine("synthetic_province", {
            "folder": folder, "size_km": self.parameterAsDouble(parameters, self.SIZE_KM, context),
            "seed": self.parameterAsInt(parameters, self.SEED, context),
            "law": self.parameterAsEnum(parameters, self.LAW, context)}, feedback)
        truth = result["truth"]
        self._load_layers(result, context)
        outputs = {self.OUTPUT_FOLDER: folder, "TRUTH": result["truth_json"],
                   "DEPOSIT_COUNT": truth["deposit_count"], "SAMPLE_COUNT": truth["sample_count"],
                   "FUTURE_DEPOSIT_COUNT": truth["future_deposit_count"]}
        outputs.update({key.upper(): path for key, path in result.items() if key not in ("truth", "truth_json")})
        return outputs

    def _load_layers(self, result, context):
        """From the GUI, add the province's layers to the project (qgis_process has no project)."""
        if context.project() is None or not isinstance(context.project(), QgsProject):
            return
        for key in ("magnetic", "bouguer", "clay", "silica", "truth_probability", "lithology",
                    "lineaments", "shear_zones", "geochemistry", "future_deposits", "deposits"):
            path = result[key]
            details = QgsProcessingContext.LayerDetails(key.replace("_", " ").capitalize(), context.project(), key)
            context.addLayerToLoadOnCompletion(path, details)
