"""Plugins › DeepProspect › Install dependencies…: the QgsTask runs the pip command with the
running Python's pins, reports progress, and tells the user to restart QGIS (or what failed).
pip itself is replaced by a stand-in command here: the real install downloads ~600 MB."""
import sys
import time

import pytest


def _run_task(task, timeout=60):
    """Run a QgsTask through QGIS's task manager; returns its outcome and highest progress
    (the manager deletes the task's C++ side once it has finished)."""
    from qgis.core import QgsApplication

    outcome = {"progress": 0.0}
    task.progressChanged.connect(lambda value: outcome.update(progress=max(outcome["progress"], value)))
    task.taskCompleted.connect(lambda: outcome.update(status="completed"))
    task.taskTerminated.connect(lambda: outcome.update(status="terminated"))
    QgsApplication.taskManager().addTask(task)
    deadline = time.time() + timeout
    while "status" not in outcome and time.time() < deadline:
        QgsApplication.processEvents()
        time.sleep(0.02)
    for _ in range(50):           # let finished() run on the main thread
        QgsApplication.processEvents()
    return outcome


@pytest.mark.parametrize("exit_code", [0, 1])
def test_install_task_runs_pip_with_the_running_pins(qgis_app, monkeypatch, tmp_path, exit_code):
    import numpy
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from qgis_interface import QgisInterfaceStub

    from deepprospect import dependencies
    from deepprospect.plugin.installer import DependencyInstallTask

    seen = {}

    def fake_install_command(folder, constraints_path, python=None):
        seen["folder"], seen["constraints"] = folder, constraints_path
        script = ("import sys; print(open(sys.argv[1]).read());"
                  "[print('Collecting package', i) for i in range(150)]; sys.exit({})".format(exit_code))
        return [sys.executable, "-c", script, str(constraints_path)]

    monkeypatch.setattr(dependencies, "install_command", fake_install_command)
    iface = QgisInterfaceStub()
    task = DependencyInstallTask(iface, folder=tmp_path / "deps")
    outcome = _run_task(task)

    assert seen["folder"] == tmp_path / "deps" and (tmp_path / "deps").is_dir()
    assert "numpy=={}".format(numpy.__version__) in task.lines      # pinned to this Python's numpy
    assert not __import__("os").path.exists(seen["constraints"])    # temporary pins cleaned up
    if exit_code == 0:
        assert outcome["status"] == "completed" and outcome["progress"] >= 99
        assert any("Restart QGIS" in message for message in iface.messages)
    else:
        assert outcome["status"] == "terminated"
        assert any("failed" in message for message in iface.messages)
