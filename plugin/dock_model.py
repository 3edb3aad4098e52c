"""The inspector's "Model" tab: what a ``.dpm`` bundle is, how well it validated, how it trained."""
from pathlib import Path

from qgis.core import QgsCoordinateReferenceSystem, QgsSettings
from qgis.gui import QgsFileWidget
from qgis.PyQt.QtCore import Qt, pyqtSignal
from qgis.PyQt.QtGui import QFont
from qgis.PyQt.QtWidgets import QComboBox, QFormLayout, QGroupBox, QLabel, QTableWidgetItem, QVBoxLayout, QWidget

from .dock_charts import ChartView
from .dock_layout import fit_table, make_table, scrollable_layout

RECENT_KEY = "DeepProspect/inspector/recentBundles"
RECENT_COUNT = 8

#: (row label, metric key, class) of the validation table; class None = a whole-model metric.
METRIC_ROWS = (
    ("Accuracy", "accuracy", None),
    ("ROC-AUC", "roc_auc", None),
    ("PR-AUC", "pr_auc", None),
    ("Precision (deposit)", "precision", 1),
    ("Recall (deposit)", "recall", 1),
    ("F1 (deposit)", "f1", 1),
    ("Precision (non-deposit)", "precision", 0),
    ("Recall (non-deposit)", "recall", 0),
    ("F1 (non-deposit)", "f1", 0),
)
BASELINES = (("logistic_regression", "Logistic\nregression"), ("random_forest", "Random\nforest"))
#: Hyper-parameters that have their own line (or say nothing a geologist needs here).
SHOWN_ELSEWHERE = ("architecture", "patch_size", "ensemble_size", "class_weight", "label_field", "loss",
                   "optimizer", "stopping_fraction")
CLASS_KEYS = {1: ("1", "deposit", 1), 0: ("0", "non_deposit", "non-deposit", 0)}


def recent_bundles():
    """Paths of recently opened bundles that still exist, newest first."""
    value = QgsSettings().value(RECENT_KEY, [])
    if isinstance(value, str):
        value = [value] if value else []
    return [path for path in (value or []) if Path(path).exists()]


def remember_bundle(path):
    paths = [str(path)] + [item for item in recent_bundles() if item != str(path)]
    QgsSettings().setValue(RECENT_KEY, paths[:RECENT_COUNT])


def metric_value(metrics, key, label=None):
    """A metric from a bundle's ``metrics`` dict, for a class (1 deposit, 0 non-deposit) or overall.

    Per-class values are read as ``models.evaluation.classification_metrics`` writes them
    (``metrics["deposit"]["f1"]``), or as ``metrics[key][class]``, ``metrics["per_class"][class][key]``
    or ``metrics["f1_deposit"]``; returns None when the bundle does not hold the metric.
    """
    if not metrics:
        return None
    if label is None:
        value = metrics.get(key)
        return float(value) if isinstance(value, (int, float)) else None
    for name in CLASS_KEYS[label]:
        value = metrics.get("{}_{}".format(key, name))
        if isinstance(value, (int, float)):
            return float(value)
    for name in CLASS_KEYS[label]:
        nested = metrics.get(name) if not isinstance(name, int) else None
        if isinstance(nested, dict) and isinstance(nested.get(key), (int, float)):
            return float(nested[key])
    candidates = []
    if isinstance(metrics.get(key), dict):
        candidates.append(metrics[key])
    per_class = metrics.get("per_class") or metrics.get("classes")
    if isinstance(per_class, dict):
        candidates += [{name: (values or {}).get(key) for name, values in per_class.items()}]
    for table in candidates:
        for name in CLASS_KEYS[label]:
            value = table.get(name) if not isinstance(name, int) else table.get(name, table.get(str(name)))
            if isinstance(value, (int, float)):
                return float(value)
    return None


