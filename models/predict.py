"""Map-wide prediction: a trained bundle applied to every valid pixel of an evidence stack.

The stack is read window by window (windows aligned to the GeoTIFF's internal tiles, see
``core.blocks``), so memory stays bounded whatever the raster size. Reading the next window
and writing the previous one run in two helper threads while the model predicts the current
one, so on a CPU the run costs about what the model's arithmetic costs.

Outputs (all float32/uint8 GeoTIFFs, tiled and compressed, written atomically):

* probability of a deposit in [0, 1] (ensemble mean), nodata :data:`PROBABILITY_NODATA` outside
  valid pixels;
* optional uncertainty: standard deviation of the members' probabilities (population, ddof 0);
* optional classes: 4 = very high, 3 = high, 2 = moderate, 1 = low (0 = nodata), by the
  fraction of the valid area each class reaches from the top (default top 5 %, 10 %, 25 %);
* a QML style beside each output (same base name), so QGIS shows it styled when opened;
* with known deposits: the success-rate curve as CSV and PNG beside the probability raster,
  and its AUC (``core.success_rate``).

For ``cnn2d_patch`` each window is read with a halo of ``patch_size // 2`` pixels and patches
are cut with ``core.patches.extract_patches`` (padding convention: outside the raster or on
nodata → 0 after standardisation), so a pixel gets exactly the patch it would get alone.

One prediction path: the map, :func:`predict_at_pixels` (the dock widget's "inspect" tool, the
values at known deposits) and ``ModelBundle.predict`` (SHAP's base value and additivity) all
call :func:`predict_pixels`, which gives TensorFlow batches of exactly :data:`PREDICT_BATCH`
rows. TensorFlow picks its CPU kernels by batch shape, and kernels for other shapes round
differently in the last bits (measured on AMD EPYC: up to 1.2e-7 between a batch of 1 and one of
3000), which is enough to reorder near-equal pixels in a success-rate curve. With one shape for
every call, each row goes through the same instructions wherever it sits in the batch, so a
pixel's probability is the same number whatever else is predicted with it: the inspector and the
values at deposits equal the map bit for bit (tests/engine/test_predict.py checks it on the CPU
the tests run on).
"""
import concurrent.futures
import contextlib
import csv
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.atomic import atomic_output
from ..core.blocks import dataset_tile_size, iter_blocks
from ..core.errors import DeepProspectError
from ..core.feedback import ensure_feedback
from ..core.patches import extract_patches
from ..core.raster import (
    GEOTIFF_OPTIONS, STACK_NODATA, bounded_gdal_cache, points_to_pixels, read_stack_info, valid_pixels,
)
from ..core.success_rate import SuccessRateAccumulator

PROBABILITY_NODATA = STACK_NODATA
CLASS_NODATA = 0
#: Class values and their labels, most prospective first.
CLASS_LABELS = {4: "very high", 3: "high", 2: "moderate", 1: "low"}
#: Default cumulative area fractions of the very high, high and moderate classes (top 5 %, 10 %, 25 %).
DEFAULT_CLASS_FRACTIONS = (0.05, 0.10, 0.25)
#: Pixels per side of a processing window: ~1 M pixels, a few tens of MB per window for 16 factors.
DEFAULT_BLOCK_SIZE = 1024
#: Rows per model call, always (the last batch is padded): see the module docstring. 3072 = 2¹⁰ × 3
#: is a whole number of the row blocks CPU matrix kernels work in (4 to 48 rows), so no row falls in
#: a remainder block computed another way; large enough that the per-call overhead is small, small
#: enough that the inspector's single pixel costs tens of milliseconds.
PREDICT_BATCH = 3072
STYLES_FOLDER = Path(__file__).resolve().parent.parent / "resources" / "styles"

# Pixels per chunk between two cancel checks, and the budget for one chunk of patches.
_PIXEL_CHUNK = 262_144
_PATCH_CHUNK_BYTES = 64 * 2 ** 20


