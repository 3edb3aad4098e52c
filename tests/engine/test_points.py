"""core/points.read_points: the engine's one point reader and its one CRS rule."""
import geopandas as gpd
import numpy as np
import pytest
from pyproj import Transformer
from shapely.geometry import MultiPoint, Point

from deepprospect.core.errors import DeepProspectError
from deepprospect.core.points import read_points
from log_feedback import LogFeedback


def _layer(path, crs, geometries):
    gpd.GeoDataFrame({"grade": np.arange(len(geometries), dtype=float)}, geometry=geometries,
                     crs=crs).to_file(path, driver="GPKG")
    return str(path)


def test_points_in_another_crs_are_transformed_and_the_log_says_so(tmp_path):
    lonlat = [(87.1, 27.5), (87.3, 27.6)]
    path = _layer(tmp_path / "wgs84.gpkg", "EPSG:4326", [Point(p) for p in lonlat])
    feedback = LogFeedback()
    frame, xy = read_points(path, "EPSG:32645", feedback=feedback)
    expected = np.column_stack(Transformer.from_crs(4326, 32645, always_xy=True).transform(*np.array(lonlat).T))
    np.testing.assert_allclose(xy, expected, atol=1e-6)
    assert frame.crs.to_epsg() == 32645
    assert feedback.warnings == [] and "2 features transformed from WGS 84 to WGS 84 / UTM zone 45N" in feedback.infos[0]


def test_a_layer_without_crs_is_taken_in_the_stack_crs_with_a_warning(tmp_path):
    path = _layer(tmp_path / "nocrs.gpkg", None, [Point(500000, 3000000), Point(501000, 3001000)])
    feedback = LogFeedback()
    frame, xy = read_points(path, "EPSG:32645", name="DEPOSITS", feedback=feedback)
    np.testing.assert_array_equal(xy, [[500000, 3000000], [501000, 3001000]])
    assert frame.crs.to_epsg() == 32645
    assert len(feedback.warnings) == 1 and feedback.warnings[0].startswith(
        "DEPOSITS has no coordinate reference system; its coordinates are taken to be in WGS 84 / UTM zone 45N")


def test_multipoints_explode_and_missing_fields_are_named(tmp_path):
    path = _layer(tmp_path / "multi.gpkg", "EPSG:32645", [MultiPoint([(1, 2), (3, 4)]), Point(5, 6)])
    frame, xy = read_points(path, "EPSG:32645")
    np.testing.assert_array_equal(xy, [[1, 2], [3, 4], [5, 6]])
    assert list(frame["grade"]) == [0.0, 0.0, 1.0]
    with pytest.raises(DeepProspectError, match="INPUT has no field Au_ppm; its fields are: grade"):
        read_points(path, columns=["Au_ppm"], name="INPUT")


def test_features_without_geometry_are_skipped_with_a_warning(tmp_path, bad_input):
    path = _layer(tmp_path / "holes.gpkg", "EPSG:32645", [Point(1, 2), None, Point(3, 4), Point()])
    feedback = LogFeedback()
    frame, xy = read_points(path, "EPSG:32645", name="DEPOSITS", feedback=feedback)
    np.testing.assert_array_equal(xy, [[1, 2], [3, 4]])
    assert list(frame["grade"]) == [0.0, 2.0]
    message = "2 of 4 features of DEPOSITS have no geometry (an empty or missing point) and were skipped."
    assert feedback.warnings == [message]
    bad_input("Point features with an empty or missing geometry", "warning", message)
    empty = _layer(tmp_path / "none.gpkg", "EPSG:32645", [None, None])
    with pytest.raises(DeepProspectError, match="DEPOSITS has no features with a geometry"):
        read_points(empty, "EPSG:32645", name="DEPOSITS", feedback=LogFeedback())
