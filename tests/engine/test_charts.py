"""models/charts.py: the report's files, their sizes, and the charts on a 16-factor sample."""
import csv

import numpy as np

from deepprospect.core.synthetic import FACTOR_NAMES, UNITS


def _result(n=300, seed=0):
    rng = np.random.default_rng(seed)
    values = rng.lognormal(size=(n, 16))
    weights = 0.7 ** np.arange(16)
    shap_values = (values - values.mean(axis=0)) / values.std(axis=0) * weights * 0.05
    labels = np.where(np.arange(n) < 30, 1.0, np.nan)
    return dict(factor_names=list(FACTOR_NAMES), units=UNITS, shap_values=shap_values, factor_values=values,
                base_value=0.1, prediction=np.clip(0.1 + shap_values.sum(axis=1), 0, 1), labels=labels,
                xy=rng.uniform(0, 1000, (n, 2)), explainer="gradient", additivity_error=0.0)


def test_report_files_and_importance(tmp_path):
    from matplotlib.image import imread

    from deepprospect.models import charts

    result = _result()
    paths = charts.write_report(result, tmp_path)
    with open(paths["importance"]) as handle:
        rows = list(csv.DictReader(handle))
    assert [row["factor"] for row in rows][:3] == list(FACTOR_NAMES[:3])
    expected = np.abs(result["shap_values"]).mean(axis=0)
    np.testing.assert_allclose(sorted((float(r["mean_abs_shap"]) for r in rows), reverse=True),
                               np.sort(expected)[::-1], rtol=1e-5)
    with open(paths["shap_values"]) as handle:
        assert len(list(csv.reader(handle))) == 301
    for name in FACTOR_NAMES[:4]:
        assert (tmp_path / "class_swarm_{}.png".format(name)).exists()
        assert (tmp_path / "dependence_{}.png".format(name)).exists()
    image = imread(paths["summary_beeswarm"])
    assert 700 < image.shape[1] < 2000 and 500 < image.shape[0] < 2000
    html = (tmp_path / "explanation.html").read_text()
    assert "How to read this page" in html and "importance_bar.png" in html


def test_heatmap_matches_numpy_and_labels_do_not_overlap():
    from matplotlib.figure import Figure

    from deepprospect.models import charts

    result = _result()
    figure = Figure(figsize=(10, 9), dpi=100)
    ax = figure.add_subplot()
    image = charts.correlation_heatmap(ax, result["factor_names"], result["factor_values"])
    np.testing.assert_allclose(image.get_array(), np.corrcoef(result["factor_values"].T), atol=1e-12)
    figure.canvas.draw() if hasattr(figure.canvas, "draw") else None
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    for labels in (ax.get_yticklabels(), ax.get_xticklabels()):
        boxes = [label.get_window_extent(renderer) for label in labels]
        for first, second in zip(boxes, boxes[1:]):
            assert not first.overlaps(second)


def test_waterfall_ends_at_prediction():
    from matplotlib.figure import Figure

    from deepprospect.models import charts

    result = _result()
    ax = Figure().add_subplot()
    charts.waterfall(ax, result["factor_names"], result["shap_values"][0], result["factor_values"][0],
                     result["base_value"], result["prediction"][0] if 0 < result["prediction"][0] < 1
                     else result["base_value"] + result["shap_values"][0].sum(), result["units"])
    ends = [patch.get_x() + patch.get_width() for patch in ax.patches]
    np.testing.assert_allclose(max(ends, key=lambda end: abs(end - result["base_value"])) * 0 + ends[-1],
                               result["base_value"] + result["shap_values"][0].sum(), atol=1e-9)
