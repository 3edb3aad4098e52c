"""Reflectance spectra: reading tables and hyperspectral rasters, and the pre-processing chain of
Carvalho et al. (2024).

The chain, in the paper's order, each step switchable (:class:`PreprocessSettings`):

1. trim to ``min_wavelength``..``max_wavelength`` (nm; default 400–2400, the noisy < 400 nm part goes);
2. continuum removal: reflectance divided by its upper convex hull (values in (0, 1], 1 on the hull);
3. reflectance → absorbance, ``log10(1 / R)``;
4. Savitzky–Golay smoothing (``scipy.signal.savgol_filter``), window given in nanometres
   (31 nm in the paper, i.e. 31 bands at the 1 nm sampling of an ASD FieldSpec);
5. derivative with respect to wavelength (0, 1 or 2; ``numpy.gradient``, per nm, as in the paper).

Spectra are arrays (n_spectra, n_bands) of reflectance (0–1), wavelengths a 1-D array in nm,
increasing. Everything is vectorised over spectra so raster blocks of 65 536 pixels go through
in a fraction of a second.

Spectra tables are CSV files: one row per sample, an id column, target columns (element contents
in ppm, or a class column), and one column per wavelength whose header is the wavelength in nm.
Laboratory values below or above the detection range (``<0.02``, ``>4000``) are kept as
*censored* values: their number is stored, flagged, and reported, never silently used.
"""
import csv
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .atomic import atomic_output
from .errors import DeepProspectError
from .feedback import ensure_feedback
from .raster import STACK_NODATA, GEOTIFF_OPTIONS

ID_COLUMN_GUESSES = ("id", "sample", "sample_id", "name", "fid")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


# --------------------------------------------------------------------------------------------
# Spectra tables
# --------------------------------------------------------------------------------------------

@dataclass
class SpectraTable:
    """A spectral library read from CSV.

    ``ids``: list of str (n); ``wavelengths``: float64 (n_bands,) nm, increasing;
    ``spectra``: float64 (n, n_bands); ``targets``: {column: float64 (n,)} with NaN where the
    cell is empty or censored; ``censored``: {column: array of '', '<' or '>' (n,)} and
    ``censored_values``: {column: float64 (n,)} the number written after ``<``/``>``;
    ``text``: {column: list of str} for non-numeric columns (e.g. a class name column).
    """

    ids: list
    wavelengths: np.ndarray
    spectra: np.ndarray
    id_column: str = "id"
    targets: dict = field(default_factory=dict)
    censored: dict = field(default_factory=dict)
    censored_values: dict = field(default_factory=dict)
    text: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.ids)

    def censored_report(self):
        """One line per column with censored values, e.g. ``Sb: 2 above (>4000), 1 below (<0.02)``."""
        lines = []
        for name, flags in self.censored.items():
            below, above = int(np.sum(flags == "<")), int(np.sum(flags == ">"))
            if below or above:
                parts = []
                if above:
                    parts.append("{} above the upper limit ({})".format(above, _limits(self, name, ">")))
                if below:
                    parts.append("{} below detection ({})".format(below, _limits(self, name, "<")))
                lines.append("{}: {}".format(name, ", ".join(parts)))
        return lines

    def subset(self, keep):
        """A new table with only the rows where ``keep`` (bool (n,) or index array) selects."""
        keep = np.asarray(keep)
        index = np.flatnonzero(keep) if keep.dtype == bool else keep
        return SpectraTable(
            [self.ids[i] for i in index], self.wavelengths.copy(), self.spectra[index], self.id_column,
            {k: v[index] for k, v in self.targets.items()}, {k: v[index] for k, v in self.censored.items()},
            {k: v[index] for k, v in self.censored_values.items()},
            {k: [v[i] for i in index] for k, v in self.text.items()})


