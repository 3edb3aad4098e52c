"""Spectra tables: a spectral library as a CSV file, read into and written from a :class:`SpectraTable`.

One row per sample: an id column, target columns (element contents in ppm, or a class column),
and one column per wavelength whose header is the wavelength in nm (as an averaged ASD/FieldSpec
export). Laboratory values below or above the detection range (``<0.02``, ``< 0.02``, ``>4000``,
``≤0.02``) are kept as *censored* values: their number is stored, flagged, and reported, never
silently used. Cells that say a value was not detected without a limit (``n.d.``, ``nd``,
``b.d.l.``, ``<LOD``), that mark a value as missing (empty, ``-``, ``n.a.``) or that are other text
in a numeric column (``sample lost``) are flagged too; :meth:`SpectraTable.censored_report` lists
them all with their sample ids.
"""
import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .atomic import atomic_output
from .errors import DeepProspectError

ID_COLUMN_GUESSES = ("id", "sample", "sample_id", "name", "fid")

#: A wavelength header: a number, optionally followed by its unit (``400``, ``400 nm``, ``0.4 µm``).
_WAVELENGTH_HEADER = re.compile(r"^([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(nm|µm|μm|um)?$", re.IGNORECASE)
#: Cells meaning "not detected" without a limit, compared lower-case without dots and spaces.
NOT_DETECTED = frozenset(("nd", "bdl", "bld", "ldl", "<dl", "<ld", "<lod", "<loq", "<ql", "notdetected",
                          "belowdetection", "belowdetectionlimit"))
#: Cells meaning "no value" (not analysed, lost), compared as :data:`NOT_DETECTED`.
MISSING = frozenset(("", "-", "--", "—", "–", "na", "n/a", "nan", "null", "none", "nodata", "ns", "notanalysed",
                     "notanalyzed", "?"))
#: The flags of :attr:`SpectraTable.censored`, with what they mean in reports.
FLAGS = {">": "above the upper limit", "<": "below detection", "nd": "not detected (no limit given)",
         "missing": "missing", "text": "not a number"}


@dataclass
class SpectraTable:
    """A spectral library read from CSV.

    ``ids``: list of str (n); ``wavelengths``: float64 (n_bands,) nm, increasing;
    ``spectra``: float64 (n, n_bands); ``targets``: {column: float64 (n,)} with NaN where the
    cell is empty or censored; ``censored``: {column: array of '', '<' or '>' (n,)} and
    ``censored_values``: {column: float64 (n,)} the number written after ``<``/``>``; the
    flags (:data:`FLAGS`) are ``''`` (a number), ``'<'``, ``'>'``, ``'nd'`` (not detected),
    ``'missing'`` (empty, ``-``) and ``'text'`` (any other text); ``written``: {column: array of
    str (n,)} the cell as written where it is not a plain number; ``text``: {column: list of str}
    for non-numeric columns (e.g. a class name column); ``notes``: list of str, what reading
    changed (e.g. wavelength columns sorted), for the log.
    """

    ids: list
    wavelengths: np.ndarray
    spectra: np.ndarray
    id_column: str = "id"
    targets: dict = field(default_factory=dict)
    censored: dict = field(default_factory=dict)
    censored_values: dict = field(default_factory=dict)
    text: dict = field(default_factory=dict)
    written: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    def __len__(self):
        return len(self.ids)

    def censored_report(self, max_ids=10):
        """One line per numeric column with flagged cells: counts, how they were written and the
        first ``max_ids`` sample ids of each kind, e.g. ``Sb: 1 above the upper limit (>4000) in
        TP051; 2 not detected (no limit given) (n.d., b.d.l.) in A7, A9``."""
        lines = []
        for name, flags in self.censored.items():
            parts = []
            for flag, meaning in FLAGS.items():
                rows = np.flatnonzero(flags == flag)
                if len(rows):
                    ids = [self.ids[i] for i in rows[:max_ids]] + (["…"] if len(rows) > max_ids else [])
                    parts.append("{} {} ({}) in {}".format(len(rows), meaning, self._written(name, flag),
                                                          ", ".join(ids)))
            if parts:
                lines.append("{}: {}".format(name, "; ".join(parts)))
        return lines

    def _written(self, name, flag):
        """How the cells flagged ``flag`` in column ``name`` were written (distinct, sorted)."""
        if flag in "<>":
            return _limits(self, name, flag)
        cells = self.written.get(name, np.array([""] * len(self)))[self.censored[name] == flag]
        return ", ".join(sorted({cell if cell else "empty" for cell in cells.tolist()}))

    def subset(self, keep):
        """A new table with only the rows where ``keep`` (bool (n,) or index array) selects."""
        keep = np.asarray(keep)
        index = np.flatnonzero(keep) if keep.dtype == bool else keep
        return SpectraTable(
            [self.ids[i] for i in index], self.wavelengths.copy(), self.spectra[index], self.id_column,
            {k: v[index] for k, v in self.targets.items()}, {k: v[index] for k, v in self.censored.items()},
            {k: v[index] for k, v in self.censored_values.items()},
            {k: [v[i] for i in index] for k, v in self.text.items()}, {k: v[index] for k, v in self.written.items()},
            list(self.notes))


