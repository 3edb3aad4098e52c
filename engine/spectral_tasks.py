"""Engine tasks of the spectral algorithms (Carvalho et al. 2024 and DeepGeoMap)."""
import csv
from pathlib import Path

import numpy as np

from ..catalog import CLASSIFICATION_METHODS
from ..core import spectral
from ..core.atomic import atomic_output
from ..core.errors import DeepProspectError
from ..core.spectra_table import cell_as_written, read_spectra_table, write_spectra_table
from ..core.spectral_preprocessing import PreprocessSettings, preprocess, processed_label, report_chain
from ..models.registry import resolve
from .tasks import task

#: The method deepprospect:predict_spectral classifies with: the first of catalog.CLASSIFICATION_METHODS
#: (deepprospect:classify_hyperspectral's default too), the DeepGeoMap CNN.
PREDICTION_METHOD = CLASSIFICATION_METHODS.at(0).name


@task("spectral_preprocess")
def spectral_preprocess(args, feedback):
    """args: input (CSV table or raster), output (.csv or .tif), settings (PreprocessSettings fields)."""
    source, output = args["input"], args["output"]
    settings = _settings(args)
    plot = str(Path(output).with_name(Path(output).stem + "_spectra.png"))
    if is_table(source):
        if Path(output).suffix.lower() != ".csv":
            raise DeepProspectError("A spectra table gives a table: name the OUTPUT with .csv.")
        table = read_table(source, feedback)
        report_chain(table.wavelengths, settings, feedback)
        wavelengths, processed = preprocess(table.wavelengths, table.spectra, settings)
        write_spectra_table(output, table, wavelengths, processed, digits=8)
        picks = np.linspace(0, len(table) - 1, min(6, len(table))).astype(int)
        spectral.plot_spectra(plot, table.wavelengths, table.spectra[picks], wavelengths, processed[picks],
                              [table.ids[i] for i in picks], "Spectra of " + Path(source).name,
                              processed_label(settings))
    else:
        if Path(output).suffix.lower() not in (".tif", ".tiff"):
            raise DeepProspectError("A raster gives a raster: name the OUTPUT with .tif.")
        report_chain(spectral.raster_wavelengths(source), settings, feedback)
        wavelengths = spectral.preprocess_raster(source, output, settings, feedback=feedback.scaled(0, 95))
        _plot_raster(source, output, wavelengths, settings, plot)
    return {"output": output, "plot": plot}


@task("train_spectral_regressor")
def train_spectral_regressor(args, feedback):
    """args: input table, output bundle, target and the regressor's options → metrics and file paths."""
    from ..models import spectral_regressor as regressor
    from ..models import spectral_reports as reports

    table = read_table(args["input"], feedback)
    output = args["output"]
    result = regressor.train_spectral_regressor(
        table, args["target"], settings=_settings(args), outlier_threshold=args.get("outlier_threshold") or None,
        frame_length=int(args.get("frame_length") or 0) or None, frame_step=int(args.get("frame_step") or 0) or None,
        frame_length_nm=float(args.get("frame_length_nm") or 64.0),
        frame_step_nm=float(args.get("frame_step_nm") or 32.0),
        units=str(args.get("units") or "ppm"), epochs=int(args["epochs"]),
        batch_size=int(args["batch_size"]), patience=int(args["patience"]),
        learning_rate=float(args["learning_rate"]), seed=int(args["seed"]),
        validation_fraction=float(args["validation_fraction"]), group_column=args.get("group_column") or None,
        log_target=bool(args["log_target"]), baselines=bool(args["baselines"]), feedback=feedback)
    regressor.save_regressor(output, result)
    stem = str(Path(output).with_suffix(""))
    outputs = {
        "METRICS": reports.write_metrics_csv(stem + "_metrics.csv", result),
        "SCATTER": reports.plot_scatter(stem + "_scatter.png", result),
        "LEARNING_CURVES": reports.plot_learning_curves(stem + "_learning_curves.png", result["metadata"]["history"]),
        "R2_VALIDATION": result["metrics"]["CNN"]["r2_validation"],
        "RMSE_VALIDATION": result["metrics"]["CNN"]["rmse_validation"],
    }
    for name in ("PLS", "RF"):
        if name in result["metrics"]:
            outputs[name + "_R2_VALIDATION"] = result["metrics"][name]["r2_validation"]
    units = result["metadata"]["target"]["units"]
    for row in reports.metrics_rows(result):
        feedback.info("{:4s} R² train {:.3f} validation {:.3f} | RMSE train {:.4g} validation {:.4g} {}".format(
            *row[:5], units))
    return outputs


