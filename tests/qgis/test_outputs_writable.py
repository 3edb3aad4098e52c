"""Outputs that cannot be written and input files that cannot be read are refused before any work
(issue 15): every algorithm checks each destination (raster, file, folder, vector) and each input
file up front (processing_provider/base.py, file_checks.py), names the parameter as the dialog
shows it, the path and the fix, and starts no engine; a folder that does not exist yet is created.
"""
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest

#: (algorithm, output parameter, extension of a good file name; "" for a folder).
OUTPUTS = [
    ("idw", "OUTPUT", "tif"),
    ("predict", "OUTPUT", "tif"),
    ("predict", "OUTPUT_UNCERTAINTY", "tif"),
    ("train", "OUTPUT_MODEL", "dpm"),
    ("train", "OUTPUT_REPORT", "html"),
    ("shap", "OUTPUT_FOLDER", ""),
    ("shap", "OUTPUT_RASTER", "tif"),
    ("synthetic_province", "OUTPUT_FOLDER", ""),
    ("stack", "OUTPUT", "tif"),
    ("sample_negatives", "OUTPUT", "gpkg"),
    ("spectral_preprocess", "OUTPUT", "csv"),
    ("predict_spectral", "OUTPUT", "csv"),
    ("train_spectral_classifier", "OUTPUT", "dpm"),
    ("train_spectral_regressor", "OUTPUT", "dpm"),
    ("classify_hyperspectral", "OUTPUT", "tif"),
]
FILE_OUTPUTS = [case for case in OUTPUTS if case[2]]
FOLDER_OUTPUTS = [case for case in OUTPUTS if not case[2]]


def _ids(cases):
    return ["{}-{}".format(name, output) for name, output, _ in cases]


@pytest.fixture
def inputs(province, province_stack, province_training_points, tmp_path):
    """Good inputs for every algorithm. The bundles are placeholders: the checks stop every run
    before a bundle is read (``engine_untouched`` proves it)."""
    folder = tmp_path / "inputs"
    folder.mkdir()
    bundle = folder / "model.dpm"
    bundle.write_bytes(b"placeholder")
    table = folder / "spectra.csv"
    table.write_text("id,class,Sb,500,510\n1,a,3,0.1,0.2\n", encoding="utf-8")
    return dict(province=province, stack=province_stack, points=province_training_points, bundle=str(bundle),
                table=str(table))


def parameters(name, inputs):
    """Good parameters of ``name`` except its outputs."""
    province = inputs["province"]
    return {
        "idw": dict(INPUT=province["geochemistry"], FIELDS=["Sb_con"], PIXEL_SIZE=200.0),
        "predict": dict(STACK=inputs["stack"], MODEL=inputs["bundle"]),
        "train": dict(STACK=inputs["stack"], POINTS=inputs["points"], EPOCHS=2, ENSEMBLE_SIZE=1, SEED=3),
        "shap": dict(STACK=inputs["stack"], MODEL=inputs["bundle"], SAMPLE_SIZE=10, BACKGROUND_SIZE=10),
        "synthetic_province": dict(SIZE_KM=5.0, SEED=1),
        "stack": dict(LAYERS=[province["magnetic"], province["bouguer"]]),
        "sample_negatives": dict(STACK=inputs["stack"], DEPOSITS=province["deposits"], COUNT=20, SEED=7),
        "spectral_preprocess": dict(INPUT=inputs["table"]),
        "predict_spectral": dict(MODEL=inputs["bundle"], INPUT=inputs["table"]),
        "train_spectral_classifier": dict(INPUT=inputs["table"]),
        "train_spectral_regressor": dict(INPUT=inputs["table"]),
        "classify_hyperspectral": dict(MODEL=inputs["bundle"], INPUT=province["magnetic"]),
    }[name]


#: A good file name for every mandatory output (a case then replaces one of them).
GOOD_OUTPUTS = {
    "idw": {"OUTPUT": "idw.tif"}, "predict": {"OUTPUT": "probability.tif"}, "train": {"OUTPUT_MODEL": "model.dpm"},
    "shap": {"OUTPUT_FOLDER": "shap"}, "synthetic_province": {"OUTPUT_FOLDER": "province"},
    "stack": {"OUTPUT": "stack.tif"}, "sample_negatives": {"OUTPUT": "points.gpkg"},
    "spectral_preprocess": {"OUTPUT": "processed.csv"}, "predict_spectral": {"OUTPUT": "predictions.csv"},
    "train_spectral_classifier": {"OUTPUT": "classifier.dpm"}, "train_spectral_regressor": {"OUTPUT": "regressor.dpm"},
    "classify_hyperspectral": {"OUTPUT": "classes.tif"},
}


