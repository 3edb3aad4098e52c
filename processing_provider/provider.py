"""The DeepProspect Processing provider: finds every ``*_algorithm.py`` module's algorithms."""
import importlib
import inspect
from pathlib import Path

from qgis.core import QgsProcessingAlgorithm, QgsProcessingProvider, QgsMessageLog, Qgis
from qgis.PyQt.QtGui import QIcon

from .base import ICON_PATH, DeepProspectAlgorithm


class DeepProspectProvider(QgsProcessingProvider):
    """Provider id ``deepprospect``; algorithms are grouped as DESIGN.md lists them."""

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
            QgsMessageLog.logMessage("Could not load {}: {}".format(path.name, error), "DeepProspect", Qgis.Critical)
            continue
        for _, member in inspect.getmembers(module, inspect.isclass):
            if (issubclass(member, QgsProcessingAlgorithm) and member is not DeepProspectAlgorithm
                    and member.__module__ == module.__name__ and not inspect.isabstract(member)):
                classes.append(member)
    return classes
