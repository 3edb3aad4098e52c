"""catalog.py: every choice names engine code that exists, and the registries behave as the
algorithms' enums need (order, lookup, clear errors)."""
import pytest

from deepprospect import catalog
from deepprospect.models.registry import resolve

REGISTRIES = [catalog.ARCHITECTURES, catalog.EXPLAINERS, catalog.VALIDATION_SCHEMES, catalog.PREPROCESSING_STEPS,
              catalog.CLASSIFICATION_METHODS]


@pytest.mark.parametrize("registry", REGISTRIES, ids=lambda registry: registry.kind)
def test_every_factory_resolves_to_a_function(registry):
    for choice in registry:
        assert callable(resolve(choice)), choice


def test_enum_orders_are_the_public_contract():
    # indices users' scripts and models pass (issue texts); append only
    assert catalog.ARCHITECTURES.names()[:3] == ("pradhan2022_dense", "cnn1d", "cnn2d_patch")
    assert catalog.VALIDATION_SCHEMES.names()[:2] == ("random", "spatial_blocks")
    assert catalog.EXPLAINERS.names()[:3] == ("gradient", "deep", "kernel")
    assert catalog.CLASSIFICATION_METHODS.names()[:2] == ("cnn", "sam")
    assert catalog.ARCHITECTURES.where(uses_patches=True) == ("cnn2d_patch",)


def test_unknown_names_and_settings_are_clear_errors():
    with pytest.raises(ValueError, match="Unknown architecture 'cnn3d'; use one of: pradhan2022_dense"):
        catalog.ARCHITECTURES.get("cnn3d")
    with pytest.raises(ValueError, match="Unknown training settings: epoch"):
        catalog.TrainingSettings.from_dict({"epoch": 5})
    with pytest.raises(ValueError, match="validation scheme"):
        catalog.TrainingSettings(validation="spatial")
    settings = catalog.TrainingSettings.from_dict({"architecture": "cnn2d_patch", "epochs": 3})
    assert settings.uses_patches and settings.epochs == 3 and settings.to_dict()["seed"] == 42
    # a bundle written by a newer version may name an architecture this one does not know
    assert catalog.ARCHITECTURES.label("transformer") == "transformer"
