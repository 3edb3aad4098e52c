"""Words above a raster's legend in the Layers panel.

QGIS heads a single-band raster's legend with the band as GDAL names it, e.g. "Band 1:
deposit_probability (Gray)": a file's internals, not what the colours mean. The heading is the
legend's first entry; :func:`set_legend_heading` renames it the way a user does with "Rename
legend entry" (a property of the layer's node in the Layers panel, saved with the project), so
the legend reads e.g. "Probability of a deposit (0–1)" above the colour ramp.
"""
from pathlib import Path

from qgis.core import QgsMapLayerLegendUtils, QgsMapLayerType, QgsSimpleLegendNode

#: The maps deepprospect:predict writes, by the name of their style (resources/styles).
HEADINGS = {
    "probability": "Probability of a deposit (0–1)",
    "uncertainty": "Spread between the members' probabilities (sd)",
    "classes": "Class, by share of the area",
}


def heading_for_style(style_path):
    """The heading of a map styled with ``style_path`` (a .qml named like those in resources/styles,
    e.g. ``probability.qml`` or ``<output>.qml`` written beside ``<output>.tif``), else None."""
    return HEADINGS.get(Path(str(style_path)).stem)


def set_legend_heading(node, words):
    """Show ``words`` instead of the band heading of raster layer tree node ``node``
    (``QgsLayerTreeLayer``). Nothing happens when the layer is not a raster or its legend starts
    with a colour entry (no heading to rename). Returns whether the heading was renamed."""
    layer = node.layer()
    if layer is None or layer.type() != QgsMapLayerType.RasterLayer or not words:
        return False
    entries = layer.legend().createLayerTreeModelLegendNodes(node) if layer.legend() else []
    renamed = bool(entries) and isinstance(entries[0], QgsSimpleLegendNode)
    if renamed:
        QgsMapLayerLegendUtils.setLegendNodeUserLabel(node, 0, words)
        layer.legendChanged.emit()     # the Layers panel rebuilds the legend with the new words
    return renamed