def read_spectra_table(path, id_column=None):
    """Read a spectra CSV (see module doc) into a :class:`SpectraTable`.

    Columns whose header is a number, optionally with its unit (``400``, ``400 nm``, ``0.4 µm``),
    are wavelengths (nm; headers in µm, or all < 100 without a unit, are converted); columns out
    of wavelength order are sorted (noted in ``notes``). ``id_column`` defaults to the first of
    id/sample/sample_id/name, else the first column. Every other column is a target: numeric
    (with censored and other flagged cells, see :data:`FLAGS`) or text.
    Raises :class:`DeepProspectError` when there are no wavelength columns, a column among them
    is not a wavelength, two columns have the same wavelength, spectra cells are not numbers,
    or ids repeat.
    """
    path = Path(path)
    rows = _read_rows(path)
    header = [cell.strip() for cell in rows[0]]
    body = rows[1:]
    other_columns = [index for index, name in enumerate(header) if header_wavelength(name) is None]
    wavelength_columns, wavelengths, notes = _wavelength_columns(header, path)
    id_index = _id_index(header, other_columns, id_column, path)
    if id_column is None and id_index is not None and header[id_index].lower() not in ID_COLUMN_GUESSES:
        values = [row[id_index].strip() if id_index < len(row) else "" for row in body]
        if len(set(values)) < len(values):
            # a first column that repeats values (e.g. Sb contents) is data, not sample ids
            notes.append("{} has no id column ({}) and its first column '{}' repeats values: it is read as data "
                         "and the samples are numbered 1, 2, … in file order.".format(
                             path, ", ".join(ID_COLUMN_GUESSES), header[id_index]))
            id_index = None
    spectra = _spectra(body, len(header), wavelength_columns, path)
    ids = _sample_ids(body, id_index, path)
    table = SpectraTable(ids, wavelengths, spectra, header[id_index] if id_index is not None else "id", notes=notes)
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
                cells += [cell_as_written(table, name, row) for name in table.targets]
                cells += [table.text[name][row] for name in table.text]
                cells += ["{:.{}g}".format(v, digits) if np.isfinite(v) else "" for v in spectra[row]]
                writer.writerow(cells)
    return str(path)


def cell_as_written(table, name, row):
    """The cell of column ``name`` as written back: the number, ``<x``/``>x``, or the text read."""
    flag = table.censored.get(name, np.array([""] * len(table)))[row]
    if flag in ("<", ">"):
        return "{}{:g}".format(flag, table.censored_values[name][row])
    if flag:
        return str(table.written.get(name, [""] * len(table))[row])
    value = table.targets[name][row]
    return "" if np.isnan(value) else "{:g}".format(value)


def format_wavelength(value):
    """A wavelength (nm) as a short, exact header string: 350 → '350', 350.5 → '350.5'."""
    return "{:.6g}".format(float(value))


def _read_rows(path):
    """The non-empty rows of the CSV at ``path`` (lists of str), delimiter sniffed (, ; or tab)."""
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
    return rows


def header_wavelength(name):
    """The wavelength (nm) a column header names, or None: ``400``, ``400 nm``, ``400nm`` → 400;
    ``0.4 µm`` → 400; a bare number stays as written (µm headers are converted per table)."""
    match = _WAVELENGTH_HEADER.match(str(name).strip())
    if not match:
        return None
    value = float(match.group(1))
    return value * 1000.0 if (match.group(2) or "").lower() in ("µm", "μm", "um") else value