def read_spectra_table(path, id_column=None):
    """Read a spectra CSV (see module doc) into a :class:`SpectraTable`.

    Columns whose header is a number are wavelengths (nm; headers in µm, all < 100, are
    converted). ``id_column`` defaults to the first of id/sample/sample_id/name, else the first
    column. Every other column is a target: numeric (with ``<x``/``>x`` censoring) or text.
    Raises :class:`DeepProspectError` when there are no wavelength columns, spectra cells are
    not numbers, or ids repeat.
    """
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            sample = handle.read(65536)
            handle.seek(0)
            try:
                dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
            except csv.Error:
                dialect = csv.excel
            rows = list(csv.reader(handle, dialect))
    except OSError as error:
        raise DeepProspectError("Cannot read the spectra table {}: {}".format(path, error))
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if dialect.delimiter != ",":
        # European exports (semicolon or tab separated) may write decimal commas: 0,123
        rows = [[cell.replace(",", ".") for cell in row] for row in rows]
    if len(rows) < 2:
        raise DeepProspectError("The spectra table {} has no data rows. Export one spectrum per row with "
                                "a header line of wavelengths.".format(path))
    header = [cell.strip() for cell in rows[0]]
    body = rows[1:]
    wavelength_columns, other_columns = [], []
    for index, name in enumerate(header):
        (wavelength_columns if _is_number(name) else other_columns).append(index)
    if len(wavelength_columns) < 3:
        raise DeepProspectError(
            "The spectra table {} has no wavelength columns: the header of each spectral column must be its "
            "wavelength in nm (e.g. 350, 351, …), as in an averaged ASD/FieldSpec export.".format(path))
    wavelengths = np.array([float(header[i]) for i in wavelength_columns])
    if wavelengths.max() < 100:  # micrometres
        wavelengths = wavelengths * 1000.0
    if np.any(np.diff(wavelengths) <= 0):
        order = np.argsort(wavelengths)
        if np.any(np.diff(wavelengths[order]) == 0):
            raise DeepProspectError("The spectra table {} repeats wavelength columns.".format(path))
        wavelength_columns = [wavelength_columns[i] for i in order]
        wavelengths = wavelengths[order]
    if id_column is None:
        lowered = {header[i].lower(): i for i in other_columns}
        id_index = next((lowered[name] for name in ID_COLUMN_GUESSES if name in lowered),
                        other_columns[0] if other_columns else None)
    else:
        if id_column not in header:
            raise DeepProspectError("The spectra table {} has no column '{}'; its columns are: {}.".format(
                path, id_column, ", ".join(h for h in header if not _is_number(h))))
        id_index = header.index(id_column)
    spectra = np.empty((len(body), len(wavelength_columns)))
    for row_number, row in enumerate(body):
        row = row + [""] * (len(header) - len(row))
        try:
            spectra[row_number] = [float(row[i]) if row[i].strip() else np.nan for i in wavelength_columns]
        except ValueError:
            bad = next(row[i] for i in wavelength_columns if row[i].strip() and not _is_number(row[i]))
            raise DeepProspectError("Row {} of {} has a spectral value that is not a number: '{}'. "
                                    "Fix or remove that row.".format(row_number + 2, path, bad))
    ids = [row[id_index].strip() if id_index is not None and id_index < len(row) else str(n + 1)
           for n, row in enumerate(body)]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise DeepProspectError("The spectra table {} repeats sample ids: {}. Average the repeated spectra "
                                "or give them distinct ids.".format(path, ", ".join(duplicated[:10])))
    table = SpectraTable(ids, wavelengths, spectra, header[id_index] if id_index is not None else "id")
    for index in other_columns:
        if index == id_index:
            continue
        cells = [(row[index].strip() if index < len(row) else "") for row in body]
        _add_column(table, header[index], cells)
    return table


def write_spectra_table(path, table, wavelengths=None, spectra=None, digits=7):
    """Write ``table`` (its ids and targets) with ``spectra`` (n, n_bands) at ``wavelengths`` (nm)
    (default the table's own) as CSV, atomically. Censored cells are written back as ``<x``/``>x``."""
    wavelengths = table.wavelengths if wavelengths is None else np.asarray(wavelengths)
    spectra = table.spectra if spectra is None else np.asarray(spectra)
    with atomic_output(path) as temporary:
        with open(temporary, "w", newline="") as handle:
            writer = csv.writer(handle)
            columns = list(table.targets) + list(table.text)
            writer.writerow([table.id_column] + columns + [format_wavelength(w) for w in wavelengths])
            for row in range(len(table)):
                cells = [table.ids[row]]
                for name in table.targets:
                    flag = table.censored.get(name, np.array([""] * len(table)))[row]
                    if flag:
                        cells.append("{}{:g}".format(flag, table.censored_values[name][row]))
                    else:
                        value = table.targets[name][row]
                        cells.append("" if np.isnan(value) else "{:g}".format(value))
                cells += [table.text[name][row] for name in table.text]
                cells += ["{:.{}g}".format(v, digits) if np.isfinite(v) else "" for v in spectra[row]]
                writer.writerow(cells)
    return str(path)


