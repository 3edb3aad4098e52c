"""The demo's full log and its check (scripts/demo_log.py, ``make demo-check``): the check finds
exactly the lines that are a warning from our package, whichever stream they came through, and a
demo that did not finish cannot pass. The log written here is made line by line with the same
writer the demo uses, from qgis_process reports shaped as qgis_process 3.22 prints them."""
import importlib.util
import warnings

from reference import ROOT


def _demo_log():
    spec = importlib.util.spec_from_file_location("demo_log", ROOT / "scripts" / "demo_log.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _noisy_log(module, path):
    log = module.DemoLog(path)
    qgis_noise = "QStandardPaths: XDG_RUNTIME_DIR not set\n<string>:1: DeprecationWarning: setapi() is deprecated\n"
    log.step("rasterise", "gdal:rasterize", "qgis_process.bin --json run gdal:rasterize -- …")
    log.processing({"log": {"info": ["GDAL command: …"], "errors": ["a warning of QGIS's own algorithm"]}},
                   qgis_noise)
    log.step("sample non-deposits", "deepprospect:sample_negatives")
    log.processing({"log": {"info": ["95 of 1136 deposits share a cell"],
                            "errors": ["40 deposits lie on a stack cell that already holds another of them …"]}},
                   qgis_noise + "40 deposits lie on a stack cell …\n")
    log.step("train", "deepprospect:train")
    log.processing({"log": {"info": ["Fold 1/5: …"]}}, qgis_noise,
                   ["E0000 node_def_util.cc:682] NodeDef mentions attribute use_unbounded_threadpool",
                    "{}/models/training.py:12: FutureWarning: old keyword".format(ROOT)])
    log.step("QGIS project", module.PROJECT_STEP)
    log.message("Info", "DeepProspect", "loaded")
    log.message("Warning", "Processing", "not ours")
    log.message("Warning", "DeepProspect", "a style is missing")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.warn_explicit("old call", DeprecationWarning, "/tmp/deepprospect-demo-import/deepprospect/x.py", 3)
        warnings.warn_explicit("QGIS's own", DeprecationWarning, "/usr/lib/python3/dist-packages/qgis/y.py", 4)
    for warning in caught:
        log.python_warning(warning)
    return log


def test_the_check_finds_our_warnings_and_nothing_else(tmp_path):
    module = _demo_log()
    log = _noisy_log(module, tmp_path / "demo.log")
    log.finish("summary line")
    found = module.our_warnings(log.path.read_text())
    assert found == [
        "[warning] 40 deposits lie on a stack cell that already holds another of them …",
        "[engine] {}/models/training.py:12: FutureWarning: old keyword".format(ROOT),
        "[qgis-log Warning DeepProspect] a style is missing",
        "[python-warning] /tmp/deepprospect-demo-import/deepprospect/x.py:3: DeprecationWarning: old call",
    ]
    assert module.main([str(log.path)]) == 1


def test_a_quiet_finished_log_passes_and_an_unfinished_one_fails(tmp_path):
    module = _demo_log()
    log = module.DemoLog(tmp_path / "demo.log")
    log.step("stack", "deepprospect:stack")
    log.processing({"log": {"info": ["Target grid: 225 columns × 225 rows"]}},
                   "<string>:1: DeprecationWarning: setapi() is deprecated\n")
    assert module.our_warnings(log.path.read_text()) == [
        "(the log ends before '== demo finished': the demo did not finish)"]
    log.finish("summary")
    assert module.our_warnings(log.path.read_text()) == []
    assert module.main([str(log.path)]) == 0
    assert module.main([str(tmp_path / "missing.log")]) == 1
