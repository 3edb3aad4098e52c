"""The inspector dock's pictures: the charts of ``models.charts`` drawn at the dock's width.

The same chart functions draw the SHAP report and the training report; here they are drawn on
a matplotlib ``Figure`` (no pyplot: the Agg canvas, no display) ``width`` screen pixels wide
(``scale`` = the screen's device pixel ratio), with font sizes for a narrow panel, and saved as
a new PNG in ``chart_folder`` (the dock's temporary folder, which it empties); the dock shows
it as a picture scaled to its width.
"""
import os
import tempfile
from pathlib import Path

import numpy as np

from ..core.errors import DeepProspectError
from ..models import charts

#: Font sizes for a chart a few hundred pixels wide (the report's PNGs use matplotlib's defaults).
DOCK_STYLE = {"font.size": 8, "axes.titlesize": 9, "axes.labelsize": 8, "xtick.labelsize": 7.5,
              "ytick.labelsize": 8, "legend.fontsize": 8}
#: Bars drawn individually in the waterfall; the rest are summed into one "other factors" bar.
WATERFALL_FACTORS = 10
#: Chart width in screen pixels when the dock does not say (its usual width).
DEFAULT_WIDTH = 460
#: Height / width of each picture (SHAP charts with many factors grow taller, see :func:`shap_chart`).
ASPECTS = {"curves": 0.6, "waterfall": 0.74, "class_swarm": 0.7, "dependence": 0.7}
#: SHAP charts the dock can ask for, drawn by ``models.charts``.
SHAP_CHARTS = ("importance", "beeswarm", "class_swarm", "dependence")


def render(args, name, draw, aspect, layout="constrained"):
    """Draw ``draw(figure)`` on a figure ``width`` screen pixels wide and ``aspect`` × as tall, save
    it as a new PNG in ``chart_folder`` and return its path. ``layout`` None: ``draw`` places the
    axes itself (constrained layout costs a third of a click's time)."""
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    width = max(200, int(args.get("width") or DEFAULT_WIDTH))
    scale = min(4.0, max(1.0, float(args.get("scale") or 1.0)))
    folder = Path(args.get("chart_folder") or tempfile.gettempdir())
    folder.mkdir(parents=True, exist_ok=True)
    dpi = 100.0
    with rc_context(DOCK_STYLE):
        # constrained layout fits the labels into the width the dock has
        figure = Figure(figsize=(width / dpi, width * aspect / dpi), dpi=dpi, layout=layout)
        FigureCanvasAgg(figure)
        draw(figure)
        handle, path = tempfile.mkstemp(prefix="{}-".format(name), suffix=".png", dir=str(folder))
        os.close(handle)
        figure.savefig(path, dpi=dpi * scale)
    return path


def training_curves(args, history):
    """PNG path of the training curves of ``history`` (``models.metadata_schema``'s list per member)."""
    def draw(figure):
        for axes in charts.training_curves(figure, history, legend_below=True):
            # two axes side by side in a narrow dock: "Loss (cross-entropy) — 2 ensemble members" on two lines
            axes.set_title(axes.get_title().replace(" — ", "\n"))

    return render(args, "curves", draw, ASPECTS["curves"])


def waterfall(args, result):
    """PNG path of one pixel's waterfall: ``result`` has factor_names, values (display_values, when
    there: a categorical factor's category name), shap_values, base_value, probability and units
    (an ``inspect_pixel`` answer)."""
    def draw(figure):
        axes = figure.add_subplot()
        charts.waterfall(axes, result["factor_names"], result["shap_values"],
                         result.get("display_values") or result["values"], result["base_value"],
                         result["probability"], result.get("units"), max_display=WATERFALL_FACTORS)
        _fit_axes(figure, axes)

    return render(args, "waterfall", draw, ASPECTS["waterfall"], layout=None)