@task("train_spectral_classifier")
def train_spectral_classifier(args, feedback):
    """args: input table, output bundle, class_field and training options → report path and accuracies."""
    from ..models import spectral_classifier as classifier
    from ..models.spectral_reports import write_report

    table = read_table(args["input"], feedback)
    result = classifier.train_spectral_classifier(
        table, args["class_field"], settings=_settings(args), epochs=int(args["epochs"]),
        batch_size=int(args["batch_size"]), patience=int(args["patience"]),
        learning_rate=float(args["learning_rate"]), validation_fraction=float(args["validation_fraction"]),
        seed=int(args["seed"]), feedback=feedback)
    classifier.save_classifier(args["output"], result)
    report = write_report(str(Path(args["output"]).with_suffix("")) + "_report.csv", result)
    return {"REPORT": report, "ACCURACY_VALIDATION": result["metrics"]["CNN"]["accuracy_validation"],
            "SAM_ACCURACY_VALIDATION": result["metrics"]["SAM"]["accuracy_validation"]}


@task("predict_spectral")
def predict_spectral(args, feedback):
    """args: model, input (table or raster), output, block_size."""
    from ..models import spectral_classifier as classifier
    from ..models import spectral_regressor as regressor

    bundle = regressor.load_spectral_bundle(args["model"])
    classify, score = classification_method(PREDICTION_METHOD)   # for a classifier bundle
    source, output, block_size = args["input"], args["output"], int(args["block_size"])
    is_regressor = bundle.kind == regressor.KIND
    if is_table(source):
        if Path(output).suffix.lower() != ".csv":
            raise DeepProspectError("A spectra table gives a table: name the OUTPUT with .csv.")
        table = read_table(source, feedback)
        if is_regressor:
            _write_regression(output, table, bundle, regressor.predict_content(bundle, table.wavelengths, table.spectra))
        else:
            classes, probability = classify(bundle, table.wavelengths, table.spectra)
            _write_classes(output, table, bundle, classes, probability)
    else:
        if Path(output).suffix.lower() not in (".tif", ".tiff"):
            raise DeepProspectError("A raster gives a raster: name the OUTPUT with .tif.")
        if is_regressor:
            regressor.predict_content_raster(bundle, source, output, block_size, feedback)
        else:
            classifier.classify_raster(bundle, source, output, classify, score, block_size, feedback)
    return {"OUTPUT": output}


@task("classify_hyperspectral")
def classify_hyperspectral(args, feedback):
    """args: model, input raster, output, method (a name of catalog.CLASSIFICATION_METHODS), block_size
    → the class style path."""
    from ..models import spectral_classifier as classifier
    from ..models.spectral_regressor import load_spectral_bundle

    classify, score = classification_method(args["method"])
    bundle = load_spectral_bundle(args["model"], classifier.KIND)
    classifier.classify_raster(bundle, args["input"], args["output"], classify, score, int(args["block_size"]),
                               feedback)
    feedback.info("Classes: " + ", ".join("{} = {}".format(i + 1, name)
                                          for i, name in enumerate(bundle.metadata["class_names"])))
    return {"STYLE": str(Path(args["output"]).with_suffix(".qml"))}


def classification_method(name):
    """(function, score band name) of the classification method ``name`` (``catalog.CLASSIFICATION_METHODS``;
    an unknown name is a DeepProspectError listing the known ones)."""
    try:
        method = CLASSIFICATION_METHODS.get(name)
    except ValueError as error:
        raise DeepProspectError(str(error)) from None
    return resolve(method), method.options["score"]


