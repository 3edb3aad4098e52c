"""deepprospect:sample_negatives — deposits plus random non-deposits as training points (core/sampling.py)."""
from qgis.core import QgsFeature
from qgis.core import QgsFeatureSink
from qgis.core import QgsField
from qgis.core import QgsFields
from qgis.core import QgsProcessing
from qgis.core import QgsProcessingException
from qgis.core import QgsProcessingOutputNumber
from qgis.core import QgsProcessingParameterDistance
from qgis.core import QgsProcessingParameterFeatureSink
from qgis.core import QgsProcessingParameterFeatureSource
from qgis.core import QgsProcessingParameterNumber
from qgis.core import QgsProcessingParameterRasterLayer
from qgis.core import QgsVectorLayer
from qgis.core import QgsWkbTypes
from qgis.PyQt.QtCore import QMetaType, QVariant

from .base import QT_TRANSLATE_NOOP, DeepProspectAlgorithm, temporary_output


class SampleNegativesAlgorithm(DeepProspectAlgorithm):
    NAME = "sample_negatives"
    DISPLAY_NAME = QT_TRANSLATE_NOOP("DeepProspect", "Sample non-deposit locations (training points)")
    GROUP = "sampling"
    HELP = (
        "Makes the training points for a model: every known deposit (label 1) plus randomly chosen "
        "non-deposit locations (label 0), each with the values of all factors of the evidence stack as "
        "attributes. Open the output's attribute table to see the training table.\n\n"
        "How many non-deposits, by default: as many as the deposits used (the deposits on valid pixels "
        "of the stack, one per pixel). Equal numbers give the classes equal say in training; Pradhan et al. "
        "(2022) used 903 deposits and 500 non-deposits. With few deposits (under about 50), two or three times "
        "as many non-deposits sample the barren ground better; the training weights the classes equally "
        "anyway. A number above what the area can hold stops the run and says the largest possible.\n\n"
        "Non-deposits are placed at pixel centres of valid stack pixels (data in every band), at least the "
        "minimum distance from any deposit, at most one per pixel and never on a deposit's pixel. Deposits "
        "outside the stack or on empty pixels are left out, and the log says how many. Several deposits on one "
        "pixel count once (the first is kept) and the log says how many were merged. Deposits in another CRS "
        "are transformed to the stack's CRS."
    )
    PARAMETER_HELP = {
        "STACK": QT_TRANSLATE_NOOP("DeepProspect", "The evidence stack: its valid pixels are where non-deposits "
                                                   "may go, its bands the attributes"),
        "DEPOSITS": QT_TRANSLATE_NOOP("DeepProspect", "Point layer of known deposits or occurrences (label 1 in "
                                                      "the output)"),
        "COUNT": QT_TRANSLATE_NOOP("DeepProspect", "How many non-deposits to draw; 0 draws as many as the deposits "
                                                   "used"),
        "MIN_DISTANCE": QT_TRANSLATE_NOOP("DeepProspect", "An exclusion buffer: no non-deposit closer than this to "
                                                          "any known deposit, so that ground near known "
                                                          "mineralisation is not called barren; about a pixel or "
                                                          "more"),
        "SEED": QT_TRANSLATE_NOOP("DeepProspect", "The same seed gives the same points"),
        "OUTPUT": QT_TRANSLATE_NOOP("DeepProspect", "Point layer with a label field (1 deposit, 0 non-deposit) and "
                                                    "one field per factor"),
    }
    DEFAULT_TEXT = {"COUNT": "0 (as many non-deposits as deposits used)"}

    STACK, DEPOSITS, COUNT, MIN_DISTANCE = "STACK", "DEPOSITS", "COUNT", "MIN_DISTANCE"
    SEED, OUTPUT = "SEED", "OUTPUT"

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterRasterLayer(self.STACK, self.tr("Evidence stack")))
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.DEPOSITS, self.tr("Known deposits"), [QgsProcessing.SourceType.TypeVectorPoint]))
        self.addParameter(QgsProcessingParameterNumber(
            self.COUNT, self.tr("Number of non-deposits (0 = as many as the deposits)"),
            QgsProcessingParameterNumber.Type.Integer, defaultValue=0, minValue=0, optional=True))
        self.addParameter(QgsProcessingParameterDistance(
            self.MIN_DISTANCE, self.tr("Minimum distance from any deposit"), defaultValue=0.0,
            parentParameterName=self.STACK, minValue=0.0))
        self.addParameter(QgsProcessingParameterNumber(
            self.SEED, self.tr("Random seed"), QgsProcessingParameterNumber.Type.Integer, defaultValue=1, minValue=0))
        self.addParameter(QgsProcessingParameterFeatureSink(
            self.OUTPUT, self.tr("Training points"), QgsProcessing.SourceType.TypeVectorPoint))
        self.addOutput(QgsProcessingOutputNumber("DEPOSIT_COUNT", self.tr("Deposits used")))
        self.addOutput(QgsProcessingOutputNumber("NON_DEPOSIT_COUNT", self.tr("Non-deposits drawn")))

    def execute(self, parameters, context, feedback):
        stack_layer = self.parameterAsRasterLayer(parameters, self.STACK, context)
        stack = self.raster_path(parameters, self.STACK, context)
        deposits, deposits_layer = self.vector_path(parameters, self.DEPOSITS, context, feedback)
        count = self.parameterAsInt(parameters, self.COUNT, context) if parameters.get(self.COUNT) not in (None, "") else 0
        table_path = temporary_output("training_points.gpkg")
        result = self.run_engine("sample_negatives", {
            "stack": stack, "deposits": deposits, "deposits_layer": deposits_layer, "count": count,
            "min_distance": self.parameterAsDouble(parameters, self.MIN_DISTANCE, context),
            "seed": self.parameterAsInt(parameters, self.SEED, context), "output": table_path}, feedback,
            outputs=[table_path])
        table = QgsVectorLayer("{}|layername={}".format(result["path"], result["layer"]), "training points", "ogr")
        if not table.isValid():
            raise QgsProcessingException(self.tr("The engine's training table {} cannot be read.").format(table_path))
        destination = self._copy_to_sink(parameters, context, feedback, table, result["factor_names"],
                                         stack_layer.crs())
        return {self.OUTPUT: destination, "DEPOSIT_COUNT": result["deposit_count"],
                "NON_DEPOSIT_COUNT": result["non_deposit_count"]}

    def _copy_to_sink(self, parameters, context, feedback, table, factor_names, crs):
        """Write the engine's table into the user's OUTPUT (any format QGIS can write): label first,
        then one double field per factor, in the stack's order."""
        fields = QgsFields()
        fields.append(_field("label", "Int"))
        for name in factor_names:
            fields.append(_field(name, "Double"))
        sink, destination = self.parameterAsSink(parameters, self.OUTPUT, context, fields, QgsWkbTypes.Type.Point, crs)
        if sink is None:
            raise QgsProcessingException(self.tr("Cannot create the OUTPUT layer."))
        for source in table.getFeatures():
            if feedback.isCanceled():
                break
            feature = QgsFeature(fields)
            feature.setGeometry(source.geometry())
            feature.setAttributes([int(source["label"])] + [float(source[name]) for name in factor_names])
            sink.addFeature(feature, QgsFeatureSink.Flag.FastInsert)
        return destination


def _field(name, type_name):
    """A field typed the way this QGIS wants: QMetaType from QGIS 3.38 on (and with Qt 6),
    QVariant before."""
    try:
        return QgsField(name, getattr(QMetaType.Type, type_name))
    except TypeError:
        return QgsField(name, getattr(QVariant.Type, type_name))
