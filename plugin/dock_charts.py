"""Charts in the dock: pictures the engine drew (``engine/inspector_tasks.py``), shown at the
dock's width.

The engine renders each chart as a PNG for the width the view has when it is asked for
(:meth:`ChartView.render_args`), at the screen's pixel ratio; the view scales it to follow the
dock when the user resizes it, keeping its proportions, and when the width has changed much
(the letters would shrink or swell) it asks its tab for a picture drawn for the new width
(``redrawRequested``).
"""
import os

from qgis.PyQt.QtCore import QSize, Qt, QTimer, pyqtSignal
from qgis.PyQt.QtGui import QPixmap
from qgis.PyQt.QtWidgets import QDockWidget, QLabel, QSizePolicy

#: Narrowest and widest chart the engine is asked for (screen pixels): narrower is unreadable,
#: wider only costs time. Within these, the chart is drawn for the view's width, so its
#: letters keep their size whatever the dock's width.
RENDER_WIDTHS = (360, 1000)
#: Width around a chart inside a tab (tab, scroll area and group box margins), in screen pixels.
HIDDEN_MARGINS = 40
#: Width asked for when the view's width is not known yet (the dock not laid out).
DEFAULT_WIDTH = 440
#: A picture drawn for a width this much (relative) away from the view's is drawn again.
REDRAW_CHANGE = 0.15
#: Quiet time after the last resize before asking for a new picture (milliseconds).
REDRAW_DELAY_MS = 300
#: Height of the view while it shows a message instead of a chart.
MESSAGE_HEIGHT = 90


class ChartView(QLabel):
    """A chart picture scaled to the view's width (its height follows), or a grey message.

    ``redrawRequested(render_args)``: the view is much wider or narrower than the picture was
    drawn for; the tab asks the engine for the same chart with these arguments.
    """

    redrawRequested = pyqtSignal(dict)

    def __init__(self, parent=None, chart_folder=None):
        super().__init__(parent)
        self.chart_folder = chart_folder
        self.source = QPixmap()
        self._width = None
        self._redraw_timer = QTimer(self)
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.setInterval(REDRAW_DELAY_MS)
        self._redraw_timer.timeout.connect(self._ask_redraw)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.message("")

    def render_args(self):
        """``width`` and ``scale`` for the engine's chart tasks (plus ``chart_folder`` if known)."""
        args = {"width": _clamped(self._expected_width()), "scale": max(1.0, float(self.devicePixelRatioF()))}
        if self.chart_folder:
            args["chart_folder"] = self.chart_folder() if callable(self.chart_folder) else self.chart_folder
        return args

    def _expected_width(self):
        """The view's width; on a hidden tab, the width of the visible part of the dock around it."""
        if self.isVisible():
            return self.contentsRect().width()
        widget = self.parentWidget()
        while widget is not None and not isinstance(widget, QDockWidget):
            if widget.isVisible():
                return widget.contentsRect().width() - HIDDEN_MARGINS
            widget = widget.parentWidget()
        return DEFAULT_WIDTH

    def drawn_width(self):
        """The width (screen pixels) the shown picture was drawn for; None without a picture."""
        if self.source.isNull():
            return None
        return self.source.width() / self.source.devicePixelRatio()

    def show_png(self, path, remove=True):
        """Show the PNG at ``path`` (then delete the file: the picture is in memory). False, with
        a message in place of the chart, if it cannot be read."""
        pixmap = QPixmap(str(path)) if path else QPixmap()
        if remove and path:
            try:
                os.remove(path)
            except OSError:
                pass
        if pixmap.isNull():
            self.message(self.tr("The chart could not be shown (the engine's picture is missing or unreadable)."))
            return False
        pixmap.setDevicePixelRatio(max(1.0, float(self.devicePixelRatioF())))
        self.source = pixmap
        self.setStyleSheet("")
        self._width = None
        self._fit()
        return True

    def message(self, text):
        """Show ``text`` in place of a chart (e.g. why there is nothing to draw)."""
        self.source = QPixmap()
        self._width = None
        self.clear()
        self.setText(text)
        self.setStyleSheet("color: #555555;")
        self.setFixedHeight(MESSAGE_HEIGHT)

    def has_chart(self):
        return not self.source.isNull()

    def sizeHint(self):  # noqa: N802 (Qt's name)
        if self.source.isNull():
            return QSize(RENDER_WIDTHS[0], MESSAGE_HEIGHT)
        ratio = self.source.devicePixelRatio()
        return QSize(int(self.source.width() / ratio), int(self.source.height() / ratio))

    def minimumSizeHint(self):  # noqa: N802
        # the picture scales down with the dock: it must not hold the dock wide
        return QSize(120, self.height())

    def _ask_redraw(self):
        drawn = self.drawn_width()
        if drawn is not None and abs(_clamped(self.contentsRect().width()) - drawn) > REDRAW_CHANGE * drawn:
            self.redrawRequested.emit(self.render_args())

    def showEvent(self, event):  # noqa: N802 (Qt's name)
        super().showEvent(event)
        self._width = None  # laid out while hidden: check the picture against the width it has now
        self._fit()

    def resizeEvent(self, event):  # noqa: N802
        super().resizeEvent(event)
        self._fit()

    def _fit(self):
        """Scale the picture to the current width; the height follows its proportions."""
        if self.source.isNull():
            return
        width = max(1, self.contentsRect().width())
        if width == self._width:
            return
        self._width = width
        if self.isVisible() and abs(_clamped(width) - self.drawn_width()) > REDRAW_CHANGE * self.drawn_width():
            self._redraw_timer.start()
        ratio = self.source.devicePixelRatio()
        height = max(1, round(width * self.source.height() / self.source.width()))
        scaled = self.source.scaled(round(width * ratio), round(height * ratio), Qt.AspectRatioMode.KeepAspectRatio,
                                    Qt.TransformationMode.SmoothTransformation)
        scaled.setDevicePixelRatio(ratio)
        self.setPixmap(scaled)
        self.setFixedHeight(height + self.height() - self.contentsRect().height())


def _clamped(width):
    return int(min(RENDER_WIDTHS[1], max(RENDER_WIDTHS[0], width)))


def discard_png(path):
    """Delete a chart picture nobody will show (its answer came too late)."""
    if path:
        try:
            os.remove(path)
        except OSError:
            pass
