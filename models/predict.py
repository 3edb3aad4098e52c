"""Map-wide prediction: a trained bundle applied to every valid pixel of an evidence stack.

The stack goes through ``core.pipeline.map_windows`` window by window (windows aligned to the
GeoTIFF's internal tiles), so memory stays bounded whatever the raster size, and reading the
next window and writing the previous one overlap with the model's arithmetic.

Outputs (all float32/uint8 GeoTIFFs, tiled and compressed, written atomically):

* probability of a deposit in [0, 1] (ensemble mean), nodata :data:`PROBABILITY_NODATA` outside
  valid pixels;
* optional uncertainty: standard deviation of the members' probabilities (population, ddof 0);
* optional classes (``models.map_classes``): 4 = very high, 3 = high, 2 = moderate, 1 = low
  (0 = nodata), by the fraction of the valid area each class reaches from the top (default top
  5 %, 10 %, 25 %), written by a second pass over the probability map;
* a QML style beside each output (same base name, ``models.map_styles``), so QGIS shows it styled;
* with known deposits: the success-rate curve as CSV and PNG beside the probability raster
  (``models.success_rate_files``), and its AUC (``core.success_rate``).

For ``cnn2d_patch`` each window is read with a halo of ``patch_size // 2`` pixels and patches
are cut by ``ModelBundle.window_inputs`` (padding convention: outside the raster or on nodata
→ 0 after standardisation), so a pixel gets exactly the patch it would get alone.

One prediction path: the map, :func:`predict_at_pixels` (the dock widget's "inspect" tool, the
values at known deposits) and SHAP all call ``ModelBundle.predict_members``, whose fixed batch
shape (``models.compiled``) makes a pixel's probability the same number whatever else is
predicted with it: the inspector and the values at deposits equal the map bit for bit.
"""
import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.atomic import atomic_output
from ..core.blocks import dataset_tile_size
from ..core.errors import DeepProspectError
from ..core.feedback import ensure_feedback, report_share
from ..core.pipeline import DEFAULT_BLOCK_SIZE, Grid, RasterOutput, WindowTask, map_windows, read_neighbourhoods
from ..core.raster import points_to_pixels, read_stack_info
from ..core.success_rate import SuccessRateAccumulator
from ..core.wording import agree, counted
from .map_classes import CLASS_NODATA, DEFAULT_CLASS_FRACTIONS, AreaHistogram, check_class_fractions, classify
from .map_styles import nice_maximum, write_style_beside
from .success_rate_files import plot_success_rate, write_success_rate_csv
from .window_tasks import PROBABILITY_NODATA, PredictContext, SharedBundle, predict_window


@dataclass
class PredictionResult:
    """What :func:`predict_map` wrote and measured.

    Paths are strings (None when not requested). ``class_thresholds``: the probabilities that
    start the very high, high and moderate classes. ``success_rate``: a
    ``core.success_rate.SuccessRate`` (None without deposits). ``valid_pixels``: number of
    pixels predicted; ``unseen_codes``: {categorical factor: valid cells holding a code the
    model never saw in training} (``core.factor_encoding``: all-zero one-hot, or missing for
    native categories); ``seconds``: wall time of the whole run.
    """

    probability: str
    uncertainty: str = None
    classes: str = None
    class_thresholds: list = None
    success_rate: object = None
    success_rate_csv: str = None
    success_rate_png: str = None
    deposits_used: int = 0
    deposits_dropped: int = 0
    valid_pixels: int = 0
    unseen_codes: dict = field(default_factory=dict)
    seconds: float = 0.0
    styles: dict = field(default_factory=dict)

    @property
    def auc(self):
        return None if self.success_rate is None else self.success_rate.auc


@dataclass
class _MapRequest:
    """One :func:`predict_map` call after its checks: the loaded bundle, the stack's
    ``core.raster.StackInfo``, the three output paths (None when not asked for), the class
    fractions (None without classes) and the deposits (n, 2) or None."""

    bundle: object
    info: object
    block_size: int
    output: object
    uncertainty: object
    classes: object
    fractions: list
    deposits_xy: object
    scheduler: str = None

    @property
    def grid(self):
        return Grid(self.info.width, self.info.height, self.info.crs, self.info.transform)


