"""What every DeepProspect algorithm shares: groups, icon, dependency check, error mapping."""
from pathlib import Path

from qgis.core import (
    Qgis, QgsMessageLog, QgsProcessingAlgorithm, QgsProcessingException, QgsProcessingLayerPostProcessorInterface,
    QgsProcessingUtils,
)
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtGui import QIcon

from .. import dependencies
from ..core.errors import DeepProspectError, OperationCanceled
from ..core.feedback import Feedback

ICON_PATH = Path(__file__).resolve().parent.parent / "resources" / "icons" / "deepprospect.svg"
STYLES_PATH = Path(__file__).resolve().parent.parent / "resources" / "styles"

#: Group ids and their display names, in the order the Toolbox shows them.
GROUPS = {
    "evidence": "Evidence preparation",
    "modelling": "Modelling",
    "explanation": "Explanation",
    "spectral": "Spectral",
}


class DeepProspectAlgorithm(QgsProcessingAlgorithm):
    """Base class. Subclasses set NAME, DISPLAY_NAME, GROUP, HELP (and REQUIRES for TF/shap),
    define ``initAlgorithm`` and ``execute(parameters, context, feedback, qgis_feedback)``.

    ``execute`` receives a ``core.feedback.Feedback`` adapter for ``core``/``models`` calls; any
    :class:`DeepProspectError` it raises reaches the user as a ``QgsProcessingException``
    with the same message.
    """

    NAME = ""
    DISPLAY_NAME = ""
    GROUP = "evidence"
    HELP = ""
    #: Modules from the dependency folder this algorithm needs (e.g. ("tensorflow", "shap")).
    REQUIRES = ()

    def name(self):
        return self.NAME

    def displayName(self):
        return self.tr(self.DISPLAY_NAME)

    def group(self):
        return self.tr(GROUPS[self.GROUP])

    def groupId(self):
        return self.GROUP

    def shortHelpString(self):
        text = self.tr(self.HELP)
        missing = dependencies.missing_modules(self.REQUIRES) if self.REQUIRES else []
        if missing:
            text += "\n\n" + self.tr("Not available yet: ") + dependencies.install_instructions(missing)
        return text

    def icon(self):
        return QIcon(str(ICON_PATH))

    def svgIconPath(self):
        return str(ICON_PATH)

    def createInstance(self):
        return type(self)()

    def tr(self, text):
        return QCoreApplication.translate("DeepProspect", text)

    def processAlgorithm(self, parameters, context, feedback):
        if self.REQUIRES:
            missing = dependencies.missing_modules(self.REQUIRES)
            if missing:
                message = dependencies.install_instructions(missing)
                QgsMessageLog.logMessage(message, "DeepProspect", Qgis.Critical)
                raise QgsProcessingException(message)
        adapter = QgisFeedback(feedback)
        try:
            return self.execute(parameters, context, adapter, feedback)
        except DeepProspectError as error:
            raise QgsProcessingException(str(error))
        except OperationCanceled:
            raise QgsProcessingException(self.tr("Canceled by the user; no output was written."))

    def execute(self, parameters, context, feedback, qgis_feedback):
        raise NotImplementedError

    # Helpers for subclasses -------------------------------------------------------------

    def raster_path(self, parameters, name, context):
        """The file path of a raster parameter (GDAL layers only)."""
        layer = self.parameterAsRasterLayer(parameters, name, context)
        if layer is None:
            raise QgsProcessingException(self.tr("{} is not a readable raster layer.").format(name))
        if layer.providerType() != "gdal":
            raise QgsProcessingException(
                self.tr("{}: layer '{}' is not a file raster; save it as GeoTIFF first.").format(name, layer.name()))
        return layer.source()

    def vector_path(self, parameters, name, context, feedback):
        """A (path, layer name) pair that geopandas can read for a vector parameter.

        Memory layers and exotic formats are exported to a temporary GeoPackage by QGIS.
        """
        path, layer_name = self.parameterAsCompatibleSourceLayerPathAndLayerName(
            parameters, name, context, ["gpkg", "shp", "geojson"], "gpkg", feedback)
        if not path:
            raise QgsProcessingException(self.tr("{} is not a readable vector layer.").format(name))
        return path, layer_name or None

    def load_with_style(self, context, output_path, style_name, layer_name):
        """When the algorithm finishes in QGIS, load ``output_path`` with a QML from resources/styles
        (or a QML path) applied."""
        if not context.willLoadLayerOnCompletion(output_path):
            return
        qml = Path(style_name)
        if not qml.is_absolute():
            qml = STYLES_PATH / style_name
        details = context.layerToLoadOnCompletionDetails(output_path)
        details.name = layer_name
        processor = _StylePostProcessor(str(qml))
        _KEEP_ALIVE.append(processor)
        details.setPostProcessor(processor)


class QgisFeedback(Feedback):
    """``core.feedback.Feedback`` over a ``QgsProcessingFeedback``."""

    def __init__(self, feedback):
        self._feedback = feedback

    def set_progress(self, percent):
        if self._feedback is not None:
            self._feedback.setProgress(max(0.0, min(100.0, float(percent))))

    def is_canceled(self):
        return self._feedback is not None and self._feedback.isCanceled()

    def info(self, message):
        if self._feedback is not None:
            self._feedback.pushInfo(message)

    def warning(self, message):
        if self._feedback is not None:
            self._feedback.reportError(message, fatalError=False)


_KEEP_ALIVE = []  # post-processors must outlive the algorithm call (QGIS holds raw pointers)


class _StylePostProcessor(QgsProcessingLayerPostProcessorInterface):
    def __init__(self, qml_path):
        super().__init__()
        self.qml_path = qml_path

    def postProcessLayer(self, layer, context, feedback):
        if layer is not None and Path(self.qml_path).exists():
            layer.loadNamedStyle(self.qml_path)
            layer.triggerRepaint()


def temporary_output(name):
    """A path in QGIS's processing temp folder, for intermediate files."""
    return QgsProcessingUtils.generateTempFilename(name)
