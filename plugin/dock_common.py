"""Small widgets and habits the inspector's tabs share: status texts, selectable labels, table
cells, file widgets set without re-triggering their tab."""
from qgis.core import QgsApplication
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QFont
from qgis.PyQt.QtWidgets import QLabel, QTableWidgetItem

#: Style sheet of a message that says something went wrong (or cannot be done).
ERROR_STYLE = "color: #b00020;"
#: Style sheet of a neutral note (how long it took, what to do next).
NOTE_STYLE = "color: #444444;"


def set_status(label, text, error=False, style=""):
    """Show ``text`` in ``label``, red when ``error`` (else in ``style``, default: the theme's)."""
    label.setText(text)
    label.setStyleSheet(ERROR_STYLE if error else style)


def wrapped_label(text="", selectable=False):
    """A word-wrapped label; ``selectable``: the user can select and copy its text (values, coordinates)."""
    label = QLabel(text)
    label.setWordWrap(True)
    if selectable:
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def number_item(text, bold=False):
    """A right-aligned table cell for a number; ``bold`` marks the best value or the diagonal."""
    item = QTableWidgetItem(text)
    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    if bold:
        font = QFont()
        font.setBold(True)
        item.setFont(font)
    return item


def show_path_quietly(file_widget, path):
    """Show ``path`` in a ``QgsFileWidget`` without emitting ``fileChanged`` (the tab already
    loaded it: the signal would load it again)."""
    if file_widget.filePath() != path:
        file_widget.blockSignals(True)
        file_widget.setFilePath(path)
        file_widget.blockSignals(False)


def algorithm_title(algorithm_id):
    """The Processing Toolbox's name of a DeepProspect algorithm in quotes (e.g. "Predict
    prospectivity map" for ``deepprospect:predict``), as the user finds it; the id when the
    provider is not registered."""
    algorithm = QgsApplication.processingRegistry().algorithmById(algorithm_id)
    return "“{}”".format(algorithm.displayName()) if algorithm is not None else algorithm_id