def format_wavelength(value):
    """A wavelength (nm) as a short, exact header string: 350 → '350', 350.5 → '350.5'."""
    return "{:.6g}".format(float(value))


def _add_column(table, name, cells):
    flags = np.array([""] * len(cells), dtype=object)
    values = np.full(len(cells), np.nan)
    numeric = True
    for row, cell in enumerate(cells):
        if not cell:
            continue
        if cell[0] in "<>" and _is_number(cell[1:].strip()):
            flags[row] = cell[0]
            values[row] = float(cell[1:].strip())
        elif _is_number(cell):
            continue
        else:
            numeric = False
            break
    if not numeric:
        table.text[name] = cells
        return
    target = np.array([float(c) if c and c[0] not in "<>" else np.nan for c in cells])
    table.targets[name] = target
    table.censored[name] = flags.astype(str)
    table.censored_values[name] = values


def _limits(table, name, flag):
    values = table.censored_values[name][table.censored[name] == flag]
    return ", ".join("{}{:g}".format(flag, v) for v in sorted(set(values.tolist())))


def _is_number(text):
    try:
        float(text)
        return True
    except (TypeError, ValueError):
        return False


# --------------------------------------------------------------------------------------------
# Pre-processing
# --------------------------------------------------------------------------------------------

@dataclass
class PreprocessSettings:
    """The switchable steps of the Carvalho et al. chain (module doc). Saved in model bundles."""

    min_wavelength: float = 400.0
    max_wavelength: float = 2400.0
    continuum_removal: bool = True
    absorbance: bool = True
    smoothing: bool = True
    window_nm: float = 31.0
    polyorder: int = 2
    derivative: int = 1

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, values):
        known = {key: values[key] for key in cls.__dataclass_fields__ if key in values}
        return cls(**known)

    def describe(self):
        steps = ["trim {:g}–{:g} nm".format(self.min_wavelength, self.max_wavelength)]
        if self.continuum_removal:
            steps.append("continuum removal")
        if self.absorbance:
            steps.append("absorbance log10(1/R)")
        if self.smoothing:
            steps.append("Savitzky–Golay {:g} nm, order {}".format(self.window_nm, self.polyorder))
        if self.derivative:
            steps.append("derivative {}".format(self.derivative))
        return " → ".join(steps)


def trim_range(wavelengths, min_wavelength, max_wavelength):
    """Boolean mask (n_bands,) of bands with ``min_wavelength`` ≤ λ ≤ ``max_wavelength`` (nm).

    Raises :class:`DeepProspectError` when fewer than 3 bands remain."""
    wavelengths = np.asarray(wavelengths, dtype=float)
    keep = (wavelengths >= min_wavelength) & (wavelengths <= max_wavelength)
    if keep.sum() < 3:
        raise DeepProspectError(
            "Only {} band(s) lie between {:g} and {:g} nm (the data cover {:g}–{:g} nm). Choose a wavelength "
            "range inside the data's.".format(int(keep.sum()), min_wavelength, max_wavelength,
                                               wavelengths.min(), wavelengths.max()))
    return keep


