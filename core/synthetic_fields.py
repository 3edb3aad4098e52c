"""The latent world of the synthetic province (:mod:`core.synthetic`): its base grid, spatially
correlated random fields, the latent law's helpers, and the deposits and soil samples drawn from it.

Lengths in metres, coordinates in UTM zone 45N (:data:`CRS_EPSG`).
"""
import math

import numpy as np
from scipy import ndimage

CRS_EPSG = 32645  # UTM zone 45N, as in Pradhan et al. 2022 (Odisha, India)
BASE_CELL = 250.0          # m, the grid the latent fields live on
SAMPLE_SPACING = 1000.0
CANDIDATE_DENSITY = 2.0    # candidate deposit sites per km² before thinning by P

#: Geochemical fields of the sample points: median, log-sd and unit (after the paper's Table 4).
GEOCHEMISTRY = {
    "Sb_con": (0.30, 0.55, "ppm"),
    "Pb_con": (23.0, 0.45, "ppm"),
    "As_con": (7.0, 0.70, "ppm"),
    "Al_con": (72000.0, 0.20, "ppm"),
    "Hg_con": (10.0, 0.80, "ppb"),
    "Sn_con": (2.5, 0.40, "ppm"),
    "Co_con": (18.0, 0.40, "ppm"),
    "Cu_con": (30.0, 0.50, "ppm"),
    "SiO2_con": (62.0, 0.10, "wt%"),
}

#: Correlation lengths of the latent fields (m) and correlations with a partner field.
LATENT_FIELDS = {
    "Sb_con": (5000.0, None, 0.0), "Pb_con": (6000.0, None, 0.0), "As_con": (4500.0, None, 0.0),
    "Al_con": (8000.0, None, 0.0), "Hg_con": (4000.0, None, 0.0), "Sn_con": (7000.0, None, 0.0),
    "Co_con": (6000.0, None, 0.0), "Cu_con": (5500.0, "Co_con", 0.6),
    "SiO2_con": (8000.0, "Al_con", -0.5), "Oli_clay": (3000.0, None, 0.0),
    "Oli_silica": (3500.0, "SiO2_con", 0.5), "Mag_anamol": (7000.0, None, 0.0),
    "Boug_anamol": (15000.0, "Mag_anamol", 0.3), "lithology": (7000.0, None, 0.0),
    "lineament_intensity": (10000.0, None, 0.0),
}


class BaseGrid:
    """A north-up grid: top-left corner, square cell, rows × cols."""

    def __init__(self, west, north, cell, rows, cols):
        self.west, self.north, self.cell, self.rows, self.cols = west, north, cell, rows, cols

    @property
    def transform(self):
        from rasterio.transform import from_origin
        return from_origin(self.west, self.north, self.cell, self.cell)

    def subgrid(self, window):
        rows, cols = window
        return BaseGrid(self.west + cols.start * self.cell, self.north - rows.start * self.cell,
                     self.cell, rows.stop - rows.start, cols.stop - cols.start)

    def fractional_index(self, x, y):
        """Row and column (cell-centre based) of map coordinates, for map_coordinates."""
        return (self.north - np.asarray(y)) / self.cell - 0.5, (np.asarray(x) - self.west) / self.cell - 0.5

    def centres(self):
        xs = self.west + (np.arange(self.cols) + 0.5) * self.cell
        ys = self.north - (np.arange(self.rows) + 0.5) * self.cell
        return np.meshgrid(xs, ys)


def random_field(rng, shape, correlation_m):
    """A Gaussian random field with a Gaussian covariance of the given length, mean 0, sd 1."""
    field = ndimage.gaussian_filter(rng.standard_normal(shape), correlation_m / BASE_CELL, mode="reflect")
    return field


def latent_fields(rng, grid, inner):
    raw = {name: random_field(rng, (grid.rows, grid.cols), length) for name, (length, _, _) in LATENT_FIELDS.items()}
    fields = {}
    for name, (_, partner, correlation) in LATENT_FIELDS.items():
        field = standardise(raw[name], inner)
        if partner is not None:
            field = correlation * fields[partner] + math.sqrt(1 - correlation ** 2) * field
            field = standardise(field, inner)
        fields[name] = field
    return fields


def standardise(field, inner):
    core = field[inner]
    return (field - core.mean()) / core.std()


def sigmoid(values):
    return 1.0 / (1.0 + np.exp(-values))


def calibrate_intercept(linear, target_mean):
    low, high = -30.0, 30.0
    for _ in range(80):
        middle = (low + high) / 2
        if sigmoid(middle + linear).mean() > target_mean:
            high = middle
        else:
            low = middle
    return (low + high) / 2


def sample_grid(grid, values, xy, order=1):
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    rows, cols = grid.fractional_index(xy[:, 0], xy[:, 1])
    return ndimage.map_coordinates(values, [rows, cols], order=order, mode="nearest")


def draw_deposits(rng, area, grid, probability):
    west, south, east, north = area
    expected = CANDIDATE_DENSITY * (east - west) * (north - south) / 1e6
    count = rng.poisson(expected)
    candidates = np.column_stack([rng.uniform(west, east, count), rng.uniform(south, north, count)])
    keep = rng.uniform(size=count) < sample_grid(grid, probability, candidates)
    return candidates[keep]


def geochemical_samples(rng, area, grid, fields):
    west, south, east, north = area
    size = east - west
    centres = np.arange(SAMPLE_SPACING / 2, size, SAMPLE_SPACING)
    gx, gy = np.meshgrid(west + centres, south + centres)
    xy = np.column_stack([gx.ravel(), gy.ravel()]) + rng.uniform(-350.0, 350.0, (gx.size, 2))
    # Forest reserves and sanctuaries that were never sampled (the paper's data gaps).
    holes = max(1, int(round(size / 40000.0)))
    keep = np.ones(len(xy), dtype=bool)
    for _ in range(holes):
        cx, cy = west + size * rng.uniform(0.2, 0.8), south + size * rng.uniform(0.2, 0.8)
        # at least a few km across even in a small test area, so the gap is visible
        scale = max(size, 40000.0)
        a, b = scale * rng.uniform(0.06, 0.10), scale * rng.uniform(0.05, 0.08)
        angle = rng.uniform(0, math.pi)
        dx, dy = xy[:, 0] - cx, xy[:, 1] - cy
        u = dx * math.cos(angle) + dy * math.sin(angle)
        v = -dx * math.sin(angle) + dy * math.cos(angle)
        keep &= (u / a) ** 2 + (v / b) ** 2 > 1
    xy = xy[keep]
    attributes = {"sample_id": ["S{:05d}".format(i + 1) for i in range(len(xy))]}
    for name, (median, log_sd, _) in GEOCHEMISTRY.items():
        latent = sample_grid(grid, fields[name], xy)
        nugget = rng.standard_normal(len(xy))
        values = median * np.exp(log_sd * (0.92 * latent + 0.39 * nugget))
        attributes[name] = round_significant(values, 3)
    return {"xy": xy, "attributes": attributes}


def round_significant(values, digits):
    magnitude = np.floor(np.log10(np.abs(values)))
    factor = 10.0 ** (digits - 1 - magnitude)
    return np.round(values * factor) / factor
