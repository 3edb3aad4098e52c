"""QML styles written beside the prediction maps, so QGIS opens them coloured: the probability
ramp, the uncertainty ramp rescaled to the map's spread, the classes with their area shares in
the legend. The templates are in ``resources/styles``.
"""
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np

from ..core.atomic import atomic_output
from .map_classes import class_labels

STYLES_FOLDER = Path(__file__).resolve().parent.parent / "resources" / "styles"


def write_style_beside(raster_path, style_name, maximum=None, class_fractions=None):
    """Copy a QML from resources/styles beside ``raster_path`` (same base name, ``.qml``).

    ``maximum``: rescale a colour ramp to 0–``maximum`` (uncertainty); ``class_fractions``: put
    the area fractions into the class labels. Returns the QML path.
    """
    tree = ElementTree.parse(str(STYLES_FOLDER / style_name))
    root = tree.getroot()
    if maximum is not None:
        shader = root.find(".//colorrampshader")
        old_maximum = float(shader.get("maximumValue"))
        for item in shader.findall("item"):
            value = float(item.get("value")) * maximum / old_maximum
            item.set("value", repr(value))
            item.set("label", "{:.3g}".format(value))
        shader.set("maximumValue", repr(float(maximum)))
        root.find(".//rasterrenderer").set("classificationMax", repr(float(maximum)))
    if class_fractions is not None:
        labels = class_labels(class_fractions)
        for entry in root.iter("paletteEntry"):
            entry.set("label", labels[int(entry.get("value"))])
    target = Path(raster_path).with_suffix(".qml")
    with atomic_output(target) as temporary:
        tree.write(str(temporary), encoding="UTF-8", xml_declaration=False)
    return str(target)


def nice_maximum(value):
    """Round a ramp maximum up to 1, 2 or 5 × 10^k so the legend reads well."""
    value = max(float(value), 1e-4)
    exponent = np.floor(np.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * 10 ** exponent >= value:
            return float(step * 10 ** exponent)
    return float(10 ** (exponent + 1))
