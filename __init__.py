"""DeepProspect: mineral prospectivity mapping with explainable deep learning, for QGIS."""


def classFactory(iface):  # noqa: N802 (QGIS's name)
    """QGIS calls this to create the plugin; heavy imports wait until an algorithm runs."""
    from .plugin.plugin import DeepProspectPlugin

    return DeepProspectPlugin(iface)
