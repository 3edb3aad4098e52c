"""Engine tasks of the inspector dock: what a bundle is, one pixel explained, SHAP charts.

The dock (``plugin/dock*.py``) imports only QGIS and the standard library: everything that needs
numpy, rasterio, TensorFlow, shap or matplotlib happens here, in the engine's process, and comes
back as plain JSON plus PNG files. The dock keeps ONE worker alive ("warm"), so this module's
caches (loaded bundles with their compiled prediction and SHAP functions, read SHAP folders)
make every click after the first cost only the arithmetic.

A bundle's metadata reaches the dock in the one shape of ``models.metadata_schema`` (the dock
reads nothing else). Charts are drawn by ``engine/inspector_charts.py`` with the drawing
functions of the reports (``models.charts``), at the width the dock asks for (``width`` in
screen pixels, ``scale`` = the screen's device pixel ratio, ``chart_folder`` for the PNGs).
"""
import collections
import os
import time
from pathlib import Path

from ..catalog import EXPLAINERS
from ..core.errors import DeepProspectError
from . import inspector_charts
from .tasks import task

os.environ.setdefault("MPLBACKEND", "Agg")

#: Loaded bundles kept in the warm worker (a geologist compares two models at most).
BUNDLE_CACHE_SIZE = 2

_BUNDLES = collections.OrderedDict()
_SHAP_FOLDERS = {}


# Tasks ---------------------------------------------------------------------------------------

@task("bundle_summary")
def bundle_summary(args, feedback):
    """args: model, chart_folder, width, scale → ``summary``: the bundle's metadata in the shape
    of ``models.metadata_schema``, and ``curves_png``: loss and accuracy per epoch (Pradhan et al.
    2022, Figure 7; None without history).

    Reads only ``metadata.json``: no TensorFlow, so it answers at once."""
    from ..models.bundle import read_metadata
    from ..models.metadata_schema import normalise

    summary = normalise(read_metadata(args["model"]))
    curves = None
    if any(member["loss"] for member in summary["history"]):
        curves = inspector_charts.training_curves(args, summary["history"])
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
    factor values); ``explainer`` (a name of ``catalog.EXPLAINERS``); ``chart_folder``, ``width``,
    ``scale`` for the waterfall picture.

    Returns ``row``, ``col``, ``x``, ``y`` (the pixel's centre), ``factor_names``, ``values``
    (raw numbers), ``display_values`` (the same, but a categorical factor's category name, or its
    code as text, ``core.factor_kinds``), and with a model: ``probability`` (ensemble mean, the map's value), ``members``,
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
        result["waterfall_png"] = inspector_charts.waterfall(args, result)
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
    """args: an ``inspect_pixel`` result's factor_names, values (or display_values), shap_values,
    base_value, probability, units; chart_folder, width, scale → ``png``: its waterfall drawn again (the
    dock was resized)."""
    return {"png": inspector_charts.waterfall(args, args)}


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
        pictures.append(inspector_charts.shap_chart(args, data, spec.get("kind"), spec.get("factor")))
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

    from ..core.pipeline import read_neighbourhoods

    (pixel,) = read_neighbourhoods(info.path, [row], [col])  # the pixel lies inside the stack (_pixel_of)
    values = [float(value) for value in pixel.data[:, pixel.rows[0], pixel.cols[0]]]
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

    from ..core.factor_kinds import display_values

    x, y = pixel_centres(info, [row], [col])[0]
    return {"row": row, "col": col, "x": float(x), "y": float(y), "factor_names": list(info.factor_names),
            "values": values, "display_values": display_values(info, values)}


def _explain_pixel(args, info, row, col, feedback, clock):
    """Probability (the map's own prediction path) and local SHAP values of one pixel."""
    import numpy as np

    from ..models.explain import explain_pixels
    from ..models.predict import predict_at_pixels

    bundle = _bundle(args["model"])
    bundle.check_factors(info.factor_names)
    members = np.asarray(predict_at_pixels(bundle, info.path, [row], [col]), dtype=np.float64)[:, 0]
    clock.lap("predict")
    explanation = explain_pixels(bundle, info.path, [row], [col], explainer=args.get("explainer") or EXPLAINERS.names()[0],
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
            "categorical": [str(name) for name, kind in zip(importance["factor"], importance.get("kind", ()))
                            if kind == "categorical"],
            "prediction": table["prediction"].to_numpy(dtype=float) if "prediction" in table.columns else None,
            "samples": int(len(table))}


def _shap_columns(columns, factors):
    for pattern in ("shap_{}", "{}_shap", "SHAP_{}", "shap:{}"):
        names = [pattern.format(name) for name in factors]
        if all(name in columns for name in names):
            return names
    return None
