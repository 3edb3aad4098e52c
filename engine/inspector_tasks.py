"""Engine tasks of the inspector dock: what a bundle is, one pixel explained, SHAP charts.

The dock (``plugin/dock*.py``) imports only QGIS and the standard library: everything that needs
numpy, rasterio, TensorFlow, shap or matplotlib happens here, in the engine's process, and comes
back as plain JSON plus PNG files. The dock keeps ONE worker alive ("warm"), so this module's
caches (loaded bundles with their compiled prediction and SHAP functions, read SHAP folders)
make every click after the first cost only the arithmetic.

Charts are drawn with ``models.charts`` (the same drawing functions as the ``deepprospect:shap``
report) on matplotlib ``Figure`` objects (no pyplot: the Agg canvas, no display), at the width
the dock asks for (``width`` in screen pixels, ``scale`` = the screen's device pixel ratio) and
with font sizes for a narrow panel. Every chart is a new file in ``chart_folder`` (the dock's
temporary folder, which it empties); the dock shows it as a picture scaled to its width.
"""
import collections
import os
import tempfile
import time
from pathlib import Path

from ..core.errors import DeepProspectError
from .tasks import task

os.environ.setdefault("MPLBACKEND", "Agg")

#: Font sizes for a chart a few hundred pixels wide (the report's PNGs use matplotlib's defaults).
DOCK_STYLE = {"font.size": 8, "axes.titlesize": 9, "axes.labelsize": 8, "xtick.labelsize": 7.5,
              "ytick.labelsize": 8, "legend.fontsize": 8}
#: Training (solid) and validation (dashed) curves share a colour per ensemble member.
MEMBER_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f")
#: Bars drawn individually in the waterfall; the rest are summed into one "other factors" bar.
WATERFALL_FACTORS = 10
#: Chart width in screen pixels when the dock does not say (its usual width).
DEFAULT_WIDTH = 460
#: Loaded bundles kept in the warm worker (a geologist compares two models at most).
BUNDLE_CACHE_SIZE = 2
#: Metadata keys the Model tab shows (the rest of metadata.json is the engine's business).
SUMMARY_KEYS = ("architecture", "architecture_description", "patch_size", "ensemble_size", "factor_names",
                "hyperparameters", "class_balance", "grid", "seed", "metrics", "baselines", "validation",
                "history", "trainable_parameters", "created", "versions")

_BUNDLES = collections.OrderedDict()
_SHAP_FOLDERS = {}


# Tasks ---------------------------------------------------------------------------------------

@task("bundle_summary")
def bundle_summary(args, feedback):
    """args: model, chart_folder, width, scale → ``summary`` (the metadata the Model tab shows) and
    ``curves_png`` (loss and accuracy per epoch, Pradhan et al. 2022 Figure 7; None without history).

    Reads only ``metadata.json``: no TensorFlow, so it answers at once."""
    from ..models.bundle import read_metadata

    metadata = read_metadata(args["model"])
    summary = {key: metadata.get(key) for key in SUMMARY_KEYS if key in metadata}
    history = metadata.get("history") or []
    if isinstance(history, dict):
        history = [history]
    curves = None
    if any(member.get("loss") for member in history):
        curves = _render(args, "curves", lambda figure: _training_curves(figure, history), aspect=0.6)
    return {"summary": summary, "curves_png": curves}


@task("prepare_model")
def prepare_model(args, feedback):
    """args: model, stack (optional) → the bundle loaded in this worker (TensorFlow imported,
    members built) so the first click on the map does not wait for it; with a stack, one pixel
    is also predicted and explained, which compiles the prediction and SHAP functions and reads
    the SHAP background for that stack. Returns members, architecture, warmed (a pixel was
    explained), seconds."""
    started = time.perf_counter()
    bundle = _bundle(args["model"])
    warmed = bool(args.get("stack")) and _warm_up(bundle, args["stack"], feedback)
    return {"members": len(bundle.members), "architecture": bundle.architecture, "warmed": warmed,
            "seconds": time.perf_counter() - started}


