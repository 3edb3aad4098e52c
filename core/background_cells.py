"""Background cells: valid stack cells drawn uniformly at random, the unlabelled class of
positive–unlabelled (PU) training.

A random non-deposit is not a known barren cell: some are undiscovered deposits, so a few hundred
sampled "negatives" waste most of what the map says about where deposits are *not* common. PU
training instead contrasts the deposits with thousands of cells drawn from the whole valid area
(Elkan & Noto 2008): what a model learns is then how deposit cells differ from an average cell.

The draw reads only the drawn pixels (``core.raster.sample_stack``), so it is cheap on a stack of
any size, and it also estimates how many valid cells the stack holds (the share of uniformly
drawn cells that are valid, times the grid's size): the labelled prior π_l = deposits / valid
cells of a calibrated map comes from it.
"""
from dataclasses import dataclass

import numpy as np

from .errors import DeepProspectError
from .raster import pixel_centres, sample_stack

#: Cells a PU model contrasts the deposits with (measured: 2,000, 5,000 and 10,000 give the same
#: future-deposit ROC-AUC on the demo province, so the middle one).
BACKGROUND_CELLS = 5000
# Draw rounds before giving up on a stack whose valid area is a sliver of its grid.
_MAX_ROUNDS = 50


@dataclass
class BackgroundCells:
    """``rows``, ``cols`` int64 (m,) pixel indices; ``values`` float64 (m, n_factors) raw factor
    values; ``valid_cells``: the estimated number of valid cells in the stack."""

    rows: np.ndarray
    cols: np.ndarray
    values: np.ndarray
    valid_cells: float


def draw_background_cells(stack, count=BACKGROUND_CELLS, seed=0, exclude_cells=(), exclude_blocks=()):
    """Up to ``count`` distinct valid cells of ``stack`` (``core.raster.StackInfo``) drawn
    uniformly without replacement (seeded), leaving out the row-major cell indices
    ``exclude_cells`` (the deposits' cells) and the cells whose centres lie in the squares
    ``exclude_blocks`` [(xmin, ymin, xmax, ymax)] map units (a fold's held-out blocks).

    Returns :class:`BackgroundCells` (fewer than ``count`` cells only when the allowed valid area
    holds fewer). Raises :class:`DeepProspectError` when no valid cell can be drawn.
    """
    total = int(stack.width) * int(stack.height)
    rng = np.random.default_rng(int(seed))
    excluded = np.unique(np.asarray(exclude_cells, dtype=np.int64))
    values, tried = [], 0
    taken = np.zeros(0, dtype=np.int64)
    valid_drawn = drawn = 0
    for _ in range(_MAX_ROUNDS):
        need = count - len(taken)
        if need <= 0 or tried >= total:
            break
        batch = min(total, max(2 * need, 1024))
        cells = rng.choice(total, size=batch, replace=False) if batch == total else rng.integers(0, total, batch)
        cells = np.unique(cells)
        cells = cells[~np.isin(cells, taken)]
        tried += len(cells)
        rows, cols = cells // stack.width, cells % stack.width
        found, valid, _, _ = sample_stack(stack.path, pixel_centres(stack, rows, cols))
        drawn, valid_drawn = drawn + len(cells), valid_drawn + int(valid.sum())
        allowed = valid & ~np.isin(cells, excluded) & ~_in_blocks(pixel_centres(stack, rows, cols), exclude_blocks)
        keep = np.flatnonzero(allowed)
        keep = keep[rng.permutation(len(keep))][:need]
        values.append(found[keep])
        taken = np.concatenate([taken, cells[keep]])
    if len(taken) == 0:
        raise DeepProspectError(
            "No valid cell of the evidence stack could be drawn as background outside the held-out blocks and the "
            "deposits' cells: check the stack's nodata (an all-nodata stack has nothing to learn from).")
    order = np.argsort(taken, kind="stable")
    cells = taken[order]
    return BackgroundCells(cells // stack.width, cells % stack.width, np.concatenate(values)[order],
                           total * valid_drawn / max(drawn, 1))


def _in_blocks(xy, blocks):
    """Whether each point (n, 2) lies in any of the squares ``blocks`` (bool (n,))."""
    inside = np.zeros(len(xy), dtype=bool)
    for xmin, ymin, xmax, ymax in blocks:
        inside |= (xy[:, 0] >= xmin) & (xy[:, 0] < xmax) & (xy[:, 1] >= ymin) & (xy[:, 1] < ymax)
    return inside
