"""The one-page SHAP explanation report of ``deepprospect:shap``: CSV tables, the charts of
``models.charts`` saved as PNGs, and ``explanation.html``.

A categorical factor is explained as one factor (the sum of its one-hot columns' SHAP values,
``core.factor_encoding``); in the tables its value is the pixel's category code, and the
``kind`` column of ``importance.csv`` says which factors are categorical.
"""
import csv
import html
from pathlib import Path

import numpy as np

from .charts import (DPI, beeswarm_chart, class_swarm_chart, correlation_chart, dependence_chart, importance_chart,
                     sample_classes)


def _figure(width, height):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def _save(figure, path):
    figure.savefig(str(path), dpi=DPI, bbox_inches="tight")
    return str(path)


def write_report(result, folder, title="DeepProspect SHAP explanation", model_name="", maps=None):
    """Write the CSVs, PNGs and ``explanation.html`` of an :func:`explain.explain_sample` result
    into ``folder``, with a section on the contribution maps when ``maps`` (an
    :func:`explain.contribution_map` result); returns a dict name → path."""
    from .explain import importance

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ranked = importance(result)
    paths = _write_tables(result, ranked, folder)
    paths.update(_write_charts(result, ranked, folder))
    paths["html"] = str(folder / "explanation.html")
    Path(paths["html"]).write_text(_html(result, ranked, paths, title, model_name, maps), encoding="utf-8")
    return paths


