"""deepprospect:idw — IDW interpolation of geochemical samples (core/idw.py)."""
import json
import math

from qgis.core import QgsProcessing
from qgis.core import QgsProcessingException
from qgis.core import QgsProcessingOutputString
from qgis.core import QgsProcessingParameterBoolean
from qgis.core import QgsProcessingParameterDistance
from qgis.core import QgsProcessingParameterExtent
from qgis.core import QgsProcessingParameterFeatureSource
from qgis.core import QgsProcessingParameterField
from qgis.core import QgsProcessingParameterNumber
from qgis.core import QgsProcessingParameterRasterDestination

from .base import QT_TRANSLATE_NOOP, DeepProspectAlgorithm
from .predict_algorithm import add_dask_scheduler, dask_scheduler


class IdwAlgorithm(DeepProspectAlgorithm):
    NAME = "idw"
    DISPLAY_NAME = QT_TRANSLATE_NOOP("DeepProspect", "IDW interpolation of geochemistry")
    GROUP = "evidence"
    HELP = (
        "Turns geochemical sample points into element rasters by inverse distance weighting, as "
        "Pradhan et al. (2022) did for their 1 km soil survey. Every chosen field becomes one band "
        "of the output, named after the field, so the result can go straight into the evidence stack. "
        "The layer must be in a projected CRS (metres), not in degrees.\n\n"
        "Empty or non-numeric values are skipped and counted in the log; below-detection entries (text "
        "starting with a less-than sign) are skipped with a warning: replace them by half the detection "
        "limit to keep them. -9999 is a missing-value code, and so are -99, -999, -99999 and -999999 in a "
        "field whose other values are all ≥ 0: such samples are skipped with a warning. A few distinct "
        "negative values among positive ones (e.g. -0.5 for below 0.5) are interpolated as they are, with "
        "a warning. Samples at the same place are averaged. Each field may be chosen once.\n\n"
        "The log and the leave-one-out result give each field's cross-validation error (each sample predicted "
        "from the others): compare it across powers or neighbour counts to choose the settings. It is null for "
        "a field when it cannot be computed (fewer than 2 sample places, or no sample with another one within "
        "the search radius); the log says why.\n\n"
        "An extent far from the samples is refused before anything is written: with a search radius, when no "
        "cell is within it of a sample (the raster would be empty); without one, when the extent holds no "
        "sample and its nearest cell is farther than 3 × the median sample spacing (the distance from a "
        "sample to its nearest neighbour; with a single sample place, the extent's larger side) from every "
        "sample (the raster would be a flat extrapolation). When more than half of the cells are that far "
        "from every sample (or beyond the search radius, if smaller), the raster is written and the log warns "
        "with the share of such cells."
    )
    PARAMETER_HELP = {
        "INPUT": QT_TRANSLATE_NOOP("DeepProspect", "Point layer of soil, stream-sediment or rock samples, in a "
                                                   "projected CRS"),
        "FIELDS": QT_TRANSLATE_NOOP("DeepProspect", "The element fields; each becomes one band named after it "
                                                    "(name them as the factors, e.g. Sb_con)"),
        "PIXEL_SIZE": QT_TRANSLATE_NOOP("DeepProspect", "Cell size of the output, in map units (metres)"),
        "EXTENT": QT_TRANSLATE_NOOP("DeepProspect", "The area to cover; cells are counted from its top-left corner"),
        "POWER": QT_TRANSLATE_NOOP("DeepProspect", "How fast a sample's influence fades with distance: 2 is usual, "
                                                   "higher is more local"),
        "NEIGHBORS": QT_TRANSLATE_NOOP("DeepProspect", "How many nearest samples each cell uses; 0 uses all samples"),
        "RADIUS": QT_TRANSLATE_NOOP("DeepProspect", "Samples farther than this are ignored; cells with no sample "
                                                    "within it stay empty (nodata), e.g. unsampled forest "
                                                    "reserves, instead of being guessed. 0: no limit"),
        "LOG10": QT_TRANSLATE_NOOP("DeepProspect", "Interpolate the logarithm of the concentrations, better for "
                                                   "skewed (log-normal) geochemistry; the band is then named e.g. "
                                                   "Sb_con_log10"),
        "OUTPUT": QT_TRANSLATE_NOOP("DeepProspect", "One band per field, float32 GeoTIFF"),
    }
    DEFAULT_TEXT = {"EXTENT": "the samples' extent"}

    INPUT, FIELDS, PIXEL_SIZE, EXTENT = "INPUT", "FIELDS", "PIXEL_SIZE", "EXTENT"
    POWER, NEIGHBORS, RADIUS, LOG10, OUTPUT = "POWER", "NEIGHBORS", "RADIUS", "LOG10", "OUTPUT"

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.INPUT, self.tr("Geochemical sample points"), [QgsProcessing.SourceType.TypeVectorPoint]))
        self.addParameter(QgsProcessingParameterField(
            self.FIELDS, self.tr("Fields to interpolate (one band each)"), parentLayerParameterName=self.INPUT,
            type=QgsProcessingParameterField.DataType.Any, allowMultiple=True))
        self.addParameter(QgsProcessingParameterDistance(
            self.PIXEL_SIZE, self.tr("Pixel size of the rasters"), defaultValue=250.0, parentParameterName=self.INPUT,
            minValue=1e-9))
        self.addParameter(QgsProcessingParameterExtent(self.EXTENT, self.tr("Extent (default: the samples')"),
                                                       optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.POWER, self.tr("Power (how fast influence fades with distance)"),
            QgsProcessingParameterNumber.Type.Double, defaultValue=2.0, minValue=0.01))
        self.addParameter(QgsProcessingParameterNumber(
            self.NEIGHBORS, self.tr("Nearest samples used per cell (0 = all)"), QgsProcessingParameterNumber.Type.Integer,
            defaultValue=12, minValue=0))
        self.addParameter(QgsProcessingParameterDistance(
            self.RADIUS, self.tr("Search radius (0 = unlimited)"), defaultValue=0.0, parentParameterName=self.INPUT,
            minValue=0.0))
        self.addParameter(QgsProcessingParameterBoolean(
            self.LOG10, self.tr("Interpolate log10 of the values"), defaultValue=False))
        add_dask_scheduler(self)
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Interpolated elements")))
        self.addOutput(QgsProcessingOutputString(
            "CV_RMSE", self.tr("Leave-one-out RMSE per field (JSON: field → RMSE)")))

    def execute(self, parameters, context, feedback):
        source = self.parameterAsSource(parameters, self.INPUT, context)
        if source is None:
            raise QgsProcessingException(self.tr("Geochemical sample points: not a readable point layer."))
        crs = source.sourceCrs()
        if crs.isValid() and crs.isGeographic():
            raise QgsProcessingException(self.tr(
                "The sample layer is in a geographic CRS ({}): IDW needs distances in metres. Reproject it "
                "(Vector ▸ Reproject layer) to a projected CRS such as the area's UTM zone first.").format(crs.authid()))
        fields = self.parameterAsFields(parameters, self.FIELDS, context)
        extent = None
        if parameters.get(self.EXTENT) not in (None, ""):
            rectangle = self.parameterAsExtent(parameters, self.EXTENT, context, crs)
            if not rectangle.isNull():
                extent = (rectangle.xMinimum(), rectangle.yMinimum(), rectangle.xMaximum(), rectangle.yMaximum())
        path, layer_name = self.vector_path(parameters, self.INPUT, context, feedback)
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        result = self.run_engine("idw", {
            "points": path, "layer": layer_name, "fields": fields, "output": output,
            "pixel_size": self.parameterAsDouble(parameters, self.PIXEL_SIZE, context), "extent": extent,
            "power": self.parameterAsDouble(parameters, self.POWER, context),
            "neighbors": self.parameterAsInt(parameters, self.NEIGHBORS, context),
            "radius": self.parameterAsDouble(parameters, self.RADIUS, context),
            "log10": self.parameterAsBool(parameters, self.LOG10, context),
            "dask_scheduler": dask_scheduler(self, parameters, context)}, feedback, outputs=[output])
        return {self.OUTPUT: result["path"], "CV_RMSE": cv_rmse_json(result["cv_rmse"])}


def cv_rmse_json(cv_rmse):
    """The CV_RMSE output: JSON field → RMSE, null where it could not be computed (never NaN, which
    is not JSON)."""
    return json.dumps({field: value if isinstance(value, (int, float)) and math.isfinite(value) else None
                       for field, value in cv_rmse.items()}, allow_nan=False)