class ModelTab(QWidget):
    """Pick a bundle; show its architecture, factors, hyper-parameters, metrics and training curves.

    The engine reads the bundle (task ``bundle_summary``, no TensorFlow: it answers at once) and
    draws the curves. Emits ``metadataLoaded(path, summary)`` when they are shown, then loads the
    model into the dock's warm engine (task ``prepare_model``) so the first click on the map does
    not wait for TensorFlow, and emits ``modelReady(path)``.
    """

    metadataLoaded = pyqtSignal(str, dict)
    modelReady = pyqtSignal(str)

    def __init__(self, engine, parent=None):
        super().__init__(parent)
        self.engine = engine
        self.path = None
        self.metadata = None
        self.ready = False
        self.load_request = None
        self.prepare_request = None
        self._build()
        self._fill_recent()

    # Layout ----------------------------------------------------------------------------
    def _build(self):
        layout = scrollable_layout(self)

        pick = QFormLayout()
        self.file_widget = QgsFileWidget()
        self.file_widget.setFilter(self.tr("DeepProspect model (*.dpm)"))
        self.file_widget.setDialogTitle(self.tr("Open a DeepProspect model bundle"))
        self.file_widget.fileChanged.connect(self._file_chosen)
        pick.addRow(self.tr("Model bundle"), self.file_widget)
        self.recent_combo = QComboBox()
        self.recent_combo.activated.connect(self._recent_chosen)
        pick.addRow(self.tr("Recent"), self.recent_combo)
        layout.addLayout(pick)
        self.status = QLabel(self.tr("Choose a .dpm bundle written by deepprospect:train."))
        self.status.setWordWrap(True)
        layout.addWidget(self.status)

        summary_box = QGroupBox(self.tr("Model"))
        self.summary = QFormLayout(summary_box)
        self.summary.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.summary_labels = {}
        for key, title in (("architecture", self.tr("Architecture")), ("factors", self.tr("Factors")),
                           ("hyperparameters", self.tr("Hyper-parameters")), ("balance", self.tr("Class balance")),
                           ("grid", self.tr("Grid")), ("seed", self.tr("Seed"))):
            label = QLabel("–")
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.summary.addRow(title, label)
            self.summary_labels[key] = label
        layout.addWidget(summary_box)

        metrics_box = QGroupBox(self.tr("Validation metrics"))
        metrics_layout = QVBoxLayout(metrics_box)
        self.metrics_table = make_table(len(METRIC_ROWS), 1 + len(BASELINES))
        self.metrics_table.setHorizontalHeaderLabels(
            [self.tr("Network")] + [self.tr(title) for _, title in BASELINES])
        self.metrics_table.setVerticalHeaderLabels([self.tr(title) for title, _, _ in METRIC_ROWS])
        fit_table(self.metrics_table)
        metrics_layout.addWidget(self.metrics_table)
        self.validation_note = QLabel("")
        self.validation_note.setWordWrap(True)
        metrics_layout.addWidget(self.validation_note)
        layout.addWidget(metrics_box)

        confusion_box = QGroupBox(self.tr("Confusion matrix (validation points)"))
        confusion_layout = QVBoxLayout(confusion_box)
        self.confusion_table = make_table(3, 3)
        # Pradhan et al. (2022), Table 3: rows actual, columns predicted, deposit first
        self.confusion_table.setHorizontalHeaderLabels(
            [self.tr("Predicted\ndeposit"), self.tr("Predicted\nnon-deposit"), self.tr("Total")])
        self.confusion_table.setVerticalHeaderLabels(
            [self.tr("Actual deposit"), self.tr("Actual non-deposit"), self.tr("Total")])
        fit_table(self.confusion_table)
        confusion_layout.addWidget(self.confusion_table)
        layout.addWidget(confusion_box)

        curves_box = QGroupBox(self.tr("Training curves"))
        curves_layout = QVBoxLayout(curves_box)
        self.curves = ChartView(chart_folder=self.engine.chart_folder)
        self.curves.redrawRequested.connect(self._redraw_curves)
        curves_layout.addWidget(self.curves)
        layout.addWidget(curves_box)
        layout.addStretch(1)

    def _fill_recent(self):
        self.recent_combo.clear()
        paths = recent_bundles()
        self.recent_combo.addItem(self.tr("— recent bundles —") if paths else self.tr("— none yet —"), "")
        for path in paths:
            self.recent_combo.addItem(Path(path).name, path)
            self.recent_combo.setItemData(self.recent_combo.count() - 1, path, Qt.ItemDataRole.ToolTipRole)

    def _recent_chosen(self, index):
        path = self.recent_combo.itemData(index)
        if path:
            self.file_widget.setFilePath(path)

    def _file_chosen(self, path):
        if path and path != self.path:
            self.load(path)

    # Loading ---------------------------------------------------------------------------
    def load(self, path):
        """Ask the engine for ``path``'s summary and curves; they are shown when it answers.

        Returns the engine :class:`~.tasks.Request` (None when the file does not exist).
        """
        path = str(path)
        if not Path(path).is_file():
            self._set_status(self.tr("The model bundle {} does not exist.").format(path), error=True)
            return None
        self._set_status(self.tr("Reading {}…").format(Path(path).name))
        args = dict(model=path, **self.curves.render_args())
        self.load_request = self.engine.request(
            "model", "bundle_summary", args, lambda result, error: self._summarised(path, result, error),
            self.tr("DeepProspect: reading model {}").format(Path(path).name))
        return self.load_request

    def _summarised(self, path, result, error):
        if error is not None:
            self._set_status(str(error), error=True)
            return
        self.path, self.metadata, self.ready = path, result["summary"], False
        if self.file_widget.filePath() != path:
            self.file_widget.blockSignals(True)
            self.file_widget.setFilePath(path)
            self.file_widget.blockSignals(False)
        remember_bundle(path)
        self._fill_recent()
        self.show_metadata(self.metadata, result.get("curves_png"))
        self.metadataLoaded.emit(path, self.metadata)
        self._set_status(self.tr("Loading the model into the engine (TensorFlow)…"))
        self.prepare_request = self.engine.request(
            "prepare", "prepare_model", {"model": path}, lambda output, failure: self._prepared(path, output, failure),
            self.tr("DeepProspect: loading model {}").format(Path(path).name))

    def _prepared(self, path, output, error):
        if path != self.path:  # another bundle was chosen meanwhile
            return
        if error is not None:
            self._set_status(self.tr("The metrics are shown, but the model itself could not be loaded: {}").format(
                error), error=True)
            return
        self.ready = True
        members = output["members"]
        self._set_status(self.tr("Model loaded: {} ({} member{}).").format(
            Path(path).name, members, "" if members == 1 else "s"))
        self.modelReady.emit(path)

    def _redraw_curves(self, render_args):
        if self.path:
            self.engine.request("model-curves", "bundle_summary", dict(model=self.path, **render_args),
                                lambda result, error: self._show_curves(result.get("curves_png")) if result else None,
                                self.tr("DeepProspect: training curves"))

    def _set_status(self, text, error=False):
        self.status.setText(text)
        self.status.setStyleSheet("color: #b00020;" if error else "")

    # Display ---------------------------------------------------------------------------
    def show_metadata(self, metadata, curves_png=None):
        """Fill every section from a bundle's summary (metadata) and the engine's curves picture."""
        labels = self.summary_labels
        architecture = metadata.get("architecture", "?")
        if metadata.get("architecture") in ("cnn2d_patch",):
            architecture += self.tr(" — {0}×{0} pixel patches").format(metadata.get("patch_size", "?"))
        members = metadata.get("ensemble_size", 1)
        if members and members > 1:
            architecture += self.tr(", ensemble of {}").format(members)
        labels["architecture"].setText(architecture)
        factors = metadata.get("factor_names", [])
        labels["factors"].setText("{}: {}".format(len(factors), ", ".join(factors)))
        hyperparameters = {key: value for key, value in (metadata.get("hyperparameters") or {}).items()
                           if key not in SHOWN_ELSEWHERE}
        labels["hyperparameters"].setText(_format_mapping(hyperparameters) or "–")
        labels["balance"].setText(_format_balance(metadata.get("class_balance")))
        labels["grid"].setText(_format_grid(metadata.get("grid")))
        labels["seed"].setText(str(metadata.get("seed", "–")))
        self._show_metrics(metadata.get("metrics") or {}, metadata.get("baselines") or {})
        metrics = metadata.get("metrics") or {}
        self._show_confusion(metrics.get("confusion_matrix"), metrics.get("confusion_matrix_layout", ""))
        self._show_curves(curves_png)
        self.validation_note.setText(self._validation_text(metadata))

    def _validation_text(self, metadata):
        validation = metadata.get("validation") or (metadata.get("hyperparameters") or {}).get("validation")
        details = validation if isinstance(validation, dict) else {}
        scheme = details.get("scheme", validation) if details else validation
        counts = ""
        if details.get("training_points") is not None:
            counts = self.tr(" {} training and {} validation points.").format(
                details["training_points"], details.get("validation_points", "?"))
        if scheme == "random":
            return self.tr("Random split:{} Neighbouring pixels can sit on both sides, so these scores are "
                           "optimistic; spatial-block validation gives a fairer estimate.").format(counts)
        if scheme == "spatial_blocks":
            size = details.get("block_size")
            blocks = self.tr(" of {:g} km").format(size / 1000.0) if size else ""
            return self.tr("Spatial blocks{}: whole blocks held out for validation.{}").format(blocks, counts)
        return self.tr("Validation: {}.").format(str(scheme).replace("_", " ")) if scheme else ""

    def _show_metrics(self, metrics, baselines):
        columns = [metrics] + [baselines.get(key) or {} for key, _ in BASELINES]
        for row, (_, key, label) in enumerate(METRIC_ROWS):
            values = [metric_value(column, key, label) for column in columns]
            best = max((value for value in values if value is not None), default=None)
            for column, value in enumerate(values):
                item = QTableWidgetItem("–" if value is None else "{:.3f}".format(value))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if value is not None and value == best and sum(v is not None for v in values) > 1:
                    font = QFont()
                    font.setBold(True)
                    item.setFont(font)
                self.metrics_table.setItem(row, column, item)
        fit_table(self.metrics_table)

    def _show_confusion(self, matrix, layout=""):
        for row in range(3):
            for column in range(3):
                self.confusion_table.setItem(row, column, QTableWidgetItem(""))
        if not matrix or len(matrix) != 2:
            return
        counts = [[int(value) for value in row] for row in matrix]
        if "[non-deposit, deposit]" in (layout or ""):  # scikit-learn's default order: flip to Table 3's
            counts = [row[::-1] for row in counts[::-1]]
        (tp, fn), (fp, tn) = counts
        cells = [[tp, fn, tp + fn], [fp, tn, fp + tn], [tp + fp, fn + tn, tp + fn + fp + tn]]
        for row in range(3):
            for column in range(3):
                item = QTableWidgetItem(str(cells[row][column]))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if row == column and row < 2:
                    font = QFont()
                    font.setBold(True)
                    item.setFont(font)
                self.confusion_table.setItem(row, column, item)
        fit_table(self.confusion_table)

    def _show_curves(self, curves_png):
        if curves_png:
            self.curves.show_png(curves_png)
        else:
            self.curves.message(self.tr("This bundle holds no training history."))


def _format_value(value):
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "{:g}".format(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(_format_value(item) for item in value)
    return str(value)


def _format_mapping(mapping):
    return " · ".join("{}: {}".format(str(key).replace("_", " "), _format_value(value))
                      for key, value in mapping.items() if value is not None and not isinstance(value, dict))


def _format_balance(balance):
    if not balance:
        return "–"
    if not isinstance(balance, dict):
        return _format_value(balance)
    names = {"1": "deposits", "deposit": "deposits", "0": "non-deposits", "non_deposit": "non-deposits"}
    return " · ".join("{} {}".format(_format_value(value), names.get(str(key), str(key).replace("_", " ")))
                      for key, value in balance.items() if not isinstance(value, dict))


def _format_grid(grid):
    if not grid:
        return "–"
    crs = QgsCoordinateReferenceSystem.fromWkt(grid.get("crs_wkt", "")) if grid.get("crs_wkt") else None
    name = crs.userFriendlyIdentifier() if crs is not None and crs.isValid() else grid.get("crs", "unknown CRS")
    size = grid.get("pixel_size")
    if isinstance(size, (list, tuple)):
        size = size[0]
    return "{} · {} m pixels".format(name, _format_value(size)) if size else name
