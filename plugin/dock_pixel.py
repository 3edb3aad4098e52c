"""The inspector's "Pixel inspector" tab: click the map, see that pixel's factors, probability and
local SHAP explanation (computed on the fly with the loaded bundle and its background)."""
import time
from pathlib import Path

import numpy as np
from qgis.core import (
    QgsCoordinateTransform, QgsCsException, QgsMapLayerProxyModel, QgsPointXY, QgsProject, QgsRasterLayer,
)
from qgis.gui import QgsMapLayerComboBox
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import (
    QComboBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableWidgetItem,
    QToolButton, QVBoxLayout, QWidget,
)

from .dock_layout import scrollable_layout
from . import tasks
from .dock_charts import ChartCanvas
from .dock_model import _fit_height, _table

#: EXPLAINER enum of deepprospect:shap, same order.
EXPLAINERS = ("gradient", "deep", "kernel")
#: Bars drawn individually in the waterfall; the rest are summed into one "other factors" bar.
WATERFALL_FACTORS = 10


class PixelTab(QWidget):
    """A map tool and the explanation of the pixel it picked.

    ``bundle`` is set by the dock when the Model tab has loaded one. After each click
    :attr:`last_result` holds what is shown (coordinates, row/col, factor values, probability,
    members' probabilities, SHAP values) and :attr:`last_message` any message instead of values.
    """

    def __init__(self, iface, parent=None):
        super().__init__(parent)
        self.iface = iface
        self.bundle = None
        self.tool = None
        self.task = None
        self.last_result = None
        self.last_message = ""
        self.last_seconds = None
        self._request = 0
        self._info_cache = {}
        self._build()

    # Layout ----------------------------------------------------------------------------
    def _build(self):
        layout = scrollable_layout(self)

        form = QFormLayout()
        stack_row = QHBoxLayout()
        self.stack_combo = QgsMapLayerComboBox()
        self.stack_combo.setFilters(QgsMapLayerProxyModel.RasterLayer)
        self.stack_combo.setAllowEmptyLayer(True)
        self.stack_combo.setToolTip(self.tr("The evidence stack the model was trained on (one band per factor)."))
        stack_row.addWidget(self.stack_combo, 1)
        browse = QToolButton()
        browse.setText("…")
        browse.setToolTip(self.tr("Add an evidence stack GeoTIFF to the map and use it"))
        browse.clicked.connect(self._browse_stack)
        stack_row.addWidget(browse)
        form.addRow(self.tr("Evidence stack"), stack_row)
        self.explainer_combo = QComboBox()
        for name, text in zip(EXPLAINERS, (self.tr("Gradient (fast)"), self.tr("Deep"),
                                           self.tr("Kernel (model-agnostic, slow)"))):
            self.explainer_combo.addItem(text, name)
        form.addRow(self.tr("Explainer"), self.explainer_combo)
        layout.addLayout(form)

        self.pick_button = QPushButton(self.tr("Pick a pixel on the map"))
        self.pick_button.setCheckable(True)
        self.pick_button.toggled.connect(self._toggle_tool)
        layout.addWidget(self.pick_button)

        self.message_label = QLabel(self.tr("Load a model in the Model tab, choose the evidence stack, "
                                            "then click the map."))
        self.message_label.setWordWrap(True)
        layout.addWidget(self.message_label)

        pixel_box = QGroupBox(self.tr("Pixel"))
        pixel_form = QFormLayout(pixel_box)
        self.location_label = QLabel("–")
        self.location_label.setWordWrap(True)
        self.location_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        pixel_form.addRow(self.tr("Location"), self.location_label)
        self.probability_label = QLabel("–")
        self.probability_label.setWordWrap(True)
        self.probability_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        pixel_form.addRow(self.tr("Deposit probability"), self.probability_label)
        layout.addWidget(pixel_box)

        chart_box = QGroupBox(self.tr("Why this probability: local SHAP contributions"))
        chart_layout = QVBoxLayout(chart_box)
        self.waterfall = ChartCanvas(height_inches=3.6)
        self.waterfall.message(self.tr("Click a pixel to explain it."))
        chart_layout.addWidget(self.waterfall)
        layout.addWidget(chart_box)

        values_box = QGroupBox(self.tr("Factor values at this pixel"))
        values_layout = QVBoxLayout(values_box)
        self.values_table = _table(0, 3)
        self.values_table.setHorizontalHeaderLabels([self.tr("Factor"), self.tr("Value"), self.tr("SHAP")])
        self.values_table.verticalHeader().setVisible(False)
        header = self.values_table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.Stretch)
        values_layout.addWidget(self.values_table)
        layout.addWidget(values_box)
        layout.addStretch(1)

    # Map tool --------------------------------------------------------------------------
    def _toggle_tool(self, checked):
        from .map_tool import PixelPickTool

        canvas = self.iface.mapCanvas()
        if checked:
            if self.tool is None:
                self.tool = PixelPickTool(canvas)
                self.tool.picked.connect(self.inspect)
                self.tool.deactivated.connect(lambda: self.pick_button.setChecked(False))
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

    def set_bundle(self, bundle):
        self.bundle = bundle
        if bundle is not None and self.last_result is not None and self.last_result.get("probability") is None:
            self._explain(self.last_result)

    # Inspecting ------------------------------------------------------------------------
    def inspect(self, point, crs):
        """Inspect the pixel under ``point`` (a QgsPointXY in ``crs``, usually the canvas CRS).

        Shows the factor values at once; the probability and explanation follow from a task.
        Returns the result dict, or None when there is nothing to show (message instead).
        """
        started = time.perf_counter()
        self._request += 1
        layer = self.stack_combo.currentLayer()
        if layer is None:
            return self._show_message(self.tr("Choose the evidence stack above (the raster the model was trained on)."))
        try:
            stack_point = QgsCoordinateTransform(crs, layer.crs(), QgsProject.instance()).transform(QgsPointXY(point))
        except QgsCsException:
            return self._show_message(self.tr("This point cannot be placed in the stack's CRS: it is outside the "
                                              "evidence stack. Click inside the stack's extent."))
        path = layer.source().split("|")[0]
        info = self._stack_info(path)
        if info is None:
            return None
        from ..core.raster import points_to_pixels

        rows, cols = points_to_pixels(info, [[stack_point.x(), stack_point.y()]])
        row, col = int(rows[0]), int(cols[0])
        if not (0 <= row < info.height and 0 <= col < info.width):
            return self._show_message(self.tr(
                "Outside the evidence stack: the point ({:,.1f}, {:,.1f}) lies outside {}. "
                "Click inside the stack's extent.").format(stack_point.x(), stack_point.y(), layer.name()))
        values = _read_pixel(path, row, col)
        invalid = [name for name, value in zip(info.factor_names, values)
                   if not np.isfinite(value) or (not np.isnan(info.nodata) and value == info.nodata)]
        if invalid:
            shown = ", ".join(invalid[:4]) + (self.tr(" and {} more").format(len(invalid) - 4) if len(invalid) > 4 else "")
            return self._show_message(self.tr(
                "No data at this pixel (row {}, column {}): the stack has nodata for {} here, so the model "
                "cannot predict it. Click a pixel with data.").format(row, col, shown))
        from ..core.raster import pixel_centres

        centre = pixel_centres(info, [row], [col])[0]
        result = dict(x=float(centre[0]), y=float(centre[1]), row=row, col=col, stack=path,
                      crs=layer.crs().authid() or layer.crs().description(), factor_names=list(info.factor_names),
                      values=values, probability=None, members=None, shap_values=None, base_value=None,
                      started=started, request=self._request)
        self.last_result = result
        self.last_message = ""
        self.message_label.setText("")
        self.message_label.setStyleSheet("")
        self._show_pixel(result)
        self._explain(result)
        return result

    def _stack_info(self, path):
        from ..core.errors import DeepProspectError
        from ..core.raster import read_stack_info

        if path not in self._info_cache:
            try:
                self._info_cache[path] = read_stack_info(path)
            except DeepProspectError as error:
                self._show_message(str(error))
                return None
        return self._info_cache[path]

    def _explain(self, result):
        from ..core.errors import DeepProspectError

        if self.bundle is None:
            self._show_note(self.tr("Load a model bundle in the Model tab to see this pixel's probability and "
                                    "its explanation."))
            return
        try:
            self.bundle.check_factors(result["factor_names"])
        except DeepProspectError as error:
            self._show_note(str(error), error=True)
            return
        explainer = self.explainer_combo.currentData()
        bundle, request = self.bundle, result["request"]
        self.probability_label.setText(self.tr("computing…"))
        self.waterfall.message(self.tr("Explaining this pixel with the {} explainer…").format(explainer))
        self.task = tasks.start(tasks.BackgroundTask(
            self.tr("DeepProspect: explaining pixel row {}, column {}").format(result["row"], result["col"]),
            lambda task: explain_pixel(bundle, result["stack"], result["row"], result["col"], explainer),
            lambda output, error: self._explained(request, output, error)))

    def _explained(self, request, output, error):
        result = self.last_result
        if result is None or request != result["request"]:
            return  # the user clicked elsewhere meanwhile
        if error is not None:
            self.probability_label.setText("–")
            self.waterfall.message("")
            self._show_note(self.tr("Could not explain this pixel: {}").format(error), error=True)
            return
        result.update(output)
        self.last_seconds = time.perf_counter() - result["started"]
        self._show_pixel(result)
        self._show_note(self.tr("Explained in {:.1f} s with the {} explainer.").format(
            self.last_seconds, output["explainer"]))

    # Display ---------------------------------------------------------------------------
    def _show_message(self, text):
        """Nothing to show for this click: say why, and clear the previous pixel."""
        self.last_result = None
        self.last_message = text
        self.message_label.setText(text)
        self.message_label.setStyleSheet("color: #b00020;")
        self.location_label.setText("–")
        self.probability_label.setText("–")
        self.values_table.setRowCount(0)
        _fit_height(self.values_table)
        self.waterfall.message("")
        return None

    def _show_note(self, text, error=False):
        self.last_message = text
        self.message_label.setText(text)
        self.message_label.setStyleSheet("color: #b00020;" if error else "color: #444444;")

    def _show_pixel(self, result):
        self.location_label.setText(self.tr("X {:,.1f}  Y {:,.1f} ({})\nrow {}, column {} of the stack").format(
            result["x"], result["y"], result["crs"], result["row"], result["col"]))
        probability, members = result["probability"], result["members"]
        if probability is None:
            self.probability_label.setText("–")
        elif members is not None and len(members) > 1:
            self.probability_label.setText(self.tr("{:.3f}  (ensemble of {}: {:.3f}–{:.3f}, sd {:.3f})").format(
                probability, len(members), float(np.min(members)), float(np.max(members)), float(np.std(members))))
        else:
            self.probability_label.setText("{:.3f}".format(probability))
        names, values, shap_values = result["factor_names"], result["values"], result["shap_values"]
        order = np.argsort(-np.abs(shap_values)) if shap_values is not None else np.arange(len(names))
        self.values_table.setRowCount(len(names))
        for row, index in enumerate(order):
            cells = (names[index], format_value(values[index]),
                     "" if shap_values is None else "{:+.4f}".format(shap_values[index]))
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column:
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.values_table.setItem(row, column, item)
        _fit_height(self.values_table)  # every factor visible: the tab scrolls, not the table
        if shap_values is not None:
            self.waterfall.plot(lambda axes: draw_waterfall(axes, result))

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


