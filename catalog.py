"""The choices DeepProspect offers, each declared once: architectures, explainers, validation
schemes, spectral pre-processing steps and classification methods, plus the training settings.

Both sides of the process boundary read this module: the QGIS front builds its enums, help
and dock labels from it, the engine resolves each choice's ``factory`` ("module:function",
relative to the plugin package) to the code that does the work (``models/registry.py``). So it
imports only the standard library. Adding an architecture is one :class:`Choice` in
:data:`ARCHITECTURES` plus the function its ``factory`` names.

Order is a public contract: a registry's position is the index of its option in the
algorithms' enums (users' models and ``qgis_process`` scripts pass indices). Append; never
reorder or rename.
"""
from dataclasses import asdict, dataclass, field, fields


@dataclass(frozen=True)
class Choice:
    """One option of a registry.

    ``name``: the id scripts, bundles and metadata use; ``label``: what a person reads;
    ``factory``: "module:function" of the engine code (relative to the plugin package);
    ``options``: facts about the choice that callers need without importing the engine (e.g.
    ``uses_patches``); ``description``: one sentence for help texts and reports.
    """

    name: str
    label: str
    factory: str = ""
    options: dict = field(default_factory=dict)
    description: str = ""


class Registry:
    """An ordered, named set of :class:`Choice` objects."""

    def __init__(self, kind, choices):
        self.kind = kind
        self.choices = tuple(choices)
        self._by_name = {choice.name: choice for choice in self.choices}
        if len(self._by_name) != len(self.choices):
            raise ValueError("duplicate {} names".format(kind))

    def __iter__(self):
        return iter(self.choices)

    def __len__(self):
        return len(self.choices)

    def __contains__(self, name):
        return name in self._by_name

    def names(self):
        """Names in enum order."""
        return tuple(choice.name for choice in self.choices)

    def get(self, name):
        """The choice called ``name``; ValueError naming the valid choices otherwise."""
        try:
            return self._by_name[name]
        except KeyError:
            raise ValueError("Unknown {} '{}'; use one of: {}.".format(self.kind, name, ", ".join(self.names())))

    def at(self, index):
        """The choice at enum ``index``."""
        return self.choices[int(index)]

    def index(self, name):
        return self.names().index(self.get(name).name)

    def label(self, name):
        """The label of ``name``, or ``name`` itself for a name this version does not know
        (a bundle written by a newer DeepProspect)."""
        choice = self._by_name.get(name)
        return choice.label if choice else str(name)

    def where(self, **options):
        """Names of the choices whose options hold all of ``options``."""
        return tuple(choice.name for choice in self.choices
                     if all(choice.options.get(key) == value for key, value in options.items()))


#: Prospectivity networks. ``factory``: a function (n_factors, patch_size, dropout, regulariser) →
#: (inputs, outputs) Keras tensors, in ``models/architectures.py``; ``uses_patches``: the input is a
#: patch around each pixel (n, patch, patch, n_factors) rather than its factor vector (n, n_factors).
#: ``kind`` "sklearn": a scikit-learn classifier instead, ``factory`` a function (seed, class_weight) →
#: the unfitted estimator, in ``models/sklearn_members.py``; ``baseline``: also fitted beside every
#: model on the same split or folds, as the report's baselines (their names are the metadata's keys);
#: ``categories`` "native": categorical factors reach it as category positions, not one-hot;
#: ``background_cells``: trained positive-unlabelled against random valid cells of the stack
#: (``core.background_cells``); ``calibrated``: its probabilities are calibrated on out-of-fold
#: predictions after cross-validation (``models.calibration``).
ARCHITECTURES = Registry("architecture", [
    Choice("pradhan2022_dense", "Dense network of Pradhan et al. (2022)", "models.architectures:dense_network",
           dict(uses_patches=False),
           "Pradhan et al. (2022), Table 2: 4 × Dense(200, ReLU) + Dropout, Dense(2, softmax)"),
    Choice("cnn1d", "1-D CNN over the factors", "models.architectures:factor_cnn",
           dict(uses_patches=False),
           "1-D CNN scanning the factor vector: Conv1D(32, 3) → Conv1D(64, 3) → Dense(64) → Dense(2, softmax)"),
    Choice("cnn2d_patch", "2-D CNN over pixel patches", "models.architectures:patch_cnn",
           dict(uses_patches=True),
           "2-D CNN on a square neighbourhood patch: Conv2D(32, 1×1) → 2 × Conv2D(32, 3×3) → centre "
           "pixel + neighbourhood mean → Dense(64) → Dense(2, softmax)"),
    Choice("logistic_regression", "Logistic regression", "models.sklearn_members:linear_model",
           dict(uses_patches=False, kind="sklearn", baseline=True),
           "scikit-learn LogisticRegression on the standardised factors (lbfgs, 2000 iterations)"),
    Choice("random_forest", "Random forest", "models.sklearn_members:forest_model",
           dict(uses_patches=False, kind="sklearn", baseline=True),
           "scikit-learn RandomForestClassifier: 300 trees, at least 2 points per leaf"),
    Choice("gradient_boosting", "Gradient boosting", "models.sklearn_members:boosted_model",
           dict(uses_patches=False, kind="sklearn", baseline=True, categories="native"),
           "scikit-learn HistGradientBoostingClassifier (100 iterations, no early stopping)"),
    Choice("auto", "Automatic: additive model + boosted stumps (measured best, default)",
           "models.additive_boosting:default_recipe",
           dict(uses_patches=False, kind="sklearn", categories="native", background_cells=True, calibrated=True),
           "The recipe chosen by measurement on spatial k-fold and future deposits (README, 'Which model'): "
           "cubic-spline logistic regression of every factor, trained positive-unlabelled on 5,000 random "
           "background cells, averaged by rank with depth-2 gradient boosting on the training points; "
           "calibrated on out-of-fold predictions"),
])