def upper_hull(wavelengths, spectra):
    """The upper convex hull (continuum) of each spectrum, evaluated at every band.

    ``wavelengths`` (n_bands,) increasing; ``spectra`` (n, n_bands). Returns float64 (n, n_bands).
    Andrew's monotone chain, run for all spectra at once: the stack of hull vertices is an array,
    and each new band pops, per spectrum, the vertices that fall on or below the new chord.
    """
    x = np.asarray(wavelengths, dtype=np.float64)
    y = np.atleast_2d(np.asarray(spectra, dtype=np.float64))
    if len(y) > _HULL_CHUNK:
        # chunks small enough to stay in cache are several times faster than one large array
        return np.concatenate([upper_hull(x, y[start:start + _HULL_CHUNK])
                               for start in range(0, len(y), _HULL_CHUNK)])
    count, bands = y.shape
    rows = np.arange(count)
    # A point strictly below the chord of two other points is never a hull vertex: a few cheap
    # whole-array passes discard most points before the (per-band) monotone chain runs.
    candidate = np.ones((count, bands), dtype=bool)
    for _ in range(_HULL_PREFILTER_PASSES):
        previous, following = _neighbour_candidates(candidate)
        xp, xn = x[previous], x[following]
        yp = np.take_along_axis(y, previous, axis=1)
        yn = np.take_along_axis(y, following, axis=1)
        below = (y - yp) * (xn - xp) < (yn - yp) * (x - xp)
        below[:, 0] = below[:, -1] = False
        if not below[candidate].any():
            break
        candidate &= ~below
    counts = candidate.sum(axis=1)
    width = int(counts.max())
    order = np.argsort(~candidate, axis=1, kind="stable")[:, :width]
    cx, cy = x[order], np.take_along_axis(y, order, axis=1)
    stack = np.zeros((count, width), dtype=np.int64)
    top = np.ones(count, dtype=np.int64)  # the first band is on every hull
    for column in range(1, width):
        here = rows[counts > column]
        active = here[top[here] >= 2]
        while active.size:
            a = stack[active, top[active] - 2]
            b = stack[active, top[active] - 1]
            xa, ya = cx[active, a], cy[active, a]
            xb, yb = cx[active, b], cy[active, b]
            xi, yi = cx[active, column], cy[active, column]
            # b stays only if strictly above the chord a → new point
            pop = (yb - ya) * (xi - xa) <= (yi - ya) * (xb - xa)
            active = active[pop]
            top[active] -= 1
            active = active[top[active] >= 2]
        stack[here, top[here]] = column
        top[here] += 1
    is_vertex = np.zeros((count, bands), dtype=bool)
    for depth in range(int(top.max())):
        has = rows[top > depth]
        is_vertex[has, order[has, stack[has, depth]]] = True
    index = np.broadcast_to(np.arange(bands), (count, bands))
    left = np.maximum.accumulate(np.where(is_vertex, index, 0), axis=1)
    right = np.flip(np.minimum.accumulate(np.flip(np.where(is_vertex, index, bands - 1), axis=1), axis=1), axis=1)
    y_left = np.take_along_axis(y, left, axis=1)
    y_right = np.take_along_axis(y, right, axis=1)
    span = x[right] - x[left]
    fraction = np.divide(x[index] - x[left], span, out=np.zeros_like(span), where=span > 0)
    return y_left + fraction * (y_right - y_left)


_HULL_PREFILTER_PASSES = 2
_HULL_CHUNK = 2048


def _neighbour_candidates(candidate):
    """For every band, the index of the nearest candidate band before and after it (itself excluded)."""
    count, bands = candidate.shape
    index = np.broadcast_to(np.arange(bands), (count, bands))
    marked = np.where(candidate, index, -1)
    previous = np.maximum.accumulate(marked, axis=1)
    previous = np.concatenate([np.zeros((count, 1), dtype=previous.dtype), previous[:, :-1]], axis=1)
    marked = np.where(candidate, index, bands)
    following = np.flip(np.minimum.accumulate(np.flip(marked, axis=1), axis=1), axis=1)
    following = np.concatenate([following[:, 1:], np.full((count, 1), bands - 1, dtype=following.dtype)], axis=1)
    return np.clip(previous, 0, bands - 1), np.clip(following, 0, bands - 1)


def continuum_removed(wavelengths, spectra):
    """Spectra divided by their upper convex hull: 1 on the hull, < 1 inside absorption features.

    Spectra (n, n_bands) must be positive reflectance; non-positive hull values give NaN."""
    hull = upper_hull(wavelengths, spectra)
    with np.errstate(divide="ignore", invalid="ignore"):
        result = np.asarray(spectra, dtype=np.float64) / hull
    result[~(hull > 0)] = np.nan
    return result


def absorbance(reflectance, floor=1e-6):
    """``log10(1 / R)``; reflectance below ``floor`` is clipped to it (a dark pixel, not −∞)."""
    return -np.log10(np.clip(np.asarray(reflectance, dtype=np.float64), floor, None))


def window_bands(wavelengths, window_nm, polyorder):
    """The odd number of bands closest to ``window_nm`` at the median band spacing, at least
    ``polyorder + 2`` (scipy's minimum), at most the band count (odd)."""
    spacing = float(np.median(np.diff(wavelengths)))
    bands = int(round(window_nm / spacing))
    bands += 1 - bands % 2
    bands = max(bands, polyorder + 2 + (polyorder + 2 + 1) % 2)
    limit = len(wavelengths) - (1 - len(wavelengths) % 2)
    if bands > limit:
        raise DeepProspectError(
            "The Savitzky–Golay window of {:g} nm spans {} bands but only {} bands remain after trimming. "
            "Use a smaller WINDOW or a wider wavelength range.".format(window_nm, bands, len(wavelengths)))
    return bands


