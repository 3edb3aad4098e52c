"""Structures and rocks of the synthetic province (:mod:`core.synthetic`): shear zones,
lineaments and their density, lithology classes and their polygons. Lengths in metres."""
import math
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from .points import write_geopackage
from .synthetic_fields import sample_grid, sigmoid

LITHOLOGY_UNITS = (
    (1, "Granite gneiss", 0),
    (2, "Amphibolite and granulite", 0),
    (3, "Quartzite and schist", 0),
    (4, "Sheared metavolcano-sedimentary sequence", 1),
    (5, "Charnockite", 0),
)


def shear_zones(rng, area):
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


def densify(lines, spacing=20.0):
    vertices = []
    for line in lines:
        for (x0, y0), (x1, y1) in zip(line[:-1], line[1:]):
            steps = max(1, int(math.ceil(math.hypot(x1 - x0, y1 - y0) / spacing)))
            fractions = np.arange(steps) / steps
            vertices.append(np.column_stack([x0 + (x1 - x0) * fractions, y0 + (y1 - y0) * fractions]))
        vertices.append(line[-1:])
    return np.vstack(vertices)


def distance_to_lines(grid, lines):
    x, y = grid.centres()
    distance, _ = cKDTree(densify(lines)).query(np.column_stack([x.ravel(), y.ravel()]))
    return distance.reshape(x.shape)


def lineaments(rng, area, intensity, grid):
    """Short structural lineaments, more where the (uninformative) lineament field is high."""
    west, south, east, north = area
    size = east - west
    count = int(size * size / 1e6 * 0.6)
    candidates = np.column_stack([rng.uniform(west, east, 4 * count), rng.uniform(south, north, 4 * count)])
    keep = rng.uniform(size=len(candidates)) < sigmoid(1.5 * sample_grid(grid, intensity, candidates))
    centres = candidates[keep][:count]
    lines = []
    for cx, cy in centres:
        azimuth = math.radians(rng.choice([45.0, 135.0]) + rng.normal(0.0, 12.0))
        half = rng.uniform(500.0, 2500.0)
        dx, dy = half * math.sin(azimuth), half * math.cos(azimuth)
        lines.append(np.array([(cx - dx, cy - dy), (cx + dx, cy + dy)]))
    return lines


def line_density(grid, lines, radius):
    """Line length per area (km/km²) within ``radius`` of each cell centre, as QGIS computes it."""
    vertices = densify(lines, spacing=50.0)
    x, y = grid.centres()
    counts = cKDTree(vertices).query_ball_point(np.column_stack([x.ravel(), y.ravel()]), radius, return_length=True)
    length_km = counts * 0.05
    return (length_km / (math.pi * (radius / 1000.0) ** 2)).reshape(x.shape)


def lithology_classes(field, inner):
    thresholds = np.quantile(field[inner], [0.2, 0.45, 0.6, 0.8])
    return (np.digitize(field, thresholds) + 1).astype(np.int32)


def write_lithology(path, grid, lithology, inner, crs, favourable_codes=None):
    """The lithology polygons (fields ``code``, ``unit``, ``gold_favourable``: 1 for the units in
    ``favourable_codes``, by default those flagged in :data:`LITHOLOGY_UNITS`)."""
    import geopandas as gpd
    from rasterio import features
    from shapely.geometry import shape

    area_grid = grid.subgrid(inner)
    classes = lithology[inner].astype(np.int32)
    if favourable_codes is None:
        favourable_codes = [code for code, _, favourable in LITHOLOGY_UNITS if favourable]
    names = {code: (unit, int(code in favourable_codes)) for code, unit, _ in LITHOLOGY_UNITS}
    records, geometries = [], []
    for geometry, value in features.shapes(classes, transform=area_grid.transform):
        code = int(value)
        records.append({"code": code, "unit": names[code][0], "gold_favourable": names[code][1]})
        geometries.append(shape(geometry))
    write_geopackage(gpd.GeoDataFrame(records, geometry=geometries, crs=crs), path, "lithology")


def write_unit_names(raster):
    """GDAL's category names of the lithology unit raster ``raster`` (entry i names code i) in its
    ``.aux.xml`` side-car, so QGIS and the stack can show unit names instead of codes."""
    from xml.sax.saxutils import escape

    names = {code: unit for code, unit, _ in LITHOLOGY_UNITS}
    entries = "".join("<Category>{}</Category>".format(escape(names.get(code, "")))
                      for code in range(max(names) + 1))
    Path(str(raster) + ".aux.xml").write_text(
        '<PAMDataset><PAMRasterBand band="1"><CategoryNames>{}</CategoryNames></PAMRasterBand></PAMDataset>\n'
        .format(entries), encoding="utf-8")
