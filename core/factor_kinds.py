"""Which bands of an evidence stack are categorical, and the names of their categories.

``deepprospect:stack`` writes two GDAL metadata tags on every band of the stack (inside the
GeoTIFF, no side-car file):

* :data:`KIND_TAG` = ``categorical`` or ``continuous`` (a layer listed in ``CATEGORICAL`` or not);
* :data:`CATEGORIES_TAG` (categorical bands with named classes only): JSON ``{"code": "name"}``,
  codes written as :func:`core.factor_encoding.code_label` writes them ("3", "12").

Category names come from the layer spec's ``categories`` mapping ``{code: name}`` when given,
else from the source raster's own category names: GDAL keeps those of a GeoTIFF in its
``.aux.xml`` (``CategoryNames``, or a raster attribute table with a value and a name column),
which this module reads as XML (the engine's GDAL, through rasterio, does not expose them, and
reading must not write side-car files). A stack written before these tags existed has none:
every band is then continuous, and bands that look like classes are named in a warning.
"""
import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from .factor_encoding import CATEGORICAL, CONTINUOUS, category_label, code_label

KIND_TAG = "DEEPPROSPECT_FACTOR_KIND"
CATEGORIES_TAG = "DEEPPROSPECT_CATEGORIES"
#: GDAL's raster-attribute-table field usages (GFU_*) of a class value and of its name.
_RAT_VALUE_USAGES, _RAT_NAME_USAGE = ("5", "0"), "2"


def band_tags(kind, categories=None):
    """The stack band's tags: {KIND_TAG: kind} and, with names, {CATEGORIES_TAG: JSON}."""
    tags = {KIND_TAG: kind}
    if kind == CATEGORICAL and categories:
        tags[CATEGORIES_TAG] = json.dumps({code_label(code): str(name) for code, name in categories.items()},
                                          ensure_ascii=False, sort_keys=True)
    return tags


def read_band_kinds(dataset):
    """(kinds, categories, tagged) of an open stack: per band "categorical" | "continuous" and a
    dict code label → name; ``tagged`` False for a stack written before the tags (all continuous)."""
    kinds, categories, tagged = [], [], False
    for band in dataset.indexes:
        tags = dataset.tags(band)
        tagged = tagged or KIND_TAG in tags
        kind = CATEGORICAL if tags.get(KIND_TAG, "").strip().lower() == CATEGORICAL else CONTINUOUS
        kinds.append(kind)
        categories.append(_parse_categories(tags.get(CATEGORIES_TAG)) if kind == CATEGORICAL else {})
    return kinds, categories, tagged


def _parse_categories(text):
    try:
        mapping = json.loads(text) if text else {}
    except ValueError:
        return {}
    return {str(code): str(name) for code, name in mapping.items()} if isinstance(mapping, dict) else {}


def layer_categories(path, band_count, given=None):
    """Per band of the raster ``path``: a dict code → name (empty when the layer has none).

    ``given``: the layer spec's ``{code: name}`` (applies to every band); else the raster's
    ``.aux.xml`` category names or raster attribute table."""
    if given:
        mapping = {code_label(code): str(name) for code, name in dict(given).items()}
        return [mapping] * band_count
    return [_aux_categories(path, band) for band in range(1, band_count + 1)]


def _aux_categories(path, band):
    side_car = Path(str(path) + ".aux.xml")
    if not side_car.is_file():
        return {}
    try:
        root = ElementTree.parse(str(side_car)).getroot()
    except (ElementTree.ParseError, OSError):
        return {}
    for element in root.iter("PAMRasterBand"):
        if element.get("band", "1") != str(band):
            continue
        names = [item.text or "" for item in element.iter("Category")]
        if any(names):
            # GDAL's category names: entry i names code i
            return {code_label(code): name for code, name in enumerate(names) if name}
        table = element.find("GDALRasterAttributeTable")
        if table is not None:
            return _attribute_table(table)
    return {}


def _attribute_table(table):
    """{code: name} of a GDAL raster attribute table (XML): the first value-usage column and the
    name-usage column (else the first string column)."""
    fields = [(f.findtext("Name") or "", f.findtext("Type") or "", f.findtext("Usage") or "")
              for f in table.findall("FieldDefn")]
    value_column = next((i for i, f in enumerate(fields) if f[2] in _RAT_VALUE_USAGES and f[1] in ("0", "1")), None)
    name_column = next((i for i, f in enumerate(fields) if f[2] == _RAT_NAME_USAGE), None)
    if name_column is None:
        name_column = next((i for i, f in enumerate(fields) if f[1] == "2"), None)
    if value_column is None or name_column is None:
        return {}
    mapping = {}
    for row in table.findall("Row"):
        cells = [cell.text or "" for cell in row.findall("F")]
        try:
            mapping[code_label(float(cells[value_column]))] = cells[name_column]
        except (ValueError, IndexError):
            continue
    return mapping


def class_like_bands(path, names, nodata):
    """Names of the bands of stack ``path`` holding at most ``core.raster_input.MAX_CLASS_CODES``
    distinct whole numbers (in a sample of the raster), for the warning about untagged stacks.
    ``nodata``: one value per band (NaN: none)."""
    from .raster_input import open_raster, sample_bands, whole_number_codes

    with open_raster(path, "evidence stack") as dataset:
        sample, _ = sample_bands(dataset, path, tuple(dataset.indexes))
    return [name for name, values, value in zip(names, sample, nodata)
            if whole_number_codes(values, [value]) is not None]


def display_values(info, values):
    """A pixel's raw ``values`` (one per band of the stack ``info``) as people read them: the
    category's name for a categorical band (its code as text when it has no name), else the number."""
    shown = []
    for index, value in enumerate(values):
        categorical = len(info.factor_kinds) > index and info.factor_kinds[index] == CATEGORICAL
        if categorical and value == value:
            shown.append(category_label(info.categories[index], value))
        else:
            shown.append(float(value))
    return shown


def warn_if_untagged(info, feedback):
    """Warn (``feedback``) when the stack ``info`` (``core.raster.StackInfo``) has no kind tags and
    some of its bands look like classes; returns those bands' names."""
    if info.kinds_tagged:
        return []
    bands = class_like_bands(info.path, info.factor_names, info.band_nodata)
    if bands:
        feedback.warning(untagged_warning(info.path, bands))
    return bands


def untagged_warning(path, bands):
    """The warning for a stack without kind tags whose ``bands`` look categorical."""
    return ("The evidence stack {} was written before DeepProspect recorded which bands are categorical, so every "
            "band is treated as a measured quantity. {} hold{} only a few whole-number codes: if {} classes "
            "(lithology, stratigraphy, …), re-stack with deepprospect:stack listing {} in CATEGORICAL, so the models "
            "treat each code as a class and not as a number.".format(
                Path(path).name, ", ".join("'{}'".format(name) for name in bands), "s" if len(bands) == 1 else "",
                "it holds" if len(bands) == 1 else "they hold", "it" if len(bands) == 1 else "them"))