def _warm_up(bundle, stack, feedback):
    """Predict and explain the stack's centre pixel (any failure is the click's to report)."""
    from ..core.raster import read_stack_info
    from ..models.explain import explain_pixels
    from ..models.predict import predict_at_pixels

    try:
        info = read_stack_info(stack)
        bundle.check_factors(info.factor_names)
        row, col = info.height // 2, info.width // 2
        predict_at_pixels(bundle, stack, [row], [col])
        explain_pixels(bundle, stack, [row], [col], feedback=feedback)
    except DeepProspectError:  # e.g. nodata there, or another stack: the first click says it clearly
        return False
    return True


@task("inspect_pixel")
def inspect_pixel(args, feedback):
    """One pixel of an evidence stack, and why the model gives it its probability.

    args: ``stack``; ``x``, ``y`` in the stack's CRS; ``model`` (optional: without it only the
    factor values); ``explainer`` ("gradient", "deep", "kernel"); ``chart_folder``, ``width``,
    ``scale`` for the waterfall picture.

    Returns ``row``, ``col``, ``x``, ``y`` (the pixel's centre), ``factor_names``, ``values``
    (raw), and with a model: ``probability`` (ensemble mean, the map's value), ``members``,
    ``spread`` {min, max, sd}, ``shap_values``, ``base_value``, ``additivity_error``,
    ``explainer``, ``units``, ``waterfall_png``; ``seconds`` spent in the engine and ``timings``
    (seconds per step: read, predict, explain, draw).
    Raises a clear error for a point outside the stack or on nodata.
    """
    from ..core.raster import read_stack_info

    clock = _Clock()
    info = read_stack_info(args["stack"])
    row, col = _pixel_of(info, float(args["x"]), float(args["y"]))
    result = _pixel_result(info, row, col, _pixel_values(info, row, col))
    clock.lap("read")
    if args.get("model"):
        result.update(_explain_pixel(args, info, row, col, feedback, clock))
        result["waterfall_png"] = _render(args, "waterfall", lambda figure: _waterfall(figure, result), aspect=0.74,
                                          layout=None)
        clock.lap("draw")
    result.update(seconds=clock.total(), timings=clock.laps)
    return result


class _Clock:
    """Seconds per step of a task, for the benchmark's breakdown."""

    def __init__(self):
        self.started = self.last = time.perf_counter()
        self.laps = {}

    def lap(self, name):
        now = time.perf_counter()
        self.laps[name] = now - self.last
        self.last = now

    def total(self):
        return time.perf_counter() - self.started


@task("waterfall_chart")
def waterfall_chart(args, feedback):
    """args: an ``inspect_pixel`` result's factor_names, values, shap_values, base_value,
    probability, units; chart_folder, width, scale → ``png``: its waterfall drawn again (the
    dock was resized)."""
    return {"png": _render(args, "waterfall", lambda figure: _waterfall(figure, args), aspect=0.74, layout=None)}


@task("shap_charts")
def shap_charts(args, feedback):
    """Charts of a ``deepprospect:shap`` output folder (``importance.csv``, ``shap_values.csv``).

    args: ``folder``; ``charts``: list of {kind, factor} with kind "importance", "beeswarm",
    "class_swarm" or "dependence" (the last two for one factor); ``chart_folder``, ``width``,
    ``scale``. Returns ``factors`` (most important first), ``mean_abs_shap``, ``samples``,
    ``has_labels``, ``has_prediction`` and ``charts`` (one PNG path per requested chart).
    """
    data = _shap_folder(args["folder"])
    pictures = []
    for spec in args.get("charts") or ():
        feedback.check_canceled()
        pictures.append(_shap_chart(args, data, spec.get("kind"), spec.get("factor")))
    return {"factors": data["factors"], "mean_abs_shap": data["importance"], "samples": data["samples"],
            "has_labels": data["labels"] is not None, "has_prediction": data["prediction"] is not None,
            "charts": pictures}


# The bundle cache ----------------------------------------------------------------------------

