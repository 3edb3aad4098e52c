"""The user manual (docs/manual): one page per algorithm, in step with the dialogs, with pictures.

* Every algorithm has docs/manual/<name>.md (its helpUrl), titled with its Toolbox name, whose
  generated blocks (parameters in the dialog's words, the bad-input messages) are what
  scripts/manual_tables.py writes now: a label changed in an algorithm fails here until the
  manual is refreshed (``/usr/bin/python3 scripts/manual_tables.py``).
* Every page shows its dialog's screenshot, and every picture a page shows exists.
* `make screenshots` (DEEPPROSPECT_SCREENSHOTS=docs/screenshots) takes the dialog screenshots:
  each dialog tall enough to show all its parameters, none of them scrolled sideways.
"""
import importlib.util
import os
import re
import tempfile
from pathlib import Path

import pytest

from reference import ROOT

MANUAL = ROOT / "docs" / "manual"
SCREENSHOTS = Path(os.environ.get("DEEPPROSPECT_SCREENSHOTS") or tempfile.mkdtemp(prefix="deepprospect-dialogs-"))


def _manual_tables():
    spec = importlib.util.spec_from_file_location("manual_tables", ROOT / "scripts" / "manual_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def algorithms(qgis_app):
    return _manual_tables().deepprospect_algorithms()


def test_every_algorithm_has_its_page_in_step_with_the_dialog(algorithms):
    from qgis.PyQt.QtCore import QUrl

    tables = _manual_tables()
    assert len(algorithms) >= 12
    stale = []
    for algorithm in algorithms:
        page = MANUAL / "{}.md".format(algorithm.name())
        assert page.is_file(), page
        assert Path(QUrl(algorithm.helpUrl()).toLocalFile()) == page
        text = page.read_text(encoding="utf-8")
        assert text.startswith("# {}\n".format(algorithm.displayName())), page.name
        if tables.refreshed_page(algorithm, text) != text:
            stale.append(page.name)
        assert "../screenshots/dialog_{}.png".format(algorithm.name()) in text, page.name
    assert stale == [], "run /usr/bin/python3 scripts/manual_tables.py"


def test_the_index_and_the_readme_lead_to_every_page(algorithms):
    index = (MANUAL / "index.md").read_text(encoding="utf-8")
    for algorithm in algorithms:
        assert "({}.md)".format(algorithm.name()) in index, algorithm.name()
    assert "docs/manual/index.md" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_picture_and_page_the_manual_links_exists():
    missing = []
    for page in sorted(MANUAL.glob("*.md")):
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if not re.match(r"[a-z]+://", target) and not (page.parent / target).exists():
                missing.append("{} → {}".format(page.name, target))
    assert missing == []


def test_the_generated_blocks_are_found_and_replaced():
    tables = _manual_tables()
    page = "# X\n{}\nold\n{}\nprose\n".format(tables.begin_marker("parameters"), tables.end_marker("parameters"))
    assert tables.refresh(page, "parameters", "new") == page.replace("old", "new")
    with pytest.raises(ValueError):
        tables.refresh("# X\nno markers\n", "parameters", "new")
    rows = tables.bad_input_rows()
    assert len(rows) >= 90 and all(behaviour in ("error", "warning", "handled") for _, behaviour, _, _ in rows)


def _settle(count=5):
    from qgis.PyQt.QtCore import QCoreApplication

    for _ in range(count):
        QCoreApplication.processEvents()


@pytest.fixture()
def desktop_iface(qgis_app, monkeypatch):
    """Processing's dialogs ask ``qgis.utils.iface`` (read when its modules were imported) for a main
    window, a canvas and a browser: give every loaded Processing module a desktop-like one."""
    import sys

    import qgis.utils
    from dialog_cycles import _Desktop

    iface = _Desktop()
    monkeypatch.setattr(qgis.utils, "iface", iface)
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] == "processing" and getattr(module, "iface", 0) is None:
            monkeypatch.setattr(module, "iface", iface)
    return iface


