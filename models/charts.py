"""Charts: SHAP (Pradhan et al. 2022, Figures 5 and 6), one pixel's waterfall, training curves
(their Figure 7), and the one-page SHAP explanation report.

Each chart is drawn once, here, with matplotlib's object API (no pyplot: charts are drawn off
any GUI thread): the ``*_chart`` functions and :func:`training_curves` fill a ``Figure`` they
are given, the others one ``Axes``. The reports save them as PNGs; the dock's engine task draws
the same ones at the dock's width (``engine/inspector_charts.py``). Colours show RAW factor
values, axes carry units where known.
"""
import numpy as np

DPI = 150
CMAP = "coolwarm"   # blue = low factor value, red = high, as in shap's summary plots
#: Colours of the training report and the training curves (network, baselines, classes).
NETWORK_COLOUR, LOGISTIC_COLOUR, FOREST_COLOUR, BOOSTING_COLOUR = "#1f5fa8", "#d9822b", "#3c8c3c", "#8e44ad"
DEPOSIT_COLOUR, BACKGROUND_COLOUR = "#c0392b", "#7f8c8d"


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
    with np.errstate(invalid="ignore", divide="ignore"):  # a constant factor has no correlation: 0
        correlation = np.nan_to_num(np.corrcoef(values.T))
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
    split = max_display - 1 if len(order) > max_display else len(order)   # the rest pooled as "other factors"
    shown, rest = order[:split], order[split:]
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
    if isinstance(value, str):          # a categorical factor's category name (or code)
        return value
    value = float(value)
    if value == 0 or 0.01 <= abs(value) < 10000:
        return "{:.3g}".format(value)
    return "{:.2e}".format(value)


# Whole charts -----------------------------------------------------------------------------
# Each chart is drawn here once, on a Figure it is given: the SHAP report saves it as a PNG, the
# dock's engine task draws it at the dock's width (engine/inspector_charts.py).

def _colour_bar(figure, axes, mappable, label, ends=("low", "high"), **options):
    """A colour bar beside ``axes``; ``ends`` labels its two ends instead of numbers (None: numbers)."""
    bar = figure.colorbar(mappable, ax=axes, ticks=[0, 1] if ends else None, pad=0.02, **options)
    if ends:
        bar.ax.set_yticklabels(list(ends))
    bar.set_label(label)


def importance_chart(figure, factor_names, mean_abs_shap):
    """Figure 6a on ``figure``: mean |SHAP| per factor."""
    importance_bar(figure.add_subplot(), factor_names, mean_abs_shap)


def beeswarm_chart(figure, factor_names, shap_values, factor_values, categorical=()):
    """Figure 6b on ``figure``: the beeswarm and its factor-value colour bar. ``categorical``: the
    names of categorical factors, whose dots are coloured by their code's rank (the colour bar says so)."""
    axes = figure.add_subplot()
    label = "factor value"
    shown = [name for name in factor_names if name in set(categorical)]
    if shown:
        label += "\n(categorical {}: colour = code, low to high; no order implied)".format(", ".join(shown))
    _colour_bar(figure, axes, beeswarm(axes, factor_names, shap_values, factor_values), label, aspect=40)


def class_swarm_chart(figure, factor, shap_column, factor_column, classes, units=None):
    """Figures 6c–f on ``figure``: one factor's SHAP values by class, with its value colour bar."""
    axes = figure.add_subplot()
    mappable = class_swarm(axes, factor, shap_column, factor_column, classes, units)
    if mappable is not None:  # None: no sample of any class
        _colour_bar(figure, axes, mappable, _label(factor, units) + " value")


def dependence_chart(figure, factor, factor_column, shap_column, prediction=None, units=None):
    """SHAP dependence of one factor on ``figure``; coloured by the predicted deposit probability
    (with its colour bar) when ``prediction`` is given."""
    axes = figure.add_subplot()
    mappable = dependence(axes, factor, factor_column, shap_column, prediction, units)
    if prediction is not None:
        _colour_bar(figure, axes, mappable, "predicted deposit probability", ends=None)


def correlation_chart(figure, factor_names, factor_values):
    """Figure 5 on ``figure``: the annotated correlation matrix and its colour bar."""
    axes = figure.add_subplot()
    image = correlation_heatmap(axes, factor_names, factor_values)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.03).set_label("Pearson r")


def training_curves(figure, history, legend_below=False):
    """Loss and accuracy per epoch (Pradhan et al. 2022, Figure 7) on two axes side by side.

    ``history``: one dict per ensemble member (``models.metadata_schema``: ``loss``, ``val_loss``,
    ``accuracy``, ``val_accuracy``, ``stopping_loss`` per epoch, ``best_epoch``). Training in
    blue, validation in red, the early-stopping subset's loss dashed grey, the epoch whose weights
    were kept dotted; members share the colours (faded when there are several). The legend sits
    in each axes, or once below them (``legend_below``, for a narrow panel with constrained
    layout). Returns the two axes.
    """
    loss_axes, accuracy_axes = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
    several = len(history) > 1
    alpha = 0.6 if several else 1.0
    for index, record in enumerate(history):
        epochs = np.arange(1, len(record["loss"]) + 1)
        first = index == 0   # one legend entry per kind of curve, however many members
        for axes, key in ((loss_axes, "loss"), (accuracy_axes, "accuracy")):
            axes.plot(epochs, record[key], color=NETWORK_COLOUR, alpha=alpha, lw=1.4, label="Training" if first else None)
            if record.get("val_" + key):
                axes.plot(epochs, record["val_" + key], color=DEPOSIT_COLOUR, alpha=alpha, lw=1.4,
                          label="Validation" if first else None)
            if key == "loss" and record.get("stopping_loss"):
                axes.plot(epochs, record["stopping_loss"], color="0.45", alpha=alpha, lw=1.0, ls="--",
                          label="Stopping subset (part of training)" if first else None)
            if record.get("best_epoch") and record["best_epoch"] < len(epochs):
                axes.axvline(record["best_epoch"], color="0.3", ls=":", lw=1, label="Epoch kept" if first else None)
    members = " — {} ensemble members".format(len(history)) if several else ""
    loss_axes.set(xlabel="Epoch", ylabel="Loss", title="Loss (cross-entropy)" + members)
    accuracy_axes.set(xlabel="Epoch", ylabel="Share of points classified right", title="Accuracy" + members)
    for axes in (loss_axes, accuracy_axes):
        axes.grid(alpha=0.3)
        if not legend_below:
            axes.legend(fontsize=8, loc="best")
    if legend_below:
        handles, labels = loss_axes.get_legend_handles_labels()
        figure.legend(handles, labels, loc="outside lower center", ncols=2, frameon=False)
    return loss_axes, accuracy_axes


def sample_classes(labels):
    """Class name per sample from labels (1, 0, NaN): deposit, non-deposit, random pixel."""
    labels = np.asarray(labels, dtype=float)
    return np.where(labels == 1, "deposit", np.where(labels == 0, "non-deposit", "random pixel"))


def write_report(result, folder, title="DeepProspect SHAP explanation", model_name="", maps=None):
    """Write the CSVs, PNGs and ``explanation.html`` of an :func:`explain.explain_sample` result
    into ``folder`` (with the contribution maps' method, additivity and fidelity when ``maps``, an
    :func:`explain.contribution_map` result); returns a dict name → path (``models.shap_report``)."""
    from .shap_report import write_report as write

    return write(result, folder, title, model_name, maps)