def _bundle(path):
    """The loaded bundle of ``path``, from the cache while the file has not changed."""
    from ..models.bundle import load_bundle

    path = str(Path(path).resolve())
    try:
        stat = os.stat(path)
    except OSError:
        raise DeepProspectError("The model bundle {} does not exist.".format(path))
    stamp = (stat.st_mtime_ns, stat.st_size)
    cached = _BUNDLES.get(path)
    if cached is None or cached[0] != stamp:
        _BUNDLES[path] = (stamp, load_bundle(path))
        while len(_BUNDLES) > BUNDLE_CACHE_SIZE:
            _BUNDLES.popitem(last=False)
    _BUNDLES.move_to_end(path)
    return _BUNDLES[path][1]


# The pixel -----------------------------------------------------------------------------------

def _pixel_of(info, x, y):
    from ..core.raster import points_to_pixels

    rows, cols = points_to_pixels(info, [[x, y]])
    row, col = int(rows[0]), int(cols[0])
    if not (0 <= row < info.height and 0 <= col < info.width):
        raise DeepProspectError(
            "Outside the evidence stack: the point ({:,.1f}, {:,.1f}) lies outside {} ({} × {} pixels). Click "
            "inside the stack's extent.".format(x, y, Path(info.path).name, info.width, info.height))
    return row, col


def _pixel_values(info, row, col):
    """Raw factor values (float64 list) of one pixel; a clear error when any factor is nodata."""
    import math

    import rasterio
    from rasterio.windows import Window

    with rasterio.open(info.path) as dataset:
        values = [float(value) for value in dataset.read(window=Window(col, row, 1, 1))[:, 0, 0]]
    invalid = [name for name, value in zip(info.factor_names, values)
               if not math.isfinite(value) or (not math.isnan(info.nodata) and value == info.nodata)]
    if invalid:
        shown = ", ".join(invalid[:4]) + (" and {} more".format(len(invalid) - 4) if len(invalid) > 4 else "")
        raise DeepProspectError(
            "No data at this pixel (row {}, column {}): the stack has nodata for {} here, so the model cannot "
            "predict it. Click a pixel with data.".format(row, col, shown))
    return values


def _pixel_result(info, row, col, values):
    from ..core.raster import pixel_centres

    x, y = pixel_centres(info, [row], [col])[0]
    return {"row": row, "col": col, "x": float(x), "y": float(y), "factor_names": list(info.factor_names),
            "values": values}


def _explain_pixel(args, info, row, col, feedback, clock):
    """Probability (the map's own prediction path) and local SHAP values of one pixel."""
    import numpy as np

    from ..models.explain import explain_pixels
    from ..models.predict import predict_at_pixels

    bundle = _bundle(args["model"])
    bundle.check_factors(info.factor_names)
    members = np.asarray(predict_at_pixels(bundle, info.path, [row], [col]), dtype=np.float64)[:, 0]
    clock.lap("predict")
    explanation = explain_pixels(bundle, info.path, [row], [col], explainer=args.get("explainer") or "gradient",
                                 feedback=feedback)
    clock.lap("explain")
    return {"probability": float(members.mean()), "members": members.tolist(),
            "spread": {"min": float(members.min()), "max": float(members.max()), "sd": float(members.std())},
            "shap_values": np.asarray(explanation["shap_values"], dtype=float)[0].tolist(),
            "base_value": float(explanation["base_value"]),
            "additivity_error": float(explanation["additivity_error"]), "explainer": explanation["explainer"],
            "units": explanation["units"]}


# SHAP folders --------------------------------------------------------------------------------

def _shap_folder(folder):
    """importance.csv and shap_values.csv of a SHAP output folder, cached while the files are unchanged."""
    folder = Path(folder)
    paths = [folder / "importance.csv", folder / "shap_values.csv"]
    for path in paths:
        if not path.is_file():
            raise DeepProspectError("{} has no {}: choose the OUTPUT_FOLDER of a deepprospect:shap run, or run "
                                    "SHAP with the button.".format(folder, path.name))
    stamp = tuple((path.stat().st_mtime_ns, path.stat().st_size) for path in paths)
    cached = _SHAP_FOLDERS.get(str(folder))
    if cached is None or cached[0] != stamp:
        _SHAP_FOLDERS.clear()  # one folder at a time: a big sample table is worth no more
        _SHAP_FOLDERS[str(folder)] = (stamp, _read_shap_folder(*paths))
    return _SHAP_FOLDERS[str(folder)][1]


