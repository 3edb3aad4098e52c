"""The provider in a real headless QGIS and in qgis_process, found as a user's QGIS finds it."""
import pytest

from reference import ROOT, profile_plugin_link, qgis_process


def test_provider_is_registered_with_groups(qgis_app):
    from qgis.core import QgsApplication

    provider = QgsApplication.processingRegistry().providerById("deepprospect")
    assert provider is not None and provider.name() == "DeepProspect"
    assert not provider.icon().isNull()
    algorithm = QgsApplication.processingRegistry().algorithmById("deepprospect:synthetic_province")
    assert algorithm is not None
    assert algorithm.group() == "1 Prepare evidence"
    assert "truth" in algorithm.shortHelpString()
    groups = {alg.groupId() for alg in provider.algorithms()}
    assert groups <= {"workflow", "evidence", "sampling", "modelling", "mapping", "explanation", "spectral"}


@pytest.fixture(scope="module")
def installed_plugin():
    link = profile_plugin_link()
    assert link.exists() and link.resolve() == ROOT, (
        "The plugin installed in the QGIS profile is not this checkout: run `make install`.")
    return link


def test_qgis_process_lists_the_installed_provider(installed_plugin):
    completed = qgis_process("list")
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert "DeepProspect" in lines
    assert any(line.strip().startswith("deepprospect:synthetic_province") for line in lines)


def test_qgis_process_help_shows_words_tooltips_and_defaults(installed_plugin):
    """Issue 18: `qgis_process help` (which prints no defaults of its own in QGIS 3.22) shows the
    dropdown's words with their numbers, each parameter's tooltip and its default."""
    completed = qgis_process("help", "deepprospect:train")
    assert completed.returncode == 0, completed.stderr
    text = completed.stdout
    assert "- 0: Dense network of Pradhan et al. (2022)" in text
    assert "• Validation split [VALIDATION]: " in text and "Default: 2 (Spatial k-fold cross-validation)." in text
    assert "How many models are trained with different seeds" in text       # a tooltip under its argument