def good_outputs(name, folder):
    """Writable places (in ``folder``, created) for every mandatory output of ``name``."""
    folder.mkdir(exist_ok=True)
    return {parameter: str(folder / file_name) for parameter, file_name in GOOD_OUTPUTS[name].items()}


@pytest.fixture
def engine_untouched(monkeypatch):
    """Fails the test if any algorithm starts engine work."""
    from deepprospect.processing_provider import engine_runner

    calls = []
    monkeypatch.setattr(engine_runner, "run_task", lambda task, *args, **kwargs: calls.append(task) or {})
    return calls


def refused(name, params):
    """Run ``deepprospect:name``; return the message of the error it must raise."""
    import processing
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException) as raised:
        processing.run("deepprospect:" + name, params)
    return str(raised.value)


def description(name, parameter):
    from qgis.core import QgsApplication

    return QgsApplication.processingRegistry().algorithmById("deepprospect:" + name) \
        .parameterDefinition(parameter).description()


def listing(folder):
    return sorted(str(path.relative_to(folder)) for path in Path(folder).rglob("*"))


def _immutable(path):
    return subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode == 0


@pytest.fixture
def read_only(tmp_path):
    """``read_only(path)`` makes a folder or file unwritable even for root (``chattr +i``); else, for
    an ordinary user, ``chmod``; undone after the test."""
    made = []

    def make(path):
        if _immutable(path):
            made.append(path)
            return path
        path.chmod(0o555 if path.is_dir() else 0o444)
        probe = (path if path.is_dir() else path.parent) / "probe"
        try:
            probe.touch() if path.is_dir() else open(path, "ab").close()
        except OSError:
            made.append(path)
            return path
        if probe.exists():
            probe.unlink()
        path.chmod(0o755)
        pytest.skip("this filesystem has no immutable flag (chattr +i) and the tests run as root, for whom "
                    "chmod does not make a folder read-only")

    yield make
    for path in made:
        subprocess.run(["chattr", "-i", str(path)], capture_output=True)
        path.chmod(0o755 if path.is_dir() else 0o644)


# -- outputs that cannot be written ------------------------------------------------------------

@pytest.mark.parametrize("name, output, extension", OUTPUTS, ids=_ids(OUTPUTS))
def test_an_output_under_a_file_is_refused_before_any_work(qgis_app, inputs, engine_untouched, tmp_path, bad_input,
                                                          name, output, extension):
    blocker = tmp_path / "x.txt"
    blocker.write_text("notes", encoding="utf-8")
    target = blocker / ("out." + extension if extension else "out")
    params = dict(parameters(name, inputs), **good_outputs(name, tmp_path / "good"))
    params[output] = str(target)
    message = refused(name, params)
    assert "{}: {} is a file, so nothing can be written under it ({}). Choose another folder.".format(
        description(name, output), blocker, target) in message
    assert engine_untouched == [] and blocker.read_text(encoding="utf-8") == "notes"
    assert listing(tmp_path / "good") == []
    bad_input("An output path under a file (e.g. /tmp/x.txt/out.tif)", "error", message)


@pytest.mark.parametrize("name, output, extension", FILE_OUTPUTS, ids=_ids(FILE_OUTPUTS))
def test_an_existing_folder_given_as_an_output_file_is_refused(qgis_app, inputs, engine_untouched, tmp_path,
                                                              bad_input, name, output, extension):
    folder = tmp_path / "results"
    folder.mkdir()
    params = dict(parameters(name, inputs), **good_outputs(name, tmp_path / "good"))
    params[output] = str(folder)
    message = refused(name, params)
    assert "{}: {} is an existing folder, not a file. Give a file name inside it, e.g. {}.".format(
        description(name, output), folder, folder / ("output." + extension)) in message
    assert engine_untouched == [] and listing(folder) == [] and listing(tmp_path / "good") == []
    bad_input("An existing folder given as an output file", "error", message)


@pytest.mark.parametrize("name, output, extension", FOLDER_OUTPUTS, ids=_ids(FOLDER_OUTPUTS))
def test_an_existing_file_given_as_an_output_folder_is_refused(qgis_app, inputs, engine_untouched, tmp_path,
                                                              bad_input, name, output, extension):
    existing = tmp_path / "results.txt"
    existing.write_text("notes", encoding="utf-8")
    params = dict(parameters(name, inputs), **good_outputs(name, tmp_path / "good"))
    params[output] = str(existing)
    message = refused(name, params)
    assert "{}: {} is an existing file, not a folder.".format(description(name, output), existing) in message
    assert engine_untouched == [] and existing.read_text(encoding="utf-8") == "notes"
    bad_input("An existing file given as an output folder (synthetic province, SHAP)", "error", message)


