"""A synthetic mineral province whose truth is known, for tests, benchmarks and the demo.

The generator builds, from a seed and a side length, the kind of data Pradhan et al. (2022)
integrated for the Rengali Province, in UTM zone 45N:

* ``geochem_samples.gpkg`` — soil samples on a jittered 1 km grid (≈1 per km²) with nine
  log-normal, spatially correlated element fields (``Sb_con`` … ``SiO2_con``), and holes where
  forest reserves were not sampled;
* ``magnetic_anomaly.tif`` (nT, WGS 84 geographic, ≈550 m cells) and ``bouguer_anomaly.tif``
  (mGal, UTM 44N, 1 km cells): coarser grids in other CRSs, so stacking must reproject;
* ``landsat_clay_ratio.tif`` and ``landsat_silica_ratio.tif``: 30 m band-ratio rasters;
* ``shear_zones.gpkg``, ``lineaments.gpkg`` (lines) and ``lithology.gpkg`` (polygons with a
  ``gold_favourable`` unit);
* ``deposits.gpkg``: known occurrences drawn from the latent law below;
* ``truth_probability.tif``, ``truth_evidence.tif`` and ``truth.json``: the latent law itself.

The latent law (documented in ``truth.json`` too)::

    logit P(x) = intercept + Σ_k weight_k · term_k(x)

with ``term_k`` the standardised (mean 0, sd 1 over the area) latent log-field of ``Sb_con``,
``Oli_clay``, ``Pb_con``, ``As_con`` and ``Mag_anamol``, ``exp(-d/3 km)`` for the distance ``d``
to the nearest shear zone, and 1 inside the gold-favourable lithology. The intercept is set so
that the mean of ``P`` over the area is 0.06 (the paper: gold expected in 5–7 % of the province).
Deposits are a thinned Poisson process: candidate sites at ``CANDIDATE_DENSITY`` per km²,
each kept with probability ``P``; so the deposit intensity is proportional to ``P``.
The true importance of a factor is ``|weight| × sd(term)``; factors outside the law have none.
"""
import json
import math
from pathlib import Path

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from .errors import DeepProspectError
from .feedback import ensure_feedback
from .points import write_geopackage

CRS_EPSG = 32645  # UTM zone 45N, as in Pradhan et al. 2022 (Odisha, India)
MAGNETIC_CRS_EPSG = 4326
BOUGUER_CRS_EPSG = 32644
WEST, NORTH = 280000.0, 2400000.0
BASE_CELL = 250.0          # m, the grid the latent fields live on
MARGIN = 6000.0            # m of latent field beyond the area, so reprojected grids cover it
LANDSAT_CELL = 30.0
BOUGUER_CELL = 1000.0
MAGNETIC_CELL_DEGREES = 0.005
SAMPLE_SPACING = 1000.0
CANDIDATE_DENSITY = 2.0    # candidate deposit sites per km² before thinning by P
MEAN_PROBABILITY = 0.06
SHEAR_DECAY = 3000.0       # m

#: The paper's sixteen factors (Pradhan et al. 2022, Table 1 / Figure 2), in Figure 2's order.
FACTOR_NAMES = (
    "Al_con", "Sb_con", "Co_con", "Sn_con", "Hg_con", "As_con", "Cu_con", "Pb_con", "SiO2_con",
    "Oli_silica", "Oli_clay", "Mag_anamol", "Boug_anamol", "Dist_shear", "Lith_gold", "Linea_den",
)

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

UNITS = dict({name: unit for name, (_, _, unit) in GEOCHEMISTRY.items()}, **{
    "Oli_silica": "ratio", "Oli_clay": "ratio", "Mag_anamol": "nT", "Boug_anamol": "mGal",
    "Dist_shear": "m", "Lith_gold": "class", "Linea_den": "km/km²",
})

#: Coefficients of the latent logit on each term (see the module docstring).
TRUE_WEIGHTS = {
    "Sb_con": 1.5, "Oli_clay": 1.2, "Pb_con": 1.0, "As_con": 0.6, "Mag_anamol": 0.5,
    "Dist_shear": 1.6, "Lith_gold": 0.8,
}

LITHOLOGY_UNITS = (
    (1, "Granite gneiss", 0),
    (2, "Amphibolite and granulite", 0),
    (3, "Quartzite and schist", 0),
    (4, "Sheared metavolcano-sedimentary sequence", 1),
    (5, "Charnockite", 0),
)

