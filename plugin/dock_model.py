"""The inspector's "Model" tab: what a ``.dpm`` bundle is, how well it validated, how it trained.

The engine sends the bundle's metadata in the one shape of ``models.metadata_schema`` (its
docstring lists every key): this tab reads that shape and nothing else; a value the bundle does
not hold is None and shows as "–".
"""
from pathlib import Path

from qgis.core import QgsCoordinateReferenceSystem, QgsSettings
from qgis.gui import QgsFileWidget
from qgis.PyQt.QtCore import Qt, pyqtSignal
from qgis.PyQt.QtWidgets import QComboBox, QFormLayout, QGroupBox, QTableWidgetItem, QWidget

from ..catalog import ARCHITECTURES, VALIDATION_SCHEMES
from .dock_charts import ChartView
from .dock_common import algorithm_title, number_item, set_status, show_path_quietly, wrapped_label
from .dock_layout import add_group, fit_table, make_table, scrollable_layout

RECENT_KEY = "DeepProspect/inspector/recentBundles"
RECENT_COUNT = 8

#: (row label, keys of the value in a METRICS dict of ``models.metadata_schema``) of the validation table.
METRIC_ROWS = (
    ("Accuracy", ("accuracy",)),
    ("ROC-AUC", ("roc_auc",)),
    ("PR-AUC", ("pr_auc",)),
    ("Precision (deposit)", ("deposit", "precision")),
    ("Recall (deposit)", ("deposit", "recall")),
    ("F1 (deposit)", ("deposit", "f1")),
    ("Precision (non-deposit)", ("non_deposit", "precision")),
    ("Recall (non-deposit)", ("non_deposit", "recall")),
    ("F1 (non-deposit)", ("non_deposit", "f1")),
)
#: The baselines of every bundle (catalog option ``baseline``): metadata key, column title.
BASELINES = tuple((name, ARCHITECTURES.label(name).replace(" ", "\n", 1)) for name in ARCHITECTURES.where(baseline=True))
#: Scores a cross-validated bundle holds as mean ± sd over its folds (keys of the metadata's
#: cross_validation summary); the last one gets its own row, below METRIC_ROWS.
FOLD_SCORES = ("roc_auc", "pr_auc")
PREDICTION_RATE_ROW = ("Prediction-rate AUC\n(held-out cells)", "prediction_rate_auc")
#: Hyper-parameters that have their own line (or say nothing a geologist needs here).
SHOWN_ELSEWHERE = ("architecture", "patch_size", "ensemble_size", "class_weight", "label_field", "loss",
                   "optimizer", "stopping_fraction")


def recent_bundles():
    """Paths of recently opened bundles that still exist, newest first."""
    value = QgsSettings().value(RECENT_KEY, [])
    if isinstance(value, str):
        value = [value] if value else []
    return [path for path in (value or []) if Path(path).exists()]


def remember_bundle(path):
    paths = [str(path)] + [item for item in recent_bundles() if item != str(path)]
    QgsSettings().setValue(RECENT_KEY, paths[:RECENT_COUNT])