def predict_map(bundle, stack_path, output, block_size=DEFAULT_BLOCK_SIZE, output_uncertainty=None,
                output_classes=None, class_fractions=DEFAULT_CLASS_FRACTIONS, deposits_xy=None,
                write_styles=True, feedback=None, scheduler=None):
    """Predict deposit probability for every valid pixel of ``stack_path`` and write the maps.

    ``bundle``: a loaded ``ModelBundle`` or the path of a ``.dpm``; ``stack_path``: the evidence
    stack (its factor names must equal the bundle's, in order); ``output``: probability GeoTIFF;
    ``block_size``: pixels per side of a processing window (rounded up to the stack's tile size);
    ``output_uncertainty``: optional GeoTIFF of the members' standard deviation (needs an
    ensemble of ≥ 2 members); ``output_classes``: optional uint8 GeoTIFF of classes;
    ``class_fractions``: cumulative fractions (0–1, increasing) of the valid area in the very
    high, high and moderate classes; ``deposits_xy``: optional (n, 2) map coordinates of known
    deposits in the stack's CRS, for the success-rate curve; ``scheduler``: a Dask scheduler's
    address to compute the probability and uncertainty windows on its workers (the stack and the
    bundle's file must be on storage they reach; the maps are the bytes a local run writes), None
    or empty to compute here.
    Returns :class:`PredictionResult`. Nothing is written under an output name unless the whole
    run succeeds; cancel raises ``OperationCanceled``.
    """
    feedback = ensure_feedback(feedback)
    started = time.perf_counter()
    bundle = _as_bundle(bundle)
    info = read_stack_info(stack_path)
    bundle.check_factors(info.factor_names)
    check_uncertainty(output_uncertainty, len(bundle.members))
    fractions = check_class_fractions(class_fractions) if output_classes else None
    _check_outputs(stack_path, [output, output_uncertainty, output_classes])
    _warn_about_grid(bundle, info, feedback)
    deposits_xy = None if deposits_xy is None else np.asarray(deposits_xy, dtype=float).reshape(-1, 2)
    request = _MapRequest(bundle, info, block_size, output, output_uncertainty, output_classes, fractions, deposits_xy,
                          scheduler or None)
    result = PredictionResult(probability=str(output))
    spread_histogram = _write_maps(request, result, feedback)
    if output_uncertainty:
        result.uncertainty = str(output_uncertainty)
    if output_classes:
        result.classes = str(output_classes)
    _log_unseen(bundle, result, feedback)
    if write_styles:
        _write_styles(request, result, spread_histogram)
    if result.success_rate is not None:
        _write_success_rate(request, result, feedback)
    result.seconds = time.perf_counter() - started
    feedback.info("Predicted {:,} pixels in {:.1f} s ({:,.0f} pixels/s).".format(
        result.valid_pixels, result.seconds, result.valid_pixels / max(result.seconds, 1e-9)))
    return result


def check_uncertainty(output_uncertainty, member_count):
    """A clear error when an uncertainty map is asked of a model with fewer than two members."""
    if output_uncertainty and member_count < 2:
        raise DeepProspectError(
            "The model has a single member, so there is no spread between members to map as uncertainty: "
            "train an ensemble of two or more members, or leave the uncertainty output empty.")


