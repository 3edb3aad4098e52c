"""The front's texts can be translated (issue 18): ``pylupdate5`` over ``i18n/deepprospect.pro``
extracts them into a .ts file, and a translation compiled with ``lrelease`` reaches the dialog
(the contexts pylupdate5 files them under are the ones ``DeepProspectAlgorithm.tr`` looks in)."""
import re
import shutil
import subprocess
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from reference import ROOT

PROJECT = ROOT / "i18n" / "deepprospect.pro"
#: Front folders whose modules may hold texts a person reads.
FRONT = ("processing_provider", "plugin")
#: What marks a text for translation.
MARKERS = re.compile(r"\btr\(|\btranslate\(|QT_TRANSLATE_NOOP\(")


def listed_sources():
    """SOURCES of the .pro file, resolved (qmake's syntax: paths relative to the .pro, '\\' continues)."""
    text = PROJECT.read_text(encoding="utf-8").replace("\\\n", " ")
    sources = re.search(r"^SOURCES\s*=\s*(.*)$", text, re.MULTILINE).group(1).split()
    return [(PROJECT.parent / source).resolve() for source in sources]


def extract(tmp_path):
    """Run pylupdate5 on a copy of the .pro that writes its .ts into ``tmp_path``; the messages as
    {(context, source)}."""
    pylupdate = shutil.which("pylupdate5")
    assert pylupdate, "pylupdate5 is missing: `make setup` installs it (Debian: pyqt5-dev-tools)"
    project = tmp_path / "deepprospect.pro"
    ts = tmp_path / "deepprospect.ts"
    project.write_text("SOURCES = {}\nTRANSLATIONS = {}\n".format(" ".join(map(str, listed_sources())), ts))
    completed = subprocess.run([pylupdate, str(project)], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    tree = ElementTree.parse(ts)
    return ts, {(context.findtext("name"), message.findtext("source"))
                for context in tree.iter("context") for message in context.iter("message")}


def test_the_project_lists_every_front_module_with_texts():
    listed = set(listed_sources())
    assert all(path.exists() for path in listed), [str(path) for path in listed if not path.exists()]
    wanted = {path.resolve() for folder in FRONT for path in (ROOT / folder).glob("*.py")
              if MARKERS.search(path.read_text(encoding="utf-8"))}
    assert sorted(map(str, wanted - listed)) == []


def test_pylupdate_extracts_labels_names_and_messages(tmp_path):
    _, messages = extract(tmp_path)
    assert ("TrainAlgorithm", "Evidence stack") in messages                     # a parameter label
    assert ("DeepProspect", "Train prospectivity model") in messages            # a marked display name
    assert ("PredictAlgorithm", "Known deposits, to draw the success-rate curve") in messages
    assert ("DeepProspect", "The model bundle written by Train prospectivity model") in messages   # a tooltip
    assert ("DeepProspect", "Bands below this wavelength (nm) are dropped") in messages          # a shared one
    assert len(messages) > 200


def test_a_compiled_translation_reaches_the_algorithm(qgis_app, tmp_path):
    from qgis.PyQt.QtCore import QCoreApplication

    from deepprospect.processing_provider import provider
    from deepprospect.processing_provider.train_algorithm import TrainAlgorithm

    lrelease = shutil.which("lrelease")
    assert lrelease, "lrelease is missing: `make setup` installs it (Debian: qttools5-dev-tools)"
    ts, _ = extract(tmp_path)
    text = ts.read_text(encoding="utf-8")
    for source, translation in (("Train prospectivity model", "Treinar modelo de prospetividade"),
                                ("Evidence stack", "Pilha de evidências"),
                                ("The same seed and inputs give the same model", "A mesma semente dá o mesmo modelo")):
        text = text.replace("<source>{}</source>\n        <translation type=\"unfinished\"></translation>".format(source),
                            "<source>{}</source>\n        <translation>{}</translation>".format(source, translation))
    translated = tmp_path / "deepprospect_pt.ts"
    translated.write_text(text, encoding="utf-8")
    completed = subprocess.run([lrelease, str(translated)], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / "deepprospect_pt.qm").exists()
    if provider._TRANSLATORS:
        pytest.skip("a translator is already installed in this QGIS")
    translator = provider.install_translator("pt_PT", folder=tmp_path)
    try:
        assert translator is not None
        algorithm = TrainAlgorithm()
        algorithm.initAlgorithm()
        assert algorithm.displayName() == "Treinar modelo de prospetividade"
        assert algorithm.parameterDefinition("STACK").description() == "Pilha de evidências"
        assert algorithm.parameterDefinition("SEED").help() == "A mesma semente dá o mesmo modelo"
        assert algorithm.parameterDefinition("POINTS").description() == "Training points (deposits and non-deposits)"
    finally:
        QCoreApplication.removeTranslator(translator)
        provider._TRANSLATORS.clear()
    assert TrainAlgorithm().displayName() == "Train prospectivity model"


def test_every_label_and_tooltip_of_the_algorithms_is_extracted(qgis_app, tmp_path):
    """What the dialog shows (names, labels, tooltips, dropdown words from the catalog aside) can be
    translated: each is among the extracted texts."""
    from qgis.core import QgsApplication

    _, messages = extract(tmp_path)
    sources = {source for _, source in messages}
    missing = []
    for algorithm in QgsApplication.processingRegistry().providerById("deepprospect").algorithms():
        if algorithm.id() in ("deepprospect:synthetic_province", "deepprospect:prospectivity_chain"):
            continue    # the first is reworded with issue 17's work; the second is a .model3 file
        texts = [algorithm.displayName()] + [text for definition in algorithm.parameterDefinitions()
                                             for text in (definition.description(), definition.help())]
        missing += ["{}: {}".format(algorithm.name(), text) for text in texts if text not in sources]
    assert missing == []
