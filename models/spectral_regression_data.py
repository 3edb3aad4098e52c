"""What the spectral regressor learns from: the usable samples of a target column (censored,
non-numeric, missing and outlying values left out and reported) and the STFT frames for the
band spacing of the processed spectra.

Units: the target is in ``units`` (default ppm; any unit works, e.g. ``%`` or ``ppb``) and the
outlier threshold is in the same units. Wavelengths and frame widths in nm.
"""
import numpy as np

from ..core.errors import DeepProspectError
from ..core.feedback import ensure_feedback
from ..core.spectral_preprocessing import PreprocessSettings, preprocess
from ..core.wording import agree, counted

#: At least this many STFT frames: the network halves the frame axis twice, and fewer frames leave
#: it unable to tell *where* in the spectrum a feature lies.
MIN_FRAMES = 8
#: A frame of fewer bands has too few frequency bins to describe a feature's shape.
MIN_FRAME_BANDS = 5
#: Frames converted from nm are at least this many bands: on 10 nm spectra 64/32 nm would be 6/3
#: bands, and 8/4 did better (validation R² 0.955 against 0.926, benchmarks/bench_spectral_frames.py).
MIN_CONVERTED_FRAME_BANDS = 8
MIN_SAMPLES = 20
#: The report's key for the sample ids of each kind of sample left out.
_ID_KEYS = dict(censored="censored_ids", not_numeric="not_numeric_ids", missing="missing_ids",
                invalid_spectra="invalid_ids", outliers="outlier_ids")


def regression_samples(table, target, settings=None, outlier_threshold=1000.0, feedback=None, units="ppm",
                       log_target=True):
    """Select the usable samples of ``table`` for ``target`` and pre-process their spectra.

    Left out, each reported with its sample ids: censored values (``<x``, ``>x``, ``n.d.``),
    cells that are not numbers, missing values, invalid spectra and values above
    ``outlier_threshold`` (in ``units``; None or 0: none). With ``log_target`` every used
    value must be positive; without it zero and negative values are used as written.
    Returns a dict: ``wavelengths`` (m,) nm, ``processed`` (n, m), ``y`` (n,) in ``units``,
    ``ids``, ``keep`` (bool, one per table row) and the ``report`` of what was left out."""
    feedback = ensure_feedback(feedback)
    settings = settings or PreprocessSettings()
    values, flags = _target_column(table, target)
    wavelengths, processed = preprocess(table.wavelengths, table.spectra, settings)
    kinds = dict(censored=np.isin(flags, ("<", ">", "nd")), not_numeric=flags == "text")
    kinds["missing"] = ~np.isfinite(values) & ~kinds["censored"] & ~kinds["not_numeric"]
    kinds["invalid_spectra"] = ~np.isfinite(processed).all(axis=1) & np.isfinite(values)
    above = np.isfinite(values) & (values > outlier_threshold) if outlier_threshold else np.zeros(len(values), bool)
    kinds["outliers"] = above & ~kinds["invalid_spectra"]
    keep = ~np.any(list(kinds.values()), axis=0)
    report = dict(total=len(values), used=int(keep.sum()), outlier_threshold=outlier_threshold, units=units)
    for kind, rows in kinds.items():
        report[kind] = int(rows.sum())
        report[_ID_KEYS[kind]] = [table.ids[i] for i in np.flatnonzero(rows)]
    _report_left_out(report, table, target, flags, feedback)
    _check_values(values[keep], [table.ids[i] for i in np.flatnonzero(keep)], target, units, log_target, feedback)
    if keep.sum() < MIN_SAMPLES:
        raise DeepProspectError(
            "Only {} with a usable {} value {} (of {}): at least {} are needed to train and validate a model. "
            "Check the column, the outlier threshold and the censored values.".format(
                counted(int(keep.sum()), "sample"), target, agree(int(keep.sum()), "remains", "remain"), len(values),
                MIN_SAMPLES))
    return dict(wavelengths=wavelengths, processed=processed[keep], y=values[keep],
                ids=[table.ids[i] for i in np.flatnonzero(keep)], keep=keep, report=report)


def _target_column(table, target):
    """(values float64 (n,), flags (n,)) of the numeric column ``target``; a clear error otherwise."""
    if target in table.targets:
        return table.targets[target], table.censored.get(target, np.array([""] * len(table)))
    if target in table.text:
        examples = sorted({cell for cell in table.text[target] if cell})[:5]
        raise DeepProspectError("The column '{}' is not numeric: its values include {}. Choose a column of "
                                "laboratory values.".format(target, ", ".join(repr(e) for e in examples)))
    raise DeepProspectError("The spectra table has no numeric column '{}'. Numeric columns: {}.".format(
        target, ", ".join(table.targets) or "none"))


