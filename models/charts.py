"""SHAP charts (Pradhan et al. 2022, Figures 5 and 6) and the one-page explanation report.

Every ``draw`` function works on a given matplotlib ``Axes`` (the dock widget embeds them in a
Qt5Agg canvas); the ``write_*`` functions make their own :class:`matplotlib.figure.Figure` (no
pyplot: Processing runs in a background thread) and save PNGs. Colours show RAW factor values,
axes carry units where known.
"""
import csv
import html
from pathlib import Path

import numpy as np

DPI = 150
CMAP = "coolwarm"   # blue = low factor value, red = high, as in shap's summary plots


def _label(name, units):
    unit = (units or {}).get(name, "")
    return "{} ({})".format(name, unit) if unit else name


def _normalised(values):
    """Factor values scaled to 0–1 by their 5th–95th percentiles (robust to skewed geochemistry)."""
    low, high = np.nanpercentile(values, [5, 95])
    if high <= low:
        return np.full(len(values), 0.5)
    return np.clip((values - low) / (high - low), 0, 1)


def _swarm_offsets(values, width=0.4, bins=60):
    """Vertical jitter that spreads points by local density, like shap's beeswarm."""
    values = np.asarray(values, dtype=float)
    offsets = np.zeros(len(values))
    if len(values) < 2 or np.ptp(values) == 0:
        return offsets
    edges = np.linspace(values.min(), values.max(), bins + 1)
    which = np.clip(np.digitize(values, edges) - 1, 0, bins - 1)
    counts = np.bincount(which, minlength=bins)
    peak = counts.max()
    rng = np.random.default_rng(0)
    for bin_index in np.flatnonzero(counts):
        members = np.flatnonzero(which == bin_index)
        spread = width * counts[bin_index] / peak
        offsets[members] = rng.uniform(-spread, spread, len(members))
    return offsets


def importance_bar(ax, factor_names, mean_abs_shap):
    """Figure 6a: mean |SHAP| per factor, most important at the top."""
    order = np.argsort(mean_abs_shap)
    ax.barh(np.arange(len(order)), np.asarray(mean_abs_shap)[order], color="#1f77b4")
    ax.set_yticks(np.arange(len(order)))
    ax.set_yticklabels([factor_names[index] for index in order])
    for position, index in enumerate(order):
        ax.text(mean_abs_shap[index], position, " {:.3f}".format(mean_abs_shap[index]), va="center", fontsize=8)
    ax.set_xlabel("mean |SHAP value| (change of deposit probability)")
    ax.set_title("Factor importance")
    ax.set_xlim(0, max(mean_abs_shap) * 1.18 if len(mean_abs_shap) else 1)
    ax.set_ylim(-0.6, len(order) - 0.4)


def beeswarm(ax, factor_names, shap_values, factor_values, max_display=16):
    """Figure 6b: one row per factor (most important on top), a dot per pixel at its SHAP value,
    coloured by the pixel's raw factor value (blue low → red high). Returns the colour mappable."""
    import matplotlib.cm as cm

    shap_values = np.asarray(shap_values)
    order = np.argsort(np.abs(shap_values).mean(axis=0))[::-1][:max_display][::-1]
    scatter = None
    for position, index in enumerate(order):
        y = position + _swarm_offsets(shap_values[:, index])
        scatter = ax.scatter(shap_values[:, index], y, c=_normalised(factor_values[:, index]), cmap=CMAP,
                             vmin=0, vmax=1, s=7, alpha=0.8, linewidths=0, rasterized=True)
    ax.axvline(0, color="#888888", linewidth=0.8)
    ax.set_yticks(np.arange(len(order)))
    ax.set_yticklabels([factor_names[index] for index in order])
    ax.set_ylim(-0.6, len(order) - 0.4)
    ax.set_xlabel("SHAP value (effect on deposit probability)")
    ax.set_title("How each factor pushes the prediction")
    return scatter if scatter is not None else cm.ScalarMappable(cmap=CMAP)


def class_swarm(ax, factor, shap_column, factor_column, classes, units=None):
    """Figures 6c–f: SHAP values of one factor per class (deposit / non-deposit / random pixel),
    coloured by the raw factor value. ``classes``: array of class names per sample."""
    classes = np.asarray(classes)
    names = [name for name in ("deposit", "non-deposit", "random pixel") if name in set(classes)]
    colours = _normalised(factor_column)
    scatter = None
    for position, name in enumerate(names):
        chosen = classes == name
        x = position + _swarm_offsets(shap_column[chosen], width=0.35)
        scatter = ax.scatter(x, shap_column[chosen], c=colours[chosen], cmap=CMAP, vmin=0, vmax=1, s=9,
                             alpha=0.85, linewidths=0, rasterized=True)
    ax.axhline(0, color="#888888", linewidth=0.8)
    ax.set_xticks(np.arange(len(names)))
    ax.set_xticklabels(["{}\n(n = {})".format(name, int((classes == name).sum())) for name in names])
    ax.set_xlim(-0.6, len(names) - 0.4)
    ax.set_ylabel("SHAP value of {}".format(factor))
    ax.set_title("{} by class".format(_label(factor, units)))
    return scatter