def preprocess(wavelengths, spectra, settings=None):
    """Apply the chain of :class:`PreprocessSettings` to ``spectra`` (n, n_bands) of reflectance.

    Returns ``(wavelengths_out (m,), processed float64 (n, m))``: trimmed wavelengths and spectra.
    Rows containing NaN give NaN rows (they are not valid spectra).
    """
    from scipy.signal import savgol_filter

    settings = settings or PreprocessSettings()
    if settings.derivative not in (0, 1, 2):
        raise DeepProspectError("DERIVATIVE must be 0, 1 or 2, not {}.".format(settings.derivative))
    wavelengths = np.asarray(wavelengths, dtype=np.float64)
    spectra = np.atleast_2d(np.asarray(spectra))
    if spectra.dtype.kind != "f":
        spectra = spectra.astype(np.float64)
    keep = trim_range(wavelengths, settings.min_wavelength, settings.max_wavelength)
    # the kept bands are contiguous: a slice is a view, where fancy indexing would copy a whole raster block
    first, last = np.flatnonzero(keep)[[0, -1]]
    x, y = wavelengths[first:last + 1], spectra[:, first:last + 1]
    bad = ~np.isfinite(y).all(axis=1)
    transforms = settings.continuum_removal or settings.absorbance or settings.smoothing or settings.derivative
    if not transforms:
        if bad.any():
            y = y.copy()
            y[bad] = np.nan
        return x, y
    y = y.astype(np.float64)
    if bad.any():
        y[bad] = 1.0
    if settings.continuum_removal:
        y = continuum_removed(x, y)
        bad |= ~np.isfinite(y).all(axis=1)
        y[bad] = 1.0
    if settings.absorbance:
        y = absorbance(y)
    if settings.smoothing:
        y = savgol_filter(y, window_bands(x, settings.window_nm, settings.polyorder), settings.polyorder,
                          axis=1, mode="interp")
    for _ in range(settings.derivative):
        y = np.gradient(y, x, axis=1, edge_order=2)
    y[bad] = np.nan
    return x, y


# --------------------------------------------------------------------------------------------
# Hyperspectral rasters
# --------------------------------------------------------------------------------------------

def raster_wavelengths(path):
    """Band centre wavelengths (nm, float64 (n_bands,)) of a hyperspectral GeoTIFF or ENVI file.

    Looked for, in order: the ENVI header's ``wavelength`` list (with ``wavelength units``),
    each band's ``wavelength`` metadata item, then a number in each band description
    (``"2205.5"``, ``"Band 12 (2205.5 nm)"``). Micrometres are converted. Raises
    :class:`DeepProspectError` when a raster has no wavelengths.
    """
    import rasterio

    try:
        dataset = rasterio.open(path)
    except Exception as error:
        raise DeepProspectError("Cannot open the hyperspectral raster {}: {}".format(path, error))
    with dataset:
        count = dataset.count
        values, units = None, ""
        envi = dataset.tags(ns="ENVI")
        if envi.get("wavelength"):
            values = [float(v) for v in _NUMBER.findall(envi["wavelength"])]
            units = envi.get("wavelength_units", "")
        if values is None or len(values) != count:
            tags = [dataset.tags(band) for band in range(1, count + 1)]
            if all("wavelength" in t for t in tags):
                values = [float(t["wavelength"]) for t in tags]
                units = tags[0].get("wavelength_units", "")
        if values is None or len(values) != count:
            found = [_NUMBER.findall(d or "") for d in dataset.descriptions]
            if all(found):
                # "Band 12 (2205.5 nm)": the wavelength is the last number
                values = [float(f[-1]) for f in found]
                units = "nm"
    if values is None or len(values) != count:
        raise DeepProspectError(
            "The raster {} has no band wavelengths. Give each band its wavelength in nm as band description "
            "(or use an ENVI file whose header has a 'wavelength' list).".format(path))
    values = np.asarray(values, dtype=np.float64)
    if units.lower().startswith(("micro", "um", "µm")) or values.max() < 100:
        values = values * 1000.0
    if np.any(np.diff(values) <= 0):
        raise DeepProspectError("The band wavelengths of {} do not increase band by band; reorder the bands "
                                "by wavelength.".format(path))
    return values