@dataclass
class PredictionResult:
    """What :func:`predict_map` wrote and measured.

    Paths are strings (None when not requested). ``class_thresholds``: the probabilities that
    start the very high, high and moderate classes. ``success_rate``: a
    ``core.success_rate.SuccessRate`` (None without deposits). ``valid_pixels``: number of
    pixels predicted; ``seconds``: wall time of the whole run.
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
    seconds: float = 0.0
    styles: dict = field(default_factory=dict)

    @property
    def auc(self):
        return None if self.success_rate is None else self.success_rate.auc


#: GDAL's block cache while predicting (MB): windows are read once, so a larger cache only
#: makes peak memory grow with the raster (measured 2.0 GB at 6000² with GDAL's 5 %-of-RAM default).
GDAL_CACHE_MB = 64


def predict_map(bundle, stack_path, output, block_size=DEFAULT_BLOCK_SIZE, output_uncertainty=None,
                output_classes=None, class_fractions=DEFAULT_CLASS_FRACTIONS, deposits_xy=None,
                write_styles=True, feedback=None):
    """Predict deposit probability for every valid pixel of ``stack_path`` and write the maps.

    ``bundle``: a loaded ``ModelBundle`` or the path of a ``.dpm``; ``stack_path``: the evidence
    stack (its factor names must equal the bundle's, in order); ``output``: probability GeoTIFF;
    ``block_size``: pixels per side of a processing window (rounded up to the stack's tile size);
    ``output_uncertainty``: optional GeoTIFF of the members' standard deviation (needs an
    ensemble of ≥ 2 members); ``output_classes``: optional uint8 GeoTIFF of classes;
    ``class_fractions``: cumulative fractions (0–1, increasing) of the valid area in the very
    high, high and moderate classes; ``deposits_xy``: optional (n, 2) map coordinates of known
    deposits in the stack's CRS, for the success-rate curve.
    Returns :class:`PredictionResult`. Nothing is written under an output name unless the whole
    run succeeds; cancel raises ``OperationCanceled``.
    """
    with bounded_gdal_cache(GDAL_CACHE_MB):
        return _predict_map(bundle, stack_path, output, block_size, output_uncertainty, output_classes,
                            class_fractions, deposits_xy, write_styles, feedback)


def _predict_map(bundle, stack_path, output, block_size, output_uncertainty, output_classes, class_fractions,
                 deposits_xy, write_styles, feedback):
    import rasterio

    feedback = ensure_feedback(feedback)
    started = time.perf_counter()
    bundle = _as_bundle(bundle)
    info = read_stack_info(stack_path)
    bundle.check_factors(info.factor_names)
    if output_uncertainty and len(bundle.members) < 2:
        raise DeepProspectError(
            "The model has a single member, so there is no spread between members to map as uncertainty: "
            "train an ensemble of two or more members, or leave the uncertainty output empty.")
    fractions = _check_class_fractions(class_fractions) if output_classes else None
    _check_outputs(stack_path, [output, output_uncertainty, output_classes])
    _warn_about_grid(bundle, info, feedback)
    deposits_xy = None if deposits_xy is None else np.asarray(deposits_xy, dtype=float).reshape(-1, 2)

    halo = bundle.patch_size // 2
    with rasterio.open(stack_path) as source:
        tile = dataset_tile_size(source)
    blocks = list(iter_blocks(info.width, info.height, block_size, halo=halo, tile_size=tile))
    need_second_pass = bool(output_classes) or deposits_xy is not None
    first_share = 85.0 if need_second_pass else 100.0
    result = PredictionResult(probability=str(output))
    probability_histogram = _Histogram() if output_classes else None
    spread_histogram = _Histogram() if output_uncertainty else None

    with contextlib.ExitStack() as outputs:
        probability_tmp = outputs.enter_context(atomic_output(output))
        uncertainty_tmp = outputs.enter_context(atomic_output(output_uncertainty)) if output_uncertainty else None
        classes_tmp = outputs.enter_context(atomic_output(output_classes)) if output_classes else None

        profile = dict(GEOTIFF_OPTIONS, width=info.width, height=info.height, crs=info.crs,
                       transform=info.transform)
        with contextlib.ExitStack() as files:
            source = files.enter_context(rasterio.open(stack_path))
            targets = [files.enter_context(_open_output(probability_tmp, profile, "deposit_probability"))]
            if uncertainty_tmp:
                targets.append(files.enter_context(_open_output(uncertainty_tmp, profile, "probability_std")))

            def compute(block, raw):
                members, valid = _predict_window_valid(bundle, raw, info.nodata, block.inner, feedback)
                result.valid_pixels += int(valid.sum())
                maps = [_fill(members.mean(axis=0), valid)]
                if probability_histogram is not None:
                    probability_histogram.add(maps[0][valid])
                if uncertainty_tmp:
                    spread = members.std(axis=0)
                    spread_histogram.add(spread)
                    maps.append(_fill(spread, valid))
                return maps

            def write(block, maps):
                for target, band in zip(targets, maps):
                    target.write(band, 1, window=block.window)

            _stream(blocks, lambda block: source.read(window=block.read_window), compute, write,
                    feedback.scaled(0, first_share))
        if result.valid_pixels == 0:
            raise DeepProspectError(
                "The evidence stack {} has no pixel valid in every band, so there is nothing to predict: "
                "check the stack's nodata value and its layers' extents.".format(stack_path))

        if need_second_pass:
            thresholds = None
            if output_classes:
                thresholds = [probability_histogram.top_fraction_threshold(f) for f in fractions]
                result.class_thresholds = thresholds
            accumulator = None
            if deposits_xy is not None:
                deposit_values = _deposit_probabilities(probability_tmp, info, deposits_xy)
                kept = np.isfinite(deposit_values)
                result.deposits_used, result.deposits_dropped = int(kept.sum()), int((~kept).sum())
                if result.deposits_dropped:
                    feedback.warning("{} of {} known deposits fall outside the stack or on nodata pixels and are "
                                     "left out of the success-rate curve.".format(result.deposits_dropped, len(kept)))
                accumulator = SuccessRateAccumulator(deposit_values[kept])
            _second_pass(probability_tmp, classes_tmp, profile, blocks, thresholds, accumulator,
                         feedback.scaled(first_share, 100))
            if accumulator is not None:
                result.success_rate = accumulator.result()
        feedback.check_canceled()

    if output_uncertainty:
        result.uncertainty = str(output_uncertainty)
    if output_classes:
        result.classes = str(output_classes)
    if write_styles:
        result.styles["probability"] = write_style_beside(output, "probability.qml")
        if output_uncertainty:
            result.styles["uncertainty"] = write_style_beside(
                output_uncertainty, "uncertainty.qml", maximum=_nice_maximum(spread_histogram.quantile(0.995)))
        if output_classes:
            result.styles["classes"] = write_style_beside(output_classes, "classes.qml",
                                                          class_fractions=fractions)
    if result.success_rate is not None:
        stem = Path(output).with_suffix("")
        result.success_rate_csv = write_success_rate_csv(result.success_rate, str(stem) + "_success_rate.csv")
        result.success_rate_png = plot_success_rate(result.success_rate, str(stem) + "_success_rate.png",
                                                    fractions or DEFAULT_CLASS_FRACTIONS)
        feedback.info("Success-rate AUC {:.3f} over {} deposits; top {:.0f} % of the area holds {:.0f} % of them."
                      .format(result.success_rate.auc, result.deposits_used, 100 * (fractions or DEFAULT_CLASS_FRACTIONS)[0],
                              100 * result.success_rate.captured_at((fractions or DEFAULT_CLASS_FRACTIONS)[0])))
    result.seconds = time.perf_counter() - started
    feedback.info("Predicted {:,} pixels in {:.1f} s ({:,.0f} pixels/s).".format(
        result.valid_pixels, result.seconds, result.valid_pixels / max(result.seconds, 1e-9)))
    return result


def predict_at_pixels(bundle, stack_path, rows, cols):
    """Deposit probability of every ensemble member at given pixels of an evidence stack.

    ``bundle``: a ``ModelBundle`` (or ``.dpm`` path); ``rows``, ``cols``: integer arrays (n,) of
    pixel indices in the stack's grid (``core.raster.points_to_pixels`` turns map coordinates
    into them). Returns float32 (n_members, n); NaN where a pixel is outside the raster or not
    valid in every band. Uses the same standardisation, patch padding and :func:`predict_pixels`
    as :func:`predict_map`, so the values equal the map's bit for bit (ensemble mean =
    ``.mean(axis=0)``).
    """
    import rasterio
    from rasterio.windows import Window

    bundle = _as_bundle(bundle)
    info = read_stack_info(stack_path)
    bundle.check_factors(info.factor_names)
    rows = np.asarray(rows, dtype=np.int64).ravel()
    cols = np.asarray(cols, dtype=np.int64).ravel()
    result = np.full((len(bundle.members), rows.size), np.nan, dtype=np.float32)
    inside = (rows >= 0) & (rows < info.height) & (cols >= 0) & (cols < info.width)
    halo = bundle.patch_size // 2
    predicted, inputs = [], []
    with rasterio.open(stack_path) as source:
        for index in np.flatnonzero(inside):
            # One small window per pixel: cheap for the few pixels a user inspects.
            row0, col0 = max(0, rows[index] - halo), max(0, cols[index] - halo)
            row1 = min(info.height, rows[index] + halo + 1)
            col1 = min(info.width, cols[index] + halo + 1)
            raw = source.read(window=Window(col0, row0, col1 - col0, row1 - row0))
            valid_all = valid_pixels(raw, info.nodata)
            row, col = rows[index] - row0, cols[index] - col0
            if valid_all[row, col]:
                predicted.append(index)
                inputs.append(_window_inputs(bundle, raw, valid_all, np.array([row]), np.array([col])))
    if predicted:
        result[:, predicted] = predict_pixels(bundle, np.concatenate(inputs))
    return result


def predict_at_points(bundle, stack_path, xy):
    """Like :func:`predict_at_pixels` for map coordinates ``xy`` (n, 2) in the stack's CRS."""
    info = read_stack_info(stack_path)
    rows, cols = points_to_pixels(info, xy)
    return predict_at_pixels(bundle, stack_path, rows, cols)


