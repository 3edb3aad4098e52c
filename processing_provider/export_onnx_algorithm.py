"""deepprospect:export_onnx — a trained network written as one ONNX file (models/onnx_export.py)."""
from pathlib import Path

from qgis.core import QgsProcessingException
from qgis.core import QgsProcessingOutputNumber
from qgis.core import QgsProcessingParameterFile
from qgis.core import QgsProcessingParameterFileDestination

from .base import QT_TRANSLATE_NOOP, DeepProspectAlgorithm


class ExportOnnxAlgorithm(DeepProspectAlgorithm):
    NAME = "export_onnx"
    DISPLAY_NAME = QT_TRANSLATE_NOOP("DeepProspect", "Export model to ONNX")
    GROUP = "modelling"
    HELP = (
        "Writes a trained network (dense network, 1-D CNN or 2-D patch CNN) as one ONNX file, the open format "
        "that other programs read without TensorFlow or QGIS: onnxruntime in Python, C#, Java or JavaScript, a web "
        "service, another GIS. An ensemble becomes one graph that averages its members.\n\n"
        "The graph takes the model's inputs: each factor's value standardised with the training mean and standard "
        "deviation, (value − mean) / sd, and each categorical factor as one column per class (1 for the pixel's "
        "class, 0 otherwise); a patch model takes the square of pixels around each pixel. The file's metadata "
        "lists the factors, the input columns and those statistics. It gives the probability of a deposit (0–1) "
        "and each ensemble member's probability.\n\n"
        "The file is checked before it is kept: onnxruntime must give the model's own probabilities to within "
        "0.00001 on sample inputs (the largest difference is reported). Models trained with logistic regression, "
        "random forest or gradient boosting are not networks and are not exported."
    )
    PARAMETER_HELP = {
        "MODEL": QT_TRANSLATE_NOOP("DeepProspect", "The model bundle written by Train prospectivity model (a network)"),
        "OUTPUT": QT_TRANSLATE_NOOP("DeepProspect", "Where to write the ONNX file (.onnx)"),
    }
    DEFAULT_TEXT = {"OUTPUT": QT_TRANSLATE_NOOP("DeepProspect", "a temporary .onnx file")}

    MODEL, OUTPUT = "MODEL", "OUTPUT"

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFile(
            self.MODEL, self.tr("Model bundle (.dpm)"), QgsProcessingParameterFile.Behavior.File, extension="dpm"))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT, self.tr("ONNX file"), self.tr("ONNX model (*.onnx)")))
        self.addOutput(QgsProcessingOutputNumber("MAX_DIFFERENCE", self.tr(
            "Largest difference from the model's probabilities")))

    def execute(self, parameters, context, feedback):
        model_path = self.parameterAsFile(parameters, self.MODEL, context)
        if not model_path:
            raise QgsProcessingException(self.tr("Choose a model bundle (.dpm) written by the training step."))
        output = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        if Path(output).suffix.lower() != ".onnx":
            raise QgsProcessingException(self.tr("Give the ONNX file a .onnx extension ({}).").format(output))
        result = self.run_engine("export_onnx", {"model": model_path, "output": output}, feedback, outputs=[output])
        return {self.OUTPUT: result["path"], "MAX_DIFFERENCE": result["max_difference"]}
