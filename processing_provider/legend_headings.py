"""Words above a raster's legend in the Layers panel.

QGIS heads a single-band raster's legend with the band as GDAL names it, e.g. "Band 1:
deposit_probability (Gray)": a file's internals, not what the colours mean. The heading is the
legend's first entry; :func:`set_legend_heading` renames it the way a user does with "Rename
legend entry" (a property of the layer's node in the Layers panel, saved with the project), so
the legend reads e.g. "Probability of a deposit (0–1)" above the colour ramp.
"""
from qgis.core import QgsMapLayerLegendUtils, QgsRasterLayer, QgsSimpleLegendNode

#: The maps DeepProspect writes, by the description of their band (models/predict.py, the synthetic
#: province's truth, models/spectral_classifier.py), whatever their files are called. Only
#: DeepProspect's own outputs are given these headings (the algorithms, the dock, the demo).
HEADINGS = {
    "deposit_probability": "Probability of a deposit (0–1)",
    "probability_std": "Spread between the members' probabilities (sd)",
    "prospectivity_class": "Class, by share of the area",
    "truth_probability": "True probability of a deposit (0–1)",
    "class": "Most likely class",     # Classify hyperspectral image (band 2: its score)
}


def band_shown(layer):
    """(number, description) of the band raster layer ``layer`` draws (its first band when the
    renderer names none); the description is "" for a band without one."""
    bands = layer.renderer().usesBands() if layer.renderer() is not None else []
    number = bands[0] if bands else 1
    return number, layer.bandName(number).partition(": ")[2]


def set_legend_heading(node, words=None):
    """Show ``words`` (default: :data:`HEADINGS` for the layer's band) instead of the band heading
    of raster layer tree node ``node`` (``QgsLayerTreeLayer``). Nothing happens for other layers,
    for a band without words, or when the legend starts with a colour entry (no heading to rename).
    Returns whether the heading was renamed."""
    layer = node.layer()
    if not isinstance(layer, QgsRasterLayer) or layer.legend() is None:
        return False
    words = words or HEADINGS.get(band_shown(layer)[1])
    entries = layer.legend().createLayerTreeModelLegendNodes(node) if words else []
    renamed = bool(entries) and isinstance(entries[0], QgsSimpleLegendNode)
    if renamed:
        QgsMapLayerLegendUtils.setLegendNodeUserLabel(node, 0, words)
        layer.legendChanged.emit()     # the Layers panel rebuilds the legend with the new words
    return renamed
