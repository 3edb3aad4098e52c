"""Training points (models/training_data.read_training_points) that would count a stack cell twice
or carry odd labels: each a warning or a clear error (docs/bad_input.md), with closed-form counts."""
import geopandas as gpd
import numpy as np
import pytest
from affine import Affine

from deepprospect.core.errors import DeepProspectError
from deepprospect.core.raster import write_geotiff
from deepprospect.models.training_data import read_training_points
from log_feedback import LogFeedback


def _stack(tmp_path):
    """A 10 × 10 stack of 10-unit cells (x 0…100, y 0…100); band A holds the cell's row-major index."""
    data = np.stack([np.arange(100, dtype=np.float32).reshape(10, 10)] * 2)
    return write_geotiff(tmp_path / "stack.tif", data, Affine(10, 0, 0, 0, -10, 100), "EPSG:32645", ["A", "B"])


def _centre(cell):
    row, col = divmod(cell, 10)
    return 10 * col + 5.0, 100 - 10 * row - 5.0


def _points(tmp_path, cells, labels, jitter=2.0):
    xy = np.array([_centre(cell) for cell in cells]) + np.where(np.arange(len(cells))[:, None] % 2, jitter, -jitter)
    path = tmp_path / "points.gpkg"
    gpd.GeoDataFrame({"label": labels}, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
                     crs="EPSG:32645").to_file(path, driver="GPKG")
    return str(path)


def test_points_sharing_a_cell_count_once_with_warnings(tmp_path, bad_input):
    # deposits on cells 0…11, plus 2 more on cell 0 and 1 on cell 5 (3 merged, 2 cells with more than one);
    # non-deposits on cells 50…61, plus 1 on deposit cell 7 (a conflict) and 2 more on cell 50 (kept, 1 cell)
    deposit_cells = list(range(12)) + [0, 0, 5]
    barren_cells = list(range(50, 62)) + [7, 50, 50]
    path = _points(tmp_path, deposit_cells + barren_cells, [1] * 15 + [0] * 15)
    log = LogFeedback()
    data = read_training_points(_stack(tmp_path), path, feedback=log)
    merged_deposits = ("3 deposits lie on a stack cell that already holds another of them and were merged into it: "
                       "one point per cell is kept (2 cells held more than one).")
    conflict = ("1 non-deposit lies on a stack cell that also holds a deposit (1 cell) and was left out: a cell "
                "cannot be both. Check LABEL_FIELD and the points.")
    repeated_barren = ("2 non-deposits lie on a stack cell that already holds another non-deposit (1 cell); they "
                       "are kept, so that cell weighs more in training. deepprospect:sample_negatives draws at most "
                       "one per cell.")
    assert log.warnings == [merged_deposits, conflict, repeated_barren]
    # one deposit per cell (the first), no non-deposit on a deposit's cell, in the file's order
    kept = list(range(12)) + list(range(50, 62)) + [50, 50]
    assert data.labels.tolist() == [1] * 12 + [0] * 14
    assert data.values[:, 0].tolist() == kept
    assert (data.rows * 10 + data.cols).tolist() == kept
    bad_input("Two deposits on one cell (training points)", "warning", merged_deposits)
    bad_input("A deposit and a non-deposit on one cell (training points)", "warning", conflict)
    bad_input("Two non-deposits on one cell (training points)", "warning", repeated_barren)


def test_merging_below_the_minimum_per_class_is_a_clear_error(tmp_path):
    # 12 deposits, but only 9 distinct cells
    path = _points(tmp_path, [0, 1, 2, 3, 4, 5, 6, 7, 8, 8, 8, 8] + list(range(50, 62)), [1] * 12 + [0] * 12)
    with pytest.raises(DeepProspectError, match=r"Only 9 deposits \(label = 1\)"):
        read_training_points(_stack(tmp_path), path, feedback=LogFeedback())


def test_a_label_field_with_words_is_a_clear_error(tmp_path, bad_input):
    path = _points(tmp_path, list(range(24)), ["yes"] * 12 + ["no"] * 12)
    with pytest.raises(DeepProspectError) as error:
        read_training_points(_stack(tmp_path), path)
    message = str(error.value)
    assert message == "LABEL_FIELD 'label' must hold 1 (deposit) or 0 (non-deposit); found no, yes."
    bad_input("A label field with text values (yes/no)", "error", message)


def test_a_label_field_with_digits_as_text_is_read(tmp_path, bad_input):
    path = _points(tmp_path, list(range(24)), ["1"] * 12 + ["0"] * 12)
    log = LogFeedback()
    data = read_training_points(_stack(tmp_path), path, feedback=log)
    assert data.labels.tolist() == [1] * 12 + [0] * 12 and data.labels.dtype == np.int64
    message = "LABEL_FIELD 'label' holds text; '1' is read as a deposit and '0' as a non-deposit."
    assert message in log.infos and log.warnings == []
    bad_input("A label field holding '1'/'0' as text", "handled", message)


def test_training_points_outside_the_stack_are_a_clear_error(tmp_path, bad_input):
    path = _points(tmp_path, list(range(24)), [1] * 12 + [0] * 12)
    frame = gpd.read_file(path)
    frame.loc[3, "geometry"] = gpd.points_from_xy([500.0], [50.0])[0]
    frame.to_file(path, driver="GPKG")
    with pytest.raises(DeepProspectError) as error:
        read_training_points(_stack(tmp_path), path)
    message = str(error.value)
    assert message.startswith("1 of 24 training points fall outside the evidence stack or on its nodata pixels "
                              "(e.g. feature 3 at (500.0, 50.0)). Clip the points")
    bad_input("Training points outside the evidence stack", "error", message)