@pytest.mark.parametrize("name, output, extension", OUTPUTS, ids=_ids(OUTPUTS))
def test_an_output_in_a_read_only_folder_is_refused(qgis_app, inputs, engine_untouched, tmp_path, read_only,
                                                   bad_input, name, output, extension):
    (tmp_path / "read_only").mkdir()
    folder = read_only(tmp_path / "read_only")
    target = folder / ("out." + extension if extension else "out")
    params = dict(parameters(name, inputs), **good_outputs(name, tmp_path / "good"))
    params[output] = str(target)
    message = refused(name, params)
    expected = "the folder {} is not writable".format(folder)
    if not extension:  # a folder output inside it would have to be created there
        expected = "{} cannot be created: {}".format(target, expected)
    assert "{}: {} (".format(description(name, output), expected) in message
    assert "). Choose a folder you can write to, or change its permissions." in message
    assert engine_untouched == [] and listing(folder) == [] and listing(tmp_path / "good") == []
    bad_input("An output in an existing read-only folder", "error", message)


@pytest.mark.parametrize("name, output", [("idw", "OUTPUT"), ("train", "OUTPUT_MODEL")])
def test_an_existing_output_that_cannot_be_replaced_is_refused(qgis_app, inputs, engine_untouched, tmp_path,
                                                              read_only, bad_input, name, output):
    target = tmp_path / ("locked.tif" if name == "idw" else "locked.dpm")
    target.write_bytes(b"yesterday's result")
    read_only(target)
    params = dict(parameters(name, inputs), **good_outputs(name, tmp_path / "good"))
    params[output] = str(target)
    message = refused(name, params)
    assert "{}: the existing file {} cannot be replaced (".format(description(name, output), target) in message
    assert "Close it in other programs, make it writable, or choose another name." in message
    assert engine_untouched == [] and target.read_bytes() == b"yesterday's result"
    bad_input("An existing output file that cannot be replaced (read-only or locked)", "error", message)


@pytest.mark.parametrize("name, output, bad_name, allowed", [
    ("idw", "OUTPUT", "probability.png", ".tif or .tiff: this output is written as GeoTIFF"),
    ("predict", "OUTPUT", "probability", ".tif or .tiff: this output is written as GeoTIFF"),
    ("train", "OUTPUT_MODEL", "model.zip", ".dpm: this output is written as DeepProspect model (*.dpm)"),
    ("predict_spectral", "OUTPUT", "predictions.txt",
     ".csv or .tif: this output is written as CSV table (*.csv) or GeoTIFF raster (*.tif)"),
])
def test_an_output_with_the_wrong_extension_is_refused(qgis_app, inputs, engine_untouched, tmp_path, bad_input,
                                                      name, output, bad_name, allowed):
    params = dict(parameters(name, inputs), **good_outputs(name, tmp_path / "good"))
    params[output] = str(tmp_path / bad_name)
    message = refused(name, params)
    assert "{}: {} does not end in {}. Give the file that extension.".format(
        description(name, output), tmp_path / bad_name, allowed) in message
    assert engine_untouched == [] and not (tmp_path / bad_name).exists()
    bad_input("An output with the wrong extension (probability.png for a GeoTIFF)", "error", message)


def test_an_empty_output_name_is_refused(qgis_app, inputs, engine_untouched, tmp_path, bad_input):
    message = refused("idw", dict(parameters("idw", inputs), OUTPUT=""))
    assert "Interpolated elements: no file name given. Choose where to save it, or leave it as a temporary " \
           "file." in message
    assert engine_untouched == []
    bad_input("An empty output file name", "error", message)


def test_two_outputs_with_one_name_are_refused(qgis_app, inputs, engine_untouched, tmp_path, bad_input):
    same = str(tmp_path / "map.tif")
    message = refused("predict", dict(parameters("predict", inputs), OUTPUT=same, OUTPUT_CLASSES=same))
    assert "Prospectivity (probability) and Prospectivity classes are the same file ({}): give each output its " \
           "own name.".format(same) in message
    assert engine_untouched == [] and not Path(same).exists()
    bad_input("Two outputs of one run given the same file name", "error", message)