#: Correlation lengths of the latent fields (m) and correlations with a partner field.
_FIELDS = {
    "Sb_con": (5000.0, None, 0.0), "Pb_con": (6000.0, None, 0.0), "As_con": (4500.0, None, 0.0),
    "Al_con": (8000.0, None, 0.0), "Hg_con": (4000.0, None, 0.0), "Sn_con": (7000.0, None, 0.0),
    "Co_con": (6000.0, None, 0.0), "Cu_con": (5500.0, "Co_con", 0.6),
    "SiO2_con": (8000.0, "Al_con", -0.5), "Oli_clay": (3000.0, None, 0.0),
    "Oli_silica": (3500.0, "SiO2_con", 0.5), "Mag_anamol": (7000.0, None, 0.0),
    "Boug_anamol": (15000.0, "Mag_anamol", 0.3), "lithology": (7000.0, None, 0.0),
    "lineament_intensity": (10000.0, None, 0.0),
}

FILES = {
    "geochemistry": "geochem_samples.gpkg",
    "magnetic": "magnetic_anomaly.tif",
    "bouguer": "bouguer_anomaly.tif",
    "clay": "landsat_clay_ratio.tif",
    "silica": "landsat_silica_ratio.tif",
    "shear_zones": "shear_zones.gpkg",
    "lineaments": "lineaments.gpkg",
    "lithology": "lithology.gpkg",
    "deposits": "deposits.gpkg",
    "truth_probability": "truth_probability.tif",
    "truth_evidence": "truth_evidence.tif",
    "truth": "truth.json",
}