def _read_shap_folder(importance_path, values_path):
    import pandas as pd

    importance = pd.read_csv(importance_path).sort_values("mean_abs_shap", ascending=False, kind="stable")
    factors = [str(name) for name in importance["factor"]]
    table = pd.read_csv(values_path)
    shap_columns = _shap_columns(table.columns, factors)
    if shap_columns is None:
        raise DeepProspectError("{} does not have a SHAP column for every factor of importance.csv: was it written "
                                "by another version of deepprospect:shap?".format(values_path))
    missing = [name for name in factors if name not in table.columns]
    if missing:
        raise DeepProspectError("{} has no factor-value column for {}: was it written by another version of "
                                "deepprospect:shap?".format(values_path, ", ".join(missing)))
    return {"factors": factors, "importance": [float(value) for value in importance["mean_abs_shap"]],
            "shap": table[shap_columns].to_numpy(dtype=float), "values": table[factors].to_numpy(dtype=float),
            "labels": table["label"].to_numpy(dtype=float) if "label" in table.columns else None,
            "prediction": table["prediction"].to_numpy(dtype=float) if "prediction" in table.columns else None,
            "samples": int(len(table))}


def _shap_columns(columns, factors):
    for pattern in ("shap_{}", "{}_shap", "SHAP_{}", "shap:{}"):
        names = [pattern.format(name) for name in factors]
        if all(name in columns for name in names):
            return names
    return None


def _shap_chart(args, data, kind, factor):
    """One chart of a SHAP folder as a PNG path."""
    factors = data["factors"]
    if kind in ("class_swarm", "dependence") and factor not in factors:
        raise DeepProspectError("The SHAP folder has no factor '{}'; it explains: {}.".format(
            factor, ", ".join(factors)))
    if kind == "class_swarm" and data["labels"] is None:
        raise DeepProspectError("This SHAP folder has no labels (deposit / non-deposit), so there is no chart by "
                                "class.")
    drawings = {
        "importance": (lambda figure: _importance(figure, data), max(0.62, (0.2 * len(factors) + 0.9) / 4.6)),
        "beeswarm": (lambda figure: _beeswarm(figure, data), max(0.75, (0.2 * len(factors) + 1.1) / 4.6)),
        "class_swarm": (lambda figure: _class_swarm(figure, data, factor), 0.7),
        "dependence": (lambda figure: _dependence(figure, data, factor), 0.7),
    }
    if kind not in drawings:
        raise DeepProspectError("Unknown SHAP chart '{}'; choose one of: {}.".format(kind, ", ".join(drawings)))
    draw, aspect = drawings[kind]
    return _render(args, kind, draw, aspect)


# Drawing -------------------------------------------------------------------------------------

def _render(args, name, draw, aspect, layout="constrained"):
    """Draw ``draw(figure)`` on a figure ``width`` screen pixels wide and ``aspect`` × as tall, save
    it as a new PNG in ``chart_folder`` and return its path. ``layout`` None: ``draw`` places the
    axes itself (constrained layout costs a third of a click's time)."""
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    width = max(200, int(args.get("width") or DEFAULT_WIDTH))
    scale = min(4.0, max(1.0, float(args.get("scale") or 1.0)))
    folder = Path(args.get("chart_folder") or tempfile.gettempdir())
    folder.mkdir(parents=True, exist_ok=True)
    dpi = 100.0
    with rc_context(DOCK_STYLE):
        # constrained layout fits the labels into the width the dock has
        figure = Figure(figsize=(width / dpi, width * aspect / dpi), dpi=dpi, layout=layout)
        draw(figure)
        handle, path = tempfile.mkstemp(prefix="{}-".format(name), suffix=".png", dir=str(folder))
        os.close(handle)
        figure.savefig(path, dpi=dpi * scale)
    return path


