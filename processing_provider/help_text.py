"""The part of every algorithm's help page that lists its parameters in the dialog's words.

QGIS 3.22's ``qgis_process help`` prints neither a parameter's tooltip nor its default, so the
help page carries them: one line per parameter, "label [NAME]: tooltip Default: value.", with
the name in brackets for ``qgis_process`` and scripts, and a dropdown's options with the
numbers scripts pass (indices are the contract: ``catalog.py``).
"""
from qgis.core import QgsProcessing, QgsProcessingParameterDefinition

#: Parameter types whose value is a place to write.
DESTINATIONS = ("rasterDestination", "vectorDestination", "fileDestination", "folderDestination", "sink")


def parameters_help(algorithm):
    """The "Parameters" and "Results" sections of ``algorithm``'s help page (plain text)."""
    tr = algorithm.tr
    lines = [tr("Parameters (as the dialog names them; [NAME] for qgis_process and scripts):")]
    for definition in algorithm.parameterDefinitions():
        if definition.flags() & QgsProcessingParameterDefinition.Flag.FlagHidden:
            continue
        line = "• {} [{}]".format(definition.description(), definition.name())
        if definition.help():
            line += ": " + definition.help().rstrip(".") + "."
        options = enum_options(definition, tr)
        if options:
            line += " " + options
        default = default_text(algorithm, definition)
        if default:
            line += " " + tr("Default: {}.").format(default)
        lines.append(line)
    results = [output for output in algorithm.outputDefinitions()
               if algorithm.parameterDefinition(output.name()) is None]
    if results:
        lines.append("")
        lines.append(tr("Results (also in the log): ") + "; ".join(
            "{} [{}]".format(output.description(), output.name()) for output in results) + ".")
    return "\n".join(lines)


def choices_help(registry, rewrite=None):
    """One line per choice of a catalog registry for a help page: "• number = label: description".
    ``rewrite``: {text: replacement} applied to the descriptions (a description that names a
    parameter by its id gets the dialog's words)."""
    lines = []
    for index, choice in enumerate(registry):
        description = choice.description
        for old, new in (rewrite or {}).items():
            description = description.replace(old, new)
        lines.append("• {} = {}: {}".format(index, choice.label, description))
    return "\n".join(lines)


def enum_options(definition, tr=str):
    """'Options (scripts pass the number): 0 = …; 1 = ….' for a dropdown, else ''."""
    if definition.type() != "enum":
        return ""
    return tr("Options (scripts pass the number): {}.").format(
        "; ".join("{} = {}".format(index, option) for index, option in enumerate(definition.options())))


def default_text(algorithm, definition, tr=None):
    """The default of ``definition`` as a person reads it, or '' when there is none to state."""
    tr = tr or algorithm.tr
    if definition.name() in algorithm.DEFAULT_TEXT:
        return tr(algorithm.DEFAULT_TEXT[definition.name()])
    kind, value = definition.type(), definition.defaultValue()
    if kind in DESTINATIONS:
        if definition.flags() & QgsProcessingParameterDefinition.Flag.FlagOptional \
                and not definition.createByDefault():
            return tr("not written")
        return tr("a temporary file") if kind != "folderDestination" else tr("a temporary folder")
    if value is None or value == "" or value == QgsProcessing.TEMPORARY_OUTPUT:
        return ""
    if kind == "enum":
        index = int(value)
        return "{} ({})".format(index, definition.options()[index])
    if kind == "boolean":
        return tr("yes") if value else tr("no")
    if isinstance(value, float):
        return "{:g}".format(value)
    return str(value)