def generate_province(folder, size_km=100.0, seed=1, feedback=None):
    """Write a synthetic province of ``size_km`` × ``size_km`` into ``folder``.

    Parameters: ``folder`` (created if missing), ``size_km`` (side of the square area in
    km, 5–500), ``seed`` (integer; the same seed and size give the same files).
    Returns a dict of the written paths (keys of :data:`FILES`; ``truth.json`` under
    ``"truth_json"``) and ``"truth"``: the parsed content of ``truth.json``.
    """
    feedback = ensure_feedback(feedback)
    if not 5 <= float(size_km) <= 500:
        raise DeepProspectError(
            "SIZE_KM must be between 5 and 500 km (got {}); 20 suits tests, 100 the demo."
            .format(size_km))
    import geopandas as gpd  # imported here: geopandas is slow to import and tests skip it
    from shapely.geometry import LineString, Point

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(int(seed))
    size = float(size_km) * 1000.0
    grid = _Grid(WEST - MARGIN, NORTH + MARGIN, BASE_CELL,
                 int(round((size + 2 * MARGIN) / BASE_CELL)), int(round((size + 2 * MARGIN) / BASE_CELL)))
    area = (WEST, NORTH - size, WEST + size, NORTH)
    inner = (slice(int(MARGIN / BASE_CELL), int((MARGIN + size) / BASE_CELL)),) * 2

    fields = _latent_fields(rng, grid, inner)
    feedback.set_progress(10)
    feedback.check_canceled()

    shear_lines = _shear_zones(rng, area)
    shear_distance = _distance_to_lines(grid, shear_lines)
    lineament_lines = _lineaments(rng, area, fields["lineament_intensity"], grid)
    lineament_density = _line_density(grid, lineament_lines, radius=2500.0)
    lithology = _lithology_classes(fields["lithology"], inner)
    favourable_code = [code for code, _, favourable in LITHOLOGY_UNITS if favourable][0]
    feedback.set_progress(25)
    feedback.check_canceled()

    # The latent law, evaluated on the base grid; standardised over the area only.
    terms = {name: fields[name] for name in ("Sb_con", "Oli_clay", "Pb_con", "As_con", "Mag_anamol")}
    terms["Dist_shear"] = np.exp(-shear_distance / SHEAR_DECAY)
    terms["Lith_gold"] = (lithology == favourable_code).astype(float)
    linear = sum(TRUE_WEIGHTS[name] * term for name, term in terms.items())
    intercept = _calibrate_intercept(linear[inner], MEAN_PROBABILITY)
    probability = _sigmoid(intercept + linear)
    true_importance = {name: TRUE_WEIGHTS[name] * float(np.std(term[inner])) for name, term in terms.items()}

    deposits = _draw_deposits(rng, area, grid, probability)
    samples = _geochemical_samples(rng, area, grid, fields)
    feedback.set_progress(40)
    feedback.check_canceled()

    crs = "EPSG:{}".format(CRS_EPSG)
    paths = {key: folder / name for key, name in FILES.items()}
    write_geopackage(gpd.GeoDataFrame(samples["attributes"], geometry=[Point(xy) for xy in samples["xy"]], crs=crs),
                     paths["geochemistry"], "geochem_samples")
    write_geopackage(gpd.GeoDataFrame({"deposit_id": np.arange(1, len(deposits) + 1),
                                       "true_probability": _sample_grid(grid, probability, deposits)},
                                      geometry=[Point(xy) for xy in deposits], crs=crs),
                     paths["deposits"], "deposits")
    write_geopackage(gpd.GeoDataFrame({"name": ["Shear zone {}".format(i + 1) for i in range(len(shear_lines))]},
                                      geometry=[LineString(line) for line in shear_lines], crs=crs),
                     paths["shear_zones"], "shear_zones")
    write_geopackage(gpd.GeoDataFrame({"lineament_id": np.arange(1, len(lineament_lines) + 1)},
                                      geometry=[LineString(line) for line in lineament_lines], crs=crs),
                     paths["lineaments"], "lineaments")
    _write_lithology(paths["lithology"], grid, lithology, inner, crs)
    feedback.set_progress(55)
    feedback.check_canceled()

    _write_magnetic(paths["magnetic"], grid, area, fields["Mag_anamol"], rng)
    _write_bouguer(paths["bouguer"], grid, area, fields["Boug_anamol"], rng)
    feedback.set_progress(65)
    _write_landsat(paths["clay"], grid, area, 1.0 + 0.15 * fields["Oli_clay"], rng, "Oli_clay")
    feedback.set_progress(80)
    feedback.check_canceled()
    _write_landsat(paths["silica"], grid, area, 1.1 + 0.10 * fields["Oli_silica"], rng, "Oli_silica")
    feedback.set_progress(90)

    area_grid = grid.subgrid(inner)
    _write_raster(paths["truth_probability"], probability[inner][None].astype(np.float32),
                  area_grid.transform, crs, ["truth_probability"], nodata=-9999.0)
    ideal = _ideal_evidence(fields, shear_distance, lithology == favourable_code, lineament_density)
    _write_raster(paths["truth_evidence"], np.stack([ideal[name][inner] for name in FACTOR_NAMES]).astype(np.float32),
                  area_grid.transform, crs, list(FACTOR_NAMES), nodata=-9999.0)

    truth = {
        "description": "Synthetic DeepProspect province; latent law: logit P = intercept + sum(weight * term).",
        "seed": int(seed), "size_km": float(size_km), "crs": crs,
        "extent": {"xmin": area[0], "ymin": area[1], "xmax": area[2], "ymax": area[3]},
        "base_cell_m": BASE_CELL, "intercept": intercept, "weights": TRUE_WEIGHTS,
        "terms": {
            "Sb_con": "standardised latent log-concentration", "Pb_con": "standardised latent log-concentration",
            "As_con": "standardised latent log-concentration", "Oli_clay": "standardised latent clay ratio",
            "Mag_anamol": "standardised latent magnetic anomaly",
            "Dist_shear": "exp(-distance to nearest shear zone / {} m)".format(SHEAR_DECAY),
            "Lith_gold": "1 inside the gold-favourable lithology, else 0",
        },
        "true_importance": dict(sorted(true_importance.items(), key=lambda item: -item[1])),
        "importance_ranking": sorted(true_importance, key=lambda name: -true_importance[name]),
        "uninformative_factors": [name for name in FACTOR_NAMES if name not in TRUE_WEIGHTS],
        "mean_probability": float(probability[inner].mean()),
        "candidate_density_per_km2": CANDIDATE_DENSITY,
        "deposit_count": int(len(deposits)), "sample_count": int(len(samples["xy"])),
        "units": UNITS, "factor_names": list(FACTOR_NAMES),
        "lithology_units": [{"code": c, "unit": u, "gold_favourable": f} for c, u, f in LITHOLOGY_UNITS],
        "files": FILES,
    }
    paths["truth"].write_text(json.dumps(truth, indent=2))
    feedback.set_progress(100)
    result = {key: str(path) for key, path in paths.items()}
    result["truth_json"], result["truth"] = result["truth"], truth
    return result