def test_screenshot_of_each_algorithm_dialog(algorithms, desktop_iface):
    """Each dialog as the Toolbox opens it, tall enough for all its parameters (capped at 1400 px:
    longer ones scroll, as on a screen), its help beside them; nothing scrolls sideways."""
    import processing
    from qgis.PyQt.QtGui import QFont
    from qgis.PyQt.QtWidgets import QApplication, QScrollArea, QSplitter

    font = QApplication.font()
    QApplication.setFont(QFont(font.family(), 9))   # QGIS desktop's usual interface font
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    wide = []
    try:
        for algorithm in algorithms:
            dialog = processing.createAlgorithmDialog(algorithm.id())
            dialog.show()
            _settle()
            dialog.resize(1000, 640)   # after show: the dialog restores the size it last had
            splitter = dialog.findChild(QSplitter)
            splitter.setSizes([600, 400])
            _settle()
            scroll = dialog.mainWidget().findChild(QScrollArea)
            for _ in range(6):
                hidden = scroll.verticalScrollBar().maximum()
                if hidden <= 0 or dialog.height() >= 1400:
                    break
                dialog.resize(dialog.width(), min(1400, dialog.height() + hidden + 4))
                _settle()
            path = SCREENSHOTS / "dialog_{}.png".format(algorithm.name())
            assert dialog.grab().save(str(path)), path
            wide.extend([algorithm.id()] if scroll.horizontalScrollBar().maximum() > 0 else [])
            dialog.close()
            dialog.deleteLater()
            _settle()
    finally:
        QApplication.setFont(font)
    assert wide == [], "these dialogs scroll sideways at 1000 px"


def _draw_with_legend(path, style, target):
    """A raster with its style, its legend beside it (scripts/screenshots.draw)."""
    from qgis.core import QgsLayerTree, QgsProject, QgsRasterLayer

    spec = importlib.util.spec_from_file_location("screenshots", ROOT / "scripts" / "screenshots.py")
    screenshots = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(screenshots)
    layer = QgsRasterLayer(str(path), "Classes (band 1: class, band 2: score)")
    message, ok = layer.loadNamedStyle(str(style))
    assert ok, message
    QgsProject.instance().addMapLayer(layer, False)
    try:
        tree = QgsLayerTree()
        tree.addLayer(layer).setExpanded(True)
        screenshots.draw(tree, layer.crs(), layer.extent(), target, size=(760, 380))
    finally:
        QgsProject.instance().removeMapLayer(layer.id())


def _table_picture(csv_path, target, rows=12):
    """The first ``rows`` rows of a CSV in a table, as a spreadsheet shows them, saved as PNG."""
    import csv

    from qgis.PyQt.QtWidgets import QTableWidget, QTableWidgetItem

    with open(csv_path, newline="") as handle:
        table_rows = list(csv.reader(handle))
    header, body = table_rows[0], table_rows[1:rows + 1]
    columns = max(len(row) for row in [header] + body)   # a report's later sections can be wider
    table = QTableWidget(len(body), columns)
    table.setHorizontalHeaderLabels(header + [""] * (columns - len(header)))
    for row, values in enumerate(body):
        for column, value in enumerate(values):
            table.setItem(row, column, QTableWidgetItem(value))
    table.resizeColumnsToContents()
    width = table.verticalHeader().width() + sum(table.columnWidth(c) for c in range(columns)) + 4
    height = table.horizontalHeader().height() + sum(table.rowHeight(r) for r in range(len(body))) + 4
    table.resize(width, height)
    table.show()
    _settle()
    assert table.grab().save(str(target))
    table.hide()
    table.deleteLater()


