"""deepprospect:stack — stack evidence layers onto one grid (core/stack.py)."""
import math

from qgis.core import QgsProcessing
from qgis.core import QgsProcessingException
from qgis.core import QgsProcessingOutputNumber
from qgis.core import QgsProcessingOutputString
from qgis.core import QgsProcessingParameterFeatureSource
from qgis.core import QgsProcessingParameterMultipleLayers
from qgis.core import QgsProcessingParameterNumber
from qgis.core import QgsProcessingParameterRasterDestination
from qgis.core import QgsProcessingParameterRasterLayer
from qgis.core import QgsProcessingParameterString

from .base import QT_TRANSLATE_NOOP, DeepProspectAlgorithm, raster_layer_path
from .gdal_sidecars import no_sidecar_files


class StackAlgorithm(DeepProspectAlgorithm):
    NAME = "stack"
    DISPLAY_NAME = QT_TRANSLATE_NOOP("DeepProspect", "Stack evidence layers")
    GROUP = "evidence"
    HELP = (
        "Puts all evidence layers (element rasters, geophysics, Landsat ratios, distance to shear zones, "
        "lithology, lineament density, …) onto one grid and writes them as one multiband raster: the "
        "evidence stack that sampling, training and prediction use.\n\n"
        "Each band of the evidence layers becomes one factor, named after its band description, or after the "
        "layer name for a single-band layer without one (so name files after the factor, e.g. "
        "Dist_shear.tif). Two factors with the same name are an error. Class layers (e.g. lithology codes) "
        "listed as categorical are resampled by nearest neighbour, never averaged; the others bilinearly, and "
        "a layer not listed that holds only a few whole numbers gets a warning in the log. The stack records "
        "which bands are categorical (a tag in the GeoTIFF): training then treats each code as a class, one "
        "input per class (gradient boosting: native categories), never as a number; a code training never saw "
        "counts as none of its classes, and prediction says how many cells hold one. Class names come from "
        "the layer's own category names (its .aux.xml) when it has them, and label SHAP and the inspector.\n\n"
        "Nodata: a layer without a nodata value of its own that uses a sentinel (-9999, -99999, -3.4e38, or 0 "
        "padding the border) has it detected and taken as nodata, with a warning in the log; give none for it "
        "in the nodata values if it is real data.\n\n"
        "A pixel counts as valid only where every layer has data (and inside the mask); elsewhere all "
        "bands are nodata. The log gives, for each factor, the share of the grid where it has data."
    )
    PARAMETER_HELP = {
        "LAYERS": QT_TRANSLATE_NOOP("DeepProspect", "The rasters to stack; each band becomes one factor, named "
                                                    "after its band description or the layer name"),
        "CATEGORICAL": QT_TRANSLATE_NOOP("DeepProspect", "Those evidence layers that hold classes (e.g. lithology "
                                                         "codes): resampled by nearest neighbour, never averaged. "
                                                         "Each must also be among the evidence layers"),
        "REFERENCE": QT_TRANSLATE_NOOP("DeepProspect", "The raster whose CRS, pixel grid and extent the stack takes"),
        "PIXEL_SIZE": QT_TRANSLATE_NOOP("DeepProspect", "Another cell size for the reference's extent, in its map "
                                                        "units (e.g. 444 m as in Pradhan et al. 2022); 0 keeps the "
                                                        "reference's"),
        "MASK": QT_TRANSLATE_NOOP("DeepProspect", "Study-area polygons; pixels outside are left empty"),
        "NODATA_VALUES": QT_TRANSLATE_NOOP("DeepProspect", "The nodata value of each evidence layer, in their "
                                                           "order, separated by commas, or one value for all. Each "
                                                           "is a number, none (every value is data) or empty (the "
                                                           "layer's own); e.g. -9999,none, for three layers"),
        "OUTPUT": QT_TRANSLATE_NOOP("DeepProspect", "One band per factor, float32 GeoTIFF, nodata -9999"),
    }
    DEFAULT_TEXT = {"REFERENCE": "the first evidence layer", "PIXEL_SIZE": "0 (the reference's)",
                    "NODATA_VALUES": "empty (each layer's own)"}

    LAYERS, CATEGORICAL, REFERENCE = "LAYERS", "CATEGORICAL", "REFERENCE"
    PIXEL_SIZE, MASK, OUTPUT = "PIXEL_SIZE", "MASK", "OUTPUT"
    NODATA_VALUES = "NODATA_VALUES"

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterMultipleLayers(
            self.LAYERS, self.tr("Evidence layers"), QgsProcessing.SourceType.TypeRaster))
        self.addParameter(QgsProcessingParameterMultipleLayers(
            self.CATEGORICAL, self.tr("Categorical layers among them (classes: nearest neighbour)"),
            QgsProcessing.SourceType.TypeRaster, optional=True))
        self.addParameter(QgsProcessingParameterRasterLayer(
            self.REFERENCE, self.tr("Reference grid (default: the first layer)"), optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.PIXEL_SIZE, self.tr("Pixel size (0 = the reference's)"), QgsProcessingParameterNumber.Type.Double,
            defaultValue=0.0, optional=True, minValue=0.0))
        self.addParameter(QgsProcessingParameterFeatureSource(
            self.MASK, self.tr("Study area mask"), [QgsProcessing.SourceType.TypeVectorPolygon], optional=True))
        self.addParameter(QgsProcessingParameterString(
            self.NODATA_VALUES, self.tr("Nodata value per layer (comma-separated: number, none or empty)"),
            optional=True))
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Evidence stack")))
        self.addOutput(QgsProcessingOutputString("FACTOR_NAMES", self.tr("Factor names (comma-separated)")))
        self.addOutput(QgsProcessingOutputNumber("VALID_FRACTION", self.tr("Fraction of valid pixels")))

    def checkParameterValues(self, parameters, context):
        # QGIS loads the input layers here or in processAlgorithm: without .aux.xml beside them
        with no_sidecar_files():
            return super().checkParameterValues(parameters, context)

    def processAlgorithm(self, parameters, context, feedback):
        with no_sidecar_files():
            return super().processAlgorithm(parameters, context, feedback)

    def execute(self, parameters, context, feedback):
        layers = self.parameterAsLayerList(parameters, self.LAYERS, context)
        if not layers:
            raise QgsProcessingException(self.tr("Choose at least one evidence layer (LAYERS)."))
        categorical = {layer.source(): layer for layer in self.parameterAsLayerList(parameters, self.CATEGORICAL, context)}
        unknown = set(categorical) - {layer.source() for layer in layers}
        if unknown:
            raise QgsProcessingException(self.tr(
                "CATEGORICAL must only list layers that are also in LAYERS; not in LAYERS: {}").format(
                    ", ".join(sorted(categorical[source].name() for source in unknown))))
        nodata = self.nodata_values(self.parameterAsString(parameters, self.NODATA_VALUES, context), layers)
        evidence = [{"path": raster_layer_path(layer, self.tr), "name": layer.name(),
                     "categorical": layer.source() in categorical, "nodata": value}
                    for layer, value in zip(layers, nodata)]
        reference = None
        if parameters.get(self.REFERENCE) not in (None, ""):
            reference = self.raster_path(parameters, self.REFERENCE, context)
        pixel_size = None
        if parameters.get(self.PIXEL_SIZE) not in (None, ""):
            pixel_size = self.parameterAsDouble(parameters, self.PIXEL_SIZE, context) or None
        mask = mask_layer = None
        if parameters.get(self.MASK) not in (None, ""):
            mask, mask_layer = self.vector_path(parameters, self.MASK, context, feedback)
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        result = self.run_engine("stack", {
            "layers": evidence, "output": output, "reference": reference, "pixel_size": pixel_size, "mask": mask,
            "mask_layer": mask_layer}, feedback, outputs=[output])
        return {self.OUTPUT: result["path"], "FACTOR_NAMES": ",".join(result["factor_names"]),
                "VALID_FRACTION": result["valid_fraction_all"]}

    def nodata_values(self, text, layers):
        """NODATA_VALUES → one entry per layer: None (the layer's own), "none" or a number."""
        entries = [entry.strip() for entry in (text or "").replace(";", ",").split(",")]
        if not any(entries):
            return [None] * len(layers)
        if len(entries) == 1:
            entries = entries * len(layers)
        if len(entries) != len(layers):
            raise QgsProcessingException(self.tr(
                "NODATA_VALUES has {} entries but LAYERS has {} layers: give one value per layer, in the order of "
                "LAYERS (leave an entry empty for a layer's own nodata), or a single value for all.").format(
                    len(entries), len(layers)))
        values = []
        for entry, layer in zip(entries, layers):
            if entry.lower() in ("", "auto"):
                values.append(None)
            elif entry.lower() == "none":
                values.append("none")
            else:
                try:
                    values.append(float(entry))
                    if not math.isfinite(values[-1]):
                        raise ValueError(entry)
                except ValueError:
                    raise QgsProcessingException(self.tr(
                        "NODATA_VALUES: '{}' for layer '{}' is not a number; give a number (e.g. -9999), none (no "
                        "nodata value) or leave it empty (the layer's own).").format(entry, layer.name()))
        return values
