"""Map-wide steps on a Dask cluster (core/pipeline_dask.py, DASK_SCHEDULER) write the same bytes as
a local run: prediction (probability, uncertainty, classes, success rate) of a dense ensemble and of
a patch model, SHAP contribution maps, IDW.

The reference is the local run's files themselves. The cluster is a ``LocalCluster`` of two worker
processes (one thread each), so the windows really travel: each worker imports the package, opens
the stack and loads the bundle from its file, and sends its windows back to be written here.
"""
import logging

import numpy as np
import pytest

from conftest import write_tiled_stack
from deepprospect.core.errors import DeepProspectError, OperationCanceled
from deepprospect.core.feedback import Feedback
from deepprospect.core.raster import STACK_NODATA

FACTORS = ["Sb_con", "Oli_clay", "Pb_con", "As_con"]
HEIGHT, WIDTH, TILE = 70, 90, 16


@pytest.fixture(scope="module")
def scheduler():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                       silence_logs=logging.ERROR)
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """A 70 × 90 × 4 stack with 16-pixel tiles (30 windows of 16 pixels), a nodata hole across
    a window border and scattered nodata cells."""
    rng = np.random.default_rng(19)
    data = rng.normal(size=(4, HEIGHT, WIDTH)).astype(np.float32)
    data[:, 20:26, 40:47] = STACK_NODATA
    data[rng.integers(0, 4, 40), rng.integers(0, HEIGHT, 40), rng.integers(0, WIDTH, 40)] = STACK_NODATA
    return write_tiled_stack(tmp_path_factory.mktemp("stack") / "stack.tif", data, FACTORS, TILE)


def _bundle(path, layers, input_shape, members, architecture, patch_size=1):
    import tensorflow as tf

    from deepprospect.models.architectures import build_network
    from deepprospect.models.bundle import load_bundle, save_bundle

    tf.keras.utils.set_random_seed(5)
    models = [build_network({"architecture": "sequential", "input_shape": input_shape, "layers": layers})
              for _ in range(members)]
    metadata = {"architecture": architecture, "factor_names": FACTORS, "patch_size": patch_size,
                "normalisation": {"mean": [0.0, 0.1, -0.1, 0.2], "std": [1.0, 1.1, 0.9, 1.2]}}
    return load_bundle(save_bundle(path, models, metadata))


@pytest.fixture(scope="module")
def dense_bundle(tmp_path_factory):
    layers = [{"type": "dense", "units": 8, "activation": "relu"}, {"type": "dense", "units": 2, "activation": "softmax"}]
    return _bundle(tmp_path_factory.mktemp("bundles") / "dense.dpm", layers, [4], 3, "pradhan2022_dense")


def _same_files(local, remote):
    for name in sorted(path.name for path in local.iterdir()):
        assert (remote / name).read_bytes() == (local / name).read_bytes(), name
    assert sorted(path.name for path in remote.iterdir()) == sorted(path.name for path in local.iterdir())


def _predict(bundle, stack, folder, scheduler, **options):
    from deepprospect.models.predict import predict_map

    folder.mkdir()
    return predict_map(bundle, stack, folder / "probability.tif", block_size=16, scheduler=scheduler,
                       **{name: folder / value if isinstance(value, str) else value for name, value in options.items()})


def test_prediction_on_two_workers_writes_the_local_bytes(dense_bundle, stack, scheduler, tmp_path):
    deposits = np.array([[500000 + 250 * 10.5, 2400000 - 250 * 12.5], [500000 + 250 * 70.5, 2400000 - 250 * 50.5]])
    options = dict(output_uncertainty="uncertainty.tif", output_classes="classes.tif", deposits_xy=deposits)
    local = _predict(dense_bundle, stack, tmp_path / "local", None, **options)
    remote = _predict(dense_bundle, stack, tmp_path / "dask", scheduler, **options)
    _same_files(tmp_path / "local", tmp_path / "dask")
    assert remote.valid_pixels == local.valid_pixels > 0
    assert remote.class_thresholds == local.class_thresholds and remote.auc == local.auc


