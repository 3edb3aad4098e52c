"""SHAP charts in the dock, drawn live by the explanation module's own chart functions
(``models.charts``), so the dock and the ``deepprospect:shap`` report look alike. Each function
draws on one matplotlib Axes and adds the colour bar the report adds."""
import numpy as np


def _units(factors):
    from ..models.explain import factor_units

    return factor_units(list(factors))


def _colour_bar(axes, mappable, label, ends=("low", "high")):
    bar = axes.figure.colorbar(mappable, ax=axes, ticks=[0, 1] if ends else None, aspect=30, pad=0.02)
    if ends:
        bar.ax.set_yticklabels(list(ends))
    bar.set_label(label)
    return bar


def importance_bar(axes, factors, mean_abs_shap):
    """Mean |SHAP| per factor, most important on top (Pradhan et al. 2022, Figure 6a)."""
    from ..models import charts

    charts.importance_bar(axes, list(factors), np.asarray(mean_abs_shap, dtype=float))


def beeswarm(axes, shap_values, factor_values, factors):
    """Every sample's SHAP value per factor, coloured by the factor's value (Figure 6b).
    ``shap_values``, ``factor_values``: (n, n_factors)."""
    from ..models import charts

    mappable = charts.beeswarm(axes, list(factors), np.asarray(shap_values, dtype=float),
                               np.asarray(factor_values, dtype=float))
    _colour_bar(axes, mappable, "factor value")


def class_swarm(axes, factor, shap_column, factor_column, labels):
    """One factor's SHAP values for deposits, non-deposits and random pixels (Figures 6c–f).
    ``labels``: 1, 0 or NaN (unknown) per sample."""
    from ..models import charts

    units = _units([factor])
    mappable = charts.class_swarm(axes, factor, np.asarray(shap_column, dtype=float),
                                  np.asarray(factor_column, dtype=float), charts.sample_classes(labels), units)
    if mappable is not None:
        _colour_bar(axes, mappable, "{} value".format(factor))


def dependence(axes, factor, factor_column, shap_column, prediction=None):
    """A factor's value against its SHAP value, coloured by the predicted deposit probability."""
    from ..models import charts

    mappable = charts.dependence(axes, factor, np.asarray(factor_column, dtype=float),
                                 np.asarray(shap_column, dtype=float),
                                 None if prediction is None else np.asarray(prediction, dtype=float), _units([factor]))
    if prediction is not None:
        _colour_bar(axes, mappable, "predicted deposit probability", ends=None)


def waterfall(axes, factors, shap_values, factor_values, base_value, prediction, max_display=10):
    """One pixel: from the base value, each factor's push up (red) or down (blue) to its probability."""
    from ..models import charts

    charts.waterfall(axes, list(factors), np.asarray(shap_values, dtype=float), np.asarray(factor_values, dtype=float),
                     float(base_value), float(prediction), _units(factors), max_display=max_display)
