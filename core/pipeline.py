"""The one block pipeline: every map-wide step (IDW, stacking, prediction, SHAP maps, spectral
pre-processing and classification) reads, computes and writes its rasters through
:func:`map_windows`.

It owns what those steps used to write five times: windows aligned to the GeoTIFF's internal
tiles, a halo of context pixels for patch models, the valid-pixel mask, cancel between windows,
progress, a bounded GDAL block cache, and the atomic write (nothing under an output's name
unless the whole run succeeds). Reading window i+1 and writing window i-1 run in two helper
threads while window i is computed: GDAL's (de)compression, numpy and TensorFlow release the
GIL, so the three overlap. Each dataset is used by one thread only.

A step supplies ``compute(block, data)``: ``data`` is the sources' bands for
``block.read_window`` (halo included) and ``block.valid`` their valid-pixel mask; it returns one
array per output for ``block.window`` (``block.inner`` cuts it out of the read window).

A step that may run on a Dask cluster supplies a :class:`WindowTask` instead: the same work split
into a part any machine can run (a module-level function and picklable context) and a part that
gathers the results here. With ``scheduler`` the windows run on the cluster's workers
(:mod:`core.pipeline_dask`) and this machine writes their results in window order with the same
writer, so the files are byte for byte those of a local run.
"""
import concurrent.futures
import contextlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .atomic import atomic_output
from .blocks import dataset_tile_size, iter_blocks
from .feedback import ensure_feedback
from .raster import GEOTIFF_OPTIONS, STACK_NODATA, bounded_gdal_cache

#: Pixels per side of a processing window: ~1 M pixels, a few tens of MB per window for 16 bands.
DEFAULT_BLOCK_SIZE = 1024
#: GDAL's block cache while a pipeline runs (MB): windows are read once, so a larger cache only
#: makes peak memory grow with the raster (measured 2.0 GB at 6000² with GDAL's 5 %-of-RAM default).
GDAL_CACHE_MB = 64
#: Window side used to align blocks when no source is tiled (the outputs' own tile size).
OUTPUT_TILE = 256


@dataclass
class Grid:
    """A raster grid: size in pixels, CRS (rasterio CRS, WKT or None) and affine transform."""

    width: int
    height: int
    crs: object
    transform: object


@dataclass
class RasterOutput:
    """One GeoTIFF a pipeline writes: ``count`` bands of ``dtype`` with ``nodata``.

    ``descriptions``: band names; ``band_tags``: one dict of tags per band; ``tags``: dataset
    tags; ``options``: creation options that override ``core.raster.GEOTIFF_OPTIONS`` (e.g.
    ``predictor=2`` for integers).
    """

    path: object
    count: int = 1
    dtype: str = "float32"
    nodata: float = STACK_NODATA
    descriptions: tuple = ()
    band_tags: tuple = ()
    tags: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)


@dataclass
class WindowTask:
    """One window's work in a form another machine can run (for ``map_windows(scheduler=…)``).

    ``function(block, data, context, feedback)`` → a value: a module-level function (a Dask worker
    imports it by name) that gets the block, its ``data`` and ``block.valid`` as ``compute`` does,
    ``context`` (whatever it needs beyond the pixels: file paths, settings, small arrays; picklable,
    sent once to each worker) and a feedback (the run's own here, a silent one on a worker).
    ``collect(block, value)`` runs on this machine, in window order, and returns what ``compute``
    would (one array per output, or None); None: the value itself. Both ways run the same code,
    so a cluster run writes the same bytes as a local one.
    """

    function: object
    context: object = None
    collect: object = None

    def local(self, feedback):
        """The ``compute(block, data)`` of a run on this machine."""
        def compute(block, data):
            value = self.function(block, data, self.context, feedback)
            return value if self.collect is None else self.collect(block, value)

        return compute