def metric_value(metrics, keys):
    """The value at ``keys`` of a METRICS dict (``models.metadata_schema``): a fraction 0–1, or
    None when the bundle does not hold it."""
    for key in keys:
        metrics = metrics[key]
    return metrics


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
        self.path, self.metadata, self.ready = None, None, False
        self.load_request = self.prepare_request = None  # the engine calls of the last bundle
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
        self.status = wrapped_label(self.tr("Choose a .dpm bundle written by {}.").format(
            algorithm_title("deepprospect:train")))
        layout.addWidget(self.status)

        summary_box = QGroupBox(self.tr("Model"))
        self.summary = QFormLayout(summary_box)
        self.summary.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.summary_labels = {}
        for key, title in (("architecture", self.tr("Architecture")), ("factors", self.tr("Factors")),
                           ("hyperparameters", self.tr("Hyper-parameters")), ("balance", self.tr("Class balance")),
                           ("grid", self.tr("Grid")), ("seed", self.tr("Seed"))):
            self.summary_labels[key] = wrapped_label("–", selectable=True)
            self.summary.addRow(title, self.summary_labels[key])
        layout.addWidget(summary_box)

        self.metrics_table = make_table(len(METRIC_ROWS), 1 + len(BASELINES))
        self.metrics_table.setHorizontalHeaderLabels(
            [self.tr("This model")] + [self.tr(title) for _, title in BASELINES])
        self.metrics_table.setVerticalHeaderLabels([self.tr(title) for title, _ in METRIC_ROWS])
        fit_table(self.metrics_table)
        self.validation_note = wrapped_label()
        add_group(layout, self.tr("Validation metrics"), self.metrics_table, self.validation_note)

        self.confusion_table = make_table(3, 3)
        # Pradhan et al. (2022), Table 3: rows actual, columns predicted, deposit first
        self.confusion_table.setHorizontalHeaderLabels(
            [self.tr("Predicted\ndeposit"), self.tr("Predicted\nnon-deposit"), self.tr("Total")])
        self.confusion_table.setVerticalHeaderLabels(
            [self.tr("Actual deposit"), self.tr("Actual non-deposit"), self.tr("Total")])
        fit_table(self.confusion_table)
        add_group(layout, self.tr("Confusion matrix (validation points)"), self.confusion_table)

        self.curves = ChartView(chart_folder=self.engine.chart_folder)
        self.curves.redrawRequested.connect(self._redraw_curves)
        add_group(layout, self.tr("Training curves"), self.curves)
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
        """The engine's answer to :meth:`load`: show the bundle, then load it into the engine."""
        if error is not None:
            self._set_status(str(error), error=True)
            return
        self.path, self.metadata, self.ready = path, result["summary"], False
        show_path_quietly(self.file_widget, path)
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
        set_status(self.status, text, error)

    # Display ---------------------------------------------------------------------------
    def show_metadata(self, metadata, curves_png=None):
        """Fill every section from a bundle's summary (``models.metadata_schema``'s shape) and
        the engine's curves picture."""
        labels = self.summary_labels
        architecture = metadata["architecture"]
        if architecture in ARCHITECTURES:   # the catalog's words, not the code name
            architecture = ARCHITECTURES.label(architecture)
        if metadata["uses_patches"]:
            architecture += self.tr(" — {0}×{0} pixel patches").format(metadata["patch_size"])
        if metadata["ensemble_size"] > 1:
            architecture += self.tr(", ensemble of {}").format(metadata["ensemble_size"])
        labels["architecture"].setText(architecture)
        factors = metadata["factor_names"]
        labels["factors"].setText("{}: {}".format(len(factors), ", ".join(factors)))
        hyperparameters = {key: value for key, value in metadata["hyperparameters"].items()
                           if key not in SHOWN_ELSEWHERE}
        if hyperparameters.get("validation") in VALIDATION_SCHEMES:
            hyperparameters["validation"] = VALIDATION_SCHEMES.label(hyperparameters["validation"])
        labels["hyperparameters"].setText(_format_mapping(hyperparameters) or "–")
        labels["balance"].setText(self._balance_text(metadata["class_balance"]))
        labels["grid"].setText(_format_grid(metadata["grid"]))
        labels["seed"].setText(_format_value(metadata["seed"]))
        self._show_metrics(metadata["metrics"], metadata["baselines"], metadata.get("cross_validation"))
        self._show_confusion(metadata["metrics"]["confusion_matrix"])
        self._show_curves(curves_png)
        self.validation_note.setText(self._validation_text(metadata["validation"]))

    def _balance_text(self, balance):
        if balance["deposit"] is None and balance["non_deposit"] is None:
            return "–"
        return self.tr("{} deposits · {} non-deposits").format(
            _format_value(balance["deposit"]), _format_value(balance["non_deposit"]))

    def _validation_text(self, validation):
        """The validation scheme's label and description (``catalog.VALIDATION_SCHEMES``), block
        size, and the points on each side."""
        scheme = validation["scheme"]
        if scheme is None:
            return ""
        text = VALIDATION_SCHEMES.label(scheme)
        if validation["block_size"]:
            text += self.tr(" of {:g} km").format(validation["block_size"] / 1000.0)
        if scheme in VALIDATION_SCHEMES:
            text += ": " + VALIDATION_SCHEMES.get(scheme).description
        if validation["folds"]:
            text += self.tr(" {} folds; the final model was trained on all {} points, the table shows the "
                            "folds' mean ± sd.").format(validation["folds"], _format_value(validation["training_points"]))
            return text
        if validation["training_points"] is not None:
            text += self.tr(" {} training and {} validation points.").format(
                validation["training_points"], _format_value(validation["validation_points"]))
        return text

    def _show_metrics(self, metrics, baselines, cross_validation=None):
        """The validation table; for a cross-validated bundle (``cross_validation``: the
        metadata's summary shape) ROC-AUC and PR-AUC read "mean ± sd" over the folds and a last
        row holds the held-out prediction-rate AUC."""
        columns = [metrics] + [baselines[key] for key, _ in BASELINES]
        rows = list(METRIC_ROWS)
        self.metrics_table.setRowCount(len(rows) + (1 if cross_validation else 0))
        if cross_validation:
            rows.append((PREDICTION_RATE_ROW[0], None))
        self.metrics_table.setVerticalHeaderLabels([self.tr(title) for title, _ in rows])
        models = ["network"] + [key for key, _ in BASELINES]
        for row, (_, keys) in enumerate(rows):
            fold_key = PREDICTION_RATE_ROW[1] if keys is None else (keys[0] if keys[0] in FOLD_SCORES else None)
            spread = [cross_validation["summary"][model][fold_key] for model in models] \
                if cross_validation and fold_key else [None] * len(models)
            values = [score["mean"] if score else metric_value(column, keys) for column, score in zip(columns, spread)]
            best = max((value for value in values if value is not None), default=None)
            several = sum(value is not None for value in values) > 1
            for column, (value, score) in enumerate(zip(values, spread)):
                text = "–" if value is None else "{:.3f}".format(value)
                if score and score["sd"] is not None:
                    text += " ± {:.3f}".format(score["sd"])
                self.metrics_table.setItem(row, column, number_item(text, bold=several and value == best))
        fit_table(self.metrics_table)

    def _show_confusion(self, matrix):
        """``matrix``: [[TP, FN], [FP, TN]] (rows actual, columns predicted, deposit first) or None."""
        for row in range(3):
            for column in range(3):
                self.confusion_table.setItem(row, column, QTableWidgetItem(""))
        if matrix is None:
            return
        (tp, fn), (fp, tn) = matrix
        cells = [[tp, fn, tp + fn], [fp, tn, fp + tn], [tp + fp, fn + tn, tp + fn + fp + tn]]
        for row in range(3):
            for column in range(3):
                diagonal = row == column and row < 2
                self.confusion_table.setItem(row, column, number_item(str(cells[row][column]), bold=diagonal))
        fit_table(self.confusion_table)

    def _show_curves(self, curves_png):
        if curves_png:
            self.curves.show_png(curves_png)
        else:
            self.curves.message(self.tr("This bundle holds no training history."))


def _format_value(value):
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "{:g}".format(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(_format_value(item) for item in value)
    return str(value)


#: Hyper-parameter names whose words are not simply the name with spaces.
PARAMETER_WORDS = {"l2": "L2 weight penalty"}


def _format_mapping(mapping):
    return " · ".join("{}: {}".format(PARAMETER_WORDS.get(key, str(key).replace("_", " ")), _format_value(value))
                      for key, value in mapping.items() if value is not None and not isinstance(value, dict))


def _format_grid(grid):
    """The grid's CRS name and pixel size (map units; "m" in the projected CRSs the models use)."""
    crs = QgsCoordinateReferenceSystem.fromWkt(grid["crs_wkt"]) if grid["crs_wkt"] else None
    name = crs.userFriendlyIdentifier() if crs is not None and crs.isValid() else "unknown CRS"
    if grid["pixel_size"] is None:
        return name if crs is not None else "–"
    return "{} · {} m pixels".format(name, _format_value(grid["pixel_size"]))
