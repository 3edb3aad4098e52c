"""The inspector's "Importance" tab: the SHAP charts of a ``deepprospect:shap`` output folder
(bar chart, beeswarm, and a class swarm or dependence plot of any factor), drawn by the engine
(task ``shap_charts``) with the same functions as the SHAP report."""
from pathlib import Path

from qgis.core import QgsApplication, QgsSettings
from qgis.gui import QgsFileWidget
from qgis.PyQt.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QPushButton, QWidget

from .dock_charts import ChartView, discard_png
from .dock_common import algorithm_title, set_status, show_path_quietly, wrapped_label
from .dock_layers import training_points_layer
from .dock_layout import add_group, scrollable_layout

LAST_FOLDER_KEY = "DeepProspect/inspector/lastShapFolder"


class ImportanceTab(QWidget):
    """Pick a SHAP folder (or run ``deepprospect:shap``); shows the bar chart and a chosen detail chart.

    ``context`` is a callable returning ``(model_path, stack_path)`` to pre-fill the SHAP dialog.
    After the engine answered, :attr:`factors` lists the factors (most important first) and
    :attr:`samples` the number of pixels explained; :attr:`request` is the last engine call.
    """

    def __init__(self, engine, context=None, parent=None):
        super().__init__(parent)
        self.engine = engine
        self.context = context or (lambda: (None, None))
        self.folder = None
        self.factors = []
        self.samples = 0
        self.request = None
        self._build()
        last = QgsSettings().value(LAST_FOLDER_KEY, "")
        if last and Path(last).is_dir():
            self.folder_widget.setFilePath(last)

    def _build(self):
        layout = scrollable_layout(self)

        form = QFormLayout()
        folder_row = QHBoxLayout()
        self.folder_widget = QgsFileWidget()
        self.folder_widget.setStorageMode(QgsFileWidget.StorageMode.GetDirectory)
        self.folder_widget.setDialogTitle(self.tr("Output folder of {}").format(algorithm_title("deepprospect:shap")))
        self.folder_widget.fileChanged.connect(self._folder_chosen)
        folder_row.addWidget(self.folder_widget, 1)
        self.run_button = QPushButton(self.tr("Run SHAP…"))
        self.run_button.setToolTip(self.tr(
            "Open {} with the loaded model, its stack and the project's training points: every training point "
            "(deposits first, as the points file lists them) is explained, then random pixels").format(
                algorithm_title("deepprospect:shap")))
        self.run_button.clicked.connect(self.run_shap)
        folder_row.addWidget(self.run_button)
        form.addRow(self.tr("SHAP folder"), folder_row)
        layout.addLayout(form)
        self.status = wrapped_label(self.tr("Choose the output folder of an {} run, or run it.").format(
            algorithm_title("deepprospect:shap")))
        layout.addWidget(self.status)

        self.bar_chart = ChartView(chart_folder=self.engine.chart_folder)
        self.bar_chart.redrawRequested.connect(self._redraw_bar)
        add_group(layout, self.tr("Factor importance (mean |SHAP|)"), self.bar_chart)

        self.chart_combo = QComboBox()
        self.chart_combo.currentIndexChanged.connect(self._detail_chosen)
        self.detail_chart = ChartView(chart_folder=self.engine.chart_folder)
        self.detail_chart.redrawRequested.connect(lambda args: self._detail_chosen(self.chart_combo.currentIndex()))
        add_group(layout, self.tr("Detail"), self.chart_combo, self.detail_chart)
        layout.addStretch(1)

    def _folder_chosen(self, folder):
        if folder:
            self.load(folder)

    def load(self, folder):
        """Ask the engine for the folder's bar chart and beeswarm; shown when it answers.
        Returns the engine request."""
        folder = str(folder)
        set_status(self.status, self.tr("Reading {}…").format(folder))
        self.request = self._ask_charts("importance", folder, [{"kind": "importance"}, {"kind": "beeswarm"}],
                                        self.bar_chart.render_args(),
                                        lambda result, error: self._loaded(folder, result, error))
        return self.request

    def _ask_charts(self, channel, folder, charts, render_args, on_done):
        """Ask the engine (task ``shap_charts``) for ``charts`` of ``folder`` drawn with
        ``render_args`` (a chart view's width); ``on_done(result, error)`` gets the answer."""
        return self.engine.request(channel, "shap_charts", dict(folder=folder, charts=charts, **render_args), on_done,
                                   self.tr("DeepProspect: SHAP charts of {}").format(Path(folder).name))

    def _loaded(self, folder, result, error):
        if error is not None:
            self.folder, self.factors, self.samples = None, [], 0
            set_status(self.status, str(error), error=True)
            self.bar_chart.message("")
            self.chart_combo.clear()
            self.detail_chart.message("")
            return
        self.folder, self.factors, self.samples = folder, result["factors"], result["samples"]
        show_path_quietly(self.folder_widget, folder)
        QgsSettings().setValue(LAST_FOLDER_KEY, folder)
        set_status(self.status, self.tr("{} samples explained; most important: {}.").format(
            self.samples, ", ".join(self.factors[:3])))
        self._fill_combo(result["has_labels"])
        bar, beeswarm = result["charts"]
        self.bar_chart.show_png(bar)
        self.detail_chart.show_png(beeswarm)

    def _redraw_bar(self, render_args):
        if self.folder is None:
            return
        folder = self.folder
        self._ask_charts("importance-bar", folder, [{"kind": "importance"}], render_args,
                         lambda result, error: self._bar_drawn(folder, result, error))

    def _bar_drawn(self, folder, result, error):
        if error is None and folder == self.folder:
            self.bar_chart.show_png(result["charts"][0])
        elif result:
            discard_png(result["charts"][0])

    def _fill_combo(self, has_labels):
        self.chart_combo.blockSignals(True)
        self.chart_combo.clear()
        self.chart_combo.addItem(self.tr("Beeswarm: every factor"), ("beeswarm", None))
        if has_labels:
            for factor in self.factors:
                self.chart_combo.addItem(self.tr("By class (deposit / non-deposit): {}").format(factor),
                                         ("class_swarm", factor))
        for factor in self.factors:
            self.chart_combo.addItem(self.tr("Dependence: {}").format(factor), ("dependence", factor))
        self.chart_combo.setCurrentIndex(0)
        self.chart_combo.blockSignals(False)

    def show_chart(self, kind, factor=None):
        """Select a detail chart: ``kind`` "beeswarm", "class_swarm" or "dependence". Returns the
        engine request drawing it, or None when the folder has no such chart."""
        for index in range(self.chart_combo.count()):
            if self.chart_combo.itemData(index) == (kind, factor):
                if index == self.chart_combo.currentIndex():
                    return self._detail_chosen(index)
                self.chart_combo.setCurrentIndex(index)
                return self.request
        return None

    def _detail_chosen(self, index):
        if self.folder is None or index < 0:
            return None
        kind, factor = self.chart_combo.itemData(index)
        self.detail_chart.message(self.tr("Drawing…"))
        self.request = self._ask_charts("importance-detail", self.folder, [{"kind": kind, "factor": factor}],
                                        self.detail_chart.render_args(),
                                        lambda result, error: self._detail_drawn(index, result, error))
        return self.request

    def _detail_drawn(self, index, result, error):
        if index != self.chart_combo.currentIndex():  # another chart was chosen meanwhile
            for path in (result or {}).get("charts", ()):
                discard_png(path)
            return
        if error is not None:
            self.detail_chart.message(str(error))
            return
        self.detail_chart.show_png(result["charts"][0])

    def shap_parameters(self):
        """What the SHAP dialog opens with: the loaded model and stack, and the project's training points
        (deepprospect:sample_negatives' output, deposits first) with enough pixels to explain every one of
        them before any random pixel (the engine samples among the points when there are more than that)."""
        model, stack = self.context()
        parameters = {}
        if model:
            parameters["MODEL"] = model
        if stack:
            parameters["STACK"] = stack
        points = training_points_layer()
        if points is not None:
            parameters["POINTS"] = points.id()
            parameters["SAMPLE_SIZE"] = max(_default_sample_size(), points.featureCount())
        return parameters

    def run_shap(self):
        """Open deepprospect:shap's dialog (:meth:`shap_parameters`); show its output when done."""
        import processing

        parameters = self.shap_parameters()
        results = processing.execAlgorithmDialog("deepprospect:shap", parameters)
        folder = (results or {}).get("OUTPUT_FOLDER")
        if folder:
            self.load(folder)


def _default_sample_size():
    """deepprospect:shap's own SAMPLE_SIZE default (0 when the algorithm is not registered)."""
    algorithm = QgsApplication.processingRegistry().algorithmById("deepprospect:shap")
    return int(algorithm.parameterDefinition("SAMPLE_SIZE").defaultValue()) if algorithm is not None else 0