def _write_tables(result, ranked, folder):
    """importance.csv (factor, mean |SHAP|, kind: continuous or categorical; most important first)
    and shap_values.csv (one row per explained pixel: x, y, label, prediction, raw factor values
    (a categorical factor's code), SHAP values)."""
    names = result["factor_names"]
    categorical = set(result.get("categorical", ()))
    paths = {"importance": str(folder / "importance.csv"), "shap_values": str(folder / "shap_values.csv")}
    with open(paths["importance"], "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["factor", "mean_abs_shap", "kind"])
        writer.writerows([(name, "{:.6g}".format(value), "categorical" if name in categorical else "continuous")
                          for name, value in ranked])
    shap_values, factor_values = np.asarray(result["shap_values"]), np.asarray(result["factor_values"])
    with open(paths["shap_values"], "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["x", "y", "label", "prediction"] + names + ["shap_" + name for name in names])
        for index in range(len(shap_values)):
            label = result["labels"][index]
            writer.writerow(["{:.3f}".format(result["xy"][index, 0]), "{:.3f}".format(result["xy"][index, 1]),
                             "" if np.isnan(label) else int(label), "{:.6g}".format(result["prediction"][index])]
                            + ["{:.6g}".format(v) for v in factor_values[index]]
                            + ["{:.6g}".format(v) for v in shap_values[index]])
    return paths


def _write_charts(result, ranked, folder):
    """The report's PNGs: importance, beeswarm, class swarm and dependence of the four most
    important factors, correlation heat map. Sizes in inches at :data:`DPI`."""
    names, units = result["factor_names"], result.get("units", {})
    shap_values, factor_values = np.asarray(result["shap_values"]), np.asarray(result["factor_values"])
    height = max(4.0, 0.32 * len(names) + 1.2)
    side = max(6.0, 0.55 * len(names) + 1.5)
    classes = sample_classes(result["labels"])
    charts = [("importance_bar", (7.5, height), importance_chart, (names, np.abs(shap_values).mean(axis=0))),
              ("summary_beeswarm", (8.5, height + 0.4), beeswarm_chart,
               (names, shap_values, factor_values, result.get("categorical", ())))]
    for name, _ in ranked[:4]:
        index = names.index(name)
        charts.append(("class_swarm_" + name, (6.0, 4.8), class_swarm_chart,
                       (name, shap_values[:, index], factor_values[:, index], classes, units)))
        charts.append(("dependence_" + name, (6.0, 4.5), dependence_chart,
                       (name, factor_values[:, index], shap_values[:, index], result["prediction"], units)))
    charts.append(("correlation_heatmap", (side + 1.0, side), correlation_chart, (names, factor_values)))
    paths = {}
    for key, size, draw, arguments in charts:
        figure = _figure(*size)
        draw(figure, *arguments)
        paths[key] = _save(figure, folder / (key + ".png"))
    return paths


def _html(result, ranked, paths, title, model_name, maps):
    def image(key, caption):
        return '<figure><img src="{}" alt="{}"><figcaption>{}</figcaption></figure>'.format(
            html.escape(Path(paths[key]).name), html.escape(caption), html.escape(caption))

    top = [name for name, _ in ranked[:4]]
    rows = "".join("<tr><td>{}</td><td>{}</td><td>{:.4f}</td></tr>".format(rank, html.escape(name), value)
                   for rank, (name, value) in enumerate(ranked, start=1))
    labels = np.asarray(result["labels"], dtype=float)
    sections = [image("importance_bar", "Figure 6a — factor importance (mean |SHAP|)"),
                image("summary_beeswarm", "Figure 6b — SHAP summary: every dot is a pixel")]
    sections += [image("class_swarm_" + name, "Figure 6 — {} by class".format(name)) for name in top]
    sections += [image("dependence_" + name, "Dependence of the prediction on {}".format(name)) for name in top]
    sections.append(image("correlation_heatmap", "Figure 5 — correlation between factors"))
    return """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em;color:#222}}
figure{{display:inline-block;margin:0.5em;vertical-align:top}}img{{max-width:100%;border:1px solid #ddd}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:2px 8px}}.guide{{background:#f5f7fa;padding:0.5em 1em}}</style>
</head><body>
<h1>{title}</h1>
<p>Model: {model} · explainer: <b>{explainer}</b> · {n} pixels explained ({deposits} deposits, {nondeposits} non-deposits,
{random} random pixels) · base value (average predicted deposit probability of the background): {base:.4f} ·
largest additivity error |base + ΣSHAP − prediction|: {error:.2g}</p>
<div class="guide"><h2>How to read this page</h2><ul>
<li>A <b>SHAP value</b> is how much one factor moved one pixel's deposit probability up (positive) or down
(negative) from the base value. For every pixel, base value + the sum of its SHAP values = its predicted probability.</li>
<li><b>Importance</b> (bar chart, table) is the average size of those pushes: the factors the model leans on most.
Check that they make geological sense (pathfinder elements, alteration, structures) before trusting the map.</li>
<li>In the <b>summary plot</b>, red dots are pixels with a high value of the factor, blue a low one. Red on the right
means "high values favour deposits"; a mix of colours means the effect depends on other factors.</li>
<li>The <b>class plots</b> compare known deposits with non-deposits or random pixels: a factor that separates them
clearly is one the deposits really share.</li>
<li>The <b>dependence plots</b> show the effect against the factor's own value (with its unit): where the curve crosses
zero is the value above which the factor starts to favour deposits.</li>
<li>Strongly <b>correlated factors</b> (dark cells of the heat map) share their importance: the model may credit either,
so read their importances together.</li></ul></div>
<h2>Importance</h2><table><tr><th>rank</th><th>factor</th><th>mean |SHAP|</th></tr>{rows}</table>
{sections}
{maps}<p>Data: <a href="importance.csv">importance.csv</a>, <a href="shap_values.csv">shap_values.csv</a>.</p>
</body></html>
""".format(title=html.escape(title), model=html.escape(model_name or "—"), explainer=html.escape(result["explainer"]),
           n=len(labels), deposits=int((labels == 1).sum()), nondeposits=int((labels == 0).sum()),
           random=int(np.isnan(labels).sum()), base=result["base_value"], error=result["additivity_error"], rows=rows,
           sections="\n".join(sections), maps=_maps_section(maps))


def _maps_section(maps):
    """The contribution maps' method, additivity and agreement with the whole background."""
    if not maps:
        return ""
    from .contribution_fidelity import describe

    text = ("<h2>Contribution maps</h2><p>{} ({}): base value {:.4f}; largest additivity error "
            "|base + ΣSHAP − prediction| over the checked pixels {:.2g}.").format(
                html.escape(Path(maps["path"]).name), html.escape(maps["method"]), maps["base_value"],
                maps["additivity_error"])
    if maps.get("fidelity"):
        text += " " + html.escape(describe(maps["fidelity"]))
    return text + "</p>\n"