def truth_probability_at(truth_raster, xy):
    """The true probability at points ``xy`` (array (n, 2), map units), bilinear, NaN outside."""
    import rasterio

    with rasterio.open(truth_raster) as dataset:
        values = dataset.read(1)
        inverse = ~dataset.transform
        cols, rows = inverse @ (np.asarray(xy)[:, 0], np.asarray(xy)[:, 1])
    return ndimage.map_coordinates(values, [rows - 0.5, cols - 0.5], order=1, mode="nearest", cval=np.nan)


class _Grid:
    """A north-up grid: top-left corner, square cell, rows × cols."""

    def __init__(self, west, north, cell, rows, cols):
        self.west, self.north, self.cell, self.rows, self.cols = west, north, cell, rows, cols

    @property
    def transform(self):
        from rasterio.transform import from_origin
        return from_origin(self.west, self.north, self.cell, self.cell)

    def subgrid(self, window):
        rows, cols = window
        return _Grid(self.west + cols.start * self.cell, self.north - rows.start * self.cell,
                     self.cell, rows.stop - rows.start, cols.stop - cols.start)

    def fractional_index(self, x, y):
        """Row and column (cell-centre based) of map coordinates, for map_coordinates."""
        return (self.north - np.asarray(y)) / self.cell - 0.5, (np.asarray(x) - self.west) / self.cell - 0.5

    def centres(self):
        xs = self.west + (np.arange(self.cols) + 0.5) * self.cell
        ys = self.north - (np.arange(self.rows) + 0.5) * self.cell
        return np.meshgrid(xs, ys)


def _random_field(rng, shape, correlation_m):
    """A Gaussian random field with a Gaussian covariance of the given length, mean 0, sd 1."""
    field = ndimage.gaussian_filter(rng.standard_normal(shape), correlation_m / BASE_CELL, mode="reflect")
    return field


def _latent_fields(rng, grid, inner):
    raw = {name: _random_field(rng, (grid.rows, grid.cols), length) for name, (length, _, _) in _FIELDS.items()}
    fields = {}
    for name, (_, partner, correlation) in _FIELDS.items():
        field = _standardise(raw[name], inner)
        if partner is not None:
            field = correlation * fields[partner] + math.sqrt(1 - correlation ** 2) * field
            field = _standardise(field, inner)
        fields[name] = field
    return fields


def _standardise(field, inner):
    core = field[inner]
    return (field - core.mean()) / core.std()


def _sigmoid(values):
    return 1.0 / (1.0 + np.exp(-values))


def _calibrate_intercept(linear, target_mean):
    low, high = -30.0, 30.0
    for _ in range(80):
        middle = (low + high) / 2
        if _sigmoid(middle + linear).mean() > target_mean:
            high = middle
        else:
            low = middle
    return (low + high) / 2


def _sample_grid(grid, values, xy, order=1):
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    rows, cols = grid.fractional_index(xy[:, 0], xy[:, 1])
    return ndimage.map_coordinates(values, [rows, cols], order=order, mode="nearest")


def _shear_zones(rng, area):
    """Sinuous shear zones crossing the area, trending roughly E–W and NE–SW (as in Rengali)."""
    west, south, east, north = area
    size = east - west
    count = max(2, int(round(size / 25000.0)))
    lines = []
    for index in range(count):
        trend = math.radians(rng.normal(0.0, 10.0) if index % 2 == 0 else rng.normal(35.0, 10.0))
        start_y = south + size * rng.uniform(0.15, 0.85)
        x, y, heading = west - 2000.0, start_y - math.tan(trend) * 2000.0 * 0, trend
        points = [(x, y)]
        step = 500.0
        while x < east + 2000.0 and south - 5000.0 < y < north + 5000.0:
            heading = trend + 0.9 * (heading - trend) + math.radians(rng.normal(0.0, 4.0))
            x, y = x + step * math.cos(heading), y + step * math.sin(heading)
            points.append((x, y))
        lines.append(np.array(points))
    return lines


def _densify(lines, spacing=20.0):
    vertices = []
    for line in lines:
        for (x0, y0), (x1, y1) in zip(line[:-1], line[1:]):
            steps = max(1, int(math.ceil(math.hypot(x1 - x0, y1 - y0) / spacing)))
            fractions = np.arange(steps) / steps
            vertices.append(np.column_stack([x0 + (x1 - x0) * fractions, y0 + (y1 - y0) * fractions]))
        vertices.append(line[-1:])
    return np.vstack(vertices)