def _colour_bar(figure, axes, mappable, label, ends=("low", "high")):
    bar = figure.colorbar(mappable, ax=axes, ticks=[0, 1] if ends else None, aspect=30, pad=0.02)
    if ends:
        bar.ax.set_yticklabels(list(ends))
    bar.set_label(label)


def _training_curves(figure, history):
    """Loss and accuracy per epoch on two axes, one colour per ensemble member; the legend sits
    below the axes, where it hides no curve."""
    from matplotlib.lines import Line2D

    loss_axes, accuracy_axes = figure.subplots(1, 2, sharex=True)
    for index, member in enumerate(history):
        colour = MEMBER_COLOURS[index % len(MEMBER_COLOURS)]
        for target, key in ((loss_axes, "loss"), (accuracy_axes, "accuracy")):
            for prefix, style in (("", "-"), ("val_", "--")):
                values = member.get(prefix + key)
                if values:
                    target.plot(range(1, len(values) + 1), values, style, color=colour, linewidth=1.1)
    for target, title, unit in ((loss_axes, "Loss", "Cross-entropy"), (accuracy_axes, "Accuracy", "Fraction correct")):
        target.set_title(title)
        target.set_xlabel("Epoch")
        target.set_ylabel(unit)
        target.grid(True, alpha=0.3)
    handles = [Line2D([], [], color="#444444", linestyle="-", label="training"),
               Line2D([], [], color="#444444", linestyle="--", label="validation")]
    if len(history) > 1:
        handles += [Line2D([], [], color=MEMBER_COLOURS[index % len(MEMBER_COLOURS)],
                           label="member {}".format(index + 1)) for index in range(len(history))]
    columns = 4 if figure.get_figwidth() * figure.dpi >= 480 else 2  # narrow: two rows of legend
    figure.legend(handles=handles, loc="outside lower center", ncols=min(columns, len(handles)), frameon=False)


def _waterfall(figure, result):
    from ..models import charts

    axes = figure.add_subplot()
    charts.waterfall(axes, result["factor_names"], result["shap_values"], result["values"], result["base_value"],
                     result["probability"], result.get("units"), max_display=WATERFALL_FACTORS)
    _fit_axes(figure, axes)


def _fit_axes(figure, axes, padding=4):
    """Place the axes so their tick labels, axis label and title just fit in the figure, and widen
    the x range until every label written in data coordinates (the waterfall's values at the
    ends of the bars) lies inside the axes.

    What a layout engine does, measured without drawing: the labels' sizes in pixels do not
    depend on where the axes are. At a dock's width a fixed margin in data units lets the
    longest bar's label run over the axis, and the title and the x label, centred on axes pushed
    right by long factor names, run off the picture: they are centred on the picture instead,
    on two lines when one is too long."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(figure).get_renderer()
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


def _units(factors):
    from ..models.explain import factor_units

    return factor_units(list(factors))


def _importance(figure, data):
    import numpy as np

    from ..models import charts

    charts.importance_bar(figure.add_subplot(), data["factors"], np.asarray(data["importance"], dtype=float))


def _beeswarm(figure, data):
    from ..models import charts

    axes = figure.add_subplot()
    mappable = charts.beeswarm(axes, data["factors"], data["shap"], data["values"])
    _colour_bar(figure, axes, mappable, "factor value")


def _class_swarm(figure, data, factor):
    from ..models import charts

    index = data["factors"].index(factor)
    axes = figure.add_subplot()
    mappable = charts.class_swarm(axes, factor, data["shap"][:, index], data["values"][:, index],
                                  charts.sample_classes(data["labels"]), _units([factor]))
    if mappable is not None:
        _colour_bar(figure, axes, mappable, "{} value".format(factor))


def _dependence(figure, data, factor):
    from ..models import charts

    index = data["factors"].index(factor)
    axes = figure.add_subplot()
    prediction = data["prediction"]
    mappable = charts.dependence(axes, factor, data["values"][:, index], data["shap"][:, index], prediction,
                                 _units([factor]))
    if prediction is not None:
        _colour_bar(figure, axes, mappable, "predicted deposit probability", ends=None)
