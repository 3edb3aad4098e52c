"""Engine task of the export algorithm: a trained network bundle written as ONNX (models/onnx_export.py)."""
from .tasks import task


@task("export_onnx")
def export_onnx(args, feedback):
    """args: model (a .dpm path), output (the .onnx path) → path, members, opset, max_difference
    (largest |onnxruntime − model| deposit probability on the check inputs; None when onnxruntime
    is not installed) and checked_rows."""
    from ..core.atomic import check_writable
    from ..models.bundle import load_bundle
    from ..models.onnx_export import export_onnx as write_onnx

    check_writable([args["output"]])
    return write_onnx(load_bundle(args["model"], feedback), args["output"], feedback)
