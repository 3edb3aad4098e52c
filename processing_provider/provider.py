"""The DeepProspect Processing provider: finds every ``*_algorithm.py`` module's algorithms."""
import importlib
import inspect
from pathlib import Path

from qgis.core import (
    Qgis, QgsApplication, QgsMessageLog, QgsProcessingAlgorithm, QgsProcessingModelAlgorithm, QgsProcessingProvider,
    QgsSettings,
)
from qgis.PyQt.QtCore import QCoreApplication, QLocale, QTranslator
from qgis.PyQt.QtGui import QIcon

from .base import GROUPS, ICON_PATH, DeepProspectAlgorithm, manual_url

MODELS_PATH = Path(__file__).resolve().parent.parent / "resources" / "models"
I18N_PATH = Path(__file__).resolve().parent.parent / "i18n"
_TRANSLATORS = []  # installed translators must stay alive


def install_translator(locale=None, folder=I18N_PATH):
    """Load ``folder``/deepprospect_<language>.qm for QGIS's interface language (``locale``, e.g.
    "pt_BR", tried in full then as "pt"), once; returns the translator, or None when there is no
    translation for it (the texts stay in English)."""
    if _TRANSLATORS:
        return _TRANSLATORS[0]
    locale = str(locale or QgsSettings().value("locale/userLocale", "") or QLocale().name())
    for name in dict.fromkeys((locale, locale.split("_")[0])):
        path = Path(folder) / "deepprospect_{}.qm".format(name)
        translator = QTranslator()
        if path.exists() and translator.load(str(path)):
            QCoreApplication.installTranslator(translator)
            _TRANSLATORS.append(translator)
            return translator
    return None


class DeepProspectProvider(QgsProcessingProvider):
    """Provider id ``deepprospect``; algorithms are grouped in the order of the workflow (``base.GROUPS``).

    The shipped Model Builder models (resources/models/*.model3) are listed too. Their child
    steps are DeepProspect algorithms, which the registry can only resolve once this provider
    is registered, so the models are added by a second refresh right after registration.
    """

    def __init__(self):
        super().__init__()
        install_translator()
        QgsApplication.processingRegistry().providerAdded.connect(self._on_provider_added)

    def id(self):
        return "deepprospect"

    def name(self):
        return "DeepProspect"

    def longName(self):
        return self.tr("DeepProspect: explainable mineral prospectivity mapping")

    def icon(self):
        return QIcon(str(ICON_PATH))

    def svgIconPath(self):
        return str(ICON_PATH)

    def loadAlgorithms(self):
        for algorithm_class in algorithm_classes():
            self.addAlgorithm(algorithm_class())
        if QgsApplication.processingRegistry().providerById(self.id()) is self:
            for model in shipped_models():
                self.addAlgorithm(model)

    def _on_provider_added(self, provider_id):
        if provider_id == self.id() and QgsApplication.processingRegistry().providerById(self.id()) is self:
            QgsApplication.processingRegistry().providerAdded.disconnect(self._on_provider_added)
            self.refreshAlgorithms()


class _ShippedModel(QgsProcessingModelAlgorithm):
    """A shipped model, shown in the provider's "0 Whole workflow" group under a name in words.

    A .model3 file stores one group string that QGIS uses as both the group's id and its
    label, and one name that is both the algorithm's id and what the Toolbox shows; this keeps
    the id (``deepprospect:prospectivity_chain``, which scripts call) and shows words.
    """

    def groupId(self):
        return "workflow"

    def group(self):
        return GROUPS["workflow"]

    def displayName(self):
        return self.name().replace("_", " ").capitalize()

    def helpUrl(self):
        return manual_url(self.name())

    def createInstance(self):
        # QGIS copies a model to run it; the copy keeps this class (its group, name and help page)
        instance = _ShippedModel()
        instance.loadVariant(self.toVariant())
        instance.setSourceFilePath(self.sourceFilePath())
        instance.restore_input_help()
        return instance

    def restore_input_help(self):
        """Each input's tooltip from the model's help content (QGIS 3.22 does not read an input's
        help back from the .model3 file; the help content, keyed by input name, survives)."""
        for definition in self.parameterDefinitions():
            text = self.helpContent().get(definition.name())
            if text and not definition.help():
                definition.setHelp(text)


def shipped_models():
    """The Model Builder models in resources/models, loaded as algorithms."""
    models = []
    for path in sorted(MODELS_PATH.glob("*.model3")):
        model = _ShippedModel()
        if model.fromFile(str(path)):
            model.restore_input_help()
            models.append(model)
        else:
            QgsMessageLog.logMessage("Could not read the model {}".format(path.name), "DeepProspect", Qgis.MessageLevel.Warning)
    return models


def algorithm_classes():
    """Every concrete DeepProspect algorithm class, one module per algorithm.

    A module that fails to import is reported in the QGIS log and skipped, so one broken
    algorithm never hides the others.
    """
    classes = []
    for path in sorted(Path(__file__).parent.glob("*_algorithm.py")):
        try:
            module = importlib.import_module("{}.{}".format(__package__, path.stem))
        except Exception as error:  # a broken module must not take the provider down
            QgsMessageLog.logMessage("Could not load {}: {}".format(path.name, error), "DeepProspect", Qgis.MessageLevel.Critical)
            continue
        for _, member in inspect.getmembers(module, inspect.isclass):
            if (issubclass(member, QgsProcessingAlgorithm) and member is not DeepProspectAlgorithm
                    and member.__module__ == module.__name__ and not inspect.isabstract(member)):
                classes.append(member)
    return classes
