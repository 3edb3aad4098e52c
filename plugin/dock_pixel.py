"""The inspector's "Pixel inspector" tab: click the map, see that pixel's factors, probability and
local SHAP explanation.

The click is placed in the evidence stack's CRS here (QGIS's transform), then the dock's warm
engine answers (task ``inspect_pixel``): the pixel's row and column, its factor values, the
model's probability (every ensemble member), the SHAP contributions and the waterfall picture.
"""
import time
from pathlib import Path

from qgis.core import (
    QgsCoordinateTransform, QgsCsException, QgsMapLayerProxyModel, QgsPointXY, QgsProject, QgsRasterLayer,
)
from qgis.gui import QgsMapLayerComboBox
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import (
    QComboBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QHeaderView, QPushButton, QTableWidgetItem,
    QToolButton, QWidget,
)

from ..catalog import EXPLAINERS
from .dock_charts import ChartView, discard_png
from .dock_common import NOTE_STYLE, set_status, wrapped_label
from .dock_layout import add_group, fit_table, make_table, scrollable_layout


class PixelTab(QWidget):
    """A map tool and the explanation of the pixel it picked.

    ``model_path`` is set by the dock when the Model tab has read a bundle. After each answer
    :attr:`last_result` holds what is shown (the engine's ``inspect_pixel`` result plus ``crs``)
    and :attr:`last_message` any message instead of values; :attr:`request` is the engine call
    of the last click.
    """

    def __init__(self, iface, engine, parent=None):
        super().__init__(parent)
        self.iface, self.engine = iface, engine
        self.model_path = self.tool = None
        self.request = self.warm_request = None  # engine calls: the last click's, the warm-up's
        self.last_click = self.last_result = self.last_seconds = None
        self.last_message = ""
        self._click_count = 0
        self._build()

    # Layout ----------------------------------------------------------------------------
    def _build(self):
        layout = scrollable_layout(self)
        layout.addLayout(self._build_form())

        self.pick_button = QPushButton(self.tr("Pick a pixel on the map"))
        self.pick_button.setCheckable(True)
        self.pick_button.toggled.connect(self._toggle_tool)
        layout.addWidget(self.pick_button)

        self.message_label = wrapped_label(self.tr("Load a model in the Model tab, choose the evidence stack, "
                                                   "then click the map."))
        layout.addWidget(self.message_label)

        pixel_box = QGroupBox(self.tr("Pixel"))
        pixel_form = QFormLayout(pixel_box)
        self.location_label = wrapped_label("–", selectable=True)
        pixel_form.addRow(self.tr("Location"), self.location_label)
        self.probability_label = wrapped_label("–", selectable=True)
        pixel_form.addRow(self.tr("Deposit probability"), self.probability_label)
        layout.addWidget(pixel_box)

        self.waterfall = ChartView(chart_folder=self.engine.chart_folder)
        self.waterfall.redrawRequested.connect(self._redraw_waterfall)
        self.waterfall.message(self.tr("Click a pixel to explain it."))
        add_group(layout, self.tr("Why this probability: local SHAP contributions"), self.waterfall)

        self.values_table = make_table(0, 3)
        self.values_table.setHorizontalHeaderLabels([self.tr("Factor"), self.tr("Value"), self.tr("SHAP")])
        self.values_table.verticalHeader().setVisible(False)
        header = self.values_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        add_group(layout, self.tr("Factor values at this pixel"), self.values_table)
        layout.addStretch(1)

    def _build_form(self):
        form = QFormLayout()
        stack_row = QHBoxLayout()
        self.stack_combo = QgsMapLayerComboBox()
        self.stack_combo.setFilters(QgsMapLayerProxyModel.Filter.RasterLayer)
        self.stack_combo.setAllowEmptyLayer(True)
        self.stack_combo.setToolTip(self.tr("The evidence stack the model was trained on (one band per factor)."))
        # bound methods, not lambdas: Qt drops the connection with this tab (a lambda would be called
        # on a tab being destroyed when the combo announces its last change)
        self.stack_combo.layerChanged.connect(self._stack_changed)
        stack_row.addWidget(self.stack_combo, 1)
        browse = QToolButton()
        browse.setText("…")
        browse.setToolTip(self.tr("Add an evidence stack GeoTIFF to the map and use it"))
        browse.clicked.connect(self._browse_stack)
        stack_row.addWidget(browse)
        form.addRow(self.tr("Evidence stack"), stack_row)
        self.explainer_combo = QComboBox()
        for explainer in EXPLAINERS:  # the order of deepprospect:shap's EXPLAINER
            self.explainer_combo.addItem(explainer.label, explainer.name)
            self.explainer_combo.setItemData(self.explainer_combo.count() - 1, explainer.description,
                                             Qt.ItemDataRole.ToolTipRole)
        form.addRow(self.tr("Explainer"), self.explainer_combo)
        return form

    # Map tool --------------------------------------------------------------------------
    def _toggle_tool(self, checked):
        from .map_tool import PixelPickTool

        canvas = self.iface.mapCanvas()
        if checked:
            if self.tool is None:
                self.tool = PixelPickTool(canvas)
                self.tool.picked.connect(self.inspect)
                self.tool.deactivated.connect(self._tool_deactivated)
            canvas.setMapTool(self.tool)
        elif self.tool is not None and canvas.mapTool() is self.tool:
            canvas.unsetMapTool(self.tool)

    def _browse_stack(self):
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Choose the evidence stack"), "",
                                              self.tr("GeoTIFF (*.tif *.tiff);;All files (*)"))
        if path:
            self.set_stack(path)

    def set_stack(self, path_or_layer):
        """Use a raster layer (or a file, added to the project) as the evidence stack; returns the layer."""
        layer = path_or_layer
        if not isinstance(layer, QgsRasterLayer):
            layer = QgsRasterLayer(str(path_or_layer), Path(str(path_or_layer)).stem)
            if not layer.isValid():
                self._show_message(self.tr("{} is not a raster QGIS can open.").format(path_or_layer))
                return None
            QgsProject.instance().addMapLayer(layer)
        self.stack_combo.setLayer(layer)
        return layer

    def set_model(self, path):
        """Use the bundle at ``path`` (None: no model); a pixel shown without a model is explained now."""
        self.model_path = path
        if path and self.last_click is not None and self.last_result is not None \
                and self.last_result.get("probability") is None:
            self._ask(self.last_click)
        self.warm_up()

    def _stack_changed(self, layer):
        self.warm_up()

    def _tool_deactivated(self):
        self.pick_button.setChecked(False)

    def warm_up(self):
        """With a model and a stack chosen, let the engine explain one pixel of the stack now, so
        the user's first click is answered as fast as the next ones. Returns the request (or None)."""
        layer = self.stack_combo.currentLayer()
        if not self.model_path or layer is None:
            return None
        self.warm_request = self.engine.request(
            "warm", "prepare_model", {"model": self.model_path, "stack": layer.source().split("|")[0]},
            lambda result, error: None, self.tr("DeepProspect: preparing the pixel inspector"))
        return self.warm_request

    # Inspecting ------------------------------------------------------------------------
    def inspect(self, point, crs):
        """Inspect the pixel under ``point`` (a QgsPointXY in ``crs``, usually the canvas CRS).

        Places the point in the stack's CRS and asks the engine; the answer is shown when it
        comes. Returns the click (a dict), or None when there is nothing to ask (message instead).
        """
        self._click_count += 1
        layer = self.stack_combo.currentLayer()
        if layer is None:
            return self._show_message(self.tr("Choose the evidence stack above (the raster the model was trained on)."))
        try:
            stack_point = QgsCoordinateTransform(crs, layer.crs(), QgsProject.instance()).transform(QgsPointXY(point))
        except QgsCsException:
            return self._show_message(self.tr("This point cannot be placed in the stack's CRS: it is outside the "
                                              "evidence stack. Click inside the stack's extent."))
        if not layer.extent().contains(stack_point):
            return self._show_message(self.tr(
                "Outside the evidence stack: the point ({:,.1f}, {:,.1f}) lies outside {}. "
                "Click inside the stack's extent.").format(stack_point.x(), stack_point.y(), layer.name()))
        click = dict(number=self._click_count, stack=layer.source().split("|")[0], x=stack_point.x(),
                     y=stack_point.y(), crs=layer.crs().authid() or layer.crs().description(),
                     started=time.perf_counter())
        self.last_click = click
        self.location_label.setText(self.tr("X {:,.1f}  Y {:,.1f}\n{}").format(click["x"], click["y"], click["crs"]))
        self._ask(click)
        return click

    def _ask(self, click):
        args = dict(stack=click["stack"], x=click["x"], y=click["y"], model=self.model_path,
                    explainer=self.explainer_combo.currentData(), **self.waterfall.render_args())
        if self.model_path:
            self.probability_label.setText(self.tr("computing…"))
            self._show_note(self.tr("Explaining this pixel with the {} explainer…").format(args["explainer"]))
        self.request = self.engine.request(
            "pixel", "inspect_pixel", args, lambda result, error: self._answered(click, result, error),
            self.tr("DeepProspect: inspecting a pixel"))

    def _answered(self, click, result, error):
        if click is not self.last_click:  # the user clicked elsewhere meanwhile
            discard_png((result or {}).get("waterfall_png"))
            return
        if error is not None:
            self._show_message(str(error))
            return
        result["crs"] = click["crs"]
        self.last_result = result
        self.last_seconds = time.perf_counter() - click["started"]
        self._show_pixel(result)
        if result.get("probability") is None:
            self._show_note(self.tr("Load a model bundle in the Model tab to see this pixel's probability and "
                                    "its explanation."))
        else:
            self._show_note(self.tr("Explained in {:.1f} s with the {} explainer.").format(
                self.last_seconds, result["explainer"]))

    def _redraw_waterfall(self, render_args):
        """The dock was resized: the same waterfall, drawn for the new width."""
        result = self.last_result
        if not result or result.get("shap_values") is None:
            return
        keys = ("factor_names", "values", "shap_values", "base_value", "probability", "units")
        self.engine.request("waterfall", "waterfall_chart", dict({key: result[key] for key in keys}, **render_args),
                            lambda output, error: self._waterfall_drawn(result, output, error),
                            self.tr("DeepProspect: drawing the waterfall"))

    def _waterfall_drawn(self, result, output, error):
        if error is None and result is self.last_result:
            self.waterfall.show_png(output["png"])
        elif output:
            discard_png(output["png"])

    # Display ---------------------------------------------------------------------------
    def _show_message(self, text):
        """Nothing to show for this click: say why, and clear the previous pixel."""
        self.last_result = None
        self.last_message = text
        set_status(self.message_label, text, error=True)
        self.location_label.setText("–")
        self.probability_label.setText("–")
        self.values_table.setRowCount(0)
        fit_table(self.values_table)
        self.waterfall.message("")
        return None

    def _show_note(self, text, error=False):
        self.last_message = text
        set_status(self.message_label, text, error, style=NOTE_STYLE)

    def _show_pixel(self, result):
        self.location_label.setText(self.tr("X {:,.1f}  Y {:,.1f}\n{} · row {}, column {} of the stack").format(
            result["x"], result["y"], result["crs"], result["row"], result["col"]))
        self.probability_label.setText(self._probability_text(result))
        self._fill_values(result)
        if result.get("waterfall_png"):
            self.waterfall.show_png(result["waterfall_png"])
        else:
            self.waterfall.message(self.tr("Load a model to explain this pixel."))

    def _probability_text(self, result):
        probability, members = result.get("probability"), result.get("members") or []
        if probability is None:
            return "–"
        if len(members) > 1:
            spread = result["spread"]
            return self.tr("{:.3f}\nensemble of {}: {:.3f}–{:.3f}, sd {:.3f}").format(
                probability, len(members), spread["min"], spread["max"], spread["sd"])
        return "{:.3f}".format(probability)

    def _fill_values(self, result):
        names, values, shap_values = result["factor_names"], result["values"], result.get("shap_values")
        order = list(range(len(names)))
        if shap_values is not None:
            order.sort(key=lambda index: -abs(shap_values[index]))
        self.values_table.setRowCount(len(names))
        for row, index in enumerate(order):
            cells = (names[index], format_value(values[index]),
                     "" if shap_values is None else "{:+.4f}".format(shap_values[index]))
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.values_table.setItem(row, column, item)
        fit_table(self.values_table)  # every factor visible: the tab scrolls, not the table

    def table_values(self):
        """{factor: displayed value text} of the table (what the user reads)."""
        return {self.values_table.item(row, 0).text(): self.values_table.item(row, 1).text()
                for row in range(self.values_table.rowCount())}

    def unload(self):
        if self.tool is not None:
            canvas = self.iface.mapCanvas()
            if canvas.mapTool() is self.tool:
                canvas.unsetMapTool(self.tool)
            self.tool.clear_marker()
            self.tool = None


def format_value(value):
    """A factor value as the table shows it: 4 significant digits, no scientific notation below 1e6."""
    value = float(value)
    if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
        return "{:.4g}".format(value)
    return "{:,.4g}".format(value) if abs(value) < 1e4 else "{:,.0f}".format(value)