def _distance_to_lines(grid, lines):
    x, y = grid.centres()
    distance, _ = cKDTree(_densify(lines)).query(np.column_stack([x.ravel(), y.ravel()]))
    return distance.reshape(x.shape)


def _lineaments(rng, area, intensity, grid):
    """Short structural lineaments, more where the (uninformative) lineament field is high."""
    west, south, east, north = area
    size = east - west
    count = int(size * size / 1e6 * 0.6)
    candidates = np.column_stack([rng.uniform(west, east, 4 * count), rng.uniform(south, north, 4 * count)])
    keep = rng.uniform(size=len(candidates)) < _sigmoid(1.5 * _sample_grid(grid, intensity, candidates))
    centres = candidates[keep][:count]
    lines = []
    for cx, cy in centres:
        azimuth = math.radians(rng.choice([45.0, 135.0]) + rng.normal(0.0, 12.0))
        half = rng.uniform(500.0, 2500.0)
        dx, dy = half * math.sin(azimuth), half * math.cos(azimuth)
        lines.append(np.array([(cx - dx, cy - dy), (cx + dx, cy + dy)]))
    return lines


def _line_density(grid, lines, radius):
    """Line length per area (km/km²) within ``radius`` of each cell centre, as QGIS computes it."""
    vertices = _densify(lines, spacing=50.0)
    x, y = grid.centres()
    counts = cKDTree(vertices).query_ball_point(np.column_stack([x.ravel(), y.ravel()]), radius, return_length=True)
    length_km = counts * 0.05
    return (length_km / (math.pi * (radius / 1000.0) ** 2)).reshape(x.shape)


def _lithology_classes(field, inner):
    thresholds = np.quantile(field[inner], [0.2, 0.45, 0.6, 0.8])
    return (np.digitize(field, thresholds) + 1).astype(np.int32)


def _draw_deposits(rng, area, grid, probability):
    west, south, east, north = area
    expected = CANDIDATE_DENSITY * (east - west) * (north - south) / 1e6
    count = rng.poisson(expected)
    candidates = np.column_stack([rng.uniform(west, east, count), rng.uniform(south, north, count)])
    keep = rng.uniform(size=count) < _sample_grid(grid, probability, candidates)
    return candidates[keep]


def _geochemical_samples(rng, area, grid, fields):
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
        latent = _sample_grid(grid, fields[name], xy)
        nugget = rng.standard_normal(len(xy))
        values = median * np.exp(log_sd * (0.92 * latent + 0.39 * nugget))
        attributes[name] = _round_significant(values, 3)
    return {"xy": xy, "attributes": attributes}


def _round_significant(values, digits):
    magnitude = np.floor(np.log10(np.abs(values)))
    factor = 10.0 ** (digits - 1 - magnitude)
    return np.round(values * factor) / factor


def _ideal_evidence(fields, shear_distance, favourable, lineament_density):
    """The sixteen factors as the generator knows them, noise-free, on the base grid."""
    ideal = {}
    for name, (median, log_sd, _) in GEOCHEMISTRY.items():
        ideal[name] = median * np.exp(log_sd * 0.92 * fields[name])
    ideal["Oli_clay"] = 1.0 + 0.15 * fields["Oli_clay"]
    ideal["Oli_silica"] = 1.1 + 0.10 * fields["Oli_silica"]
    ideal["Mag_anamol"] = _magnetic_values(fields["Mag_anamol"])
    ideal["Boug_anamol"] = _bouguer_values(fields["Boug_anamol"])
    ideal["Dist_shear"] = shear_distance
    ideal["Lith_gold"] = favourable.astype(float)
    ideal["Linea_den"] = lineament_density
    return ideal


def _magnetic_values(field):
    return 120.0 * field + 35.0


def _bouguer_values(field):
    return 8.0 * field - 42.0


def _write_raster(path, bands, transform, crs, descriptions, nodata):
    import rasterio

    profile = dict(driver="GTiff", width=bands.shape[2], height=bands.shape[1], count=bands.shape[0],
                   dtype=str(bands.dtype), crs=crs, transform=transform, nodata=nodata,
                   tiled=True, blockxsize=256, blockysize=256, compress="deflate", predictor=3 if bands.dtype.kind == "f" else 2)
    with rasterio.open(path, "w", **profile) as dataset:
        dataset.write(bands)
        for index, description in enumerate(descriptions, start=1):
            dataset.set_band_description(index, description)


