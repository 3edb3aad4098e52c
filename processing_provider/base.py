"""What every DeepProspect algorithm shares: groups, icon, the engine call, error mapping.

The algorithms are the QGIS front: they turn parameters into plain arguments (file paths,
numbers, strings), hand them to the engine process (``engine_runner``) and turn its outputs
back into Processing outputs. They import only qgis, qgis.PyQt and the standard library.
"""
import os
import re
from pathlib import Path

from qgis.core import (
    Qgis, QgsMessageLog, QgsProcessing, QgsProcessingAlgorithm, QgsProcessingException,
    QgsProcessingLayerPostProcessorInterface, QgsProcessingOutputLayerDefinition, QgsProcessingParameterFile,
    QgsProcessingUtils, QgsProject, QgsProperty, QgsRasterFileWriter, QgsRasterPipe,
)
from qgis.PyQt.QtCore import QCoreApplication, QThread, QUrl
from qgis.PyQt.QtGui import QIcon

from .. import engine_environment
from . import engine_runner, file_checks
from .gdal_sidecars import no_sidecar_files
from .help_text import parameters_help
from .number_widgets import tidy_number_widget
from .legend_headings import set_legend_heading

ICON_PATH = Path(__file__).resolve().parent.parent / "resources" / "icons" / "deepprospect.svg"
STYLES_PATH = Path(__file__).resolve().parent.parent / "resources" / "styles"

MANUAL_PATH = Path(__file__).resolve().parent.parent / "docs" / "manual"

#: Group ids and their display names. The Toolbox sorts groups by name, so the numbers put them in
#: the order of the workflow; the ids stay as they were for the groups that existed before.
GROUPS = {
    "workflow": "0 Whole workflow",
    "evidence": "1 Prepare evidence",
    "sampling": "2 Sample",
    "modelling": "3 Train",
    "mapping": "4 Map",
    "explanation": "5 Explain",
    "spectral": "Spectral",
}


#: The translation context of texts marked with :func:`QT_TRANSLATE_NOOP` (i18n/deepprospect.pro).
TR_CONTEXT = "DeepProspect"


def QT_TRANSLATE_NOOP(context, text):  # the name pylupdate5 looks for (PyQt6 has no such function)
    """Marks ``text`` (in ``context``) for extraction into the translation files; returns it unchanged."""
    return text


def manual_url(name):
    """The Help button's page: docs/manual/<name>.md of the manual shipped with the plugin (its
    index when the algorithm has no page), as a file URL, so it opens without a network."""
    page = MANUAL_PATH / "{}.md".format(name)
    return QUrl.fromLocalFile(str(page if page.exists() else MANUAL_PATH / "index.md")).toString()


_INSTALL_PROMPT = []


def set_engine_install_prompt(prompt):
    """Desktop QGIS: ``prompt()`` (called in the main thread) offers to install the engine when an
    algorithm is about to run without it. None removes it (plugin unload)."""
    _INSTALL_PROMPT[:] = [prompt] if prompt else []