def test_screenshot_of_the_spectral_outputs(qgis_app, spectral_data, spectral_regressor, spectral_classifier,
                                            tmp_path):
    """The pictures the spectral algorithms write (the pre-processing plot, the regressor's
    predicted-against-measured plot), a class map, the classifier's report and a prediction
    table, from the synthetic spectra."""
    import shutil

    import processing

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    processed = processing.run("deepprospect:spectral_preprocess", {
        "INPUT": spectral_data["soil"], "OUTPUT": str(tmp_path / "soil_processed.csv")})
    shutil.copy(processed["PLOT"], SCREENSHOTS / "output_spectral_preprocess.png")
    regressor, _ = spectral_regressor          # Sb, 15 epochs, seed 1: see the conftest
    shutil.copy(regressor["SCATTER"], SCREENSHOTS / "output_train_spectral_regressor.png")
    classifier, _ = spectral_classifier        # 30 epochs
    classified = processing.run("deepprospect:classify_hyperspectral", {
        "MODEL": classifier["OUTPUT"], "INPUT": spectral_data["scene"], "METHOD": 0,
        "OUTPUT": str(tmp_path / "classes.tif")})
    _draw_with_legend(classified["OUTPUT"], tmp_path / "classes.qml", SCREENSHOTS / "output_classify_hyperspectral.png")
    _table_picture(classifier["REPORT"], SCREENSHOTS / "output_train_spectral_classifier.png")
    predicted = processing.run("deepprospect:predict_spectral", {
        "MODEL": regressor["OUTPUT"], "INPUT": spectral_data["soil"], "OUTPUT": str(tmp_path / "sb_predicted.csv")})
    _table_picture(predicted["OUTPUT"], SCREENSHOTS / "output_predict_spectral.png")
    for name in ("spectral_preprocess", "train_spectral_regressor", "classify_hyperspectral",
                 "train_spectral_classifier", "predict_spectral"):
        assert (SCREENSHOTS / "output_{}.png".format(name)).stat().st_size > 3_000, name


def test_decimal_fields_show_two_decimals_and_keep_their_defaults(algorithms, desktop_iface):
    """processing_provider.number_widgets through QGIS's own widgets: a pixel size reads "250.00",
    not "250.000000", and no dialog rounds the default it passes more than QGIS's six decimals do
    (a fraction such as 1/3, a learning rate keep six)."""
    import processing
    from qgis.core import QgsProcessingParameterDistance, QgsProcessingParameterNumber
    from qgis.PyQt.QtWidgets import QDoubleSpinBox

    shown = {}
    for algorithm in algorithms:
        dialog = processing.createAlgorithmDialog(algorithm.id())
        for definition in algorithm.parameterDefinitions():
            decimal = isinstance(definition, QgsProcessingParameterNumber) and \
                definition.dataType() == QgsProcessingParameterNumber.Double
            if not (decimal or isinstance(definition, QgsProcessingParameterDistance)):
                continue
            wrapper = dialog.mainWidget().wrappers[definition.name()]
            widget = wrapper.wrappedWidget()
            spins = [widget] if isinstance(widget, QDoubleSpinBox) else widget.findChildren(QDoubleSpinBox)
            shown[(algorithm.name(), definition.name())] = spins[0].text()
            if definition.defaultValue() is not None:
                # no more rounding than QGIS's own six decimals (a default of 1/3 comes out 0.333333)
                assert wrapper.parameterValue() == pytest.approx(definition.defaultValue(), rel=0, abs=5e-7), \
                    (algorithm.name(), definition.name())
        dialog.close()
        dialog.deleteLater()
        _settle()
    assert shown[("idw", "PIXEL_SIZE")] == "250.00" and shown[("idw", "POWER")] == "2.00"
    assert shown[("predict", "VERY_HIGH_PERCENT")] == "5.00"
    assert shown[("train", "LEARNING_RATE")] == "0.001000" and shown[("train", "PRIOR")] == "0.000000"
    assert shown[("train_spectral_regressor", "VALIDATION_FRACTION")] == "0.333333"