EXPLAINERS = Registry("explainer", [
    Choice("gradient", "Expected gradients (fast)", "models.explain_methods:gradient_shap",
           description="Expected gradients over a background sample (shap's GradientExplainer idea, batched)."),
    Choice("deep", "DeepSHAP", "models.explain_methods:deep_shap",
           description="shap's DeepExplainer (DeepLIFT rescale rule) against a background sample."),
    Choice("kernel", "Kernel SHAP (slow, model-agnostic)", "models.explain_methods:kernel_shap",
           dict(supports_patches=False),
           description="shap's KernelExplainer with k-means background centres; about 100× slower."),
])

#: How training points are split for validation. ``factory``: a function (xy, labels, fraction, seed,
#: block_size, origin) → ``models.evaluation.Split``, in ``models/evaluation.py``. A scheme with
#: ``cross_validation=True`` instead names a function (xy, labels, folds, seed, block_size, origin,
#: buffer) → [``Split``, one per fold]; its ``stopping_scheme`` is the single-split scheme that carves
#: the early-stopping subset out of each fold's training points.
VALIDATION_SCHEMES = Registry("validation scheme", [
    Choice("random", "Random split", "models.evaluation:split_at_random",
           description="A random share of each class is held out, as the paper did; optimistic on "
                       "spatially autocorrelated evidence."),
    Choice("spatial_blocks", "Spatial blocks", "models.evaluation:split_by_blocks",
           description="Whole square blocks are held out, so validation points are not neighbours of "
                       "training points."),
    Choice("spatial_kfold", "Spatial k-fold cross-validation", "models.evaluation:split_into_folds",
           dict(cross_validation=True, stopping_scheme="spatial_blocks"),
           description="Square blocks are dealt into the chosen number of folds; each fold is held out once while the "
                       "others train, every model on the same folds; the final model is then trained on "
                       "all points and the folds' mean ± sd estimates its skill."),
])

#: Spectral pre-processing steps in the order they are applied (Carvalho et al. 2024). ``factory``: a
#: function (wavelengths (n_bands,) nm, spectra (n, n_bands), settings) → (wavelengths, spectra), in
#: ``core/spectral_preprocessing.py``; ``switches``: the :class:`PreprocessingSettings` fields that
#: turn the step on (any of them; none: the step always runs).
PREPROCESSING_STEPS = Registry("pre-processing step", [
    Choice("trim", "Trim to a wavelength range", "core.spectral_preprocessing:trim", dict(switches=()),
           "Keep the bands from min_wavelength to max_wavelength (nm)."),
    Choice("continuum_removal", "Continuum removal (upper convex hull)",
           "core.spectral_preprocessing:remove_continuum", dict(switches=("continuum_removal",)),
           "Divide each spectrum by its upper convex hull: 1 on the hull, below 1 in absorption features."),
    Choice("absorbance", "Reflectance to absorbance log10(1/R)", "core.spectral_preprocessing:to_absorbance",
           dict(switches=("absorbance",)), "Turn reflectance R into absorbance log10(1/R)."),
    Choice("smoothing", "Savitzky–Golay smoothing and derivative", "core.spectral_preprocessing:savitzky_golay",
           dict(switches=("smoothing", "derivative")),
           "Savitzky–Golay filter of window_nm nm and order polyorder, then the derivative-th derivative "
           "with respect to wavelength (per nm)."),
])