def predict_at_pixels(bundle, stack_path, rows, cols):
    """Deposit probability of every ensemble member at given pixels of an evidence stack.

    ``bundle``: a ``ModelBundle`` (or ``.dpm`` path); ``rows``, ``cols``: integer arrays (n,) of
    pixel indices in the stack's grid (``core.raster.points_to_pixels`` turns map coordinates
    into them). Returns float32 (n_members, n); NaN where a pixel is outside the raster or not
    valid in every band. Uses the same standardisation, patch padding and prediction path as
    :func:`predict_map`, so the values equal the map's bit for bit (ensemble mean =
    ``.mean(axis=0)``).
    """
    bundle = _as_bundle(bundle)
    info = read_stack_info(stack_path)
    bundle.check_factors(info.factor_names)
    rows = np.asarray(rows, dtype=np.int64).ravel()
    cols = np.asarray(cols, dtype=np.int64).ravel()
    result = np.full((len(bundle.members), rows.size), np.nan, dtype=np.float32)
    predicted, inputs = [], []
    for part in read_neighbourhoods(stack_path, rows, cols, halo=bundle.patch_size // 2):
        ok = part.valid[part.rows, part.cols]
        if ok.any():
            predicted.append(part.indexes[ok])
            inputs.append(bundle.window_inputs(part.data, part.valid, part.rows[ok], part.cols[ok]))
    if predicted:
        result[:, np.concatenate(predicted)] = bundle.predict_members(np.concatenate(inputs))
    return result


def predict_at_points(bundle, stack_path, xy):
    """Like :func:`predict_at_pixels` for map coordinates ``xy`` (n, 2) in the stack's CRS."""
    info = read_stack_info(stack_path)
    rows, cols = points_to_pixels(info, xy)
    return predict_at_pixels(bundle, stack_path, rows, cols)


# The passes over the map ---------------------------------------------------------------------

def _write_maps(request, result, feedback):
    """Both passes, under temporary names that become the outputs only when both succeed.
    Returns the uncertainty's histogram (None without uncertainty), for its style's ramp."""
    second_pass = bool(request.classes) or request.deposits_xy is not None
    first_share = 85.0 if second_pass else 100.0
    with contextlib.ExitStack() as outputs:
        temporaries = [outputs.enter_context(atomic_output(path)) if path else None
                       for path in (request.output, request.uncertainty, request.classes)]
        histograms = _first_pass(request, temporaries, result, feedback.scaled(0, first_share))
        if result.valid_pixels == 0:
            raise DeepProspectError(
                "The evidence stack {} has no pixel valid in every band, so there is nothing to predict: "
                "check the stack's nodata value and its layers' extents.".format(request.info.path))
        if second_pass:
            _second_pass(request, temporaries, histograms[0], result, feedback.scaled(first_share, 100), feedback)
        feedback.check_canceled()
    return histograms[1]


def _first_pass(request, temporaries, result, progress):
    """Probability (and spread) of every window; returns the (probability, spread) histograms,
    each None when no class map (uncertainty map) is asked for."""
    bundle = request.bundle
    probability_tmp, uncertainty_tmp, _ = temporaries
    histograms = (AreaHistogram() if request.classes else None, AreaHistogram() if request.uncertainty else None)
    outputs = [RasterOutput(probability_tmp, descriptions=("deposit_probability",))]
    if uncertainty_tmp:
        outputs.append(RasterOutput(uncertainty_tmp, descriptions=("probability_std",)))

    shared = SharedBundle(bundle)
    if request.scheduler:
        shared.require_file()
    # cancel is checked inside windows through ``progress`` (the run's feedback, scaled)

    def collect(block, value):
        maps, valid, unseen = value
        result.valid_pixels += int(valid.sum())
        for name, cells in unseen.items():
            result.unseen_codes[name] = result.unseen_codes.get(name, 0) + cells
        for histogram, band in zip(histograms, maps + [None]):
            if histogram is not None:     # histograms[1] exists only with the spread map, maps[1]
                histogram.add(band[valid])
        return maps

    task = WindowTask(predict_window, PredictContext(shared, spread=bool(uncertainty_tmp)), collect)
    map_windows([request.info.path], outputs, task, grid=request.grid, block_size=request.block_size,
                halo=bundle.patch_size // 2, feedback=progress, atomic=False, scheduler=request.scheduler)
    return histograms


def _second_pass(request, temporaries, probability_histogram, result, progress, feedback):
    """Classes and success-rate counts from the written probability map, window by window."""
    probability_tmp, _, classes_tmp = temporaries
    thresholds = None
    if request.classes:
        thresholds = [probability_histogram.top_fraction_threshold(f) for f in request.fractions]
        result.class_thresholds = thresholds
    accumulator = _deposit_accumulator(request, probability_tmp, result, feedback)
    outputs = []
    if classes_tmp:
        outputs.append(RasterOutput(classes_tmp, dtype="uint8", nodata=CLASS_NODATA,
                                    descriptions=("prospectivity_class",), options=dict(predictor=2)))

    def compute(block, values):
        values = values[0]
        valid = values != PROBABILITY_NODATA
        if accumulator is not None:
            accumulator.add(values[valid])
        return [classify(values, valid, thresholds)] if outputs else None

    # the first pass's windows (aligned to the stack's tiles), not the probability map's own tiles
    map_windows([probability_tmp], outputs, compute, grid=request.grid, block_size=request.block_size,
                tile_size=_tile_size(request.info.path), feedback=progress, atomic=False)
    if accumulator is not None:
        result.success_rate = accumulator.result()


def _deposit_accumulator(request, probability_path, result, feedback):
    """The success-rate accumulator of the deposits on valid pixels of the written map (None
    without deposits); counts the deposits used and dropped into ``result``."""
    if request.deposits_xy is None:
        return None
    rows, cols = points_to_pixels(request.info, request.deposits_xy)
    values = np.full(rows.size, np.nan)
    for part in read_neighbourhoods(probability_path, rows, cols):
        ok = part.valid[part.rows, part.cols]
        values[part.indexes[ok]] = part.data[0, part.rows[ok], part.cols[ok]]
    kept = np.isfinite(values)
    result.deposits_used, result.deposits_dropped = int(kept.sum()), int((~kept).sum())
    if result.deposits_dropped:
        dropped = result.deposits_dropped
        report_share(feedback, dropped, len(kept), "{} of {} known {} {} outside the stack or on nodata pixels and {} "
                     "left out of the success-rate curve.".format(dropped, len(kept), agree(len(kept), "deposit"),
                                                                  agree(dropped, "falls", "fall"),
                                                                  agree(dropped, "is", "are")))
    return SuccessRateAccumulator(values[kept])


# Files beside the maps, checks ---------------------------------------------------------------

def _log_unseen(bundle, result, feedback):
    """One log line per categorical factor with codes the model never saw in training."""
    for name, cells in result.unseen_codes.items():
        feedback.warning("{:,} cells ({:.2%} of the predicted area) hold a {} code that was not among the training "
                         "points' codes: the model sees none of its known classes there ({}).".format(
                             cells, cells / max(result.valid_pixels, 1), name,
                             "missing value" if bundle.encoding.mode == "native" else "all-zero one-hot"))


def _write_styles(request, result, spread_histogram):
    result.styles["probability"] = write_style_beside(request.output, "probability.qml")
    if request.uncertainty:
        result.styles["uncertainty"] = write_style_beside(
            request.uncertainty, "uncertainty.qml", maximum=nice_maximum(spread_histogram.quantile(0.995)))
    if request.classes:
        result.styles["classes"] = write_style_beside(request.classes, "classes.qml",
                                                      class_fractions=request.fractions)


def _write_success_rate(request, result, feedback):
    fractions = request.fractions or DEFAULT_CLASS_FRACTIONS
    stem = str(Path(request.output).with_suffix(""))
    result.success_rate_csv = write_success_rate_csv(result.success_rate, stem + "_success_rate.csv")
    result.success_rate_png = plot_success_rate(result.success_rate, stem + "_success_rate.png", fractions)
    feedback.info("Success-rate AUC {:.3f} over {}; top {:.0f} % of the area holds {:.0f} % of them."
                  .format(result.success_rate.auc, counted(result.deposits_used, "deposit"), 100 * fractions[0],
                          100 * result.success_rate.captured_at(fractions[0])))


def _as_bundle(bundle):
    if isinstance(bundle, (str, Path)):
        from .bundle import load_bundle

        return load_bundle(bundle)
    return bundle


def _tile_size(stack_path):
    import rasterio

    with rasterio.open(stack_path) as dataset:
        return dataset_tile_size(dataset)


def _check_outputs(stack_path, outputs):
    stack = Path(stack_path).resolve()
    named = [Path(path).resolve() for path in outputs if path]
    if stack in named:
        raise DeepProspectError("An output would overwrite the evidence stack {}: choose another file name.".format(stack))
    if len(set(named)) != len(named):
        raise DeepProspectError("Two outputs have the same file name: give the probability, uncertainty and class "
                                "rasters different names.")


def _warn_about_grid(bundle, info, feedback):
    grid = bundle.metadata.get("grid") or {}
    pixel = grid.get("pixel_size")
    if pixel and abs(float(pixel) - info.pixel_size) > 1e-6 * max(1.0, info.pixel_size):
        feedback.warning("The model was trained on {:g} m pixels but this stack has {:g} m pixels; patch models "
                         "see a different neighbourhood at another resolution.".format(float(pixel), info.pixel_size))
