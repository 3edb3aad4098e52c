"""Window-by-window processing of rasters, so memory stays bounded whatever the raster size.

The windows of ``core.pipeline.map_windows``, the one block loop: nothing else iterates them.
"""
from dataclasses import dataclass


@dataclass
class Block:
    """One processing window.

    ``window``: the pixels this block writes (rasterio Window); ``read_window``: the same
    grown by ``halo`` pixels on each side and clipped to the raster; ``inner``: slices that
    cut ``window`` out of an array read with ``read_window``.
    """

    window: object
    read_window: object
    inner: tuple
    index: int
    count: int
    #: Valid-pixel mask (rows, cols) of the read window, set by ``core.pipeline`` when it reads sources.
    valid: object = None


def iter_blocks(width, height, block_size, halo=0, tile_size=None):
    """Yield :class:`Block` objects covering a ``width`` × ``height`` raster row by row.

    ``block_size`` (pixels per side) is rounded up to a multiple of ``tile_size`` (the
    GeoTIFF's internal tile, e.g. 256) so reads never split a tile; ``halo`` pixels of
    context are added around each block (for patch models), clipped at the raster's edges.
    """
    from rasterio.windows import Window

    block_size = max(1, int(block_size))
    if tile_size:
        block_size = max(tile_size, (block_size + tile_size - 1) // tile_size * tile_size)
    starts = [(row, col) for row in range(0, height, block_size) for col in range(0, width, block_size)]
    for index, (row, col) in enumerate(starts):
        rows, cols = min(block_size, height - row), min(block_size, width - col)
        row0, col0 = max(0, row - halo), max(0, col - halo)
        row1, col1 = min(height, row + rows + halo), min(width, col + cols + halo)
        inner = (slice(row - row0, row - row0 + rows), slice(col - col0, col - col0 + cols))
        yield Block(Window(col, row, cols, rows), Window(col0, row0, col1 - col0, row1 - row0), inner,
                    index, len(starts))


def dataset_tile_size(dataset):
    """The internal tile width of a rasterio dataset's first band, or None if striped."""
    shapes = dataset.block_shapes
    if not shapes:
        return None
    block_rows, block_cols = shapes[0]
    return block_cols if block_rows > 1 and block_rows == block_cols else None
