"""Bad spectral input (issue 15): laboratory cells that are not numbers, frames and windows that
do not suit the band spacing, targets that are not ppm, trims that drop bands, and malformed
spectra tables and rasters. Each case asserts the message the user sees and records it with the
``bad_input`` fixture (docs/bad_input.md). No TensorFlow here except the few training cases."""
import numpy as np
import pytest

from deepprospect.core import spectra_table, spectral, synthetic_spectra
from deepprospect.core import spectral_preprocessing as chain
from deepprospect.core.errors import DeepProspectError
from deepprospect.models.spectral_regression_data import regression_samples, stft_frames
from log_feedback import LogFeedback


class Recording(LogFeedback):
    """The engine's log, with a lookup of one warning."""

    def warned(self, text):
        """The one warning containing ``text``."""
        found = [w for w in self.warnings if text in w]
        assert len(found) == 1, (text, self.warnings)
        return found[0]


CENSORED_CELLS = ("<0.5", "< 0.5", ">1000", "≤0.5", "n.d.", "nd", "ND", "b.d.l.", "bdl", "<LOD", "-", "", "n.a.",
                  "sample lost")


def _write_table(path, column, wavelengths=(400.0, 410.0, 420.0, 430.0), count=40, seed=0):
    """A spectra CSV with an id column ``S01``…, the cells ``column`` (then plain numbers) in Sb, and
    random reflectance at ``wavelengths`` (header as given, str or number)."""
    rng = np.random.default_rng(seed)
    lines = ["id,Sb," + ",".join(str(w) for w in wavelengths)]
    for row in range(count):
        cell = column[row] if row < len(column) else "{:.2f}".format(rng.uniform(5, 500))
        spectrum = ",".join("{:.4f}".format(v) for v in rng.uniform(0.2, 0.6, len(wavelengths)))
        lines.append("S{:02d},{},{}".format(row + 1, cell, spectrum))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_censored_and_non_numeric_laboratory_values_are_reported_and_left_out(tmp_path, bad_input):
    path = _write_table(tmp_path / "lab.csv", CENSORED_CELLS)
    table = spectra_table.read_spectra_table(path)
    # the column stays numeric whatever the flagged cells say
    assert "Sb" in table.targets and "Sb" not in table.text
    flags = list(table.censored["Sb"][:len(CENSORED_CELLS)])
    assert flags == ["<", "<", ">", "<", "nd", "nd", "nd", "nd", "nd", "nd", "missing", "missing", "missing", "text"]
    assert np.isnan(table.targets["Sb"][:len(CENSORED_CELLS)]).all()
    assert np.isfinite(table.targets["Sb"][len(CENSORED_CELLS):]).all()
    np.testing.assert_array_equal(table.censored_values["Sb"][:4], [0.5, 0.5, 1000, 0.5])
    line, = table.censored_report()
    assert line == ("Sb: 1 above the upper limit (>1000) in S03; 3 below detection (<0.5) in S01, S02, S04; "
                    "6 not detected (no limit given) (<LOD, ND, b.d.l., bdl, n.d., nd) in S05, S06, S07, S08, S09, "
                    "S10; 3 missing (-, empty, n.a.) in S11, S12, S13; 1 not a number (sample lost) in S14")
    feedback = Recording()
    data = regression_samples(table, "Sb", chain.PreprocessSettings(smoothing=False, derivative=0,
                                                                    continuum_removal=False), feedback=feedback)
    assert data["report"]["used"] == 40 - 14 and len(data["y"]) == 26 and np.isfinite(data["y"]).all()
    assert data["report"]["censored_ids"] == ["S{:02d}".format(i) for i in range(1, 11)]
    censored = feedback.warned("censored Sb values")
    assert censored == ("10 samples have censored Sb values (S01, S02, S03, S04, S05, S06, S07, S08, S09, S10) and "
                        "are left out: a value below detection or above range is not a number to learn from.")
    assert feedback.warned("no Sb value") == ("3 samples have no Sb value (empty or '-') and are left out: S11, S12, "
                                              "S13.")
    assert feedback.warned("that is not a number") == ("1 sample has a value of Sb that is not a number ('sample lost') and "
                                              "is left out: S14.")
    # written back as read
    spectra_table.write_spectra_table(tmp_path / "copy.csv", table)
    again = spectra_table.read_spectra_table(tmp_path / "copy.csv")
    np.testing.assert_array_equal(again.censored["Sb"], table.censored["Sb"])
    bad_input("A spectra column holding n.d., <0.5, < 0.5, >1000, b.d.l., - or empty cells", "warning",
              line + " | " + censored)