def write_style_beside(raster_path, style_name, maximum=None, class_fractions=None):
    """Copy a QML from resources/styles beside ``raster_path`` (same base name, ``.qml``).

    ``maximum``: rescale a colour ramp to 0–``maximum`` (uncertainty); ``class_fractions``: put
    the area fractions into the class labels. Returns the QML path.
    """
    tree = ElementTree.parse(str(STYLES_FOLDER / style_name))
    root = tree.getroot()
    if maximum is not None:
        shader = root.find(".//colorrampshader")
        old_maximum = float(shader.get("maximumValue"))
        for item in shader.findall("item"):
            value = float(item.get("value")) * maximum / old_maximum
            item.set("value", repr(value))
            item.set("label", "{:.3g}".format(value))
        shader.set("maximumValue", repr(float(maximum)))
        root.find(".//rasterrenderer").set("classificationMax", repr(float(maximum)))
    if class_fractions is not None:
        labels = class_labels(class_fractions)
        for entry in root.iter("paletteEntry"):
            entry.set("label", labels[int(entry.get("value"))])
    target = Path(raster_path).with_suffix(".qml")
    with atomic_output(target) as temporary:
        tree.write(str(temporary), encoding="UTF-8", xml_declaration=False)
    return str(target)


def class_labels(class_fractions=DEFAULT_CLASS_FRACTIONS):
    """Legend labels {class value: text} for cumulative area fractions, e.g. 'Very high (top 5 %)'."""
    a, b, c = [100 * f for f in class_fractions]
    return {4: "Very high (top {:g} % of area)".format(a), 3: "High ({:g}–{:g} %)".format(a, b),
            2: "Moderate ({:g}–{:g} %)".format(b, c), 1: "Low (remaining {:g} %)".format(100 - c)}