def map_windows(sources, outputs, compute, *, grid=None, block_size=DEFAULT_BLOCK_SIZE, halo=0, feedback=None,
                read=None, tile_size=None, atomic=True, scheduler=None):
    """Run ``compute`` over ``grid`` window by window and write its results to ``outputs``.

    ``sources``: raster paths on ``grid`` (same size), or ``(path, band_indexes)`` pairs (1-based,
    as rasterio) to read some bands only; their bands are stacked into ``data`` (bands, rows,
    cols), read with ``halo`` pixels of context on each side (clipped at the raster's edges), in
    the sources' own dtype. ``read``: instead of sources, a function ``read(block) → data`` (for
    example warping layers onto the grid); ``compute`` then gets ``block.valid = None``.
    ``outputs``: :class:`RasterOutput` objects; ``compute(block, data)`` returns a sequence with
    one array per output, (count, rows, cols) or (rows, cols) for ``block.window``, or None to
    write nothing for this window. ``grid``: the output grid (anything with width, height, crs,
    transform), by default the first source's. ``block_size``: pixels per window side, rounded
    up to a multiple of the tile size (the first source's internal tile, else ``tile_size`` or
    256) so reads never split a tile. ``atomic``: write under temporary names and move into
    place at the end (False when the caller already holds temporaries from
    ``core.atomic.atomic_output``, e.g. for a second pass over a first pass's result).
    ``compute`` may be a :class:`WindowTask`; ``scheduler``: the address of a Dask scheduler
    (``tcp://host:8786``) to run it on that cluster's workers (:mod:`core.pipeline_dask`: they
    read the sources themselves, so the sources must be on storage they all reach; ``read``
    cannot be used then), None or empty to run here. Without sources and ``read``, ``data`` is None.

    Nodata follows :mod:`core.raster_input` (a source without nodata tag has its sentinel
    detected, with a warning). A source that cannot be opened or read (damaged, incomplete)
    raises a :class:`DeepProspectError` naming it. Cancel raises ``OperationCanceled`` between
    windows; on any error no output is left behind. Returns the number of windows.
    """
    feedback = ensure_feedback(feedback)
    sources = [_as_source(source) for source in sources or ()]
    task = compute if isinstance(compute, WindowTask) else None
    if scheduler and (task is None or read is not None):
        raise ValueError("map_windows runs on a Dask cluster only a WindowTask over sources, without read().")
    with bounded_gdal_cache(GDAL_CACHE_MB), contextlib.ExitStack() as files:
        opened = [(files.enter_context(_open(path)), bands, path) for path, bands in sources]
        grid = grid or _grid_of(opened[0][0])
        tile = tile_size or (dataset_tile_size(opened[0][0]) if opened else None) or OUTPUT_TILE
        blocks = list(iter_blocks(grid.width, grid.height, block_size, halo=halo, tile_size=tile))
        nodata = _sources_nodata(opened, feedback)
        cluster = None
        if scheduler:   # connect before any output exists: an unreachable scheduler leaves nothing behind
            from .pipeline_dask import Cluster

            cluster = files.enter_context(Cluster(scheduler))
        paths = [files.enter_context(atomic_output(output.path)) if atomic else output.path for output in outputs]
        targets = [files.enter_context(_create(path, output, grid)) for path, output in zip(paths, outputs)]
        if cluster is not None:
            cluster.stream(blocks, sources, nodata, task, _writer(targets), feedback)
        else:
            read = read or (lambda block: read_block(opened, nodata, block))
            _stream(blocks, read, task.local(feedback) if task else compute, _writer(targets), feedback)
    return len(blocks)


#: Values (pixels × bands) up to which the pixels around scattered points are read as one
#: covering window rather than one small window per point.
COVERING_WINDOW_VALUES = 50_000_000


@dataclass
class Neighbourhood:
    """Pixels read around some points: ``data`` (bands, rows, cols) in the raster's dtype,
    ``valid`` its valid-pixel mask, ``rows``/``cols`` the points' pixel indices inside ``data``,
    ``indexes`` the points' positions in the arrays given to :func:`read_neighbourhoods`."""

    data: np.ndarray
    valid: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    indexes: np.ndarray


def read_neighbourhoods(path, rows, cols, halo=0, feedback=None):
    """Read the pixels ``rows``, ``cols`` (integer arrays (n,), indices in the raster's grid) of
    ``path`` with ``halo`` pixels of context on each side, clipped at the raster's edges.

    The one way to read a pixel or a patch (inspector, training patches, values at points).
    Yields :class:`Neighbourhood` objects: a single window covering every point when it holds
    at most :data:`COVERING_WINDOW_VALUES` values, else one small window per point. Points
    outside the raster are skipped (no neighbourhood holds them).
    """
    from rasterio.windows import Window

    from .raster import valid_pixels
    from .raster_input import raster_nodata, reading

    rows = np.asarray(rows, dtype=np.int64).ravel()
    cols = np.asarray(cols, dtype=np.int64).ravel()
    with _open(path) as dataset:
        nodata = raster_nodata(dataset, path, feedback)
        feedback = ensure_feedback(feedback)
        inside = np.flatnonzero((rows >= 0) & (rows < dataset.height) & (cols >= 0) & (cols < dataset.width))
        if not inside.size:
            return
        top, left = max(int(rows[inside].min()) - halo, 0), max(int(cols[inside].min()) - halo, 0)
        bottom = min(int(rows[inside].max()) + halo + 1, dataset.height)
        right = min(int(cols[inside].max()) + halo + 1, dataset.width)
        if (bottom - top) * (right - left) * dataset.count <= COVERING_WINDOW_VALUES:
            groups = [inside]
        else:
            groups = [inside[position:position + 1] for position in range(inside.size)]
        for number, group in enumerate(groups):
            if number % 256 == 0:
                feedback.check_canceled()
            if len(groups) > 1:
                top, left = max(int(rows[group[0]]) - halo, 0), max(int(cols[group[0]]) - halo, 0)
                bottom = min(int(rows[group[0]]) + halo + 1, dataset.height)
                right = min(int(cols[group[0]]) + halo + 1, dataset.width)
            with reading(path):
                data = dataset.read(window=Window(left, top, right - left, bottom - top))
            yield Neighbourhood(data, valid_pixels(data, nodata), rows[group] - top, cols[group] - left, group)