def preprocess_raster(path, output, settings=None, block_size=256, feedback=None):
    """Apply :func:`preprocess` to every pixel of a hyperspectral raster, block by block.

    Writes a float32 GeoTIFF (band descriptions = output wavelengths in nm, nodata
    ``STACK_NODATA``) atomically; pixels with any nodata/non-finite band are nodata.
    Returns the output wavelengths (nm).
    """
    import rasterio

    from .blocks import iter_blocks

    feedback = ensure_feedback(feedback)
    settings = settings or PreprocessSettings()
    wavelengths = raster_wavelengths(path)
    keep = trim_range(wavelengths, settings.min_wavelength, settings.max_wavelength)
    out_wavelengths = wavelengths[keep]
    with rasterio.open(path) as source:
        profile = dict(GEOTIFF_OPTIONS, width=source.width, height=source.height, count=int(keep.sum()),
                       dtype="float32", crs=source.crs, transform=source.transform, nodata=STACK_NODATA)
        band_indexes = [int(i) + 1 for i in np.flatnonzero(keep)]
        with atomic_output(output) as temporary:
            with rasterio.open(temporary, "w", **profile) as target:
                for index, value in enumerate(out_wavelengths, start=1):
                    target.set_band_description(index, format_wavelength(value))
                    target.update_tags(index, wavelength=format_wavelength(value), wavelength_units="nm")
                for block in iter_blocks(source.width, source.height, block_size, tile_size=256):
                    feedback.check_canceled()
                    cube = source.read(band_indexes, window=block.window)
                    pixels, valid = cube_to_pixels(cube, source.nodata)
                    result = np.full(pixels.shape, np.nan)
                    if valid.any():
                        _, result[valid] = preprocess(out_wavelengths, pixels[valid],
                                                      _without_trim(settings, out_wavelengths))
                    target.write(pixels_to_cube(result, cube.shape[1:]), window=block.window)
                    feedback.set_progress(100.0 * (block.index + 1) / block.count)
    return out_wavelengths


def cube_to_pixels(cube, nodata):
    """(bands, rows, cols) → (pixels (rows*cols, bands), valid bool (rows*cols,)).

    Floating-point cubes keep their precision (float32 stays float32: half the memory of a block)."""
    flat = cube.reshape(cube.shape[0], -1)
    valid = np.isfinite(flat).all(axis=0) if flat.dtype.kind == "f" else np.ones(flat.shape[1], dtype=bool)
    if nodata is not None and not np.isnan(nodata):
        valid &= ~(flat == nodata).any(axis=0)
    pixels = np.ascontiguousarray(flat.T if flat.dtype.kind == "f" else flat.T.astype(np.float64))
    return pixels, valid


def pixels_to_cube(pixels, shape, nodata=STACK_NODATA):
    """(n, bands) with NaN for invalid → float32 (bands, rows, cols) with ``nodata``."""
    cube = pixels.T.reshape((pixels.shape[1],) + tuple(shape))
    return np.where(np.isfinite(cube), cube, nodata).astype(np.float32)


def _without_trim(settings, wavelengths):
    values = settings.to_dict()
    values.update(min_wavelength=float(wavelengths[0]), max_wavelength=float(wavelengths[-1]))
    return PreprocessSettings.from_dict(values)


def plot_spectra(path, wavelengths, spectra, processed_wavelengths, processed, labels=None, title="",
                 processed_label="processed", max_spectra=6):
    """A two-panel PNG: a few raw spectra (top) and the same spectra processed (bottom)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    count = min(max_spectra, len(spectra))
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
    colours = plt.cm.viridis(np.linspace(0, 0.9, max(count, 1)))
    for row in range(count):
        label = labels[row] if labels is not None else None
        top.plot(wavelengths, spectra[row], color=colours[row], lw=1, label=label)
        bottom.plot(processed_wavelengths, processed[row], color=colours[row], lw=1)
    top.set_ylabel("reflectance")
    top.set_title(title or "Raw and processed spectra")
    bottom.set_ylabel(processed_label)
    bottom.set_xlabel("wavelength (nm)")
    for axis in (top, bottom):
        axis.grid(alpha=0.3)
    if labels is not None:
        top.legend(fontsize=8, ncol=2)
    figure.tight_layout()
    with atomic_output(path) as temporary:
        figure.savefig(temporary, dpi=100, format="png")
    plt.close(figure)
    return str(path)


def processed_label(settings):
    """Y-axis label naming what the processed values are."""
    name = "absorbance" if settings.absorbance else "reflectance"
    if settings.continuum_removal:
        name = "continuum-removed " + name
    if settings.derivative:
        name = "{} derivative (per nm)\nof {}".format({1: "1st", 2: "2nd"}[settings.derivative], name)
    return name