def _wavelength_columns(header, path):
    """Indices of the wavelength columns in increasing wavelength, their wavelengths (nm) and notes
    for the log (columns sorted)."""
    columns = [index for index, name in enumerate(header) if header_wavelength(name) is not None]
    if len(columns) < 3:
        raise DeepProspectError(
            "The spectra table {} has no wavelength columns: the header of each spectral column must be its "
            "wavelength in nm (e.g. 350, 351, …), as in an averaged ASD/FieldSpec export.".format(path))
    strays = [header[i] for i in range(columns[0], columns[-1] + 1) if i not in columns]
    if strays:
        raise DeepProspectError(
            "The spectra table {} has columns among its wavelength columns whose header is not a wavelength: {}. "
            "Give every spectral column its wavelength in nm as header (e.g. 410 or 410 nm) and put the id and "
            "laboratory columns before or after the spectra.".format(path, ", ".join(repr(h) for h in strays[:10])))
    wavelengths = np.array([header_wavelength(header[i]) for i in columns])
    if wavelengths.max() < 100:  # micrometres
        wavelengths = wavelengths * 1000.0
    notes = []
    if np.any(np.diff(wavelengths) <= 0):
        order = np.argsort(wavelengths, kind="stable")
        repeated = np.unique(wavelengths[order][1:][np.diff(wavelengths[order]) == 0])
        if len(repeated):
            raise DeepProspectError(
                "The spectra table {} has more than one column for the same wavelength: {} nm. Remove or average "
                "the repeated columns.".format(path, ", ".join(format_wavelength(w) for w in repeated[:10])))
        columns = [columns[i] for i in order]
        wavelengths = wavelengths[order]
        notes.append("The wavelength columns of {} are not in increasing order; they are used sorted by "
                     "wavelength.".format(path))
    return columns, wavelengths, notes


def _id_index(header, other_columns, id_column, path):
    """Index of the id column: ``id_column`` if given, else the first usual id name, else the first
    non-wavelength column (None if there is none)."""
    if id_column is None:
        lowered = {header[i].lower(): i for i in other_columns}
        return next((lowered[name] for name in ID_COLUMN_GUESSES if name in lowered),
                    other_columns[0] if other_columns else None)
    if id_column not in header:
        raise DeepProspectError("The spectra table {} has no column '{}'; its columns are: {}.".format(
            path, id_column, ", ".join(h for h in header if header_wavelength(h) is None)))
    return header.index(id_column)


def _spectra(body, column_count, wavelength_columns, path):
    """float64 (n, n_bands) of the wavelength cells of ``body``; empty cells are NaN."""
    spectra = np.empty((len(body), len(wavelength_columns)))
    for row_number, row in enumerate(body):
        row = row + [""] * (column_count - len(row))
        try:
            spectra[row_number] = [float(row[i]) if row[i].strip() else np.nan for i in wavelength_columns]
        except ValueError:
            bad = next(row[i] for i in wavelength_columns if row[i].strip() and not _is_number(row[i]))
            raise DeepProspectError("Row {} of {} has a spectral value that is not a number: '{}'. "
                                    "Fix or remove that row.".format(row_number + 2, path, bad))
    return spectra


def _sample_ids(body, id_index, path):
    """The sample ids (row numbers from 1 without an id column); repeated ids are an error."""
    ids = [row[id_index].strip() if id_index is not None and id_index < len(row) else str(n + 1)
           for n, row in enumerate(body)]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise DeepProspectError("The spectra table {} repeats sample ids: {}. Average the repeated spectra "
                                "or give them distinct ids.".format(path, ", ".join(duplicated[:10])))
    return ids


def _add_column(table, name, cells):
    """Add column ``name`` (its stripped ``cells``) to ``table``: as a numeric target when it holds
    numbers (or ``<x``/``>x``) and more of them than unreadable text, else as a text column."""
    read = [_read_cell(cell) for cell in cells]
    numbers = sum(flag in ("", "<", ">") for flag, _ in read)
    if numbers == 0 or sum(flag == "text" for flag, _ in read) >= numbers:
        table.text[name] = cells
        return
    flags = np.array([flag for flag, _ in read], dtype=object).astype(str)
    values = np.array([value for _, value in read], dtype=float)
    table.targets[name] = np.where(flags == "", values, np.nan)
    table.censored[name] = flags
    table.censored_values[name] = np.where((flags == "<") | (flags == ">"), values, np.nan)
    table.written[name] = np.array(["" if flag == "" else cell for cell, (flag, _) in zip(cells, read)], dtype=object)


def _read_cell(cell):
    """(flag, value) of one laboratory cell: ('', number), ('<' or '>', limit), ('nd', NaN),
    ('missing', NaN) or ('text', NaN); see :data:`FLAGS`."""
    if _is_number(cell):
        value = float(cell)
        return ("", value) if np.isfinite(value) else ("missing", np.nan)
    head = {"≤": "<", "≥": ">"}.get(cell[:1], cell[:1])
    if head in ("<", ">") and cell[1:].strip() and _is_number(cell[1:].strip()):
        return head, float(cell[1:].strip())
    key = cell.lower().replace(".", "").replace(" ", "")
    if key in NOT_DETECTED:
        return "nd", np.nan
    if key in MISSING:
        return "missing", np.nan
    return "text", np.nan


def _limits(table, name, flag):
    values = table.censored_values[name][table.censored[name] == flag]
    return ", ".join("{}{:g}".format(flag, v) for v in sorted(set(values.tolist())))


def _is_number(text):
    try:
        float(text)
        return True
    except (TypeError, ValueError):
        return False
