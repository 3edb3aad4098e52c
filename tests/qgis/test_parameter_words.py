"""Every algorithm speaks the dialog's words (issue 18) without breaking what scripts call.

* The contract: every parameter id, its type, every enum option's position and every output id
  recorded in ``parameter_contract.json`` (as of 3480b6c, before the wording changed) are still
  there. An enum option may now read as its catalog label instead of its name, at the same index.
* Words: each parameter has a label that is not its id, a tooltip (``help()``), and a default
  where one makes sense. The rule: every number, distance, yes/no and dropdown parameter has a
  default (the dialog never opens empty there); layers, files, fields, free text and extents
  may be empty (their help page line says what empty means); outputs get QGIS's temporary file
  or a stated default.
* Dropdowns show words, not code names; the help page lists every parameter once as
  "label [ID]" with its default, and its prose does not use the ids.
"""
import json
import re
from pathlib import Path

import pytest

from reference import ROOT

CONTRACT = json.loads((Path(__file__).parent / "parameter_contract.json").read_text(encoding="utf-8"))
#: Parameter types that must have a default.
NEEDS_DEFAULT = ("number", "distance", "boolean", "enum")
#: Destination parameter types (QGIS proposes a temporary file for them).
DESTINATIONS = ("rasterDestination", "vectorDestination", "fileDestination", "folderDestination", "sink")
#: Algorithms whose labels are still being written (their ids and help pages are checked): none now.
PENDING_WORDS = set()


def algorithm(algorithm_id):
    from qgis.core import QgsApplication

    found = QgsApplication.processingRegistry().algorithmById(algorithm_id)
    assert found is not None, "{} is no longer listed".format(algorithm_id)
    return found


def registry_label(option):
    """The catalog label of the choice named ``option``, or None."""
    from deepprospect import catalog

    for registry in (catalog.ARCHITECTURES, catalog.EXPLAINERS, catalog.VALIDATION_SCHEMES,
                     catalog.CLASSIFICATION_METHODS):
        if option in registry:
            return registry.get(option).label
    return None


def visible_parameters(found):
    from qgis.core import QgsProcessingParameterDefinition

    return [definition for definition in found.parameterDefinitions()
            if not definition.flags() & QgsProcessingParameterDefinition.Flag.FlagHidden]


@pytest.mark.parametrize("algorithm_id", sorted(CONTRACT))
def test_ids_types_enum_orders_and_outputs_are_unchanged(qgis_app, algorithm_id):
    found = algorithm(algorithm_id)
    for recorded in CONTRACT[algorithm_id]["parameters"]:
        name, kind = recorded[:2]
        definition = found.parameterDefinition(name)
        assert definition is not None, "{}: parameter {} was renamed or removed".format(algorithm_id, name)
        assert definition.type() == kind, (algorithm_id, name)
        if kind == "enum":
            options = definition.options()
            assert len(options) >= len(recorded[2]), (algorithm_id, name, options)
            for index, option in enumerate(recorded[2]):
                assert options[index] in (option, registry_label(option)), (algorithm_id, name, index, options)
    outputs = {output.name() for output in found.outputDefinitions()}
    assert set(CONTRACT[algorithm_id]["outputs"]) <= outputs, algorithm_id


def test_the_enum_check_maps_names_to_labels(qgis_app):
    assert registry_label("pradhan2022_dense") == "Dense network of Pradhan et al. (2022)"
    assert registry_label("spatial_kfold") == "Spatial k-fold cross-validation"
    assert registry_label("Spatial k-fold cross-validation") is None


@pytest.mark.parametrize("algorithm_id", sorted(CONTRACT))
def test_every_parameter_has_a_label_a_tooltip_and_a_default(qgis_app, algorithm_id):
    if algorithm_id in PENDING_WORDS:
        pytest.xfail("its label 'Output folder' is its id OUTPUT_FOLDER; renamed with the issue 17 work")
    for definition in visible_parameters(algorithm(algorithm_id)):
        name, label = definition.name(), definition.description()
        assert label and label.strip().lower() != name.lower().replace("_", " "), (algorithm_id, name)
        assert not re.search(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b", label), (algorithm_id, name, label)
        assert definition.help().strip(), "{}: {} has no tooltip".format(algorithm_id, name)
        if definition.type() in NEEDS_DEFAULT:
            assert definition.defaultValue() is not None, "{}: {} has no default".format(algorithm_id, name)


@pytest.mark.parametrize("algorithm_id", sorted(CONTRACT))
def test_dropdowns_show_words(qgis_app, algorithm_id):
    for definition in algorithm(algorithm_id).parameterDefinitions():
        if definition.type() == "enum":
            for option in definition.options():
                assert registry_label(option) is None, (algorithm_id, definition.name(), option)
                assert not re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)+", option), (algorithm_id, option)
                assert " " in option or option[:1].isupper(), (algorithm_id, option)