def write_success_rate_csv(curve, path):
    """The curve's vertices as CSV (area_fraction, deposits_captured_fraction, probability_threshold)."""
    with atomic_output(path) as temporary:
        with open(temporary, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["area_fraction", "deposits_captured_fraction", "probability_threshold"])
            for area, captured, threshold in curve.rows():
                writer.writerow(["{:.6f}".format(area), "{:.6f}".format(captured),
                                 "" if not np.isfinite(threshold) else "{:.6f}".format(threshold)])
    return str(path)


def plot_success_rate(curve, path, class_fractions=DEFAULT_CLASS_FRACTIONS):
    """Success-rate chart (PNG): deposits captured against area ranked by probability, with the
    chance line and the share of deposits in each class's area marked."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 5.4), dpi=120)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    axes.plot([0, 100], [0, 100], color="0.6", linestyle="--", linewidth=1, label="chance (AUC 0.5)")
    axes.plot(100 * curve.area_fraction, 100 * curve.captured_fraction, color="#3b528b", linewidth=2,
              label="this map (AUC {:.3f})".format(curve.auc))
    for fraction, colour in zip(class_fractions, ("#d7191c", "#fdae61", "#abab4d")):
        captured = curve.captured_at(fraction)
        axes.plot([100 * fraction] * 2, [0, 100 * captured], color=colour, linewidth=1)
        axes.plot([0, 100 * fraction], [100 * captured] * 2, color=colour, linewidth=1)
        axes.annotate("top {:g} % of area: {:.0f} % of deposits".format(100 * fraction, 100 * captured),
                      (100 * fraction, 100 * captured), xytext=(8, -4), textcoords="offset points",
                      fontsize=8, color="0.15")
    axes.set_xlim(0, 100)
    axes.set_ylim(0, 101)
    axes.set_xlabel("Area ranked by predicted probability, most prospective first (%)")
    axes.set_ylabel("Known deposits captured (%)")
    axes.set_title("Success-rate curve: {} deposits, {:,} pixels".format(curve.deposit_count, curve.pixel_count),
                   fontsize=10)
    axes.grid(True, color="0.9")
    axes.legend(loc="lower right", fontsize=9)
    figure.tight_layout()
    with atomic_output(path) as temporary:
        figure.savefig(str(temporary), format="png")
    return str(path)


# ---------------------------------------------------------------------------------------------

def _as_bundle(bundle):
    if isinstance(bundle, (str, Path)):
        from .bundle import load_bundle

        return load_bundle(bundle)
    return bundle


def predict_pixels(bundle, inputs):
    """Deposit probability of every member, float32 (n_members, n), for standardised model inputs
    (n, n_factors), or patches (n, p, p, n_factors) for patch models.

    The one prediction path (module docstring): every model call gets exactly
    :data:`PREDICT_BATCH` rows, the last batch padded with zeros, through one compiled graph per
    member (eager calls cost about twice the arithmetic on a CPU), cached on the bundle.
    """
    import tensorflow as tf

    inputs = np.asarray(inputs, dtype=np.float32)
    functions = _member_functions(bundle, inputs.shape[1:])
    outputs = np.empty((len(functions), len(inputs)), dtype=np.float32)
    padded = np.zeros((PREDICT_BATCH,) + inputs.shape[1:], dtype=np.float32)
    for start in range(0, len(inputs), PREDICT_BATCH):
        count = min(PREDICT_BATCH, len(inputs) - start)
        padded[:count] = inputs[start:start + count]
        padded[count:] = 0.0
        batch = tf.constant(padded)
        for index, function in enumerate(functions):
            predicted = function(batch).numpy()[:count]
            outputs[index, start:start + count] = predicted[:, -1] if predicted.shape[-1] > 1 else predicted[:, 0]
    return outputs


def _member_functions(bundle, input_shape):
    """One tf.function per member for batches of shape (PREDICT_BATCH, *input_shape), cached on the bundle."""
    import tensorflow as tf

    input_shape = tuple(int(size) for size in input_shape)
    expected = tuple(bundle.members[0].inputs[0].shape[1:])
    if input_shape != expected:
        raise DeepProspectError("The model takes inputs of shape {} but was given {}.".format(expected, input_shape))
    cache = bundle.__dict__.setdefault("_prediction_functions", {})
    if input_shape not in cache:
        signature = [tf.TensorSpec((PREDICT_BATCH,) + input_shape, tf.float32)]
        cache[input_shape] = [tf.function(lambda x, model=model: model(x, training=False), input_signature=signature)
                              for model in bundle.members]
    return cache[input_shape]


def _predict_window_valid(bundle, raw, nodata, inner, feedback):
    """Member probabilities for the valid pixels of ``raw[:, inner]``.

    ``raw``: (n_factors, h, w) read with halo; ``inner``: slices of the pixels to predict.
    Returns ``(members (n_members, n_valid) float32, valid (rows, cols) bool)``.
    """
    valid_all = valid_pixels(raw, nodata)
    valid = valid_all[inner]
    rows, cols = np.nonzero(valid)
    rows = rows + inner[0].start
    cols = cols + inner[1].start
    if rows.size == 0:
        return np.zeros((len(bundle.members), 0), dtype=np.float32), valid
    chunk, standardised = _PIXEL_CHUNK, None
    if bundle.uses_patches:
        # patches for a few thousand pixels at a time, so memory stays bounded
        chunk = max(1, _PATCH_CHUNK_BYTES // (bundle.patch_size ** 2 * raw.shape[0] * 4))
        standardised = _standardised_window(bundle, raw)
    outputs = []
    for start in range(0, rows.size, chunk):
        if feedback is not None:
            feedback.check_canceled()
        part = slice(start, start + chunk)
        outputs.append(predict_pixels(bundle, _window_inputs(bundle, raw, valid_all, rows[part], cols[part],
                                                             standardised)))
    return np.concatenate(outputs, axis=1), valid


def _window_inputs(bundle, raw, valid_all, rows, cols, standardised=None):
    """Model inputs for pixels ``rows``, ``cols`` of a window ``raw`` (n_factors, h, w) whose valid
    pixels are ``valid_all``: the standardised values (n, n_factors) for pixel models, the patches
    for patch models (``standardised``: the window already through :func:`_standardised_window`).

    Patches are cut from a strip of rows plus the halo: its cut edges are either the window's own
    edges (where ``extract_patches`` pads, as outside the raster) or rows the patches never reach.
    """
    if not bundle.uses_patches:
        return bundle.standardise(raw[:, rows, cols].T)
    if standardised is None:
        standardised = _standardised_window(bundle, raw)
    half = bundle.patch_size // 2
    top, bottom = max(0, int(rows.min()) - half), min(raw.shape[1], int(rows.max()) + half + 1)
    return extract_patches(standardised[:, top:bottom], valid_all[top:bottom], rows - top, cols, bundle.patch_size)


def _standardised_window(bundle, raw):
    """``raw`` (n_factors, h, w) standardised with the same float32 arithmetic as ``bundle.standardise``."""
    return ((raw.astype(np.float32) - bundle.mean[:, None, None]) / bundle.std[:, None, None]).astype(np.float32)


def _fill(values, valid):
    """A (rows, cols) float32 map with ``values`` on valid pixels and nodata elsewhere."""
    band = np.full(valid.shape, PROBABILITY_NODATA, dtype=np.float32)
    band[valid] = np.clip(values, 0.0, 1.0)
    return band


def _stream(blocks, read, compute, write, feedback):
    """Read block i+1 and write block i-1 in helper threads while block i is computed.

    GDAL decompression/compression and TensorFlow release the GIL, so the three overlap.
    Each dataset is used by one thread only. Errors and cancel in any stage stop all stages.
    """
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="deepprospect-read") as reader, \
            concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="deepprospect-write") as writer:
        pending_reads = [reader.submit(read, block) for block in blocks[:2]]
        pending_write = None
        try:
            for index, block in enumerate(blocks):
                feedback.check_canceled()
                raw = pending_reads.pop(0).result()
                if index + 2 < len(blocks):
                    pending_reads.append(reader.submit(read, blocks[index + 2]))
                maps = compute(block, raw)
                del raw
                if pending_write is not None:
                    pending_write.result()      # at most one window waits to be written
                pending_write = writer.submit(write, block, maps)
                feedback.set_progress(100.0 * (index + 1) / len(blocks))
            if pending_write is not None:
                pending_write.result()
        finally:
            for future in pending_reads:
                future.cancel()
            if pending_write is not None:
                concurrent.futures.wait([pending_write])


def _second_pass(probability_path, classes_path, profile, blocks, thresholds, accumulator, feedback):
    """Classes and success-rate counts from the written probability map, window by window."""
    import rasterio

    with contextlib.ExitStack() as files:
        source = files.enter_context(rasterio.open(probability_path))
        target = None
        if classes_path:
            class_profile = dict(profile, dtype="uint8", nodata=CLASS_NODATA, predictor=2)
            target = files.enter_context(_open_output(classes_path, class_profile, "prospectivity_class"))

        def compute(block, values):
            values = values[0]
            valid = values != PROBABILITY_NODATA
            if accumulator is not None:
                accumulator.add(values[valid])
            if target is None:
                return None
            classes = np.ones(values.shape, dtype=np.uint8)
            for threshold in thresholds:
                classes += (values >= threshold).astype(np.uint8)
            classes[~valid] = CLASS_NODATA
            return classes

        def write(block, classes):
            if classes is not None:
                target.write(classes, 1, window=block.window)

        _stream(blocks, lambda block: source.read(window=block.window), compute, write, feedback)


def _open_output(path, profile, description):
    import rasterio

    options = dict(profile)
    options.setdefault("dtype", "float32")
    options.setdefault("nodata", PROBABILITY_NODATA)
    options["count"] = 1
    dataset = rasterio.open(path, "w", **options)
    dataset.set_band_description(1, description)
    return dataset


def _deposit_probabilities(probability_path, info, xy):
    """The written map's value at each deposit; NaN outside the raster or on nodata."""
    import rasterio

    rows, cols = points_to_pixels(info, xy)
    values = np.full(rows.size, np.nan)
    inside = (rows >= 0) & (rows < info.height) & (cols >= 0) & (cols < info.width)
    with rasterio.open(probability_path) as dataset:
        for index in np.flatnonzero(inside):
            value = dataset.read(1, window=((rows[index], rows[index] + 1), (cols[index], cols[index] + 1)))[0, 0]
            if value != PROBABILITY_NODATA and np.isfinite(value):
                values[index] = value
    return values


