"""The rasters a survey of the synthetic province would deliver (:mod:`core.synthetic`):
magnetic and Bouguer grids in their own CRSs and cell sizes, 30 m Landsat ratios, and the
noise-free evidence the generator knows."""
import math

import numpy as np
from scipy import ndimage

from .raster import write_geotiff
from .synthetic_fields import CRS_EPSG, GEOCHEMISTRY

MAGNETIC_CRS_EPSG = 4326
BOUGUER_CRS_EPSG = 32644
LANDSAT_CELL = 30.0
BOUGUER_CELL = 1000.0
MAGNETIC_CELL_DEGREES = 0.005


def ideal_evidence(fields, shear_distance, favourable, lineament_density):
    """The sixteen factors as the generator knows them, noise-free, on the base grid."""
    ideal = {}
    for name, (median, log_sd, _) in GEOCHEMISTRY.items():
        ideal[name] = median * np.exp(log_sd * 0.92 * fields[name])
    ideal["Oli_clay"] = 1.0 + 0.15 * fields["Oli_clay"]
    ideal["Oli_silica"] = 1.1 + 0.10 * fields["Oli_silica"]
    ideal["Mag_anamol"] = magnetic_values(fields["Mag_anamol"])
    ideal["Boug_anamol"] = bouguer_values(fields["Boug_anamol"])
    ideal["Dist_shear"] = shear_distance
    ideal["Lith_gold"] = favourable.astype(float)
    ideal["Linea_den"] = lineament_density
    return ideal


def magnetic_values(field):
    return 120.0 * field + 35.0


def bouguer_values(field):
    return 8.0 * field - 42.0


def reprojected_grid_values(grid, field, transform, rows, cols, source_epsg, rng, noise_sd):
    """Sample a UTM 45N latent field at the cell centres of a grid in another CRS."""
    from pyproj import Transformer

    col_index, row_index = np.meshgrid(np.arange(cols) + 0.5, np.arange(rows) + 0.5)
    xs, ys = transform @ (col_index, row_index)
    to_utm = Transformer.from_crs(source_epsg, CRS_EPSG, always_xy=True)
    ux, uy = to_utm.transform(xs, ys)
    r, c = grid.fractional_index(ux, uy)
    values = ndimage.map_coordinates(field, [r, c], order=1, mode="nearest")
    return values + noise_sd * rng.standard_normal(values.shape)


def write_magnetic(path, grid, area, field, rng):
    write_survey_grid(path, grid, area, magnetic_values(field), MAGNETIC_CRS_EPSG, MAGNETIC_CELL_DEGREES,
                       2000.0, rng, noise_sd=3.0, description="Mag_anamol")


def write_bouguer(path, grid, area, field, rng):
    write_survey_grid(path, grid, area, bouguer_values(field), BOUGUER_CRS_EPSG, BOUGUER_CELL,
                       3000.0, rng, noise_sd=0.2, description="Boug_anamol")


def write_survey_grid(path, grid, area, values, epsg, cell, margin, rng, noise_sd, description):
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
    sampled = reprojected_grid_values(grid, values, transform, rows, cols, epsg, rng, noise_sd)
    write_geotiff(path, sampled[None].astype(np.float32), transform, "EPSG:{}".format(epsg),
                  [description], nodata=-99999.0)


def write_landsat(path, grid, area, field, rng, description):
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
    write_geotiff(path, values[None], transform, "EPSG:{}".format(CRS_EPSG), [description], nodata=-9999.0)
