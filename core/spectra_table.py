"""Spectra tables: a spectral library as a CSV file, read into and written from a :class:`SpectraTable`.

One row per sample: an id column, target columns (element contents in ppm, or a class column),
and one column per wavelength whose header is the wavelength in nm (as an averaged ASD/FieldSpec
export). Laboratory values below or above the detection range (``<0.02``, ``>4000``) are kept as
*censored* values: their number is stored, flagged, and reported, never silently used.
"""
import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .atomic import atomic_output
from .errors import DeepProspectError

ID_COLUMN_GUESSES = ("id", "sample", "sample_id", "name", "fid")


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
    rows = _read_rows(path)
    header = [cell.strip() for cell in rows[0]]
    body = rows[1:]
    other_columns = [index for index, name in enumerate(header) if not _is_number(name)]
    wavelength_columns, wavelengths = _wavelength_columns(header, path)
    id_index = _id_index(header, other_columns, id_column, path)
    spectra = _spectra(body, len(header), wavelength_columns, path)
    ids = _sample_ids(body, id_index, path)
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


def _wavelength_columns(header, path):
    """Indices of the wavelength columns in increasing wavelength, and their wavelengths (nm)."""
    columns = [index for index, name in enumerate(header) if _is_number(name)]
    if len(columns) < 3:
        raise DeepProspectError(
            "The spectra table {} has no wavelength columns: the header of each spectral column must be its "
            "wavelength in nm (e.g. 350, 351, …), as in an averaged ASD/FieldSpec export.".format(path))
    wavelengths = np.array([float(header[i]) for i in columns])
    if wavelengths.max() < 100:  # micrometres
        wavelengths = wavelengths * 1000.0
    if np.any(np.diff(wavelengths) <= 0):
        order = np.argsort(wavelengths)
        if np.any(np.diff(wavelengths[order]) == 0):
            raise DeepProspectError("The spectra table {} repeats wavelength columns.".format(path))
        columns = [columns[i] for i in order]
        wavelengths = wavelengths[order]
    return columns, wavelengths


def _id_index(header, other_columns, id_column, path):
    """Index of the id column: ``id_column`` if given, else the first usual id name, else the first
    non-wavelength column (None if there is none)."""
    if id_column is None:
        lowered = {header[i].lower(): i for i in other_columns}
        return next((lowered[name] for name in ID_COLUMN_GUESSES if name in lowered),
                    other_columns[0] if other_columns else None)
    if id_column not in header:
        raise DeepProspectError("The spectra table {} has no column '{}'; its columns are: {}.".format(
            path, id_column, ", ".join(h for h in header if not _is_number(h))))
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
