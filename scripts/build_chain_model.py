#!/usr/bin/env python3
"""Write resources/models/prospectivity_chain.model3: the demo chain as a Model Builder model.

Built through QGIS's own model API (not hand-written XML) so the file is exactly what the
Model Builder would save. Run it again after changing an algorithm's parameters:
``QT_QPA_PLATFORM=offscreen /usr/bin/python3 scripts/build_chain_model.py``.
"""
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "resources" / "models" / "prospectivity_chain.model3"
#: The model's inputs in the order of the workflow (evidence, sampling, training).
INPUT_ORDER = ["geochemistry", "geochemistry_fields", "idw_pixel_size", "evidence_rasters", "categorical_rasters",
               "stack_pixel_size", "deposits", "architecture", "epochs", "validation_block_size", "ensemble_size"]


def build_model():
    from qgis.core import (
        QgsProcessingModelAlgorithm, QgsProcessingModelChildAlgorithm, QgsProcessingModelChildParameterSource as Source,
        QgsProcessingModelOutput, QgsProcessingModelParameter, QgsProcessingParameterBoolean,
        QgsProcessingParameterEnum, QgsProcessingParameterFeatureSource, QgsProcessingParameterField,
        QgsProcessingParameterMultipleLayers, QgsProcessingParameterNumber, QgsProcessing,
    )
    from qgis.PyQt.QtCore import QPointF

    from deepprospect.catalog import ARCHITECTURES

    model = QgsProcessingModelAlgorithm("Prospectivity chain", "0 Whole workflow", "workflow")
    model.setName("prospectivity_chain")
    model.setHelpContent({
        "ALG_DESC": (
            "The whole DeepProspect chain in one run: IDW of the geochemical samples, stacking with the other "
            "evidence rasters, random non-deposits around the known deposits, training with spatial-block "
            "validation, the probability and uncertainty maps, and the SHAP charts. Open it in the Model "
            "Builder (right-click › Edit Model) to change any step."),
        "ALG_CREATOR": "DeepProspect",
    })

    def parameter(definition, x, y, help_text):
        definition.setHelp(help_text)
        # QGIS 3.22 does not read a model input's help back from the file; the help content keeps it
        # (the model's help page lists it, and the provider gives it back to the input as its tooltip)
        model.setHelpContent(dict(model.helpContent(), **{definition.name(): help_text}))
        model.addModelParameter(definition, QgsProcessingModelParameter(definition.name()))
        model.parameterComponent(definition.name()).setPosition(QPointF(x, y))

    # In the order of the workflow (the dialog lists them so: INPUT_ORDER); names stay as users' scripts
    # call them, descriptions are words.
    parameter(QgsProcessingParameterFeatureSource("geochemistry", "Geochemical sample points",
                                                  [QgsProcessing.TypeVectorPoint]), 120, 60,
              "Soil or stream-sediment samples in a projected CRS, interpolated by IDW")
    parameter(QgsProcessingParameterField("geochemistry_fields", "Elements to interpolate (one factor each)",
                                          parentLayerParameterName="geochemistry",
                                          type=QgsProcessingParameterField.Numeric, allowMultiple=True), 120, 130,
              "The element fields; each becomes one factor named after the field")
    parameter(QgsProcessingParameterNumber("idw_pixel_size", "Pixel size of the element rasters (map units)",
                                           QgsProcessingParameterNumber.Double, defaultValue=250.0, minValue=0.0001),
              120, 200, "Cell size of the interpolated element rasters")
    parameter(QgsProcessingParameterMultipleLayers("evidence_rasters", "Other evidence rasters",
                                                   QgsProcessing.TypeRaster), 380, 60,
              "Geophysics, Landsat ratios, distances, lithology…: stacked with the element rasters")
    parameter(QgsProcessingParameterMultipleLayers("categorical_rasters", "Class rasters among them (e.g. lithology)",
                                                   QgsProcessing.TypeRaster, optional=True), 380, 130,
              "Those evidence rasters that hold classes: resampled by nearest neighbour")
    parameter(QgsProcessingParameterNumber("stack_pixel_size", "Pixel size of the evidence stack (map units; the "
                                           "paper used 444 m)", QgsProcessingParameterNumber.Double,
                                           defaultValue=444.0, minValue=0.0001), 380, 200,
              "Cell size of the evidence stack every later step works on")
    parameter(QgsProcessingParameterFeatureSource("deposits", "Known deposits", [QgsProcessing.TypeVectorPoint]),
              640, 60, "Known deposits: training points with as many random non-deposits, and the success-rate "
                       "curve of the map")
    parameter(QgsProcessingParameterEnum("architecture", "Network architecture",
                                         options=[choice.label for choice in ARCHITECTURES][:3], defaultValue=0),
              640, 130, "Which network learns the evidence")
    parameter(QgsProcessingParameterNumber("epochs", "Epochs (maximum; training stops early)",
                                           QgsProcessingParameterNumber.Integer, defaultValue=200, minValue=1), 640, 200,
              "The most passes over the training points")
    parameter(QgsProcessingParameterNumber("validation_block_size", "Spatial validation block size (map units)",
                                           QgsProcessingParameterNumber.Double, defaultValue=10000.0, minValue=0.0),
              900, 60, "Side of the square blocks held out to check the model; several times the deposits' "
                       "clustering scale")
    parameter(QgsProcessingParameterNumber("ensemble_size", "Ensemble members (2 or more: an uncertainty map)",
                                           QgsProcessingParameterNumber.Integer, defaultValue=3, minValue=2), 900, 130,
              "How many networks are trained with different seeds; their spread is the uncertainty map")
    if hasattr(model, "setParameterOrder"):
        model.setParameterOrder(INPUT_ORDER)

    def child(child_id, algorithm_id, description, x, y, sources, outputs=None):
        step = QgsProcessingModelChildAlgorithm(algorithm_id)
        step.setChildId(child_id)
        step.setDescription(description)
        step.setPosition(QPointF(x, y))
        for name, value in sources.items():
            step.addParameterSources(name, value if isinstance(value, list) else [value])
        if outputs:
            model_outputs = {}
            for child_output, (output_name, description_text) in outputs.items():
                output = QgsProcessingModelOutput(output_name, description_text)
                output.setChildId(child_id)
                output.setChildOutputName(child_output)
                output.setPosition(QPointF(x + 200, y + 40 * (len(model_outputs) + 1)))
                model_outputs[output_name] = output
            step.setModelOutputs(model_outputs)
        model.addChildAlgorithm(step)
        return step

    static = Source.fromStaticValue
    child("idw", "deepprospect:idw", "Interpolate geochemistry (IDW)", 200, 320, {
        "INPUT": Source.fromModelParameter("geochemistry"), "FIELDS": Source.fromModelParameter("geochemistry_fields"),
        "PIXEL_SIZE": Source.fromModelParameter("idw_pixel_size"), "POWER": static(2.0), "NEIGHBORS": static(12),
        "RADIUS": static(0.0), "LOG10": static(False)})
    child("stack", "deepprospect:stack", "Stack the evidence", 450, 400, {
        "LAYERS": [Source.fromChildOutput("idw", "OUTPUT"), Source.fromModelParameter("evidence_rasters")],
        "CATEGORICAL": Source.fromModelParameter("categorical_rasters"),
        "REFERENCE": Source.fromChildOutput("idw", "OUTPUT"), "PIXEL_SIZE": Source.fromModelParameter("stack_pixel_size")},
        {"OUTPUT": ("evidence_stack", "Evidence stack")})
    child("negatives", "deepprospect:sample_negatives", "Sample non-deposits", 700, 480, {
        "STACK": Source.fromChildOutput("stack", "OUTPUT"), "DEPOSITS": Source.fromModelParameter("deposits"),
        "COUNT": static(0), "MIN_DISTANCE": static(1000.0), "SEED": static(1)})
    child("train", "deepprospect:train", "Train the network", 450, 560, {
        "STACK": Source.fromChildOutput("stack", "OUTPUT"), "POINTS": Source.fromChildOutput("negatives", "OUTPUT"),
        "LABEL_FIELD": static("label"), "ARCHITECTURE": Source.fromModelParameter("architecture"),
        "EPOCHS": Source.fromModelParameter("epochs"), "VALIDATION": static(1),
        "BLOCK_SIZE": Source.fromModelParameter("validation_block_size"),
        "ENSEMBLE_SIZE": Source.fromModelParameter("ensemble_size"), "SEED": static(42)},
        {"OUTPUT_MODEL": ("model_bundle", "Model bundle"), "OUTPUT_REPORT": ("training_report", "Training report")})
    child("predict", "deepprospect:predict", "Predict the map", 200, 660, {
        "STACK": Source.fromChildOutput("stack", "OUTPUT"), "MODEL": Source.fromChildOutput("train", "OUTPUT_MODEL"),
        "DEPOSITS": Source.fromModelParameter("deposits")},
        {"OUTPUT": ("probability", "Probability of a deposit"),
         "OUTPUT_UNCERTAINTY": ("uncertainty", "Uncertainty (ensemble spread)"),
         "OUTPUT_CLASSES": ("classes", "Prospectivity classes")})
    child("shap", "deepprospect:shap", "Explain with SHAP", 700, 660, {
        "MODEL": Source.fromChildOutput("train", "OUTPUT_MODEL"), "STACK": Source.fromChildOutput("stack", "OUTPUT"),
        "POINTS": Source.fromChildOutput("negatives", "OUTPUT"), "SAMPLE_SIZE": static(1000),
        "BACKGROUND_SIZE": static(100), "EXPLAINER": static(0), "SEED": static(1)},
        {"OUTPUT_FOLDER": ("shap_folder", "SHAP charts folder")})
    return model


def main():
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import_dir = Path(tempfile.mkdtemp())
    (import_dir / "deepprospect").symlink_to(ROOT, target_is_directory=True)
    sys.path.insert(0, str(import_dir))
    sys.path.append("/usr/share/qgis/python/plugins")
    from qgis.core import QgsApplication

    app = QgsApplication([], False)
    app.initQgis()
    from processing.core.Processing import Processing

    Processing.initialize()
    from deepprospect.processing_provider.provider import DeepProspectProvider

    QgsApplication.processingRegistry().addProvider(DeepProspectProvider())
    model = build_model()
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    if not model.toFile(str(OUTPUT)):
        raise SystemExit("could not write " + str(OUTPUT))
    print("wrote", OUTPUT)


if __name__ == "__main__":
    main()
