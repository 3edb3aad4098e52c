"""The numbers IDW interpolates from one field of a sample table (:func:`numeric_column`).

Geochemical tables hold more than numbers: empty cells, text, below-detection entries ('<0.5'),
missing-value codes (-9999, -999, …) and, in some surveys, below-detection values written as the
negative detection limit (-0.5 for '<0.5'). Each is recognised and reported in the log, never
interpolated silently as a concentration:

* empty and non-numeric cells are skipped and counted (an info line);
* below-detection text ('<0.5') is skipped with a warning that says how to keep it;
* -9999 is always a missing-value code; -99, -999, -99999 and -999999 are when the field's other
  values are all ≥ 0 (a concentration cannot be negative): skipped with a warning;
* a few distinct negative values among positive ones are interpolated as they are, with a warning
  that they may be below-detection entries.
"""
import numpy as np

from .errors import DeepProspectError
from .raster import STACK_NODATA
from .wording import agree, counted

#: float32 output: values beyond this cannot be stored in the evidence raster.
FLOAT32_MAX = float(np.finfo(np.float32).max)
#: Missing-value codes of sample tables, taken as such when the field's other values are all ≥ 0.
MISSING_CODES = (-99.0, -999.0, -9999.0, -99999.0, -999999.0)
#: At most this many distinct negative values among positive ones look like below-detection codes.
NEGATIVE_CODES = 5


def numeric_column(series, field, log10, feedback):
    """Float64 values (n,) of the pandas Series ``series`` (field ``field``) with NaN where unusable,
    and how many samples were skipped; ``log10``: log10 of the values (samples ≤ 0 skipped).
    Raises :class:`DeepProspectError` when no value is usable or one cannot be stored in float32."""
    import pandas as pd

    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    usable = np.isfinite(values)
    nulls = int(series.isna().sum())
    non_numeric = int(len(values) - usable.sum()) - nulls
    _warn_below_detection(series[~usable & series.notna().to_numpy()], field, feedback)
    usable &= ~_missing_codes(values, usable, field, feedback)
    if log10:
        positive = usable & (values > 0)
        if (usable & ~positive).any():
            count = int((usable & ~positive).sum())
            feedback.warning("{}: {} ≤ 0 {} no log10 and {} skipped (replace below-detection values by half the "
                             "detection limit to keep them).".format(field, counted(count, "sample"),
                                                                     agree(count, "has", "have"), agree(count, "is", "are")))
        usable = positive
        values = np.where(usable, np.log10(np.where(usable, values, 1.0)), np.nan)
    else:
        _warn_negative_codes(values, usable, field, feedback)
    if nulls or non_numeric:
        feedback.info("{}: skipped {} null and {} non-numeric values.".format(field, nulls, non_numeric))
    if not usable.any():
        raise DeepProspectError(
            "Field '{}' has no usable numeric value{}; choose a numeric field with data.".format(
                field, " (log10 needs values > 0)" if log10 else ""))
    if np.abs(values[usable]).max() > FLOAT32_MAX:
        raise DeepProspectError(
            "Field '{}' has values beyond ±3.4e38, which a float32 raster cannot hold; convert its unit or "
            "use LOG10.".format(field))
    values = np.where(usable, values, np.nan)
    return values, int(len(values) - usable.sum())


def _missing_codes(values, usable, field, feedback):
    """Bool (n,): the usable samples holding a missing-value code (see the module docstring), with a
    warning per code."""
    coded = usable & (values == STACK_NODATA)
    others = usable & ~np.isin(values, MISSING_CODES)
    if others.any() and (values[others] >= 0).all():
        coded |= usable & np.isin(values, MISSING_CODES)
    for code in sorted(set(values[coded].tolist()), reverse=True):
        count = int((values[coded] == code).sum())
        feedback.warning("{}: {} {} {:g}, taken as a missing-value code and skipped."
                         .format(field, counted(count, "sample"), agree(count, "holds", "hold"), code))
    return coded


def _warn_negative_codes(values, usable, field, feedback):
    """Warn when a few distinct negative values sit among positive ones: maybe below-detection
    entries written as the negative detection limit, which IDW would take as concentrations."""
    negative = usable & (values < 0)
    codes = np.unique(values[negative])
    count = int(negative.sum())
    if negative.any() and (values[usable] > 0).any() and len(codes) <= NEGATIVE_CODES:
        feedback.warning(
            "{}: {} ({}) among positive ones and {}. If {} (minus the detection limit), replace {} by half the "
            "detection limit.".format(
                field, counted(count, "sample") + " " + agree(count, "holds a negative value", "hold negative values"),
                ", ".join("{:g}".format(code) for code in codes),
                agree(count, "is interpolated as it is", "are interpolated as they are"),
                agree(count, "it is a below-detection entry", "they are below-detection entries"),
                agree(count, "it", "them")))


def _warn_below_detection(texts, field, feedback):
    """Warn when non-numeric entries ``texts`` (a pandas Series) are below-detection values like '<0.5':
    skipping them leaves the lowest concentrations out of the map."""
    below = texts.astype(str).str.match(r"\s*<\s*[0-9.]").to_numpy(dtype=bool)
    if below.any():
        feedback.warning(
            "{}: {} below-detection values such as '{}'; {} skipped, which leaves the lowest "
            "concentrations out of the map. Replace them by half the detection limit (e.g. 0.25 for '<0.5') to keep "
            "them.".format(field, counted(int(below.sum()), "sample") + " " + agree(int(below.sum()), "holds", "hold"),
                           str(texts[below].iloc[0]).strip(), agree(int(below.sum()), "it is", "they are")))