def dependence(ax, factor, factor_column, shap_column, prediction=None, units=None):
    """SHAP dependence: the factor's raw value (x, with unit) against its SHAP value (y),
    coloured by the predicted deposit probability. Log x-axis for skewed positive factors."""
    colour = prediction if prediction is not None else "#1f77b4"
    scatter = ax.scatter(factor_column, shap_column, c=colour, cmap="viridis", vmin=0, vmax=1, s=9, alpha=0.8,
                         linewidths=0, rasterized=True)
    positive = factor_column[np.isfinite(factor_column)]
    if len(positive) and positive.min() > 0 and np.percentile(positive, 99) / np.percentile(positive, 1) > 20:
        ax.set_xscale("log")
    ax.axhline(0, color="#888888", linewidth=0.8)
    ax.set_xlabel(_label(factor, units))
    ax.set_ylabel("SHAP value of {}".format(factor))
    ax.set_title("Effect of {}".format(factor))
    return scatter


def correlation_heatmap(ax, factor_names, factor_values):
    """Figure 5: Pearson correlation of the factors over the sample, annotated. Returns the image."""
    values = np.asarray(factor_values, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = np.corrcoef(values.T)
    correlation = np.nan_to_num(correlation)
    image = ax.imshow(correlation, cmap="RdBu_r", vmin=-1, vmax=1)
    n = len(factor_names)
    ax.set_xticks(np.arange(n))
    ax.set_yticks(np.arange(n))
    ax.set_xticklabels(factor_names, rotation=90)
    ax.set_yticklabels(factor_names)
    size = 8 if n <= 12 else 6.5
    for row in range(n):
        for col in range(n):
            ax.text(col, row, "{:.2f}".format(correlation[row, col]).replace("0.", ".").replace("-.", "−."),
                    ha="center", va="center", fontsize=size,
                    color="white" if abs(correlation[row, col]) > 0.6 else "black")
    ax.set_title("Correlation between factors (Pearson r)")
    return image


def waterfall(ax, factor_names, shap_values, factor_values, base_value, prediction, units=None, max_display=10):
    """One pixel's explanation: from the base value, each factor's push up (red) or down (blue)
    to the predicted deposit probability; the smallest factors are pooled as "other factors"."""
    shap_values = np.asarray(shap_values, dtype=float).ravel()
    order = list(np.argsort(-np.abs(shap_values)))
    shown, rest = order[:max_display - 1] if len(order) > max_display else order, order[max_display - 1:]
    if len(order) <= max_display:
        rest = []
    labels = ["{} = {}".format(_label(factor_names[i], units), _format(factor_values[i])) for i in shown]
    contributions = [shap_values[i] for i in shown]
    if rest:
        labels.append("{} other factors".format(len(rest)))
        contributions.append(float(shap_values[rest].sum()))
    labels, contributions = labels[::-1], contributions[::-1]
    # cumulative path from the base value: the bottom row starts at the base value
    start = base_value + np.sum(contributions) - np.cumsum(contributions[::-1])[::-1]
    for position, (left, width) in enumerate(zip(start, contributions)):
        ax.barh(position, width, left=left, color="#d62728" if width > 0 else "#1f77b4", height=0.7)
        ax.text(left + width, position, " {:+.3f} ".format(width), va="center",
                ha="left" if width > 0 else "right", fontsize=8)
    ax.axvline(base_value, color="#888888", linestyle="--", linewidth=0.8)
    ax.axvline(prediction, color="black", linewidth=0.8)
    ax.set_yticks(np.arange(len(labels)))
    ax.set_yticklabels(labels)
    ax.set_ylim(-0.6, len(labels) - 0.4)
    ax.set_xlabel("deposit probability (base {:.3f} → prediction {:.3f})".format(base_value, prediction))
    low, high = min(start.min(), prediction, base_value), max((start + contributions).max(), prediction, base_value)
    margin = 0.18 * (high - low or 1.0)
    ax.set_xlim(low - margin, high + margin)
    ax.set_title("Why this pixel has its prospectivity")


def _format(value):
    value = float(value)
    if value == 0 or 0.01 <= abs(value) < 10000:
        return "{:.3g}".format(value)
    return "{:.2e}".format(value)


# Files ----------------------------------------------------------------------------------

def _figure(width, height):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI)


