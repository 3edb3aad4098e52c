"""Reading point layers (deposits, points to explain) into the evidence stack's CRS."""
import numpy as np

from .errors import DeepProspectError
from .feedback import ensure_feedback


def read_points(path, crs, layer=None, name="DEPOSITS", feedback=None):
    """Point features of the vector file ``path`` (optional ``layer``), transformed to ``crs``.

    Returns ``(frame, xy)``: the GeoDataFrame with one row per point (multipoints exploded,
    other geometries replaced by a representative point, with a warning) and their map
    coordinates, float array (n, 2). ``name`` is the parameter named in error messages.
    Raises :class:`DeepProspectError` when the layer has no geometry or no CRS.
    """
    import geopandas as gpd

    feedback = ensure_feedback(feedback)
    frame = gpd.read_file(path, layer=layer) if layer else gpd.read_file(path)
    frame = frame[~frame.geometry.is_empty & frame.geometry.notna()]
    if frame.empty:
        raise DeepProspectError("{} has no features with a geometry: choose a layer of points.".format(name))
    if frame.crs is None:
        raise DeepProspectError(
            "{} has no coordinate reference system: set its CRS in the layer properties.".format(name))
    frame = frame.to_crs(crs).explode(index_parts=False)
    if not (frame.geom_type == "Point").all():
        feedback.warning("Some features of {} are not points; their representative points are used.".format(name))
        frame = frame.set_geometry(frame.geometry.representative_point())
    return frame, np.column_stack([frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy()])
