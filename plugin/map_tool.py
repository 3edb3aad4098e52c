"""The pixel inspector's map tool: a click on the canvas picks a point, marked on the map."""
from qgis.core import QgsCoordinateReferenceSystem, QgsPointXY
from qgis.gui import QgsMapToolEmitPoint, QgsVertexMarker
from qgis.PyQt.QtCore import Qt, pyqtSignal
from qgis.PyQt.QtGui import QColor


class PixelPickTool(QgsMapToolEmitPoint):
    """Emits ``picked(point, crs)`` for every left click; ``point`` is in the canvas CRS ``crs``."""

    picked = pyqtSignal(QgsPointXY, QgsCoordinateReferenceSystem)

    def __init__(self, canvas):
        super().__init__(canvas)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.marker = None
        self.canvasClicked.connect(self._clicked)

    def _clicked(self, point, button):
        if button != Qt.MouseButton.LeftButton:
            return
        self.mark(point)
        self.picked.emit(QgsPointXY(point), self.canvas().mapSettings().destinationCrs())

    def mark(self, point):
        """Show a cross at ``point`` (canvas CRS), replacing the previous one."""
        if self.marker is None:
            self.marker = QgsVertexMarker(self.canvas())
            self.marker.setIconType(QgsVertexMarker.IconType.ICON_CROSS)
            self.marker.setColor(QColor(220, 30, 30))
            self.marker.setIconSize(14)
            self.marker.setPenWidth(3)
        self.marker.setCenter(QgsPointXY(point))
        self.marker.show()

    def clear_marker(self):
        if self.marker is not None:
            self.canvas().scene().removeItem(self.marker)
            self.marker = None
