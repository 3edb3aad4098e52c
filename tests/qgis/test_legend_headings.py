"""Legends read in words (processing_provider/legend_headings.py): a probability map loaded the way
QGIS desktop loads an algorithm's result (Processing's own ``handleAlgorithmResults``) is headed
"Probability of a deposit (0–1)" above its labelled colour ramp, not "Band 1: deposit_probability
(Gray)", and the heading is kept when the project is saved and read again.

Reference: the legend entries as QGIS's own layer tree model lists them for the Layers panel.
"""
import shutil

import numpy as np

from reference import ROOT, write_raster


def _legend_texts(project, name):
    from qgis.core import QgsLayerTreeModel
    from qgis.PyQt.QtCore import Qt

    from qgis.PyQt import sip

    model = QgsLayerTreeModel(project.layerTreeRoot())
    try:
        node = project.layerTreeRoot().findLayer(project.mapLayersByName(name)[0].id())
        return [entry.data(Qt.DisplayRole) for entry in model.layerLegendNodes(node, True)]
    finally:
        # a model left listening to the project's layer tree aborts QGIS when the project is cleared
        sip.delete(model)


def test_a_loaded_probability_map_has_its_legend_in_words(qgis_app, tmp_path):
    from processing.gui.Postprocessing import handleAlgorithmResults
    from qgis.core import QgsApplication, QgsProcessingContext, QgsProcessingFeedback, QgsProject

    # any file name: the heading follows the band predict writes
    path = write_raster(tmp_path / "my_prospects.tif", np.linspace(0, 1, 100).reshape(1, 10, 10),
                        (500000, 10, 0, 3000000, 0, -10), ["deposit_probability"])
    shutil.copy(ROOT / "resources" / "styles" / "probability.qml", tmp_path / "my_prospects.qml")
    # a project of its own: the shared QgsProject.instance() carries what earlier tests connected to it
    # (a loaded and unloaded plugin), and clearing or reading it then aborted QGIS
    project = QgsProject()
    context = QgsProcessingContext()
    context.setProject(project)
    context.addLayerToLoadOnCompletion(str(path), QgsProcessingContext.LayerDetails("Prospectivity", project, "OUTPUT"))
    algorithm = QgsApplication.processingRegistry().createAlgorithmById("deepprospect:predict")
    algorithm.load_with_style(context, str(path), str(tmp_path / "my_prospects.qml"), "Prospectivity")
    try:
        assert handleAlgorithmResults(algorithm, context, QgsProcessingFeedback(), False, {})
        texts = _legend_texts(project, "Prospectivity")
        assert texts[0] == "Probability of a deposit (0–1)"
        assert texts[1] == "0.00 unlikely" and texts[-1] == "1.00 likely" and "0.50 even chance" in texts
        assert not any("Band 1" in str(text) or "Gray" in str(text) for text in texts)
        saved = tmp_path / "saved.qgz"
        assert project.write(str(saved))
        project.clear()
        assert project.read(str(saved))
        assert _legend_texts(project, "Prospectivity")[0] == "Probability of a deposit (0–1)"
    finally:
        project.clear()
