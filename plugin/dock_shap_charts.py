"""SHAP charts in the dock. Each function draws on one matplotlib Axes.

They use the explanation module's chart functions (``models.charts``) when it provides them, so
the dock and the SHAP report look alike, and draw a plain equivalent otherwise.
"""
import numpy as np

DEPOSIT_COLOUR, NON_DEPOSIT_COLOUR = "#c0392b", "#2c7fb8"


def _models_chart(name):
    try:
        from ..models import charts
    except ImportError:
        return None
    return getattr(charts, name, None)


def importance_bar(axes, factors, mean_abs_shap):
    """Mean |SHAP| per factor, largest on top. ``factors``: names; ``mean_abs_shap``: (n_factors,)."""
    chart = _models_chart("importance_bar")
    if chart is not None:
        return chart(axes, list(factors), np.asarray(mean_abs_shap, dtype=float))
    order = np.argsort(mean_abs_shap)
    positions = np.arange(len(order))
    axes.barh(positions, np.asarray(mean_abs_shap)[order], color=DEPOSIT_COLOUR, height=0.7)
    axes.set_yticks(positions)
    axes.set_yticklabels([factors[index] for index in order], fontsize=7)
    axes.set_xlabel("mean |SHAP| (deposit probability)", fontsize=8)
    axes.tick_params(axis="x", labelsize=7)
    axes.grid(True, axis="x", alpha=0.3)


def beeswarm(axes, shap_values, factor_values, factors):
    """Every sample's SHAP value per factor, coloured by the factor's value (low blue → high red).

    ``shap_values``, ``factor_values``: (n, n_factors); factors ordered by mean |SHAP|, top first.
    """
    chart = _models_chart("beeswarm")
    if chart is not None:
        return chart(axes, shap_values, factor_values, list(factors))
    shap_values = np.asarray(shap_values, dtype=float)
    order = np.argsort(np.abs(shap_values).mean(axis=0))
    rng = np.random.default_rng(0)
    scatter = None
    for position, index in enumerate(order):
        values = shap_values[:, index]
        jitter = rng.uniform(-0.3, 0.3, len(values))
        colour = _rank_colour(factor_values[:, index]) if factor_values is not None else "#555555"
        scatter = axes.scatter(values, position + jitter, c=colour, cmap="coolwarm", s=4, vmin=0, vmax=1,
                               linewidths=0)
    axes.axvline(0, color="#888888", linewidth=0.8)
    axes.set_yticks(range(len(order)))
    axes.set_yticklabels([factors[index] for index in order], fontsize=7)
    axes.set_xlabel("SHAP value (effect on deposit probability)", fontsize=8)
    axes.tick_params(axis="x", labelsize=7)
    if scatter is not None and factor_values is not None:
        bar = axes.figure.colorbar(scatter, ax=axes, pad=0.01, fraction=0.04)
        bar.set_ticks([0, 1])
        bar.set_ticklabels(["low", "high"])
        bar.ax.tick_params(labelsize=7)
        bar.set_label("factor value", fontsize=7)


def class_swarm(axes, shap_values, labels, factor):
    """One factor's SHAP values for deposits and for non-deposits (Pradhan et al. 2022, Fig. 6c–f)."""
    chart = _models_chart("class_swarm")
    if chart is not None:
        return chart(axes, shap_values, labels, factor)
    shap_values, labels = np.asarray(shap_values, dtype=float), np.asarray(labels, dtype=float)
    rng = np.random.default_rng(0)
    for position, (value, name, colour) in enumerate(((0, "Non-deposit", NON_DEPOSIT_COLOUR),
                                                      (1, "Deposit", DEPOSIT_COLOUR))):
        chosen = shap_values[labels == value]
        axes.scatter(chosen, position + rng.uniform(-0.25, 0.25, len(chosen)), s=6, color=colour, alpha=0.7,
                     linewidths=0, label="{} ({})".format(name, len(chosen)))
    axes.axvline(0, color="#888888", linewidth=0.8)
    axes.set_yticks([0, 1])
    axes.set_yticklabels(["Non-deposit", "Deposit"], fontsize=8)
    axes.set_xlabel("SHAP value of {}".format(factor), fontsize=8)
    axes.tick_params(axis="x", labelsize=7)


def dependence(axes, factor_values, shap_values, factor):
    """SHAP value of one factor against its value."""
    chart = _models_chart("dependence")
    if chart is not None:
        return chart(axes, factor_values, shap_values, factor)
    axes.scatter(factor_values, shap_values, s=5, color=DEPOSIT_COLOUR, alpha=0.6, linewidths=0)
    axes.axhline(0, color="#888888", linewidth=0.8)
    axes.set_xlabel(factor, fontsize=8)
    axes.set_ylabel("SHAP value", fontsize=8)
    axes.tick_params(labelsize=7)
    axes.grid(True, alpha=0.3)


def waterfall(axes, shap_values, base_value, factors, factor_values, max_display=10):
    """One pixel's explanation: from the base value, each factor's push, to the pixel's probability.

    ``shap_values``, ``factor_values``: (n_factors,); the ``max_display - 1`` largest pushes are
    drawn one by one, the rest summed into one bar.
    """
    chart = _models_chart("waterfall")
    if chart is not None:
        return chart(axes, shap_values, base_value, list(factors), factor_values, max_display=max_display)
    from .dock_pixel import format_value

    shap_values = np.asarray(shap_values, dtype=float)
    order = list(np.argsort(-np.abs(shap_values)))
    shown, rest = order[:max_display - 1], order[max_display - 1:]
    labels = ["{} = {}".format(factors[index], format_value(factor_values[index])) for index in shown]
    pushes = [shap_values[index] for index in shown]
    if rest:
        labels.append("{} other factors".format(len(rest)))
        pushes.append(float(shap_values[rest].sum()))
    start = float(base_value)
    ends = [start]
    for position, push in enumerate(pushes):
        colour = DEPOSIT_COLOUR if push >= 0 else NON_DEPOSIT_COLOUR
        y = len(pushes) - 1 - position
        axes.barh(y, push, left=start, color=colour, height=0.7)
        axes.text(max(start, start + push), y, " {:+.3f}".format(push), va="center", ha="left", fontsize=6.5,
                  color="#333333")
        start += push
        ends.append(start)
    axes.set_yticks(range(len(pushes)))
    axes.set_yticklabels(labels[::-1], fontsize=7)
    axes.axvline(base_value, color="#888888", linestyle=":", linewidth=1)
    axes.axvline(start, color="#222222", linewidth=1)
    low, high = min(ends), max(ends)
    span = max(high - low, 1e-3)
    axes.set_xlim(low - 0.05 * span, high + 0.22 * span)  # room for the value labels on the right
    axes.set_xlabel("deposit probability: average {:.3f} → this pixel {:.3f}".format(base_value, start), fontsize=7.5)
    axes.tick_params(axis="x", labelsize=7)


def _rank_colour(values):
    values = np.asarray(values, dtype=float)
    ranks = np.argsort(np.argsort(values))
    return ranks / max(len(values) - 1, 1)