# ---------------------------------------------------------------------------------------------

def _as_source(source):
    if isinstance(source, (str, Path)):
        return str(source), None
    path, bands = source
    return str(path), None if bands is None else [int(band) for band in bands]


def _open(path):
    from .raster_input import open_raster

    return open_raster(path)


def _grid_of(dataset):
    return Grid(dataset.width, dataset.height, dataset.crs, dataset.transform)


def _sources_nodata(opened, feedback):
    """Each source's nodata values, one per band read (:mod:`core.raster_input`'s rule, the same
    for every reader; a detected sentinel is warned about here, once)."""
    from .raster_input import raster_nodata

    nodata = []
    for dataset, bands, path in opened:
        values = raster_nodata(dataset, path, feedback)
        nodata.append(values if bands is None else tuple(values[band - 1] for band in bands))
    return nodata


def read_block(opened, nodata, block):
    """The sources' bands for ``block.read_window`` (bands, rows, cols), or None without sources;
    sets ``block.valid``, the pixels valid in every band. ``opened``: (dataset, bands, path)
    triples; ``nodata``: :func:`_sources_nodata`'s values."""
    from .raster import valid_pixels
    from .raster_input import reading

    if not opened:
        return None
    parts = []
    for dataset, bands, path in opened:
        with reading(path):
            parts.append(dataset.read(bands, window=block.read_window))
    data = parts[0] if len(parts) == 1 else np.concatenate(parts)
    valid = np.ones(data.shape[1:], dtype=bool)
    for values, part in zip(nodata, parts):
        valid &= valid_pixels(part, values)
    block.valid = valid
    return data


def read_sources(sources, nodata, block):
    """:func:`read_block` for sources given as (path, bands) pairs (opened here, closed after)."""
    with contextlib.ExitStack() as files:
        opened = [(files.enter_context(_open(path)), bands, path) for path, bands in sources]
        return read_block(opened, nodata, block)


def _create(path, output, grid):
    import rasterio

    options = dict(GEOTIFF_OPTIONS, width=grid.width, height=grid.height, count=output.count, dtype=output.dtype,
                   crs=grid.crs, transform=grid.transform, nodata=output.nodata)
    options.update(output.options)
    dataset = rasterio.open(path, "w", **options)
    for index, description in enumerate(output.descriptions, start=1):
        dataset.set_band_description(index, description)
    for index, tags in enumerate(output.band_tags, start=1):
        dataset.update_tags(index, **tags)
    if output.tags:
        dataset.update_tags(**output.tags)
    return dataset


def _writer(targets):
    def write(block, results):
        if results is None:
            return
        for target, result in zip(targets, results):
            result = np.asarray(result)
            if result.ndim == 2:
                target.write(result, 1, window=block.window)
            else:
                target.write(result, window=block.window)

    return write


def _stream(blocks, read, compute, write, feedback):
    """Read block i+1 and write block i-1 in helper threads while block i is computed.

    Errors and cancel in any stage stop all stages.
    """
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="deepprospect-read") as reader, \
            concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="deepprospect-write") as writer:
        pending_reads = [reader.submit(read, block) for block in blocks[:2]]
        pending_write = None
        try:
            for index, block in enumerate(blocks):
                feedback.check_canceled()
                data = pending_reads.pop(0).result()
                if index + 2 < len(blocks):
                    pending_reads.append(reader.submit(read, blocks[index + 2]))
                results = compute(block, data)
                del data
                if pending_write is not None:
                    pending_write.result()      # at most one window waits to be written
                pending_write = writer.submit(write, block, results)
                feedback.set_progress(100.0 * (index + 1) / len(blocks))
            if pending_write is not None:
                pending_write.result()
        finally:
            for future in pending_reads:
                future.cancel()
            if pending_write is not None:
                concurrent.futures.wait([pending_write])