def explain_pixel(bundle, stack_path, row, col, explainer="gradient"):
    """Probability (ensemble mean and members) and local SHAP values of one pixel.

    Returns a dict: ``probability`` (float), ``members`` (n_members,), ``shap_values``
    (n_factors,), ``base_value`` (float), ``explainer``. Runs in a worker thread.
    """
    from ..models.explain import explain_pixels

    members = np.asarray(_predict_at_pixels(bundle, stack_path, [row], [col]))[:, 0]
    explanation = explain_pixels(bundle, stack_path, [row], [col], explainer=explainer)
    return dict(probability=float(members.mean()), members=members,
                shap_values=np.asarray(explanation["shap_values"], dtype=float)[0],
                base_value=float(np.ravel(explanation["base_value"])[0]), explainer=explainer)


def _predict_at_pixels(bundle, stack_path, rows, cols):
    try:
        from ..models.predict import predict_at_pixels
    except ImportError:  # interim until models/predict.py lands: pixel models only
        values = np.array([_read_pixel(stack_path, row, col) for row, col in zip(rows, cols)])
        return bundle.predict_members(bundle.standardise(values))
    return predict_at_pixels(bundle, stack_path, rows, cols)


def _read_pixel(path, row, col):
    import rasterio
    from rasterio.windows import Window

    with rasterio.open(path) as dataset:
        return dataset.read(window=Window(col, row, 1, 1))[:, 0, 0].astype(np.float64)


def draw_waterfall(axes, result):
    """The pixel's SHAP waterfall: from the base value through each factor's push to its probability."""
    from .dock_shap_charts import waterfall

    waterfall(axes, result["factor_names"], result["shap_values"], result["values"], result["base_value"],
              result["probability"], max_display=WATERFALL_FACTORS)