@dataclass(frozen=True)
class PreprocessingSettings:
    """The settings of the spectral pre-processing chain, with their defaults: the one place they
    live. The defaults are Carvalho et al. (2024)'s best chain for Sb: 400–2400 nm, continuum
    removal, absorbance, Savitzky–Golay 31 nm of order 2, first derivative.

    ``core.spectral_preprocessing.PreprocessSettings`` adds the engine's behaviour to these fields;
    the algorithms take their parameters' defaults from here. Units: wavelengths and
    ``window_nm`` in nm; ``derivative`` 0, 1 or 2.
    """

    min_wavelength: float = 400.0
    max_wavelength: float = 2400.0
    continuum_removal: bool = True
    absorbance: bool = True
    smoothing: bool = True
    window_nm: float = 31.0
    """Savitzky–Golay window width in nm (converted to an odd number of bands by the band spacing)."""
    polyorder: int = 2
    derivative: int = 1


#: The spectral classifier's pre-processing defaults: trim only (the network learns its own features).
TRIM_ONLY_PREPROCESSING = PreprocessingSettings(continuum_removal=False, absorbance=False, smoothing=False,
                                                derivative=0)

#: Hyperspectral classification methods, in the order of ``deepprospect:classify_hyperspectral``'s METHOD.
#: ``factory``: a function (bundle, wavelengths (n_bands,) nm, reflectance spectra (n, n_bands)) →
#: (class index (n,), −1 for invalid spectra; score (n,)), in ``models/spectral_classifier.py``;
#: ``score``: what the score is (the second band of the class raster).
CLASSIFICATION_METHODS = Registry("classification method", [
    Choice("cnn", "1-D CNN (DeepGeoMap)", "models.spectral_classifier:classify_cnn", dict(score="probability"),
           "The DeepGeoMap 1-D CNN; the score is the winning class probability."),
    Choice("sam", "Spectral angle mapper (SAM)", "models.spectral_classifier:classify_sam",
           dict(score="spectral angle (rad)"),
           "The nearest training class mean by spectral angle; the score is that angle in radians."),
])


@dataclass
class TrainingSettings:
    """Every option of ``deepprospect:train``, with its default: the one place defaults live.

    The front fills it from the dialog's parameters and sends :meth:`to_dict` to the engine,
    which rebuilds it with :meth:`from_dict` and passes it to ``models.training.train_model``.
    Units: ``block_size`` in map units (None: a fifth of the stack's longer side);
    ``learning_rate`` for Adam; ``validation_fraction`` and ``dropout`` as fractions 0–1;
    ``patch_size`` in pixels (odd, patch architectures only); ``folds``: folds of a cross-validation
    scheme (≥ 2); ``buffer``: map units, training points closer than this to a held-out block are
    left out of that fold (0: none); ``prior``: the expected share of valid cells that hold a
    deposit, found or not, that a calibrated model's probabilities are scaled to (0: the share
    holding a *known* deposit, i.e. every deposit assumed found).
    """

    label_field: str = "label"
    architecture: str = "auto"
    patch_size: int = 5
    epochs: int = 200
    batch_size: int = 32
    learning_rate: float = 1e-3
    dropout: float = 0.2
    l2: float = 0.0
    validation: str = "spatial_kfold"
    validation_fraction: float = 0.2
    block_size: float = None
    folds: int = 5
    buffer: float = 0.0
    ensemble_size: int = 1
    seed: int = 42
    early_stopping: bool = True
    patience: int = 20
    balance_classes: bool = True
    compare_validation: bool = False
    prior: float = 0.0

    def __post_init__(self):
        ARCHITECTURES.get(self.architecture)
        VALIDATION_SCHEMES.get(self.validation)

    @property
    def uses_patches(self):
        return bool(ARCHITECTURES.get(self.architecture).options.get("uses_patches"))

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, values):
        """Settings from a dict; keys this class does not know are an error (a typo must not
        silently fall back to a default)."""
        known = {item.name for item in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError("Unknown training settings: {}.".format(", ".join(unknown)))
        return cls(**values)