def _save(figure, path):
    figure.savefig(str(path), dpi=DPI, bbox_inches="tight")
    return str(path)


def sample_classes(labels):
    """Class name per sample from labels (1, 0, NaN): deposit, non-deposit, random pixel."""
    labels = np.asarray(labels, dtype=float)
    return np.where(labels == 1, "deposit", np.where(labels == 0, "non-deposit", "random pixel"))


def write_report(result, folder, title="DeepProspect SHAP explanation", model_name=""):
    """Write the CSVs, PNGs and ``explanation.html`` of an :func:`explain.explain_sample` result
    into ``folder``; returns a dict name → path."""
    from .explain import importance

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    names, units = result["factor_names"], result.get("units", {})
    shap_values, factor_values = np.asarray(result["shap_values"]), np.asarray(result["factor_values"])
    ranked = importance(result)
    paths = {}

    paths["importance"] = str(folder / "importance.csv")
    with open(paths["importance"], "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["factor", "mean_abs_shap"])
        writer.writerows([(name, "{:.6g}".format(value)) for name, value in ranked])
    paths["shap_values"] = str(folder / "shap_values.csv")
    with open(paths["shap_values"], "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["x", "y", "label", "prediction"] + names + ["shap_" + name for name in names])
        for index in range(len(shap_values)):
            label = result["labels"][index]
            writer.writerow(["{:.3f}".format(result["xy"][index, 0]), "{:.3f}".format(result["xy"][index, 1]),
                             "" if np.isnan(label) else int(label), "{:.6g}".format(result["prediction"][index])]
                            + ["{:.6g}".format(v) for v in factor_values[index]]
                            + ["{:.6g}".format(v) for v in shap_values[index]])

    mean_abs = np.abs(shap_values).mean(axis=0)
    height = max(4.0, 0.32 * len(names) + 1.2)
    figure = _figure(7.5, height)
    importance_bar(figure.add_subplot(), names, mean_abs)
    paths["importance_bar"] = _save(figure, folder / "importance_bar.png")

    figure = _figure(8.5, height + 0.4)
    ax = figure.add_subplot()
    mappable = beeswarm(ax, names, shap_values, factor_values)
    bar = figure.colorbar(mappable, ax=ax, ticks=[0, 1], aspect=40, pad=0.02)
    bar.ax.set_yticklabels(["low", "high"])
    bar.set_label("factor value")
    paths["summary_beeswarm"] = _save(figure, folder / "summary_beeswarm.png")

    classes = sample_classes(result["labels"])
    for name, _ in ranked[:4]:
        index = names.index(name)
        figure = _figure(6.0, 4.8)
        ax = figure.add_subplot()
        mappable = class_swarm(ax, name, shap_values[:, index], factor_values[:, index], classes, units)
        bar = figure.colorbar(mappable, ax=ax, ticks=[0, 1], pad=0.02)
        bar.ax.set_yticklabels(["low", "high"])
        bar.set_label(_label(name, units) + " value")
        paths["class_swarm_" + name] = _save(figure, folder / "class_swarm_{}.png".format(name))
        figure = _figure(6.0, 4.5)
        ax = figure.add_subplot()
        mappable = dependence(ax, name, factor_values[:, index], shap_values[:, index], result["prediction"], units)
        figure.colorbar(mappable, ax=ax, pad=0.02).set_label("predicted deposit probability")
        paths["dependence_" + name] = _save(figure, folder / "dependence_{}.png".format(name))

    side = max(6.0, 0.55 * len(names) + 1.5)
    figure = _figure(side + 1.0, side)
    ax = figure.add_subplot()
    image = correlation_heatmap(ax, names, factor_values)
    figure.colorbar(image, ax=ax, fraction=0.046, pad=0.03).set_label("Pearson r")
    paths["correlation_heatmap"] = _save(figure, folder / "correlation_heatmap.png")

    paths["html"] = str(folder / "explanation.html")
    Path(paths["html"]).write_text(_html(result, ranked, paths, title, model_name), encoding="utf-8")
    return paths


def _html(result, ranked, paths, title, model_name):
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
<p>Data: <a href="importance.csv">importance.csv</a>, <a href="shap_values.csv">shap_values.csv</a>.</p>
</body></html>
""".format(title=html.escape(title), model=html.escape(model_name or "—"), explainer=html.escape(result["explainer"]),
           n=len(labels), deposits=int((labels == 1).sum()), nondeposits=int((labels == 0).sum()),
           random=int(np.isnan(labels).sum()), base=result["base_value"], error=result["additivity_error"], rows=rows,
           sections="\n".join(sections))