def test_an_output_that_is_one_of_the_inputs_is_refused(qgis_app, inputs, engine_untouched, tmp_path, bad_input):
    magnetic = inputs["province"]["magnetic"]
    before = Path(magnetic).read_bytes()
    message = refused("stack", dict(parameters("stack", inputs), OUTPUT=magnetic))
    assert "Evidence stack: {} is also an input (Evidence layers); writing it would destroy that input. Choose " \
           "another file name.".format(magnetic) in message
    assert engine_untouched == [] and Path(magnetic).read_bytes() == before
    bad_input("An output that is one of the run's own inputs (the stack written over an evidence layer)", "error",
              message)


# -- input files --------------------------------------------------------------------------------

def test_a_missing_model_bundle_is_refused_before_any_work(qgis_app, inputs, engine_untouched, tmp_path, bad_input):
    missing = tmp_path / "nowhere" / "model.dpm"
    message = refused("predict", dict(parameters("predict", inputs), MODEL=str(missing),
                                      OUTPUT=str(tmp_path / "p.tif")))
    assert "Model bundle (.dpm): {} does not exist. Check the path, or choose the file again.".format(missing) \
        in message
    assert engine_untouched == [] and not (tmp_path / "p.tif").exists()
    bad_input("An input file (model bundle, spectra table) that does not exist", "error", message)


def test_an_input_file_of_the_wrong_kind_is_refused(qgis_app, inputs, engine_untouched, tmp_path, bad_input):
    truth = inputs["province"]["truth_json"]
    message = refused("predict", dict(parameters("predict", inputs), MODEL=truth, OUTPUT=str(tmp_path / "p.tif")))
    assert "Model bundle (.dpm): {} is not a .dpm file. Choose a file ending in .dpm.".format(truth) in message
    folder = tmp_path / "spectra"
    folder.mkdir()
    message_folder = refused("spectral_preprocess", dict(INPUT=str(folder), OUTPUT=str(tmp_path / "out.csv")))
    assert "{} is a folder, not a file. Choose a file.".format(folder) in message_folder
    assert engine_untouched == [] and not (tmp_path / "p.tif").exists() and not (tmp_path / "out.csv").exists()
    bad_input("A model bundle that is not a .dpm file (e.g. truth.json)", "error", message)
    bad_input("A folder given as an input file", "error", message_folder)


def test_an_input_layer_file_that_qgis_cannot_open_is_named(qgis_app, inputs, engine_untouched, tmp_path,
                                                            bad_input):
    """QGIS's own message said "not found" for a file that exists but is not a layer."""
    fake = tmp_path / "stack.tif"
    fake.write_text("not a raster", encoding="utf-8")
    message = refused("predict", dict(parameters("predict", inputs), STACK=str(fake), OUTPUT=str(tmp_path / "p.tif")))
    assert "Evidence stack: {} is not a raster QGIS can open (a damaged or truncated file, or another kind of " \
           "file). Open it in QGIS to see why, or export it again.".format(fake) in message
    lithology = inputs["province"]["lithology"]
    message_vector = refused("stack", dict(LAYERS=[inputs["province"]["magnetic"], lithology],
                                           OUTPUT=str(tmp_path / "s.tif")))
    assert "Evidence layers: {} is not a raster QGIS can open".format(lithology) in message_vector
    missing = tmp_path / "samples.gpkg"
    message_missing = refused("idw", dict(parameters("idw", inputs), INPUT=str(missing), OUTPUT=str(tmp_path / "i.tif")))
    assert "Geochemical sample points: {} does not exist. Check the path, or choose the file again.".format(missing) \
        in message_missing
    assert engine_untouched == [] and sorted(p.name for p in tmp_path.iterdir()) == ["inputs", "stack.tif"]
    bad_input("An input layer file QGIS cannot open (not a raster, damaged, a vector given as a raster)", "error",
              message)
    bad_input("An input layer file that does not exist", "error", message_missing)


def test_a_dpm_that_is_not_a_model_is_a_clear_error(qgis_app, inputs, tmp_path, bad_input):
    fake = tmp_path / "renamed.dpm"
    fake.write_text('{"not": "a model"}', encoding="utf-8")
    output = tmp_path / "p.tif"
    message = refused("predict", dict(parameters("predict", inputs), MODEL=str(fake), OUTPUT=str(output)))
    assert "{} is not a DeepProspect model bundle (.dpm written by deepprospect:train)".format(fake) in message
    assert not output.exists() and not list(tmp_path.glob(".p.*"))
    bad_input("A .dpm that is another file renamed, opened in QGIS (predict)", "error", message)