def test_a_target_column_that_is_text_names_its_values(tmp_path, bad_input):
    path = _write_table(tmp_path / "text.csv", ["high", "low", "medium"] * 14)
    table = spectra_table.read_spectra_table(path)
    with pytest.raises(DeepProspectError) as error:
        regression_samples(table, "Sb")
    message = str(error.value)
    assert message == ("The column 'Sb' is not numeric: its values include 'high', 'low', 'medium'. Choose a column "
                       "of laboratory values.")
    bad_input("A regression TARGET column holding words, not laboratory values", "error", message)


def test_frames_in_bands_on_10_nm_spectra_warn_and_frames_in_nm_adapt(bad_input):
    wavelengths = np.arange(400.0, 2401.0, 10.0)    # 201 bands
    feedback = Recording()
    frames = stft_frames(wavelengths, 64, 32, feedback=feedback)
    assert frames["frames"] == 1 + (201 - 64) // 32 == 5
    message = feedback.warned("give only 5 frames")
    assert message.startswith("STFT frames of 64 bands every 32 bands give only 5 frames over the 201 processed "
                              "bands (10 nm apart)")
    bad_input("Spectral regressor on 10 nm spectra with STFT frames of 64/32 bands (suited to 1 nm data)",
              "warning", message)
    feedback = Recording()
    frames = stft_frames(wavelengths, feedback=feedback)     # the default: 64/32 nm, at least 8 bands
    assert (frames["frame_length"], frames["frame_step"], frames["frames"]) == (8, 4, 1 + (201 - 8) // 4)
    assert feedback.warnings == []
    assert feedback.infos == ["STFT frames: 8 bands (80 nm) every 4 bands (40 nm), 49 frames over the 201 processed "
                              "bands (10 nm apart)."]
    bad_input("Spectral regressor on 10 nm spectra with the default frames (FRAME_LENGTH_NM 64, FRAME_STEP_NM 32)",
              "handled", feedback.infos[0])
    one_nm = stft_frames(np.arange(400.0, 2401.0, 1.0))
    assert (one_nm["frame_length"], one_nm["frame_step"]) == (64, 32)      # as the bands of earlier versions
    five_nm = stft_frames(np.arange(400.0, 2401.0, 5.0))
    assert (five_nm["frame_length"], five_nm["frame_step"]) == (13, 6)     # round(64 / 5), round(32 / 5)
    feedback = Recording()
    stft_frames(np.arange(400.0, 2401.0, 20.0), 3, 2, feedback=feedback)
    message = feedback.warned("too short")
    assert message == ("An STFT frame of 3 bands (60 nm at 20 nm band spacing) is too short to describe an absorption "
                       "feature's shape: use frames of at least 5 bands (FRAME_LENGTH ≥ 5, or 0 to convert "
                       "FRAME_LENGTH_NM).")
    bad_input("Spectral regressor with FRAME_LENGTH of 3 bands (20 nm spectra)", "warning", message)
    with pytest.raises(DeepProspectError, match="fewer than the STFT frame length 64: use a smaller FRAME_LENGTH_NM"):
        stft_frames(wavelengths[:40], 64, 32)


def test_a_savitzky_golay_window_of_too_few_bands_is_widened_and_the_log_says_so(bad_input):
    from scipy.signal import savgol_filter

    wavelengths = np.arange(350.0, 2501.0, 10.0)
    settings = chain.PreprocessSettings(continuum_removal=False, absorbance=False, derivative=0)   # 31 nm, order 2
    feedback = Recording()
    kept = chain.report_chain(wavelengths, settings, feedback)
    message = feedback.warned("Savitzky–Golay")
    assert message == ("The Savitzky–Golay window of 31 nm covers only 3 band(s) at the 10 nm band spacing: a window "
                       "of 3 bands or fewer fits a polynomial of order 2 exactly and smooths nothing. It is widened to "
                       "5 bands (50 nm). Set WINDOW to at least 50 nm to choose the window yourself, or switch "
                       "SMOOTHING off.")
    assert "Savitzky–Golay 31 nm → 5 bands (50 nm), order 2" in feedback.infos[0]
    # what the log says is what runs: scipy's filter with 5 bands, which does smooth
    spectra = synthetic_spectra.mix(wavelengths, np.random.default_rng(1).dirichlet(np.ones(7), 3),
                                    np.random.default_rng(2), noise=0.01)
    _, smoothed = chain.preprocess(wavelengths, spectra, settings)
    trimmed = spectra[:, (wavelengths >= 400) & (wavelengths <= 2400)]
    np.testing.assert_allclose(smoothed, savgol_filter(trimmed, 5, 2, axis=1, mode="interp"), rtol=1e-12)
    assert np.abs(smoothed - trimmed).max() > 1e-3
    assert len(kept) == 201
    bad_input("A Savitzky–Golay WINDOW of 31 nm on 10 nm bands (3 bands, smooths nothing)", "warning", message)
    feedback = Recording()
    chain.report_chain(np.arange(400.0, 2401.0, 1.0), settings, feedback)
    assert feedback.warnings == [] and "Savitzky–Golay 31 nm = 31 bands, order 2" in feedback.infos[0]


def test_the_trim_reports_the_bands_it_drops(bad_input):
    settings = chain.PreprocessSettings()
    feedback = Recording()
    chain.report_chain(synthetic_spectra.asd_wavelengths(), settings, feedback)
    assert not any("trim" in warning for warning in feedback.warnings)
    assert "The trim to 400–2400 nm drops 150 of 2151 bands (350–399 nm and 2401–2500 nm); 2001 remain." in \
        feedback.infos
    feedback = Recording()
    chain.report_chain(np.arange(350.0, 3201.0, 5.0), settings, feedback)   # a sensor reaching 3200 nm
    message = feedback.warned("The trim")
    assert message == ("The trim to 400–2400 nm drops 170 of 571 bands (350–395 nm and 2405–3200 nm); 401 "
                       "remain. Check MIN_WAVELENGTH and MAX_WAVELENGTH against the spectra's range (350–3200 nm).")
    bad_input("The classifier's default 400–2400 nm trim on spectra reaching 3200 nm (drops over a quarter of the "
              "bands)",
              "warning", message)
    feedback = Recording()
    chain.report_chain(np.arange(300.0, 2501.0, 200.0), chain.PreprocessSettings(smoothing=False), feedback)
    message = feedback.warned("The trim")
    assert message.startswith("The trim to 400–2400 nm drops 2 of 12 bands (300 nm and 2500 nm); 10 remain.")
    bad_input("A trim that leaves fewer than 16 bands", "warning", message)


def test_zero_and_negative_targets_without_log_and_other_units(tmp_path, bad_input):
    cells = ["0", "0.0", "-0.5"] + ["{:.1f}".format(v) for v in np.linspace(0.1, 40, 37)]
    table = spectra_table.read_spectra_table(_write_table(tmp_path / "percent.csv", cells))
    plain = chain.PreprocessSettings(continuum_removal=False, smoothing=False, derivative=0)
    with pytest.raises(DeepProspectError) as error:
        regression_samples(table, "Sb", plain, outlier_threshold=None)
    message = str(error.value)
    assert message == ("3 Sb values are zero or negative (S01, S02, S03): LOG_TARGET learns log10 of the values, "
                       "which needs them positive. Switch LOG_TARGET off to learn the values themselves (e.g. "
                       "percentages that can be 0).")
    bad_input("Spectral regression of a value that can be 0 with LOG_TARGET on", "error", message)
    feedback = Recording()
    data = regression_samples(table, "Sb", plain, outlier_threshold=None, units="%", log_target=False,
                              feedback=feedback)
    assert data["report"]["used"] == 40 and data["y"][0] == 0 and data["y"][2] == -0.5
    message = feedback.warned("negative")
    assert message == ("1 Sb value is negative (S03), which a content in % cannot be; some laboratories write a "
                       "value below detection as a negative number (-0.5 for <0.5). It is used as written.")
    bad_input("Spectral regression of a percentage that can be 0 (LOG_TARGET off, UNITS %)", "handled",
              "0 is used; " + message)
    feedback = Recording()
    data = regression_samples(table, "Sb", plain, outlier_threshold=30, units="%", log_target=False,
                              feedback=feedback)
    message = feedback.warned("outlier threshold")
    above = ["S{:02d}".format(row + 1) for row, cell in enumerate(cells) if float(cell) > 30]
    assert message.startswith("{} samples above the outlier threshold of 30 % are left out ({}).".format(
        len(above), ", ".join(above)))
    assert message.endswith("The threshold is in the target's units (%): set OUTLIER_THRESHOLD for these values, or 0 "
                            "to keep all.")
    assert data["report"]["outliers"] == len(above) and data["report"]["units"] == "%"
    bad_input("An OUTLIER_THRESHOLD applied to a target that is not in ppm", "warning", message)


def test_malformed_spectra_tables_give_clear_errors_or_are_read_right(tmp_path, bad_input):
    rows = ["A,1,0.1,0.2,0.3,0.4", "B,2,0.2,0.3,0.4,0.5"]
    cases = {
        "stray": ("id,Sb,400,41O,420,430", "has columns among its wavelength columns whose header is not a "
                  "wavelength: '41O'. Give every spectral column its wavelength in nm as header (e.g. 410 or 410 nm) "
                  "and put the id and laboratory columns before or after the spectra."),
        "repeated": ("id,Sb,400,410,410,420", "has more than one column for the same wavelength: 410 nm. Remove or "
                     "average the repeated columns."),
    }
    for name, (header, expected) in cases.items():
        path = tmp_path / (name + ".csv")
        path.write_text("\n".join([header] + rows) + "\n")
        with pytest.raises(DeepProspectError) as error:
            spectra_table.read_spectra_table(path)
        assert str(error.value) == "The spectra table {} {}".format(path, expected)
    bad_input("A wavelength header that is not a number among the wavelength columns (41O)", "error",
              cases["stray"][1])
    bad_input("Two spectra columns with the same wavelength", "error", cases["repeated"][1])
    path = tmp_path / "repeated_ids.csv"
    path.write_text("id,Sb,400,410,420\nA,1,0.1,0.2,0.3\nA,2,0.2,0.3,0.4\n")
    with pytest.raises(DeepProspectError) as error:
        spectra_table.read_spectra_table(path)
    assert str(error.value) == ("The spectra table {} repeats sample ids: A. Average the repeated spectra or give them "
                                "distinct ids.".format(path))
    bad_input("A spectra table whose sample ids repeat", "error", str(error.value))
    # headers with units and columns out of order are read right, and reading says it sorted them
    path = tmp_path / "units.csv"
    path.write_text("id,Sb,0.42 µm,400 nm,410nm\nA,1,0.3,0.1,0.2\nB,2,0.4,0.2,0.3\nC,3,0.5,0.3,0.4\n")
    table = spectra_table.read_spectra_table(path)
    np.testing.assert_allclose(table.wavelengths, [400, 410, 420])
    np.testing.assert_allclose(table.spectra, [[0.1, 0.2, 0.3], [0.2, 0.3, 0.4], [0.3, 0.4, 0.5]])
    assert table.notes == ["The wavelength columns of {} are not in increasing order; they are used sorted by "
                           "wavelength.".format(path)]
    bad_input("Wavelength headers with units (400 nm, 0.42 µm) in no particular order", "handled", table.notes[0])


def test_the_preprocess_task_refuses_bad_tables_and_rasters_and_leaves_nothing(tmp_path, bad_input):
    import rasterio
    from rasterio.transform import from_origin

    from deepprospect.engine.spectral_tasks import spectral_preprocess

    settings = chain.PreprocessSettings(smoothing=False, derivative=0).to_dict()
    plain = tmp_path / "no_wavelengths.tif"
    with rasterio.open(plain, "w", driver="GTiff", width=4, height=3, count=5, dtype="float32", crs="EPSG:32636",
                       transform=from_origin(500000, 3800000, 1, 1)) as dataset:
        dataset.write(np.full((5, 3, 4), 0.3, np.float32))
    output = tmp_path / "out" / "processed.tif"
    output.parent.mkdir()
    with pytest.raises(DeepProspectError) as error:
        spectral_preprocess(dict(input=str(plain), output=str(output), settings=settings), Recording())
    assert str(error.value) == ("The raster {} has no band wavelengths. Give each band its wavelength in nm as band "
                                "description (or use an ENVI file whose header has a 'wavelength' list).".format(plain))
    assert list(output.parent.iterdir()) == []
    bad_input("A hyperspectral raster without wavelength metadata", "error", str(error.value))
    reversed_bands = tmp_path / "reversed.tif"
    with rasterio.open(reversed_bands, "w", driver="GTiff", width=4, height=3, count=3, dtype="float32",
                       crs="EPSG:32636", transform=from_origin(500000, 3800000, 1, 1)) as dataset:
        dataset.write(np.full((3, 3, 4), 0.3, np.float32))
        for band, wavelength in enumerate((2200, 2100, 2000), start=1):
            dataset.set_band_description(band, "{} nm".format(wavelength))
    with pytest.raises(DeepProspectError) as error:
        spectral_preprocess(dict(input=str(reversed_bands), output=str(output), settings=settings), Recording())
    assert str(error.value) == ("The band wavelengths of {} do not increase band by band; reorder the bands by "
                                "wavelength.".format(reversed_bands))
    assert list(output.parent.iterdir()) == []
    bad_input("A hyperspectral raster whose bands are not in wavelength order", "error", str(error.value))
    table = _write_table(tmp_path / "stray.csv", [], wavelengths=(400, 410, "reflectance", 430))
    with pytest.raises(DeepProspectError, match="whose header is not a wavelength: 'reflectance'"):
        spectral_preprocess(dict(input=str(table), output=str(tmp_path / "out" / "t.csv"), settings=settings),
                            Recording())
    assert list(output.parent.iterdir()) == []


def test_the_classifier_refuses_too_few_bands(bad_input):
    from deepprospect.models.spectral_classifier import train_spectral_classifier

    library = synthetic_spectra.generate_mineral_library(6, seed=1,
                                                         wavelengths=synthetic_spectra.imaging_wavelengths(12))
    with pytest.raises(DeepProspectError) as error:
        train_spectral_classifier(library, epochs=1, feedback=Recording())
    assert str(error.value) == ("The processed spectra have 12 bands; the 1-D CNN needs at least 15. Widen "
                                "MIN_WAVELENGTH–MAX_WAVELENGTH or use spectra with more bands.")
    bad_input("Training the spectral classifier on spectra of fewer than 15 bands", "error", str(error.value))


def test_a_table_without_an_id_column_keeps_its_first_column_as_data(tmp_path, bad_input):
    path = tmp_path / "no_ids.csv"
    path.write_text("Sb,400,410,420\n12.5,0.1,0.2,0.3\n12.5,0.2,0.3,0.4\n<0.5,0.3,0.4,0.5\n")
    table = spectra_table.read_spectra_table(path)
    assert table.ids == ["1", "2", "3"] and table.id_column == "id"
    np.testing.assert_array_equal(table.targets["Sb"][:2], [12.5, 12.5])
    assert list(table.censored["Sb"]) == ["", "", "<"]
    note, = table.notes
    assert note == ("{} has no id column (id, sample, sample_id, name, fid) and its first column 'Sb' repeats values: "
                    "it is read as data and the samples are numbered 1, 2, … in file order.".format(path))
    bad_input("A spectra table without an id column whose first column repeats values (Sb contents)", "handled", note)
    path.write_text("code,Sb,400,410,420\nA1,12.5,0.1,0.2,0.3\nA2,12.5,0.2,0.3,0.4\n")
    assert spectra_table.read_spectra_table(path).ids == ["A1", "A2"]     # unique: the samples' names
