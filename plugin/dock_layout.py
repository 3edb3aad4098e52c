"""Layout shared by the inspector's tabs."""
from qgis.PyQt.QtWidgets import QScrollArea, QVBoxLayout, QWidget


def scrollable_layout(panel):
    """Fill ``panel`` with a frameless scroll area and return the vertical layout inside it.

    The dock is often narrower and shorter than a tab's content, so every tab scrolls.
    """
    outer = QVBoxLayout(panel)
    outer.setContentsMargins(0, 0, 0, 0)
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QScrollArea.NoFrame)
    outer.addWidget(scroll)
    body = QWidget()
    scroll.setWidget(body)
    return QVBoxLayout(body)
