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
* ``lithology_units.tif``: the lithology unit codes (1–5, band ``Lithology``, nodata 0) on the
  250 m base grid, to stack as a categorical factor; its ``.aux.xml`` names the units (GDAL
  category names);
* ``deposits.gpkg``: known occurrences drawn from the latent law below;
* ``future_deposits.gpkg``: a second, independent draw from the same law ("deposits found
  later"), for scoring maps on deposits no model saw; no training step uses it;
* ``truth_probability.tif``, ``truth_evidence.tif`` and ``truth.json``: the latent law itself.

The latent law is one of :data:`core.synthetic_laws.LAWS` (``law``; the formulas, thresholds
and weights are in that module's docstring and in ``truth.json``): ``linear`` (the default of
this function, the law of every province written before the choice existed)

    logit P(x) = intercept + Σ_k weight_k · term_k(x)

on Sb, Oli_clay, Pb, As, the magnetic anomaly, the distance to shear zones and the
gold-favourable unit; or ``nonlinear`` (the default of ``deepprospect:synthetic_province``):
fault corridor × Sb anomaly interaction, thresholds and a weight per lithology unit.
Either way the intercept is set so that the mean of ``P`` over the area is 0.06 (the paper: gold
expected in 5–7 % of the province). Deposits are a thinned Poisson process: candidate sites at
``CANDIDATE_DENSITY`` per km², each kept with probability ``P``; so the deposit intensity is
proportional to ``P``, and the mean of ``P`` at deposits is about ``E[P²] / E[P]`` over the area
(``truth.json``'s ``expected_probability_at_deposits``). The future deposits are drawn the same
way by a second generator seeded with ``(seed, FUTURE_STREAM)``, so the first draw, and every
other file, is the same as without them. ``truth.json``'s ``future_truth_auc`` is the truth
surface's own ROC-AUC on them (:mod:`core.synthetic_scoring`; None without future deposits): the
ceiling of any map's score. ``deepprospect:predict`` with the future deposits as DEPOSITS gives a
map's score as its success-rate AUC (the same number).
"""
import json
from pathlib import Path

import numpy as np
from scipy import ndimage

from .errors import DeepProspectError
from .feedback import ensure_feedback
from .points import write_geopackage
from .raster import write_geotiff
from .synthetic_fields import (
    BASE_CELL, CANDIDATE_DENSITY, CRS_EPSG, GEOCHEMISTRY, BaseGrid, draw_deposits, geochemical_samples,
    latent_fields, sample_grid,
)
from .synthetic_geology import (
    LITHOLOGY_UNITS, distance_to_lines, line_density, lineaments, lithology_classes, shear_zones, write_lithology,
    write_unit_names,
)
from .synthetic_laws import (  # noqa: F401  (MEAN_PROBABILITY, SHEAR_DECAY, TRUE_WEIGHTS: this module's API)
    LAWS, LITHOLOGY_FACTOR, MEAN_PROBABILITY, SHEAR_DECAY, TRUE_WEIGHTS, check_law, evaluate_law, favourable_codes,
)
from .synthetic_scoring import score_future_deposits
from .synthetic_surveys import ideal_evidence, write_bouguer, write_landsat, write_magnetic

WEST, NORTH = 280000.0, 2400000.0
MARGIN = 6000.0            # m of latent field beyond the area, so reprojected grids cover it
#: Second entropy word of the future deposits' generator (its first is the seed).
FUTURE_STREAM = 17

#: The paper's sixteen factors (Pradhan et al. 2022, Table 1 / Figure 2), in Figure 2's order.
FACTOR_NAMES = (
    "Al_con", "Sb_con", "Co_con", "Sn_con", "Hg_con", "As_con", "Cu_con", "Pb_con", "SiO2_con",
    "Oli_silica", "Oli_clay", "Mag_anamol", "Boug_anamol", "Dist_shear", "Lith_gold", "Linea_den",
)

UNITS = dict({name: unit for name, (_, _, unit) in GEOCHEMISTRY.items()}, **{
    "Oli_silica": "ratio", "Oli_clay": "ratio", "Mag_anamol": "nT", "Boug_anamol": "mGal",
    "Dist_shear": "m", "Lith_gold": "class", "Linea_den": "km/km²", LITHOLOGY_FACTOR: "unit code",
})

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
    "future_deposits": "future_deposits.gpkg",
    "lithology_units": "lithology_units.tif",
}


def generate_province(folder, size_km=100.0, seed=1, feedback=None, law="linear"):
    """Write a synthetic province of ``size_km`` × ``size_km`` into ``folder``.

    Parameters: ``folder`` (created if missing), ``size_km`` (side of the square area in
    km, 5–500), ``seed`` (integer; the same seed, size and law give the same files), ``law``: a
    name of :data:`LAWS` or its index (``linear`` here, so scripts written before the choice get
    the same files; the Processing algorithm defaults to ``nonlinear``).
    Returns a dict of the written paths (keys of :data:`FILES`; ``truth.json`` under
    ``"truth_json"``) and ``"truth"``: the parsed content of ``truth.json``.
    """
    feedback = ensure_feedback(feedback)
    if not 5 <= float(size_km) <= 500:
        raise DeepProspectError(
            "SIZE_KM must be between 5 and 500 km (got {}); 20 suits tests, 100 the demo."
            .format(size_km))
    try:
        law = check_law(law)
    except ValueError as error:
        raise DeepProspectError(str(error)) from None
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(int(seed))
    size = float(size_km) * 1000.0
    cells = int(round((size + 2 * MARGIN) / BASE_CELL))
    grid = BaseGrid(WEST - MARGIN, NORTH + MARGIN, BASE_CELL, cells, cells)
    area = (WEST, NORTH - size, WEST + size, NORTH)
    inner = (slice(int(MARGIN / BASE_CELL), int((MARGIN + size) / BASE_CELL)),) * 2

    # One generator draws everything, in a fixed order (latent fields, shear zones, lineaments,
    # deposits, samples, then the survey grids' noise): the same seed gives the same files.
    world = _latent_world(rng, grid, area, inner, feedback, law)
    # The future deposits come from their own generator, so every other file stays as it was.
    world["future_deposits"] = draw_deposits(np.random.default_rng([int(seed), FUTURE_STREAM]), area, grid,
                                             world["probability"])
    paths = {key: folder / name for key, name in FILES.items()}
    _write_vectors(paths, grid, inner, world)
    feedback.set_progress(55)
    feedback.check_canceled()
    _write_surveys(paths, grid, area, world["fields"], rng, feedback)
    _write_truth_rasters(paths, grid, inner, world)
    if len(world["future_deposits"]):
        # the ceiling of any map's score on the future deposits (core.synthetic_scoring)
        world["future_truth_auc"] = score_future_deposits(paths["truth_probability"], paths["future_deposits"],
                                                          feedback=feedback).auc
    truth = _truth_document(seed, size_km, area, inner, world)
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


def _latent_world(rng, grid, area, inner, feedback, law):
    """The latent fields, structures, lithology and ``law`` on the base grid, and the deposits and
    samples drawn from them (a dict)."""
    fields = latent_fields(rng, grid, inner)
    feedback.set_progress(10)
    feedback.check_canceled()

    shear_lines = shear_zones(rng, area)
    shear_distance = distance_to_lines(grid, shear_lines)
    lineament_lines = lineaments(rng, area, fields["lineament_intensity"], grid)
    lineament_density = line_density(grid, lineament_lines, radius=2500.0)
    lithology = lithology_classes(fields["lithology"], inner)
    favourable_units = favourable_codes(law, LITHOLOGY_UNITS)
    favourable = np.isin(lithology, favourable_units)
    feedback.set_progress(25)
    feedback.check_canceled()

    evaluated = evaluate_law(law, fields, shear_distance, lithology, favourable, inner)
    probability = evaluated["probability"]
    deposits = draw_deposits(rng, area, grid, probability)
    samples = geochemical_samples(rng, area, grid, fields)
    feedback.set_progress(40)
    feedback.check_canceled()
    return dict(fields=fields, shear_lines=shear_lines, shear_distance=shear_distance,
                lineament_lines=lineament_lines, lineament_density=lineament_density, lithology=lithology,
                favourable=favourable, favourable_units=favourable_units, intercept=evaluated["intercept"],
                probability=probability, true_importance=evaluated["true_importance"], law=evaluated["document"],
                deposits=deposits, samples=samples)


def _write_vectors(paths, grid, inner, world):
    """The samples, deposits, shear zones, lineaments and lithology as GeoPackages."""
    import geopandas as gpd  # imported here: geopandas is slow to import and tests skip it
    from shapely.geometry import LineString, Point

    crs = "EPSG:{}".format(CRS_EPSG)
    samples, deposits = world["samples"], world["deposits"]
    shear_lines, lineament_lines = world["shear_lines"], world["lineament_lines"]
    write_geopackage(gpd.GeoDataFrame(samples["attributes"], geometry=[Point(xy) for xy in samples["xy"]], crs=crs),
                     paths["geochemistry"], "geochem_samples")
    for key in ("deposits", "future_deposits"):
        points = world[key]
        write_geopackage(gpd.GeoDataFrame({"deposit_id": np.arange(1, len(points) + 1),
                                           "true_probability": sample_grid(grid, world["probability"], points)},
                                          geometry=[Point(xy) for xy in points], crs=crs),
                         paths[key], key)
    write_geopackage(gpd.GeoDataFrame({"name": ["Shear zone {}".format(i + 1) for i in range(len(shear_lines))]},
                                      geometry=[LineString(line) for line in shear_lines], crs=crs),
                     paths["shear_zones"], "shear_zones")
    write_geopackage(gpd.GeoDataFrame({"lineament_id": np.arange(1, len(lineament_lines) + 1)},
                                      geometry=[LineString(line) for line in lineament_lines], crs=crs),
                     paths["lineaments"], "lineaments")
    write_lithology(paths["lithology"], grid, world["lithology"], inner, crs, world["favourable_units"])


def _write_surveys(paths, grid, area, fields, rng, feedback):
    """The magnetic and Bouguer grids and the two Landsat ratios (with their noise, in this order)."""
    write_magnetic(paths["magnetic"], grid, area, fields["Mag_anamol"], rng)
    write_bouguer(paths["bouguer"], grid, area, fields["Boug_anamol"], rng)
    feedback.set_progress(65)
    write_landsat(paths["clay"], grid, area, 1.0 + 0.15 * fields["Oli_clay"], rng, "Oli_clay")
    feedback.set_progress(80)
    feedback.check_canceled()
    write_landsat(paths["silica"], grid, area, 1.1 + 0.10 * fields["Oli_silica"], rng, "Oli_silica")
    feedback.set_progress(90)


def _write_truth_rasters(paths, grid, inner, world):
    """truth_probability.tif and the noise-free sixteen-band truth_evidence.tif over the area."""
    crs = "EPSG:{}".format(CRS_EPSG)
    area_grid = grid.subgrid(inner)
    write_geotiff(paths["truth_probability"], world["probability"][inner][None].astype(np.float32),
                  area_grid.transform, crs, ["truth_probability"], nodata=-9999.0)
    ideal = ideal_evidence(world["fields"], world["shear_distance"], world["favourable"], world["lineament_density"])
    write_geotiff(paths["truth_evidence"], np.stack([ideal[name][inner] for name in FACTOR_NAMES]).astype(np.float32),
                  area_grid.transform, crs, list(FACTOR_NAMES), nodata=-9999.0)
    write_geotiff(paths["lithology_units"], world["lithology"][inner][None].astype(np.int16), area_grid.transform,
                  crs, [LITHOLOGY_FACTOR], nodata=0, dtype="int16")
    write_unit_names(paths["lithology_units"])


def _truth_document(seed, size_km, area, inner, world):
    """The content of truth.json: the latent law, the true importance of each factor, counts, units."""
    true_importance, law = world["true_importance"], world["law"]
    probability = world["probability"][inner]
    document = {
        "description": law["description"],
        "seed": int(seed), "size_km": float(size_km), "crs": "EPSG:{}".format(CRS_EPSG),
        "extent": {"xmin": area[0], "ymin": area[1], "xmax": area[2], "ymax": area[3]},
        "base_cell_m": BASE_CELL, "intercept": world["intercept"], "weights": law["weights"], "terms": law["terms"],
        "true_importance": dict(sorted(true_importance.items(), key=lambda item: -item[1])),
        "importance_ranking": sorted(true_importance, key=lambda name: -true_importance[name]),
        "uninformative_factors": [name for name in FACTOR_NAMES if name not in true_importance],
        "mean_probability": float(probability.mean()),
        "candidate_density_per_km2": CANDIDATE_DENSITY,
        "deposit_count": int(len(world["deposits"])), "sample_count": int(len(world["samples"]["xy"])),
        "units": UNITS, "factor_names": list(FACTOR_NAMES),
        "lithology_units": [{"code": code, "unit": unit, "gold_favourable": int(code in world["favourable_units"])}
                            for code, unit, _ in LITHOLOGY_UNITS],
        "files": FILES,
    }
    document.update({key: value for key, value in law.items() if key not in document})
    document.update({
        "expected_probability_at_deposits": float(np.mean(probability ** 2) / probability.mean()),
        "future_deposit_count": int(len(world["future_deposits"])),
        "future_truth_auc": world.get("future_truth_auc"),
        "future_deposits": "an independent draw from the same law (generator seeded with [seed, {}]); "
                           "no training step uses it: score maps on it".format(FUTURE_STREAM),
    })
    return document