def test_patch_model_windows_with_halo_on_two_workers(stack, scheduler, tmp_path):
    layers = [{"type": "conv2d", "filters": 4, "kernel_size": 3, "activation": "relu"}, {"type": "flatten"},
              {"type": "dense", "units": 2, "activation": "softmax"}]
    bundle = _bundle(tmp_path / "patch.dpm", layers, [5, 5, 4], 1, "cnn2d_patch", patch_size=5)
    _predict(bundle, stack, tmp_path / "local", None)
    _predict(bundle, stack, tmp_path / "dask", scheduler)
    _same_files(tmp_path / "local", tmp_path / "dask")


def test_contribution_maps_on_two_workers(dense_bundle, stack, scheduler, tmp_path):
    from deepprospect.models.explain import contribution_map

    results = []
    for name, address in (("local", None), ("dask", scheduler)):
        (tmp_path / name).mkdir()
        results.append(contribution_map(dense_bundle, stack, tmp_path / name / "shap.tif", background_size=40,
                                        references=4, steps=4, seed=3, block_size=32, scheduler=address))
    _same_files(tmp_path / "local", tmp_path / "dask")
    assert results[0] == dict(results[1], path=results[0]["path"])


def test_idw_on_two_workers(scheduler, tmp_path):
    import geopandas
    from shapely.geometry import Point

    from deepprospect.core.idw import interpolate_points

    rng = np.random.default_rng(4)
    xy = rng.uniform([400000, 2300000], [420000, 2318000], size=(300, 2))
    frame = geopandas.GeoDataFrame({"Sb_con": rng.lognormal(size=300), "Pb_con": rng.normal(size=300)},
                                   geometry=[Point(x, y) for x, y in xy], crs="EPSG:32645")
    frame.loc[::7, "Pb_con"] = np.nan
    points = tmp_path / "samples.gpkg"
    frame.to_file(points, layer="samples")
    for name, address in (("local", None), ("dask", scheduler)):
        (tmp_path / name).mkdir()
        interpolate_points(points, ["Sb_con", "Pb_con"], tmp_path / name / "idw.tif", 50.0, neighbors=8,
                           layer="samples", scheduler=address)
    _same_files(tmp_path / "local", tmp_path / "dask")


def test_cancel_on_the_cluster_leaves_nothing_behind(dense_bundle, stack, scheduler, tmp_path):
    class CancelAfterThreeChecks(Feedback):
        calls = 0

        def is_canceled(self):
            self.calls += 1
            return self.calls > 3

    with pytest.raises(OperationCanceled):
        _predict(dense_bundle, stack, tmp_path / "out", scheduler, feedback=CancelAfterThreeChecks())
    assert list((tmp_path / "out").iterdir()) == []


def test_unreachable_scheduler_is_a_clear_error(dense_bundle, stack, tmp_path, monkeypatch, bad_input):
    from deepprospect.core import pipeline_dask

    monkeypatch.setattr(pipeline_dask, "CONNECT_SECONDS", 1)
    with pytest.raises(DeepProspectError) as error:
        _predict(dense_bundle, stack, tmp_path / "out", "tcp://127.0.0.1:9")
    message = str(error.value)
    assert "tcp://127.0.0.1:9" in message and "dask scheduler" in message and "empty" in message
    assert list((tmp_path / "out").iterdir()) == []
    bad_input("a Dask scheduler address where no scheduler answers", "error", message)


def test_a_stack_the_workers_cannot_reach_is_a_clear_error(dense_bundle, stack, scheduler, tmp_path, bad_input):
    """A stack only this process sees (GDAL's in-memory file system stands for a disk that is not
    shared): the workers cannot open it, and the message says where the inputs must be."""
    from rasterio.shutil import copy, delete

    private = "/vsimem/this_process_only/stack.tif"
    copy(stack, private, driver="GTiff")
    try:
        with pytest.raises(DeepProspectError) as error:
            _predict(dense_bundle, private, tmp_path / "out", scheduler)
    finally:
        delete(private)
    message = str(error.value)
    assert "Dask worker" in message and private in message and "shared folder" in message
    assert list((tmp_path / "out").iterdir()) == []
    bad_input("an evidence stack the Dask workers cannot reach (not on shared storage)", "error", message)
