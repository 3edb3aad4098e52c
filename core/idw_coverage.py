"""Do the samples cover the IDW grid? The checks :func:`core.idw.interpolate_points` makes before
writing anything, so an EXTENT far from every sample is an error or a warning, never a silent
empty or flat raster.

* **Error** when no cell could get a value from a nearby sample: with a RADIUS, no cell centre
  is within RADIUS of a sample (the raster would be all nodata); without one, the EXTENT holds no
  sample and even its nearest cell centre is farther than :data:`FAR_FACTOR` × the median sample
  spacing from every sample (every cell would be an extrapolation of distant samples: an almost
  flat raster; with a single sample place: farther than the EXTENT's larger side).
* **Warning** when more than :data:`FAR_SHARE` of the cells are farther than
  ``reach = FAR_FACTOR × median spacing`` (or RADIUS, if smaller) from every sample: there the
  raster is nodata (beyond RADIUS) or an extrapolation of distant samples.

The median sample spacing is the median distance from each sample to its nearest other sample
(map units); with a single sample place there is none, and only the EXTENT/RADIUS rules apply.
"""
import numpy as np

from .errors import DeepProspectError

#: A cell farther than this many median sample spacings from every sample counts as "far".
FAR_FACTOR = 3.0
#: Warn when more than this share of the cells is far.
FAR_SHARE = 0.5
#: Cells per side checked for the far share (a regular subset of rows and columns on larger grids).
CHECKED_CELLS_PER_SIDE = 512


def check_coverage(xy, transform, width, height, radius, label, feedback):
    """Raise or warn (see the module docstring) for samples ``xy`` (n, 2; distinct places, map
    units) on the grid of north-up ``transform`` (square cells), ``width`` × ``height`` cells;
    ``radius`` in map units (0: unlimited); ``label`` names the fields in the messages.
    Returns the share (0…1) of far cells, or None when it was not computed (one sample place)."""
    from scipy.spatial import cKDTree

    tree = cKDTree(xy)
    spacing = median_spacing(tree, xy)
    nearest = nearest_cell_distance(xy, transform, width, height)
    far = FAR_FACTOR * spacing if spacing is not None else None
    where = _samples_extent(xy)
    if radius and nearest > radius:
        raise DeepProspectError(
            "{}: no cell of the EXTENT is within RADIUS ({:g} map units) of a sample: the nearest sample is {:.6g} "
            "map units from the nearest cell centre, so the raster would be empty. The samples cover {}: choose an "
            "EXTENT that overlaps them, leave EXTENT empty, or enlarge RADIUS.".format(label, radius, nearest, where))
    # one sample place has no spacing: then "far" is farther than the EXTENT's larger side
    size = max(width, height) * float(transform.a)
    if not radius and not _holds_a_sample(xy, transform, width, height) and nearest > (far or size):
        raise DeepProspectError(
            "{}: the EXTENT holds no sample and its nearest cell centre is {:.6g} map units from the nearest sample "
            "(more than {}), so every cell would be an extrapolation of distant samples, an almost flat raster. The "
            "samples cover {}: choose an EXTENT that overlaps them, or leave EXTENT empty.".format(
                label, nearest, _spacing_text(spacing) if far else "the EXTENT's size, {:.6g}, with a single sample "
                "place".format(size), where))
    if far is None:
        return None
    reach, why = (radius, "RADIUS") if radius and radius < far else (far, _spacing_text(spacing))
    share = far_share(tree, transform, width, height, reach)
    if share > FAR_SHARE:
        feedback.warning(
            "{}: {:.0%} of the {} × {} cells are farther than {:.6g} map units ({}) from every sample; there the "
            "raster is nodata or an extrapolation of distant samples. Check EXTENT: the samples cover {}.".format(
                label, share, width, height, reach, why, where))
    return share


def median_spacing(tree, xy):
    """Median distance (map units) from each sample to its nearest other sample; None for one sample."""
    if len(xy) < 2:
        return None
    distance, _ = tree.query(xy, k=2)
    return float(np.median(distance[:, 1]))


def nearest_cell_distance(xy, transform, width, height):
    """Smallest distance (map units) between a sample and a cell centre of the grid.

    Exact: on a regular lattice of centres the nearest one to a point is that of the cell holding
    it, with the column and row clamped to the grid (each axis on its own).
    """
    cell = float(transform.a)
    cols = np.clip(np.floor((xy[:, 0] - transform.c) / cell), 0, width - 1)
    rows = np.clip(np.floor((transform.f - xy[:, 1]) / cell), 0, height - 1)
    return float(np.min(np.hypot(xy[:, 0] - (transform.c + (cols + 0.5) * cell),
                                 xy[:, 1] - (transform.f - (rows + 0.5) * cell))))


def far_share(tree, transform, width, height, reach):
    """Share (0…1) of the cell centres farther than ``reach`` (map units) from every sample of ``tree``;
    exact up to :data:`CHECKED_CELLS_PER_SIDE` cells per side, on a regular subset of rows and columns beyond."""
    cell = float(transform.a)
    cols, rows = _checked(width), _checked(height)
    xs = transform.c + (cols + 0.5) * cell
    ys = transform.f - (rows + 0.5) * cell
    distance, _ = tree.query(np.column_stack([np.tile(xs, len(ys)), np.repeat(ys, len(xs))]), k=1)
    return float(np.mean(distance > reach))


def _checked(count):
    if count <= CHECKED_CELLS_PER_SIDE:
        return np.arange(count)
    return np.unique(np.linspace(0, count - 1, CHECKED_CELLS_PER_SIDE).round().astype(np.int64))


def _holds_a_sample(xy, transform, width, height):
    cell = float(transform.a)
    inside_x = (xy[:, 0] >= transform.c) & (xy[:, 0] <= transform.c + width * cell)
    inside_y = (xy[:, 1] <= transform.f) & (xy[:, 1] >= transform.f - height * cell)
    return bool((inside_x & inside_y).any())


def _spacing_text(spacing):
    return "{:g} × the median sample spacing of {:.6g}".format(FAR_FACTOR, spacing)


def _samples_extent(xy):
    low, high = xy.min(axis=0), xy.max(axis=0)
    return "x {:.10g} to {:.10g}, y {:.10g} to {:.10g}".format(low[0], high[0], low[1], high[1])