class _Histogram:
    """Counts of non-negative float32 values in bins of their top 20 bits (relative width 2⁻¹¹).

    The bit pattern of a non-negative float orders like its value, so cumulative counts give
    area-fraction thresholds to within one narrow bin, in bounded memory (8 MB).
    """

    SHIFT = 12

    def __init__(self):
        self.counts = np.zeros(2 ** (32 - self.SHIFT), dtype=np.int64)

    def add(self, values):
        values = np.ascontiguousarray(np.maximum(np.asarray(values, dtype=np.float32).ravel(), 0.0))
        self.counts += np.bincount(values.view(np.uint32) >> self.SHIFT, minlength=self.counts.size)

    def top_fraction_threshold(self, fraction):
        """The lowest value whose bin keeps the area at or above it within ``fraction`` (+ one bin)."""
        from_top = np.cumsum(self.counts[::-1])[::-1]     # from_top[b]: values in bins ≥ b
        target = fraction * from_top[0]
        candidates = np.flatnonzero(from_top >= target)
        edge = int(candidates[-1]) if candidates.size else 0
        return float(np.array([edge << self.SHIFT], dtype=np.uint32).view(np.float32)[0])

    def quantile(self, q):
        total = self.counts.sum()
        if total == 0:
            return 0.0
        edge = int(np.searchsorted(np.cumsum(self.counts), q * total)) + 1
        return float(np.array([edge << self.SHIFT], dtype=np.uint32).view(np.float32)[0])


def _nice_maximum(value):
    """Round a ramp maximum up to 1, 2 or 5 × 10^k so the legend reads well."""
    value = max(float(value), 1e-4)
    exponent = np.floor(np.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * 10 ** exponent >= value:
            return float(step * 10 ** exponent)
    return float(10 ** (exponent + 1))


def _check_class_fractions(fractions):
    fractions = [float(f) for f in fractions]
    if len(fractions) != 3 or not all(0 < f < 1 for f in fractions) or fractions != sorted(set(fractions)):
        raise DeepProspectError(
            "Class area fractions must be three increasing percentages between 0 and 100, for the very high, "
            "high and moderate classes (e.g. 5, 10, 25); got {}.".format([100 * f for f in fractions]))
    return fractions


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