# -- the train task itself, for scripts ----------------------------------------------------------

def test_train_checks_its_outputs_before_training(qgis_app, province_stack, province_training_points, tmp_path,
                                                  read_only, bad_input):
    """The train task (scripts call it directly) refuses a bad output before reading anything."""
    from qgis.core import QgsProcessingFeedback

    from deepprospect.processing_provider.engine_runner import EngineError, run_task

    (tmp_path / "read_only").mkdir()
    folder = read_only(tmp_path / "read_only")
    feedback, progress = QgsProcessingFeedback(), []
    feedback.progressChanged.connect(progress.append)
    started = time.monotonic()
    with pytest.raises(EngineError) as raised:
        run_task("train", {"stack": province_stack, "points": province_training_points, "epochs": 50,
                           "output_model": str(folder / "model.dpm"),
                           "output_report": str(tmp_path / "report.html")}, feedback)
    elapsed = time.monotonic() - started
    message = str(raised.value)
    assert raised.value.kind == "input"
    assert "The output {} cannot be written ({}: ".format(folder / "model.dpm", folder) in message
    assert "Choose a folder you can write to." in message
    # no training step ran: no progress, no log line (reading the points or the stack logs one)
    assert progress == [] and feedback.textLog() == "", (progress, feedback.textLog())
    assert listing(tmp_path) == ["read_only"]
    print("train refused its output in {:.2f} s (worker start included)".format(elapsed))
    bad_input("Train's model bundle in a read-only folder, from a script (engine task)", "error", message)


# -- a folder that does not exist yet is created --------------------------------------------------

@pytest.fixture(scope="module")
def deep_bundle(qgis_app, province_stack, province_training_points, tmp_path_factory):
    """deepprospect:train into a folder three levels deep that does not exist (bundle + report); a
    quick logistic regression."""
    import processing

    root = tmp_path_factory.mktemp("deep_train")
    model = root / "a" / "b" / "c" / "model.dpm"
    report = root / "d" / "e" / "report.html"
    result = processing.run("deepprospect:train", {
        "STACK": province_stack, "POINTS": province_training_points, "ARCHITECTURE": 3, "ENSEMBLE_SIZE": 1, "SEED": 3,
        "VALIDATION": 0, "OUTPUT_MODEL": str(model), "OUTPUT_REPORT": str(report)})
    return dict(result=result, model=model, report=report)


def test_output_folders_that_do_not_exist_are_created(qgis_app, province, province_stack, deep_bundle, tmp_path,
                                                     bad_input):
    import processing

    deep = tmp_path / "new" / str(uuid.uuid4())[:8] / "deeper"
    assert deep_bundle["result"]["OUTPUT_MODEL"] == str(deep_bundle["model"]) and deep_bundle["model"].is_file()
    assert deep_bundle["result"]["OUTPUT_REPORT"] == str(deep_bundle["report"]) and deep_bundle["report"].is_file()
    runs = {
        "idw": dict(INPUT=province["geochemistry"], FIELDS=["Sb_con"], PIXEL_SIZE=500.0, OUTPUT=str(deep / "i" / "sb.tif")),
        "predict": dict(STACK=province_stack, MODEL=str(deep_bundle["model"]), OUTPUT=str(deep / "p" / "prob.tif")),
        "synthetic_province": dict(SIZE_KM=5.0, SEED=1, OUTPUT_FOLDER=str(deep / "s" / "province")),
        "sample_negatives": dict(STACK=province_stack, DEPOSITS=province["deposits"], COUNT=20, SEED=7,
                                 OUTPUT=str(deep / "n" / "points.gpkg")),
        "shap": dict(STACK=province_stack, MODEL=str(deep_bundle["model"]), SAMPLE_SIZE=10, BACKGROUND_SIZE=10,
                     OUTPUT_FOLDER=str(deep / "x" / "shap")),
    }
    for name, params in runs.items():
        result = processing.run("deepprospect:" + name, params)
        key = "OUTPUT_FOLDER" if "OUTPUT_FOLDER" in params else "OUTPUT"
        assert result[key] == params[key], name
        assert os.path.exists(params[key]), name
    assert (deep / "x" / "shap" / "shap_report.html").exists() or any((deep / "x" / "shap").glob("*.html"))
    assert (deep / "s" / "province" / "truth.json").is_file()
    bad_input("An output in a folder that does not exist yet", "handled",
              "the folder is created (e.g. {})".format(deep / "p"))
