"""Matplotlib inside the dock: a Qt5Agg canvas, and the charts the explanation module does not draw
(training curves). SHAP charts come from ``models`` so the dock and the SHAP report look alike."""
from matplotlib.backends.backend_qt5agg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from qgis.PyQt.QtWidgets import QSizePolicy

#: Training (solid) and validation (dashed) curves share a colour per ensemble member.
#: Font sizes for a chart a few hundred pixels wide (the report's PNGs use matplotlib's defaults).
DOCK_STYLE = {"font.size": 7, "axes.titlesize": 8, "axes.labelsize": 7.5, "xtick.labelsize": 7,
              "ytick.labelsize": 7, "legend.fontsize": 7}
MEMBER_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f")


class ChartCanvas(FigureCanvasQTAgg):
    """A live matplotlib figure in a Qt widget; :meth:`plot` redraws it with a drawing function."""

    def __init__(self, parent=None, height_inches=3.0, width_inches=4.6, dpi=100):
        # constrained layout re-fits labels at every draw, so the chart follows the dock's width
        self.figure = Figure(figsize=(width_inches, height_inches), dpi=dpi, layout="constrained")
        super().__init__(self.figure)
        self.setParent(parent)
        self.setMinimumHeight(int(height_inches * dpi))
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.message("")

    def plot(self, draw, n_axes=1, sharex=False):
        """Clear the figure, call ``draw(axes)`` (one Axes, or a list when ``n_axes`` > 1), redraw.

        Returns True; False (with the reason shown in place of the chart, and logged) when
        drawing failed, so a chart problem never takes the dock down.
        """
        from matplotlib import rc_context

        self.figure.clear()
        try:
            with rc_context(DOCK_STYLE):
                if n_axes == 1:
                    axes = self.figure.add_subplot(1, 1, 1)
                else:
                    axes = list(self.figure.subplots(1, n_axes, sharex=sharex))
                draw(axes)
                self.draw()
        except Exception as error:  # noqa: BLE001 (any drawing bug becomes a visible message)
            from qgis.core import Qgis, QgsMessageLog

            QgsMessageLog.logMessage("DeepProspect inspector: could not draw a chart: {!r}".format(error),
                                     "DeepProspect", Qgis.Warning)
            self.message("Could not draw this chart: {}".format(error))
            return False
        return True

    def message(self, text):
        """Show ``text`` in place of a chart (e.g. why there is nothing to draw)."""
        self.figure.clear()
        if text:
            self.figure.text(0.5, 0.5, text, ha="center", va="center", wrap=True, color="#555555", fontsize=9)
        self.draw()


def draw_training_curves(axes, history):
    """Loss and accuracy per epoch (Pradhan et al. 2022, Figure 7) on two Axes.

    ``history``: list (one per ensemble member) of dicts with lists ``loss``, ``val_loss``,
    ``accuracy``, ``val_accuracy`` (one value per epoch). Missing keys are skipped.
    """
    loss_axes, accuracy_axes = axes
    for index, member in enumerate(history):
        colour = MEMBER_COLOURS[index % len(MEMBER_COLOURS)]
        for target, key in ((loss_axes, "loss"), (accuracy_axes, "accuracy")):
            for prefix, style, label in (("", "-", "training"), ("val_", "--", "validation")):
                values = member.get(prefix + key)
                if values:
                    target.plot(range(1, len(values) + 1), values, style, color=colour, linewidth=1.2,
                                label=label if index == 0 else None)
    for target, title, unit in ((loss_axes, "Loss", "Cross-entropy"), (accuracy_axes, "Accuracy", "Fraction correct")):
        target.set_title(title, fontsize=9)
        target.set_xlabel("Epoch", fontsize=8)
        target.set_ylabel(unit, fontsize=8)
        target.tick_params(labelsize=7)
        target.grid(True, alpha=0.3)
    if loss_axes.lines:
        title = "colour: ensemble member" if len(history) > 1 else None
        loss_axes.legend(fontsize=7, title=title, title_fontsize=7, frameon=False, loc="upper right")