class DeepProspectAlgorithm(QgsProcessingAlgorithm):
    """Base class. Subclasses set NAME, DISPLAY_NAME, GROUP, HELP, define ``initAlgorithm`` and
    ``execute(parameters, context, feedback)``, which calls :meth:`run_engine` with the task of
    ``engine/`` that does the work.

    An :class:`engine_runner.EngineError` reaches the user as a ``QgsProcessingException`` with
    the same message; its details (the engine's traceback) go to the log.
    """

    NAME = ""
    DISPLAY_NAME = ""
    GROUP = "evidence"
    HELP = ""
    #: Tooltip (``setHelp``) of each parameter, by parameter name; also listed in the help page.
    PARAMETER_HELP = {}
    #: What an output left empty or temporary becomes, for the help page (parameter name → text).
    DEFAULT_TEXT = {}

    def name(self):
        return self.NAME

    def displayName(self):
        return self.tr(self.DISPLAY_NAME)

    def group(self):
        return self.tr(GROUPS[self.GROUP])

    def groupId(self):
        return self.GROUP

    def shortHelpString(self):
        text = self.tr(self.HELP) + "\n\n" + parameters_help(self)
        if not engine_environment.is_ready():
            text += "\n\n" + self.tr("Not available yet: ") + engine_environment.not_ready_message()
        return text

    def helpUrl(self):
        return manual_url(self.NAME)

    def addParameter(self, definition, createOutput=True):
        """Every parameter gets its tooltip from :attr:`PARAMETER_HELP` (unless it has one), decimal
        numbers their decimals (``number_widgets``)."""
        if not definition.help() and definition.name() in self.PARAMETER_HELP:
            definition.setHelp(self.tr(self.PARAMETER_HELP[definition.name()]))
        tidy_number_widget(definition)
        return super().addParameter(definition, createOutput)

    def icon(self):
        return QIcon(str(ICON_PATH))

    def svgIconPath(self):
        return str(ICON_PATH)

    def createInstance(self):
        return type(self)()

    def tr(self, text):
        """``text`` in the user's language. pylupdate5 files a ``self.tr("…")`` under the class it is
        written in, and marked class attributes under "DeepProspect": look in both."""
        for context in [cls.__name__ for cls in type(self).__mro__[:-1]] + [TR_CONTEXT]:
            translated = QCoreApplication.translate(context, text)
            if translated != text:
                return translated
        return text

    def checkParameterValues(self, parameters, context):
        """Before anything runs (in the main thread for dialogs): is the engine there?

        In desktop QGIS the plugin registers a prompt (:func:`set_engine_install_prompt`) that
        offers to install it; elsewhere (qgis_process, scripts) the message says how.
        """
        if not engine_environment.is_ready():
            if _INSTALL_PROMPT and QThread.currentThread() is QCoreApplication.instance().thread():
                _INSTALL_PROMPT[0]()
            if not engine_environment.is_ready():
                return False, engine_environment.not_ready_message()
        with no_sidecar_files():    # checking a raster parameter loads the layer
            problem = self.file_problem(parameters, context)
            if problem:
                return False, problem
            return super().checkParameterValues(parameters, context)

    def processAlgorithm(self, parameters, context, feedback):
        # Reading the inputs must leave nothing beside them: layers loaded while the algorithm
        # runs get no GDAL side-car statistics (gdal_sidecars.py).
        with no_sidecar_files():
            return self._process(parameters, context, feedback)

    def _process(self, parameters, context, feedback):
        # Again here: models and scripts calling ``run`` may skip checkParameterValues.
        problem = self.file_problem(parameters, context)
        if problem:
            raise QgsProcessingException(problem)
        self._make_vector_output_folders(parameters, context)
        try:
            return self.execute(parameters, context, feedback)
        except engine_runner.EngineError as error:
            if error.details:
                QgsMessageLog.logMessage("{}\n{}".format(error, error.details), "DeepProspect", Qgis.MessageLevel.Critical)
                if error.kind not in ("input", "canceled"):
                    feedback.pushDebugInfo(error.details)
            raise QgsProcessingException(str(error))

    def execute(self, parameters, context, feedback):
        raise NotImplementedError

    def run_engine(self, task, args, feedback, outputs=()):
        """Run ``task`` of the engine with ``args``; returns its outputs (a dict).

        ``outputs``: the paths the task writes, so a killed worker's partial files are removed.
        """
        return engine_runner.run_task(task, args, feedback, outputs=[o for o in outputs if o])

    def file_problem(self, parameters, context):
        """Why an output cannot be written or an input file read (the message names the parameter
        as the dialog shows it, the path and the fix), or None. Checked before any work."""
        outputs = {}
        for definition in self.parameterDefinitions():
            label = definition.description()
            if definition.isDestination() and not definition.flags() & definition.Flag.FlagOptional \
                    and parameters.get(definition.name(), definition.defaultValue()) in (None, ""):
                return "{}: no file name given. Choose where to save it, or leave it as a temporary file.".format(label)
            path, check = self._file_to_check(definition, parameters, context)
            problem = check(path) if path else self._layer_file_problem(definition, parameters, context)
            if problem:
                return "{}: {}".format(label, problem)
            if path and definition.isDestination():
                same = outputs.setdefault(os.path.realpath(path), label)
                if same != label:
                    return "{} and {} are the same file ({}): give each output its own name.".format(same, label, path)
        return self._overwritten_input(parameters, context, outputs)

    def _make_vector_output_folders(self, parameters, context):
        # QGIS writes vector outputs itself and, unlike the engine, does not create their folder.
        for definition in self.destinationParameterDefinitions():
            if definition.type() in ("sink", "vectorDestination"):
                path, _ = self._file_to_check(definition, parameters, context)
                if path:
                    Path(path).parent.mkdir(parents=True, exist_ok=True)

    def _layer_file_problem(self, definition, parameters, context):
        """A layer parameter given as a file path QGIS cannot open: is the file missing, or not a
        layer of that kind? (QGIS's own message says "not found" for both.) Layer ids, names and
        database sources are left to QGIS."""
        hint = _LAYER_HINTS.get(definition.type())
        if hint is None or definition.isDestination():
            return None
        value = parameters.get(definition.name())
        if definition.type() == "multilayer" and definition.layerType() != QgsProcessing.SourceType.TypeRaster:
            hint = QgsProcessingUtils.LayerHint.UnknownType
        for item in value if isinstance(value, (list, tuple)) else [value]:
            path = item.split("|")[0] if isinstance(item, str) else ""
            if not re.search(r"[/\\]", path) or re.match(r"^[A-Za-z][\w+.-]+:", path) or \
                    QgsProcessingUtils.mapLayerFromString(item, context, True, hint) is not None:
                continue
            problem = file_checks.input_file_problem(path)
            return problem or "{} is not a {} QGIS can open (a damaged or truncated file, or another kind of " \
                              "file). Open it in QGIS to see why, or export it again.".format(path, _LAYER_KINDS[hint])
        return None

    def _overwritten_input(self, parameters, context, outputs):
        """An output that would replace one of the run's own input files (the error), or None."""
        for definition in self.parameterDefinitions():
            if definition.isDestination() or definition.type() not in _LAYER_OR_FILE_INPUTS:
                continue
            for source in self._input_sources(definition, parameters, context):
                label = outputs.get(os.path.realpath(source.split("|")[0]))
                if label:
                    return ("{}: {} is also an input ({}); writing it would destroy that input. Choose another "
                            "file name.".format(label, source.split("|")[0], definition.description()))
        return None

    def _input_sources(self, definition, parameters, context):
        name = definition.name()
        if definition.type() == "file":
            return [self.parameterAsFile(parameters, name, context)]
        if definition.type() == "multilayer":
            layers = self.parameterAsLayerList(parameters, name, context)
        elif definition.type() == "source":
            layers = [self.parameterAsVectorLayer(parameters, name, context)]
        else:
            layers = [self.parameterAsLayer(parameters, name, context)]
        return [layer.source() for layer in layers if layer is not None]

    def _file_to_check(self, definition, parameters, context):
        """(path, check) for a file/folder parameter with a value the user chose, else (None, None).

        Temporary outputs (QGIS's temp folder), memory layers and database destinations are not
        checked; input layers are opened by QGIS, which reports its own errors.
        """
        kind, name = definition.type(), definition.name()
        if kind == "file" and definition.behavior() == QgsProcessingParameterFile.Behavior.File:
            extension = definition.extension()
            return self.parameterAsFile(parameters, name, context), (
                lambda path: file_checks.input_file_problem(path, extension))
        if not definition.isDestination() or not chosen(parameters.get(name, definition.defaultValue())):
            return None, None
        if kind == "rasterDestination":
            return self.parameterAsOutputLayer(parameters, name, context), (
                lambda path: file_checks.output_file_problem(path, ("tif", "tiff"), "GeoTIFF"))
        if kind == "fileDestination":
            extensions = tuple(dict.fromkeys(re.findall(r"\*\.(\w+)", definition.fileFilter())))
            file_type = " or ".join(definition.fileFilter().split(";;"))
            return self.parameterAsFileOutput(parameters, name, context), (
                lambda path: file_checks.output_file_problem(path, extensions, file_type))
        if kind == "folderDestination":
            return self.parameterAsString(parameters, name, context), file_checks.output_folder_problem
        path = self.parameterAsOutputLayer(parameters, name, context).split("|")[0]
        if re.match(r"^[A-Za-z][\w+.-]+:", path):  # memory:, ogr:, postgres:… (not a drive letter)
            return None, None
        extension = definition.defaultFileExtension()
        return path, lambda path: file_checks.output_file_problem(path, default_extension=extension)

    # Helpers for subclasses -------------------------------------------------------------

    def raster_path(self, parameters, name, context):
        """A path GDAL can open for a raster parameter.

        A GDAL layer's own source is used as it is (files, GeoPackage rasters, /vsi paths);
        any other provider (WMS, memory, virtual rasters of other providers) is first written
        to a temporary GeoTIFF by QGIS.
        """
        layer = self.parameterAsRasterLayer(parameters, name, context)
        if layer is None or not layer.isValid():
            raise QgsProcessingException(self.tr("{} is not a readable raster layer.").format(name))
        return raster_layer_path(layer, self.tr)

    def vector_path(self, parameters, name, context, feedback):
        """A (path, layer name) pair that the engine can read for a vector parameter.

        Memory layers, database tables, selections ("Selected features only") and exotic formats
        are exported to a temporary GeoPackage by QGIS.
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


_KEEP_ALIVE = []  # post-processors must outlive the algorithm call (QGIS holds raw pointers)


class _StylePostProcessor(QgsProcessingLayerPostProcessorInterface):
    def __init__(self, qml_path):
        super().__init__()
        self.qml_path = qml_path

    def postProcessLayer(self, layer, context, feedback):
        if layer is not None and Path(self.qml_path).exists():
            layer.loadNamedStyle(self.qml_path)
            layer.triggerRepaint()
            # Processing has put the layer in the Layers panel by now: its legend heading in words
            for project in (context.project(), QgsProject.instance()):
                node = project.layerTreeRoot().findLayer(layer.id()) if project is not None else None
                if node is not None:
                    set_legend_heading(node)
                    break


#: Parameter types whose value may name a file the run reads.
_LAYER_OR_FILE_INPUTS = ("file", "raster", "vector", "source", "multilayer", "layer")


#: How QGIS is told to open a layer parameter's file, and what the message calls it.
_LAYER_HINTS = {"raster": QgsProcessingUtils.LayerHint.Raster, "multilayer": QgsProcessingUtils.LayerHint.Raster,
                "source": QgsProcessingUtils.LayerHint.Vector, "vector": QgsProcessingUtils.LayerHint.Vector}
_LAYER_KINDS = {QgsProcessingUtils.LayerHint.Raster: "raster", QgsProcessingUtils.LayerHint.Vector: "vector layer",
                QgsProcessingUtils.LayerHint.UnknownType: "layer"}


def chosen(value):
    """Whether a destination's raw value names a place the user chose (not empty, not temporary)."""
    if isinstance(value, QgsProcessingOutputLayerDefinition):
        value = value.sink
    if isinstance(value, QgsProperty):
        if value.propertyType() != QgsProperty.Type.StaticProperty:
            return True  # an expression (models): evaluated by parameterAs…
        value = value.staticValue()
    return value not in (None, "") and str(value) != QgsProcessing.TEMPORARY_OUTPUT


def temporary_output(name):
    """A path in QGIS's processing temp folder, for intermediate files."""
    return QgsProcessingUtils.generateTempFilename(name)


def raster_layer_path(layer, tr=str):
    """A GDAL-readable path for ``layer``: its source for GDAL layers, else a temporary GeoTIFF."""
    if layer.providerType() == "gdal":
        return layer.source()
    path = temporary_output("{}.tif".format(layer.name() or "raster"))
    writer = QgsRasterFileWriter(path)
    pipe = QgsRasterPipe()
    provider = layer.dataProvider()
    if not pipe.set(provider.clone()):
        raise QgsProcessingException(tr("Cannot read the raster layer '{}'.").format(layer.name()))
    error = writer.writeRaster(pipe, provider.xSize(), provider.ySize(), provider.extent(), provider.crs(),
                               QgsProject.instance().transformContext())
    if error != QgsRasterFileWriter.WriterError.NoError:
        raise QgsProcessingException(tr(
            "Cannot save the raster layer '{}' as a GeoTIFF for the engine (error {}); save it as a "
            "GeoTIFF yourself (Export ▸ Save As…) and use that file.").format(layer.name(), error))
    return path