def shap_chart(args, data, kind, factor):
    """PNG path of one chart of a SHAP folder's ``data`` (``inspector_tasks``' reading of it):
    ``kind`` one of :data:`SHAP_CHARTS`, ``factor`` for "class_swarm" and "dependence"."""
    factors = data["factors"]
    if kind not in SHAP_CHARTS:
        raise DeepProspectError("Unknown SHAP chart '{}'; choose one of: {}.".format(kind, ", ".join(SHAP_CHARTS)))
    if kind in ("class_swarm", "dependence") and factor not in factors:
        raise DeepProspectError("The SHAP folder has no factor '{}'; it explains: {}.".format(
            factor, ", ".join(factors)))
    if kind == "class_swarm" and data["labels"] is None:
        raise DeepProspectError("This SHAP folder has no labels (deposit / non-deposit), so there is no chart by "
                                "class.")
    if kind == "importance":
        importance = np.asarray(data["importance"], dtype=float)
        return render(args, kind, lambda figure: charts.importance_chart(figure, factors, importance),
                      max(0.62, (0.2 * len(factors) + 0.9) / 4.6))
    if kind == "beeswarm":
        return render(args, kind, lambda figure: charts.beeswarm_chart(figure, factors, data["shap"], data["values"],
                                                                        data.get("categorical", ())),
                      max(0.75, (0.2 * len(factors) + 1.1) / 4.6))
    index = factors.index(factor)
    shap_column, value_column = data["shap"][:, index], data["values"][:, index]
    units = _units([factor])
    if kind == "class_swarm":
        classes = charts.sample_classes(data["labels"])
        return render(args, kind, lambda figure: charts.class_swarm_chart(
            figure, factor, shap_column, value_column, classes, units), ASPECTS[kind])
    return render(args, kind, lambda figure: charts.dependence_chart(
        figure, factor, value_column, shap_column, data["prediction"], units), ASPECTS[kind])


def _units(factors):
    from ..models.explain import factor_units

    return factor_units(list(factors))


def _fit_axes(figure, axes, padding=4):
    """Place the axes so their tick labels, axis label and title just fit in the figure, and widen
    the x range until every label written in data coordinates (the waterfall's values at the
    ends of the bars) lies inside the axes.

    What a layout engine does, measured without drawing: the labels' sizes in pixels do not
    depend on where the axes are. At a dock's width a fixed margin in data units lets the
    longest bar's label run over the axis, and the title and the x label, centred on axes pushed
    right by long factor names, run off the picture: they are centred on the picture instead,
    on two lines when one is too long."""
    renderer = figure.canvas.get_renderer()
    width, height = figure.bbox.width, figure.bbox.height
    centred = (axes.title, axes.xaxis.label)
    for text in centred:
        if text.get_window_extent(renderer).width > width - 2 * padding and " (" in text.get_text():
            text.set_text(text.get_text().replace(" (", "\n(", 1))
    _keep_texts_inside(axes, renderer, padding)
    box = axes.get_window_extent(renderer)
    for text in centred:
        text.set_visible(False)
    sides = axes.get_tightbbox(renderer, bbox_extra_artists=[])  # ticks and their labels
    for text in centred:
        text.set_visible(True)
    tight = axes.get_tightbbox(renderer, bbox_extra_artists=[])  # also places the title and x label
    left = (box.x0 - sides.x0 + padding) / width
    right = 1 - (sides.x1 - box.x1 + padding) / width
    bottom = (box.y0 - tight.y0 + padding) / height
    top = 1 - (tight.y1 - box.y1 + padding) / height
    axes.set_position([left, bottom, right - left, top - bottom])
    middle = (0.5 - left) / (right - left)  # the picture's centre in axes coordinates
    axes.title.set_x(middle)
    axes.xaxis.label.set_x(middle)
    _keep_texts_inside(axes, renderer, padding)


def _keep_texts_inside(axes, renderer, padding, rounds=20):
    """Widen the x range until the axes' texts lie inside them (see :func:`_fit_axes`).

    A text's extent around its anchor is measured once (in pixels it does not depend on the
    range); the range then follows from arithmetic alone."""
    box = axes.get_window_extent(renderer)
    texts = []
    for text in axes.texts:
        anchor = axes.transData.transform(text.get_position())[0]
        extent = text.get_window_extent(renderer)
        texts.append((text.get_position()[0], extent.x0 - anchor, extent.x1 - anchor))
    if not texts:
        return
    low, high = axes.get_xlim()
    for _ in range(rounds):
        scale = box.width / (high - low)  # pixels per data unit
        new_low = min([low] + [x - (padding - left) / scale for x, left, _ in texts])
        new_high = max([high] + [x + (right + padding) / scale for x, _, right in texts])
        if new_low >= low and new_high <= high:
            break
        low, high = new_low, new_high
    axes.set_xlim(low, high)