def _reprojected_grid_values(grid, field, transform, rows, cols, source_epsg, rng, noise_sd):
    """Sample a UTM 45N latent field at the cell centres of a grid in another CRS."""
    from pyproj import Transformer

    col_index, row_index = np.meshgrid(np.arange(cols) + 0.5, np.arange(rows) + 0.5)
    xs, ys = transform @ (col_index, row_index)
    to_utm = Transformer.from_crs(source_epsg, CRS_EPSG, always_xy=True)
    ux, uy = to_utm.transform(xs, ys)
    r, c = grid.fractional_index(ux, uy)
    values = ndimage.map_coordinates(field, [r, c], order=1, mode="nearest")
    return values + noise_sd * rng.standard_normal(values.shape)


def _write_magnetic(path, grid, area, field, rng):
    _write_survey_grid(path, grid, area, _magnetic_values(field), MAGNETIC_CRS_EPSG, MAGNETIC_CELL_DEGREES,
                       2000.0, rng, noise_sd=3.0, description="Mag_anamol")


def _write_bouguer(path, grid, area, field, rng):
    _write_survey_grid(path, grid, area, _bouguer_values(field), BOUGUER_CRS_EPSG, BOUGUER_CELL,
                       3000.0, rng, noise_sd=0.2, description="Boug_anamol")


def _write_survey_grid(path, grid, area, values, epsg, cell, margin, rng, noise_sd, description):
    """A geophysical grid in its own CRS (cell in that CRS's units) covering the area plus a margin (m)."""
    from pyproj import Transformer
    from rasterio.transform import from_origin

    west, south, east, north = area
    to_target = Transformer.from_crs(CRS_EPSG, epsg, always_xy=True)
    xs, ys = to_target.transform([west - margin, east + margin, west - margin, east + margin],
                                 [south - margin, south - margin, north + margin, north + margin])
    x0, y1 = math.floor(min(xs) / cell) * cell, math.ceil(max(ys) / cell) * cell
    cols = int(math.ceil((max(xs) - x0) / cell))
    rows = int(math.ceil((y1 - min(ys)) / cell))
    transform = from_origin(x0, y1, cell, cell)
    sampled = _reprojected_grid_values(grid, values, transform, rows, cols, epsg, rng, noise_sd)
    _write_raster(path, sampled[None].astype(np.float32), transform, "EPSG:{}".format(epsg),
                  [description], nodata=-99999.0)


def _write_landsat(path, grid, area, field, rng, description):
    from rasterio.transform import from_origin

    west, south, east, north = area
    cols = rows = int(math.ceil((east - west) / LANDSAT_CELL))
    transform = from_origin(west, north, LANDSAT_CELL, LANDSAT_CELL)
    xs = west + (np.arange(cols) + 0.5) * LANDSAT_CELL
    values = np.empty((rows, cols), dtype=np.float32)
    chunk = 512
    for start in range(0, rows, chunk):
        stop = min(rows, start + chunk)
        ys = north - (np.arange(start, stop) + 0.5) * LANDSAT_CELL
        gx, gy = np.meshgrid(xs, ys)
        r, c = grid.fractional_index(gx, gy)
        block = ndimage.map_coordinates(field, [r, c], order=1, mode="nearest")
        values[start:stop] = block + 0.02 * rng.standard_normal(block.shape)
    _write_raster(path, values[None], transform, "EPSG:{}".format(CRS_EPSG), [description], nodata=-9999.0)


def _write_lithology(path, grid, lithology, inner, crs):
    import geopandas as gpd
    from rasterio import features
    from shapely.geometry import shape

    area_grid = grid.subgrid(inner)
    classes = lithology[inner].astype(np.int32)
    names = {code: (unit, favourable) for code, unit, favourable in LITHOLOGY_UNITS}
    records, geometries = [], []
    for geometry, value in features.shapes(classes, transform=area_grid.transform):
        code = int(value)
        records.append({"code": code, "unit": names[code][0], "gold_favourable": names[code][1]})
        geometries.append(shape(geometry))
    write_geopackage(gpd.GeoDataFrame(records, geometry=geometries, crs=crs), path, "lithology")