@pytest.mark.parametrize("algorithm_id", sorted(set(CONTRACT) - {"deepprospect:prospectivity_chain"}))
def test_help_page_lists_each_parameter_once_with_its_default(qgis_app, algorithm_id):
    found = algorithm(algorithm_id)
    text = found.shortHelpString()
    prose, listing = text.split("Parameters (as the dialog names them", 1)
    ids = [definition.name() for definition in visible_parameters(found)]
    for definition in visible_parameters(found):
        assert listing.count("• {} [{}]".format(definition.description(), definition.name())) == 1, definition.name()
        if definition.type() in NEEDS_DEFAULT:
            line = next(line for line in listing.splitlines() if "[{}]".format(definition.name()) in line)
            assert "Default: " in line, line
    # the prose speaks the dialog's words: no parameter id (L2 is also the penalty's name)
    used = [name for name in ids if name != "L2" and re.search(r"\b{}\b".format(name), prose)]
    assert used == [], "{}'s help uses ids: {}".format(algorithm_id, used)


def test_defaults_read_as_a_person_reads_them(qgis_app):
    train = algorithm("deepprospect:train").shortHelpString()
    assert "Default: 2 (Spatial k-fold cross-validation)." in train
    assert "0 = Dense network of Pradhan et al. (2022); 1 = 1-D CNN over the factors" in train
    assert "Default: yes." in train and "Default: 42." in train
    assert "Default: left as a temporary file, skipped or empty, <stack name>_model.dpm in the saved project's" in train
    negatives = algorithm("deepprospect:sample_negatives").shortHelpString()
    assert "Default: 0 (as many non-deposits as deposits used)." in negatives
    assert "as many as the deposits used" in negatives


def test_groups_follow_the_workflow(qgis_app):
    from qgis.core import QgsApplication

    provider = QgsApplication.processingRegistry().providerById("deepprospect")
    groups = {found.id(): found.group() for found in provider.algorithms()}
    assert groups["deepprospect:idw"] == groups["deepprospect:stack"] == "1 Prepare evidence"
    assert groups["deepprospect:sample_negatives"] == "2 Sample"
    assert groups["deepprospect:train"] == "3 Train"
    assert groups["deepprospect:predict"] == "4 Map"
    assert groups["deepprospect:shap"] == "5 Explain"
    assert groups["deepprospect:spectral_preprocess"] == "Spectral"
    assert groups["deepprospect:prospectivity_chain"] == "0 Whole workflow"
    # the Toolbox sorts groups by name: that is the workflow's order
    assert sorted(set(groups.values())) == ["0 Whole workflow", "1 Prepare evidence", "2 Sample", "3 Train", "4 Map",
                                            "5 Explain", "Spectral"]


def test_help_buttons_open_the_shipped_manual(qgis_app):
    """The Help button opens the algorithm's page of the manual in the plugin's folder (offline),
    or the manual's index for one without a page."""
    from qgis.core import QgsApplication
    from qgis.PyQt.QtCore import QUrl

    manual = ROOT / "docs" / "manual"
    for found in QgsApplication.processingRegistry().providerById("deepprospect").algorithms():
        url = QUrl(found.helpUrl())
        assert url.isLocalFile(), found.id()
        page = manual / "{}.md".format(found.name())
        assert Path(url.toLocalFile()) == (page if page.exists() else manual / "index.md"), found.id()
        assert Path(url.toLocalFile()).exists(), found.id()
    assert (manual / "train.md").exists() and QUrl(algorithm("deepprospect:train").helpUrl()).toLocalFile() == str(
        manual / "train.md")


def test_chain_model_inputs_in_workflow_order_with_words(qgis_app):
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_chain_model", ROOT / "scripts" / "build_chain_model.py")
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    chain = algorithm("deepprospect:prospectivity_chain")
    assert chain.displayName() == "Prospectivity chain"
    inputs = [definition for definition in chain.parameterDefinitions() if not definition.isDestination()]
    assert [definition.name() for definition in inputs] == builder.INPUT_ORDER
    assert builder.INPUT_ORDER[:2] == ["geochemistry", "geochemistry_fields"] and "deposits" in builder.INPUT_ORDER
    for definition in inputs:
        assert definition.help() and "_" not in definition.description(), definition.name()
    # a copy (QGIS copies a model to run it) keeps the words and the order
    copy = chain.create()
    assert copy.displayName() == "Prospectivity chain" and copy.group() == "0 Whole workflow"
    assert [definition.name() for definition in copy.parameterDefinitions()
            if not definition.isDestination()] == builder.INPUT_ORDER
