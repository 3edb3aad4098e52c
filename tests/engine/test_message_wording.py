"""Counts in messages read as English when they are 1 (core/wording.py), and deposits sharing a stack
cell or lying on nodata are reported as information unless they are more than a tenth of the deposits
(core/feedback.report_share, used by core/sampling.py and models/predict.py)."""
import numpy as np
from affine import Affine

from deepprospect.core import sampling
from deepprospect.core.feedback import report_share
from deepprospect.core.raster import write_geotiff
from deepprospect.core.wording import agree, counted
from log_feedback import LogFeedback


def test_counted_and_agree_pick_the_form_for_the_count():
    assert [counted(n, "cell") for n in (0, 1, 2)] == ["0 cells", "1 cell", "2 cells"]
    assert counted(1, "spectrum", "spectra") == "1 spectrum" and counted(3, "spectrum", "spectra") == "3 spectra"
    assert counted(12345, "pixel", number="{:,}") == "12,345 pixels"
    assert [agree(n, "lies", "lie") for n in (1, 2)] == ["lies", "lie"]


def test_a_few_deposits_sharing_a_cell_are_information_not_a_warning(bad_input):
    # 20 deposits on cells 0…18, the last on cell 0 again: 1 merged of 20 (5 %, under a tenth)
    log = LogFeedback()
    kept, merged = sampling.one_per_cell(np.ones(20, bool), np.r_[np.arange(19), 0], "deposit", log)
    message = ("1 deposit lies on a stack cell that already holds another and was merged into it: one point per cell "
               "is kept (1 cell held more than one).")
    assert log.warnings == [] and log.infos == [message]
    assert merged == 1 and kept.tolist() == [True] * 19 + [False]
    bad_input("A few deposits sharing a cell (under a tenth of them)", "handled", message)


def test_merging_more_than_a_tenth_of_the_deposits_is_a_warning():
    # 20 deposits, 3 on cell 0 and 2 more on cell 1: 3 merged of 20 (15 %), 2 cells with more than one
    log = LogFeedback()
    _, merged = sampling.one_per_cell(np.ones(20, bool), np.r_[np.arange(17), 0, 0, 1], "deposit", log)
    assert merged == 3 and log.infos == []
    assert log.warnings == ["3 deposits lie on a stack cell that already holds another of them and were merged into "
                            "it: one point per cell is kept (2 cells held more than one)."]


def _small_stack(tmp_path):
    data = np.arange(200, dtype=np.float32).reshape(2, 10, 10)
    return write_geotiff(tmp_path / "small.tif", data, Affine(10, 0, 0, 0, -10, 100), "EPSG:32645", ["A", "B"])


def test_report_share_warns_only_above_a_tenth():
    for count, total, level in ((1, 10, "info"), (2, 10, "warning"), (10, 100, "info"), (11, 100, "warning")):
        log = LogFeedback()
        report_share(log, count, total, "message")
        assert (log.infos, log.warnings) == ((["message"], []) if level == "info" else ([], ["message"]))


def test_one_deposit_outside_the_stack_is_named_in_the_singular(tmp_path):
    stack = _small_stack(tmp_path)
    log = LogFeedback()
    chosen = sampling.choose_non_deposits(stack, np.array([[15.0, 15.0], [55.0, 55.0], [250.0, 55.0]]), 2,
                                          feedback=log)
    assert chosen["dropped"] == 1
    assert log.warnings == ["1 of 3 deposits lies outside the evidence stack or on nodata pixels and was left out."]


def test_a_few_deposits_on_nodata_are_information(tmp_path, bad_input):
    # 20 deposits, one of them east of the stack (5 %): the unsampled-area case of the demo
    xy = np.array([[5.0 + 10 * (i % 10), 95.0 - 10 * (i // 10)] for i in range(19)] + [[250.0, 55.0]])
    log = LogFeedback()
    chosen = sampling.choose_non_deposits(_small_stack(tmp_path), xy, 5, feedback=log)
    message = "1 of 20 deposits lies outside the evidence stack or on nodata pixels and was left out."
    assert chosen["dropped"] == 1 and log.warnings == [] and message in log.infos
    bad_input("A few deposits off the stack or on nodata (a tenth of them or fewer)", "handled", message)


def test_one_odd_sample_in_an_idw_field_is_named_in_the_singular():
    import pandas as pd

    from deepprospect.core.idw_values import numeric_column

    log = LogFeedback()
    numeric_column(pd.Series(["3.1", "<0.5", "-9999", "2.0", "4.2"], dtype=object), "Au_ppb", False, log)
    assert log.warnings == [
        "Au_ppb: 1 sample holds below-detection values such as '<0.5'; it is skipped, which leaves the lowest "
        "concentrations out of the map. Replace them by half the detection limit (e.g. 0.25 for '<0.5') to keep them.",
        "Au_ppb: 1 sample holds -9999, taken as a missing-value code and skipped."]
    log = LogFeedback()
    numeric_column(pd.Series([3.1, -0.5, 2.0, 0.0]), "Cu_ppm", True, log)
    assert log.warnings[0] == ("Cu_ppm: 2 samples ≤ 0 have no log10 and are skipped (replace below-detection values by "
                               "half the detection limit to keep them).")
    log = LogFeedback()
    numeric_column(pd.Series([3.1, -0.5, 2.0, 4.0]), "Cu_ppm", False, log)
    assert log.warnings == ["Cu_ppm: 1 sample holds a negative value (-0.5) among positive ones and is interpolated "
                            "as it is. If it is a below-detection entry (minus the detection limit), replace it by "
                            "half the detection limit."]