def is_table(path):
    """True for a CSV/TXT spectra table, False for a raster."""
    return Path(path).suffix.lower() in (".csv", ".txt")


def read_table(path, feedback):
    """Read a spectra table and report what reading changed and the cells of numeric columns that
    are not plain numbers (censored, not detected, missing, text)."""
    table = read_spectra_table(path)
    feedback.info("Read {} spectra with {} bands ({:g}–{:g} nm) from {}.".format(
        len(table), len(table.wavelengths), table.wavelengths[0], table.wavelengths[-1], path))
    for note in table.notes:
        feedback.info(note)
    for line in table.censored_report():
        feedback.warning("Laboratory values that are not plain numbers (kept as written, never used as "
                         "numbers): " + line)
    return table


def _settings(args):
    settings = PreprocessSettings.from_dict(args["settings"])
    if settings.min_wavelength >= settings.max_wavelength:
        raise DeepProspectError("MIN_WAVELENGTH ({:g} nm) must be below MAX_WAVELENGTH ({:g} nm).".format(
            settings.min_wavelength, settings.max_wavelength))
    return settings


def _plot_raster(source, output, wavelengths, settings, plot):
    """Plot six pixels spread over the raster: raw (``source``) and processed (``output``)."""
    from ..core.raster import STACK_NODATA

    from ..core.raster_input import open_raster

    raw_wavelengths = spectral.raster_wavelengths(source)
    with open_raster(source, "hyperspectral raster") as raw:
        rows = np.linspace(0, raw.height - 1, 4).astype(int)[1:3]
        cols = np.linspace(0, raw.width - 1, 5).astype(int)[1:4]
    picks = [(r, c) for r in rows for c in cols]
    spectra = _pixel_spectra(source, picks)
    processed = _pixel_spectra(output, picks)
    processed[processed == STACK_NODATA] = np.nan   # preprocess_raster's nodata
    spectral.plot_spectra(plot, raw_wavelengths, spectra, wavelengths, processed,
                          ["pixel ({}, {})".format(r, c) for r, c in picks], "Pixels of " + Path(source).name,
                          processed_label(settings))


def _pixel_spectra(path, picks):
    """float64 (len(picks), bands): the spectra of the pixels ``picks`` [(row, col), …] of ``path``."""
    from ..core.pipeline import read_neighbourhoods

    rows, cols = np.array(picks).T
    values = None
    for neighbourhood in read_neighbourhoods(path, rows, cols):
        if values is None:
            values = np.empty((len(picks), len(neighbourhood.data)))
        values[neighbourhood.indexes] = neighbourhood.data[:, neighbourhood.rows, neighbourhood.cols].T
    return values


def _write_regression(output, table, bundle, predicted):
    """The predictions as CSV: id, ``predicted_<target>_<units>`` and, when the table has the
    target column, the measured value as written (``<0.5``, ``n.d.`` …)."""
    from ..models.spectral_reports import units_suffix

    target = bundle.metadata["target"]["name"]
    units = units_suffix(bundle.metadata["target"].get("units", "ppm"))
    with atomic_output(output) as temporary:
        with open(temporary, "w", newline="") as handle:
            writer = csv.writer(handle)
            measured = target in table.targets
            writer.writerow([table.id_column, "predicted_{}_{}".format(target, units)]
                            + (["measured_" + target] if measured else []))
            for row, identifier in enumerate(table.ids):
                cells = [identifier, "" if np.isnan(predicted[row]) else "{:.4g}".format(predicted[row])]
                if measured:
                    cells.append(cell_as_written(table, target, row))
                writer.writerow(cells)


def _write_classes(output, table, bundle, classes, probability):
    names = bundle.metadata["class_names"]
    with atomic_output(output) as temporary:
        with open(temporary, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([table.id_column, "predicted_class", "probability"])
            for identifier, index, score in zip(table.ids, classes, probability):
                writer.writerow([identifier, names[index] if index >= 0 else "",
                                 "{:.4f}".format(score) if index >= 0 else ""])
