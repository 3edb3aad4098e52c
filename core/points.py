"""Reading vector layers: point layers (deposits, points to explain, geochemical samples) and the
study-area polygons. The one place the engine opens a vector file."""
import numpy as np

from .errors import DeepProspectError
from .feedback import ensure_feedback
from .wording import agree, counted

#: The engine's GDAL (rasterio/pyogrio wheels) writes GeoPackage 1.4, which QGIS 3.22's GDAL 3.6
#: reads with a warning on every open; 1.2 has everything the engine writes and reads silently.
GEOPACKAGE_VERSION = "1.2"


def write_geopackage(frame, path, layer):
    """Write the GeoDataFrame ``frame`` as layer ``layer`` of the GeoPackage ``path``."""
    frame.to_file(path, layer=layer, driver="GPKG", VERSION=GEOPACKAGE_VERSION)


def read_points(path, crs=None, layer=None, name="DEPOSITS", feedback=None, columns=None):
    """Point features of the vector file ``path`` (optional ``layer``), in ``crs``.

    ``crs``: the CRS to transform to (e.g. the evidence stack's); None keeps the layer's own
    coordinates (``frame.crs`` is None for a layer without a CRS). The one CRS rule of the
    engine: a layer in another CRS is transformed, with a line in the log saying so; a layer
    without a CRS is taken to be in ``crs``, with a warning saying so.
    ``columns``: attribute fields to read (a clear error names any the layer lacks); None reads all.
    ``name`` is the parameter named in error messages.

    Returns ``(frame, xy)``: the GeoDataFrame with one row per point (multipoints exploded, each
    part keeping the feature's attributes; other geometries replaced by a representative point,
    with a warning; features without a geometry skipped, with a warning) and their map
    coordinates, float array (n, 2).
    Raises :class:`DeepProspectError` when the file cannot be read or has no geometry.
    """
    feedback = ensure_feedback(feedback)
    options = {} if layer is None else {"layer": layer}
    if columns is not None:
        _check_columns(path, options, columns, name)
        options["columns"] = list(columns)
    frame = _read_features(path, options, name)
    located = _located(frame)
    if not located.all():
        missing = int((~located).sum())
        feedback.warning("{} of {} {} of {} {} no geometry (an empty or missing point) and {} skipped.".format(
            missing, len(frame), agree(len(frame), "feature"), name, agree(missing, "has", "have"),
            agree(missing, "was", "were")))
        frame = frame[located]
    if frame.empty:
        raise DeepProspectError("{} has no features with a geometry: choose a layer of points.".format(name))
    if crs is not None:
        frame = _in_crs(frame, crs, name, feedback)
    frame = frame.explode(index_parts=False)
    if not (frame.geom_type == "Point").all():
        feedback.warning("Some features of {} are not points; their representative points are used.".format(name))
        frame = frame.set_geometry(frame.geometry.representative_point())
    return frame, np.column_stack([frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy()])


def _in_crs(frame, crs, name, feedback):
    from pyproj import CRS

    target = CRS.from_user_input(crs)
    if frame.crs is None:
        feedback.warning("{} has no coordinate reference system; its coordinates are taken to be in {} (the "
                         "evidence stack's). If they are not, set the layer's CRS in its properties."
                         .format(name, target.name))
        return frame.set_crs(target)
    if CRS.from_user_input(frame.crs) != target:
        feedback.info("{}: {} transformed from {} to {}.".format(name, counted(len(frame), "feature"),
                                                                frame.crs.name, target.name))
        return frame.to_crs(target)
    return frame


def read_polygons(path, layer=None, name="MASK"):
    """Polygon features of the vector file ``path`` (optional ``layer``), e.g. the study area.

    Returns the GeoDataFrame in the layer's own CRS (``frame.crs`` None when it has none; the
    caller decides what that means). Raises :class:`DeepProspectError` when the file cannot be
    read, has no geometry, or holds anything but polygons. ``name``: the parameter named in errors.
    """
    frame = _read_features(path, {} if not layer else {"layer": layer}, name)
    frame = frame[_located(frame)]
    if not len(frame):
        raise DeepProspectError("The {} layer has no polygons; draw the study area or leave {} empty."
                                .format(name, name))
    if not frame.geom_type.isin(["Polygon", "MultiPolygon"]).all():
        raise DeepProspectError("{} must be a polygon layer (found {}).".format(
            name, ", ".join(sorted(set(frame.geom_type)))))
    return frame


def _read_features(path, options, name):
    """The features of ``path`` (with or without a geometry); a clear error when the file cannot be read."""
    import geopandas as gpd

    try:
        return gpd.read_file(path, **options)
    except (OSError, RuntimeError, ValueError) as error:      # pyogrio's errors are RuntimeErrors
        raise DeepProspectError("Cannot read {} from {}: {}".format(name, path, error))


def _located(frame):
    """Bool (n,): which features of ``frame`` have a geometry (neither missing nor empty)."""
    import shapely

    geometries = np.asarray(frame.geometry.array, dtype=object)
    return ~(shapely.is_missing(geometries) | shapely.is_empty(geometries))


def _check_columns(path, options, columns, name):
    """A clear error naming the ``columns`` the layer lacks (read from its schema, not its features)."""
    import pyogrio

    try:
        fields = [str(field) for field in pyogrio.read_info(path, **options)["fields"]]
    except (OSError, RuntimeError, ValueError) as error:
        raise DeepProspectError("Cannot read {} from {}: {}".format(name, path, error))
    missing = [column for column in columns if column not in fields]
    if missing:
        raise DeepProspectError("{} has no field {}; its fields are: {}.".format(
            name, ", ".join(missing), ", ".join(fields) or "none"))