def _report_left_out(report, table, target, flags, feedback):
    """Warn about each kind of sample left out, with (the first ten of) its ids."""
    def ids(key):
        return ", ".join(report[key][:10]) + (", …" if len(report[key]) > 10 else "")

    written = table.written.get(target, np.array([""] * len(table)))
    if report["censored"]:
        feedback.warning("{} {} ({}) and {} left out: a value below detection or above range is not a number to "
                         "learn from.".format(_samples_have(report["censored"]),
                                              agree(report["censored"], "a censored {} value", "censored {} values")
                                              .format(target), ids("censored_ids"), _is(report["censored"])))
    if report["not_numeric"]:
        texts = sorted(set(written[flags == "text"].tolist()))
        feedback.warning("{} {} ({}) and {} left out: {}.".format(
            _samples_have(report["not_numeric"]),
            agree(report["not_numeric"], "a value of {} that is not a number", "{} values that are not numbers")
            .format(target), ", ".join(repr(t) for t in texts[:5]), _is(report["not_numeric"]),
            ids("not_numeric_ids")))
    if report["missing"]:
        feedback.warning("{} no {} value (empty or '-') and {} left out: {}.".format(
            _samples_have(report["missing"]), target, _is(report["missing"]), ids("missing_ids")))
    if report["invalid_spectra"]:
        feedback.warning("{} with empty or invalid values (after pre-processing) and {} left out: {}.".format(
            _samples_have(report["invalid_spectra"]) + agree(report["invalid_spectra"], " a spectrum", " spectra"),
            _is(report["invalid_spectra"]), ids("invalid_ids")))
    if report["outliers"]:
        message = "{} above the outlier threshold of {:g} {} {} left out ({}).".format(
            counted(report["outliers"], "sample"), report["outlier_threshold"], report["units"],
            _is(report["outliers"]), ids("outlier_ids"))
        if report["units"] == "ppm" and report["outliers"] <= 0.1 * report["total"]:
            feedback.info(message)
        else:
            feedback.warning(message + " The threshold is in the target's units ({}): set OUTLIER_THRESHOLD for "
                                       "these values, or 0 to keep all.".format(report["units"]))


def _samples_have(count):
    """ "1 sample has" / "3 samples have": the subject of the left-out warnings."""
    return "{} {}".format(counted(count, "sample"), agree(count, "has", "have"))


def _is(count):
    return agree(count, "is", "are")


def _check_values(values, ids, target, units, log_target, feedback):
    """log10 needs positive values: an error naming the samples; without it, a warning for
    negative contents in ppm (some laboratories write <0.5 as -0.5)."""
    bad = [i for i, value in zip(ids, values) if value <= 0]
    if log_target and bad:
        raise DeepProspectError(
            "{} {} {} zero or negative ({}): LOG_TARGET learns log10 of the values, which needs them "
            "positive. Switch LOG_TARGET off to learn the values themselves (e.g. percentages that can be "
            "0).".format(len(bad), target, agree(len(bad), "value is", "values are"), ", ".join(bad[:10])))
    negative = [i for i, value in zip(ids, values) if value < 0]
    if negative and units.lower() in ("ppm", "ppb", "%", "wt%", "g/t"):
        feedback.warning("{} {} {} negative ({}), which a content in {} cannot be; some laboratories write a "
                         "value below detection as a negative number (-0.5 for <0.5). {} used as written.".format(
                             len(negative), target, agree(len(negative), "value is", "values are"),
                             ", ".join(negative[:10]), units, agree(len(negative), "It is", "They are")))


def stft_frames(wavelengths, frame_length=None, frame_step=None, frame_length_nm=64.0, frame_step_nm=32.0,
                feedback=None):
    """The STFT frame length and step in bands for processed spectra at ``wavelengths`` (nm).

    ``frame_length``/``frame_step`` in bands win when given (not None or 0); otherwise
    ``frame_length_nm``/``frame_step_nm`` are converted by the median band spacing, with frames
    of at least :data:`MIN_CONVERTED_FRAME_BANDS` bands and the step keeping its share of the
    frame (64/32 nm: 64/32 bands at 1 nm, 13/6 at 5 nm, 8/4 at 10 nm). Logs what is used; warns
    when a frame covers fewer than :data:`MIN_FRAME_BANDS` bands or the spectra give fewer than
    :data:`MIN_FRAMES` frames.
    Returns dict(frame_length, frame_step, frames, spacing_nm)."""
    feedback = ensure_feedback(feedback)
    spacing = float(np.median(np.diff(wavelengths)))
    bands = len(wavelengths)
    length = int(frame_length) if frame_length else int(round(frame_length_nm / spacing))
    step = int(frame_step) if frame_step else int(round(frame_step_nm / spacing))
    if not frame_length and length < MIN_CONVERTED_FRAME_BANDS:
        length = MIN_CONVERTED_FRAME_BANDS
        step = step if frame_step else int(round(length * frame_step_nm / frame_length_nm))
    step = max(1, step)
    if length > bands:
        raise DeepProspectError("The processed spectra have {} bands, fewer than the STFT frame length {}: use a "
                                "smaller FRAME_LENGTH_NM (or FRAME_LENGTH).".format(bands, length))
    frames = 1 + (bands - length) // step
    feedback.info("STFT frames: {} bands ({:g} nm) every {} bands ({:g} nm), {} frames over the {} processed bands "
                  "({:g} nm apart).".format(length, length * spacing, step, step * spacing, frames, bands, spacing))
    if length < MIN_FRAME_BANDS:
        feedback.warning(
            "An STFT frame of {} bands ({:g} nm at {:g} nm band spacing) is too short to describe an absorption "
            "feature's shape: use frames of at least {} bands (FRAME_LENGTH ≥ {}, or 0 to convert FRAME_LENGTH_NM)."
            .format(length, length * spacing, spacing, MIN_FRAME_BANDS, MIN_FRAME_BANDS))
    if frames < MIN_FRAMES:
        feedback.warning("STFT frames of {} bands every {} bands give only {} frames over the {} processed bands "
                         "({:g} nm apart): the network can hardly tell where in the spectrum a feature lies. Use "
                         "shorter frames or steps (FRAME_LENGTH_NM/FRAME_STEP_NM in nm, or FRAME_LENGTH/FRAME_STEP "
                         "in bands), for at least {} frames.".format(length, step, frames, bands, spacing, MIN_FRAMES))
    return dict(frame_length=length, frame_step=step, frames=frames, spacing_nm=spacing)
