"""How the dialogs show decimal numbers (distances included).

QGIS shows every decimal parameter with six decimals ("250.000000"), while most of ours need two:
a pixel size in metres, a power, a percentage. Fractions
and rates (maximum 1: a learning rate, a prior, a dropout) keep six, since users type values like
0.0005 there; so does any parameter whose default or minimum needs more than two (the dialog
would otherwise round the default it passes).
"""
from qgis.core import QgsProcessingParameterNumber

#: Decimals of a measurement in the dialogs.
MEASUREMENT_DECIMALS = 2
#: Below this a minimum only says "positive"; it does not set the precision.
POSITIVE_MARKER = 1e-6


def tidy_number_widget(definition):
    """Give a decimal parameter ``definition`` (a distance is one) its decimals in the dialog
    (widget metadata), unless it has them."""
    if not isinstance(definition, QgsProcessingParameterNumber) or \
            definition.dataType() != QgsProcessingParameterNumber.Double:
        return
    metadata = definition.metadata()
    wrapper = dict(metadata.get("widget_wrapper") or {})
    if "decimals" in wrapper:
        return
    wrapper["decimals"] = decimals_for(definition.defaultValue(), definition.minimum(), definition.maximum())
    metadata["widget_wrapper"] = wrapper
    definition.setMetadata(metadata)


def decimals_for(default, minimum, maximum):
    """:data:`MEASUREMENT_DECIMALS`, or 6 for a fraction (maximum ≤ 1) or a default or minimum
    that two decimals would change."""
    if maximum <= 1:
        return 6
    values = [value for value in (default, minimum) if value is not None and abs(value) >= POSITIVE_MARKER]
    if any(round(float(value), MEASUREMENT_DECIMALS) != float(value) for value in values):
        return 6
    return MEASUREMENT_DECIMALS
