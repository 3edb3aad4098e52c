"""Layout shared by the inspector's tabs: a scrolling tab body and tables that never scroll."""
from qgis.PyQt.QtCore import QEvent, QObject, Qt
from qgis.PyQt.QtWidgets import (
    QAbstractItemView, QFrame, QGroupBox, QHeaderView, QScrollArea, QTableWidget, QVBoxLayout, QWidget,
)


def scrollable_layout(panel):
    """Fill ``panel`` with a frameless scroll area and return the vertical layout inside it.

    The dock is often shorter than a tab's content, so every tab scrolls up and down; it never
    scrolls sideways: the scroll area is kept as wide as the content's minimum, so the dock
    cannot get narrower than what shows every control.
    """
    outer = QVBoxLayout(panel)
    outer.setContentsMargins(0, 0, 0, 0)
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    outer.addWidget(scroll)
    body = QWidget()
    scroll.setWidget(body)
    body.installEventFilter(_MinimumWidthFollower(scroll, body))
    return QVBoxLayout(body)


def add_group(layout, title, *widgets):
    """Add a group box titled ``title`` to ``layout``, holding ``widgets`` one below the other;
    returns the box."""
    box = QGroupBox(title)
    column = QVBoxLayout(box)
    for widget in widgets:
        column.addWidget(widget)
    layout.addWidget(box)
    return box


class _MinimumWidthFollower(QObject):
    """Keeps a scroll area's minimum width at its content's minimum width plus the vertical scroll
    bar, whenever the content's layout changes (a table filled, a long name shown)."""

    def __init__(self, scroll, body):
        super().__init__(scroll)
        self._scroll, self._body = scroll, body

    def eventFilter(self, watched, event):  # noqa: N802 (Qt's name)
        if watched is self._body and event.type() == QEvent.Type.LayoutRequest:
            bar = self._scroll.verticalScrollBar().sizeHint().width()
            self._scroll.setMinimumWidth(self._body.minimumSizeHint().width() + bar)
        return False


def make_table(rows, columns):
    """A read-only table whose columns share the width; :func:`fit_table` sizes it to its content."""
    table = QTableWidget(rows, columns)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    table.setWordWrap(True)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    table.horizontalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignCenter)
    table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return table


def fit_table(table):
    """No inner scrolling: the table is exactly as tall as its rows and at least as wide as its
    headers and values need (the tab itself scrolls), so no column is ever cut off."""
    header = table.horizontalHeader()
    header.setMinimumHeight(header.sizeHint().height())
    height = header.minimumHeight() + sum(table.verticalHeader().sectionSize(row) for row in range(table.rowCount()))
    table.setFixedHeight(height + 2 * table.frameWidth() + 2)
    vertical = table.verticalHeader()
    width = 0 if vertical.isHidden() else vertical.sizeHint().width()
    for column in range(table.columnCount()):
        width += max(header.sectionSizeHint(column), table.sizeHintForColumn(column))
    table.setMinimumWidth(width + 2 * table.frameWidth() + 2)
