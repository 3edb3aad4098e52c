"""The inspector's "Importance" tab: the SHAP charts of a ``deepprospect:shap`` output folder,
redrawn live (bar chart, beeswarm, and a class swarm or dependence plot of any factor)."""
from pathlib import Path

from qgis.core import QgsSettings
from qgis.gui import QgsFileWidget
from qgis.PyQt.QtWidgets import (
    QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget,
)

from .dock_layout import scrollable_layout
from .dock_charts import ChartCanvas

LAST_FOLDER_KEY = "DeepProspect/inspector/lastShapFolder"


class ShapFolder:
    """What ``deepprospect:shap`` wrote: ``importance`` (factor → mean |SHAP|, descending) and the
    per-sample table (``factor_values`` and ``shap_values``, DataFrames with one column per factor,
    ``labels`` a Series or None)."""

    def __init__(self, folder):
        import pandas as pd

        from ..core.errors import DeepProspectError

        self.folder = Path(folder)
        importance_path, values_path = self.folder / "importance.csv", self.folder / "shap_values.csv"
        for path in (importance_path, values_path):
            if not path.is_file():
                raise DeepProspectError(
                    "{} has no {}: choose the OUTPUT_FOLDER of a deepprospect:shap run, or run SHAP with the button."
                    .format(self.folder, path.name))
        importance = pd.read_csv(importance_path)
        self.importance = importance.sort_values("mean_abs_shap", ascending=False).reset_index(drop=True)
        self.factors = list(self.importance["factor"])
        table = pd.read_csv(values_path)
        shap_columns = _shap_columns(table.columns, self.factors)
        if shap_columns is None:
            raise DeepProspectError("{} does not have a SHAP column for every factor of importance.csv: was it "
                                    "written by another version of deepprospect:shap?".format(values_path))
        self.shap_values = table[shap_columns].set_axis(self.factors, axis=1)
        missing = [name for name in self.factors if name not in table.columns]
        if missing:
            raise DeepProspectError("{} has no factor-value column for {}: was it written by another version of "
                                    "deepprospect:shap?".format(values_path, ", ".join(missing)))
        self.factor_values = table[self.factors]
        self.labels = table["label"] if "label" in table.columns else None
        self.prediction = table["prediction"] if "prediction" in table.columns else None


def _shap_columns(columns, factors):
    for pattern in ("shap_{}", "{}_shap", "SHAP_{}", "shap:{}"):
        names = [pattern.format(name) for name in factors]
        if all(name in columns for name in names):
            return names
    return None


