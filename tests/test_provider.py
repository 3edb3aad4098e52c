"""The provider in a real headless QGIS, called exactly as a user's script would."""
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
QGIS_PROCESS = "/usr/bin/qgis_process.bin"


def test_provider_is_registered_with_groups(qgis_app):
    from qgis.core import QgsApplication

    provider = QgsApplication.processingRegistry().providerById("deepprospect")
    assert provider is not None and provider.name() == "DeepProspect"
    assert not provider.icon().isNull()
    algorithm = QgsApplication.processingRegistry().algorithmById("deepprospect:synthetic_province")
    assert algorithm is not None
    assert algorithm.group() == "Evidence preparation"
    assert "truth" in algorithm.shortHelpString()
    groups = {alg.groupId() for alg in provider.algorithms()}
    assert groups <= {"evidence", "modelling", "explanation", "spectral"}


def test_synthetic_province_runs_through_processing_and_opens_in_qgis(qgis_app, tmp_path):
    import processing
    from qgis.core import QgsRasterLayer, QgsVectorLayer

    result = processing.run("deepprospect:synthetic_province",
                            {"SIZE_KM": 10, "SEED": 3, "OUTPUT_FOLDER": str(tmp_path / "province")})
    assert result["DEPOSIT_COUNT"] > 0 and result["SAMPLE_COUNT"] > 50
    expected = {"MAGNETIC": "EPSG:4326", "BOUGUER": "EPSG:32644", "CLAY": "EPSG:32645",
                "SILICA": "EPSG:32645", "TRUTH_PROBABILITY": "EPSG:32645"}
    for key, authid in expected.items():
        layer = QgsRasterLayer(result[key], key)
        assert layer.isValid(), key
        assert layer.crs().authid() == authid, key
    for key in ("GEOCHEMISTRY", "DEPOSITS", "SHEAR_ZONES", "LINEAMENTS", "LITHOLOGY"):
        layer = QgsVectorLayer(result[key], key, "ogr")
        assert layer.isValid(), key
        assert layer.crs().authid() == "EPSG:32645", key
        assert layer.featureCount() > 0, key
    samples = QgsVectorLayer(result["GEOCHEMISTRY"], "samples", "ogr")
    assert {"Sb_con", "Pb_con", "As_con", "SiO2_con"} <= set(samples.fields().names())


def _profile_plugin_link():
    import deepprospect.dependencies as dependencies

    return dependencies.default_profile_folder() / "python" / "plugins" / "deepprospect"


@pytest.fixture(scope="module")
def installed_plugin():
    link = _profile_plugin_link()
    assert link.exists() and link.resolve() == ROOT, (
        "The plugin installed in the QGIS profile is not this checkout: run `make install`.")
    return link


def _qgis_process(*arguments, timeout=300):
    environment = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run([QGIS_PROCESS, *arguments], capture_output=True, text=True, timeout=timeout, env=environment)


def test_qgis_process_lists_the_installed_provider(installed_plugin):
    completed = _qgis_process("list")
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert "DeepProspect" in lines
    assert any(line.strip().startswith("deepprospect:synthetic_province") for line in lines)


def test_qgis_process_runs_synthetic_province(installed_plugin, tmp_path):
    import json

    completed = _qgis_process("--json", "run", "deepprospect:synthetic_province", "--",
                              "SIZE_KM=6", "SEED=2", "OUTPUT_FOLDER={}".format(tmp_path / "out"))
    assert completed.returncode == 0, completed.stdout + completed.stderr
    results = json.loads(completed.stdout[completed.stdout.index("{"):])["results"]
    assert Path(results["TRUTH"]).exists()
    assert Path(results["DEPOSITS"]).exists() and Path(results["CLAY"]).exists()