class ImportanceTab(QWidget):
    """Pick a SHAP folder (or run ``deepprospect:shap``); shows the bar chart and a chosen detail chart.

    ``context`` is a callable returning ``(model_path, stack_path)`` to pre-fill the SHAP dialog.
    """

    def __init__(self, context=None, parent=None):
        super().__init__(parent)
        self.context = context or (lambda: (None, None))
        self.data = None
        self._build()
        last = QgsSettings().value(LAST_FOLDER_KEY, "")
        if last and Path(last).is_dir():
            self.folder_widget.setFilePath(last)

    def _build(self):
        layout = scrollable_layout(self)

        form = QFormLayout()
        folder_row = QHBoxLayout()
        self.folder_widget = QgsFileWidget()
        self.folder_widget.setStorageMode(QgsFileWidget.GetDirectory)
        self.folder_widget.setDialogTitle(self.tr("SHAP output folder of deepprospect:shap"))
        self.folder_widget.fileChanged.connect(self._folder_chosen)
        folder_row.addWidget(self.folder_widget, 1)
        self.run_button = QPushButton(self.tr("Run SHAP…"))
        self.run_button.setToolTip(self.tr("Open deepprospect:shap with the loaded model and stack"))
        self.run_button.clicked.connect(self.run_shap)
        folder_row.addWidget(self.run_button)
        form.addRow(self.tr("SHAP folder"), folder_row)
        layout.addLayout(form)
        self.status = QLabel(self.tr("Choose the output folder of a deepprospect:shap run, or run it."))
        self.status.setWordWrap(True)
        layout.addWidget(self.status)

        bar_box = QGroupBox(self.tr("Factor importance (mean |SHAP|)"))
        bar_layout = QVBoxLayout(bar_box)
        self.bar_canvas = ChartCanvas(height_inches=3.6)
        bar_layout.addWidget(self.bar_canvas)
        layout.addWidget(bar_box)

        detail_box = QGroupBox(self.tr("Detail"))
        detail_layout = QVBoxLayout(detail_box)
        self.chart_combo = QComboBox()
        self.chart_combo.currentIndexChanged.connect(self._draw_detail)
        detail_layout.addWidget(self.chart_combo)
        self.detail_canvas = ChartCanvas(height_inches=4.0)
        detail_layout.addWidget(self.detail_canvas)
        layout.addWidget(detail_box)
        layout.addStretch(1)

    def _folder_chosen(self, folder):
        if folder:
            self.load(folder)

    def load(self, folder):
        """Read a SHAP folder and draw its charts; False (with a message) if it is not one."""
        from ..core.errors import DeepProspectError

        try:
            data = ShapFolder(folder)
        except (DeepProspectError, OSError, KeyError, ValueError) as error:
            self.data = None
            self.status.setText(str(error))
            self.status.setStyleSheet("color: #b00020;")
            self.bar_canvas.message("")
            self.chart_combo.clear()
            self.detail_canvas.message("")
            return False
        self.data = data
        if self.folder_widget.filePath() != str(folder):
            self.folder_widget.blockSignals(True)
            self.folder_widget.setFilePath(str(folder))
            self.folder_widget.blockSignals(False)
        QgsSettings().setValue(LAST_FOLDER_KEY, str(folder))
        top = ", ".join(data.factors[:3])
        self.status.setText(self.tr("{} samples explained; most important: {}.").format(len(data.shap_values), top))
        self.status.setStyleSheet("")
        self.bar_canvas.plot(self._draw_bar)
        self.chart_combo.blockSignals(True)
        self.chart_combo.clear()
        self.chart_combo.addItem(self.tr("Beeswarm: every factor"), ("beeswarm", None))
        if data.labels is not None:
            for factor in data.factors:
                self.chart_combo.addItem(self.tr("By class (deposit / non-deposit): {}").format(factor),
                                         ("class_swarm", factor))
        for factor in data.factors:
            self.chart_combo.addItem(self.tr("Dependence: {}").format(factor), ("dependence", factor))
        self.chart_combo.blockSignals(False)
        self.chart_combo.setCurrentIndex(0)
        self._draw_detail()
        return True

    def show_chart(self, kind, factor=None):
        """Select a detail chart: ``kind`` "beeswarm", "class_swarm" or "dependence"."""
        for index in range(self.chart_combo.count()):
            if self.chart_combo.itemData(index) == (kind, factor):
                self.chart_combo.setCurrentIndex(index)
                return True
        return False

    def _draw_bar(self, axes):
        from . import dock_shap_charts as charts

        charts.importance_bar(axes, self.data.importance["factor"].tolist(),
                               self.data.importance["mean_abs_shap"].to_numpy())

    def _draw_detail(self, *_):
        if self.data is None or self.chart_combo.currentIndex() < 0:
            return
        from . import dock_shap_charts as charts

        kind, factor = self.chart_combo.currentData()
        data = self.data
        if kind == "beeswarm":
            self.detail_canvas.plot(lambda axes: charts.beeswarm(
                axes, data.shap_values.to_numpy(), data.factor_values.to_numpy(), data.factors))
        elif kind == "class_swarm":
            self.detail_canvas.plot(lambda axes: charts.class_swarm(
                axes, factor, data.shap_values[factor].to_numpy(), data.factor_values[factor].to_numpy(),
                data.labels.to_numpy(dtype=float)))
        else:
            self.detail_canvas.plot(lambda axes: charts.dependence(
                axes, factor, data.factor_values[factor].to_numpy(), data.shap_values[factor].to_numpy(),
                None if data.prediction is None else data.prediction.to_numpy()))

    def run_shap(self):
        """Open deepprospect:shap's dialog with the loaded model and stack; show its output when done."""
        import processing

        model, stack = self.context()
        parameters = {}
        if model:
            parameters["MODEL"] = model
        if stack:
            parameters["STACK"] = stack
        results = processing.execAlgorithmDialog("deepprospect:shap", parameters)
        folder = (results or {}).get("OUTPUT_FOLDER")
        if folder:
            self.load(folder)
