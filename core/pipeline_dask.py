"""Map-wide steps on a Dask cluster: what :func:`core.pipeline.map_windows` does with a ``scheduler``.

For stacks larger than one machine handles in reasonable time, the windows of a map become tasks
on the workers of a ``dask.distributed`` cluster (``dask scheduler`` on one machine, ``dask
worker <address>`` on each machine that computes; docs/scale_out.md). Each worker opens the
sources itself and reads its window's pixels (so the sources must be on storage every worker
reaches: a shared folder, or object storage through GDAL's virtual file systems such as
``/vsis3/``), runs the step's :class:`core.pipeline.WindowTask` function, and sends the window's
result back. This machine collects the results in window order and writes them with the same
writer as a local run, so the output files are byte for byte those of a local run, and no worker
needs to write anywhere.

Nodata values are decided here once (``core.raster_input``'s rule, with its warnings) and sent
with every window, so every worker reads the same pixels as valid. At most a few windows per
worker thread are in flight, so this machine's memory stays bounded whatever the map size.
Cancel stops waiting within a fraction of a second and cancels the windows not yet collected.
"""
import collections
import threading
from concurrent.futures import ThreadPoolExecutor
import time
import uuid

from .errors import DeepProspectError, OperationCanceled

#: Seconds to wait for the scheduler to answer, then for at least one worker to be connected.
CONNECT_SECONDS = 10
WORKER_SECONDS = 30
#: Windows in flight per worker thread (computing or waiting to be collected).
WINDOWS_PER_THREAD = 2
#: Seconds between two cancel checks while a window is awaited.
POLL_SECONDS = 0.05
#: The package name workers must import (the plugin folder's name).
PACKAGE = __name__.split(".")[0]

HOW_TO_START = ("start a scheduler with `dask scheduler` (it prints its address, tcp://host:8786) and at least one "
                "`dask worker tcp://host:8786` with the engine's Python (docs/scale_out.md), check the address, port "
                "and firewall, or leave the Dask scheduler empty to run on this machine")


class Cluster:
    """A connection to the Dask scheduler at ``address`` for one :func:`core.pipeline.map_windows` run
    (a context manager: connected, with a worker checked to import this package, on entry)."""

    def __init__(self, address):
        self.address = str(address).strip()
        self.client = None

    def __enter__(self):
        self.client = connect(self.address)
        try:
            check_workers(self.client, self.address)
        except BaseException:
            self.client.close()
            raise
        return self

    def __exit__(self, *exc):
        self.client.close()
        return False

    def stream(self, blocks, sources, nodata, task, write, feedback):
        """Run ``task`` on every block on the cluster; ``write(block, results)`` each result here, in
        order. ``sources``: (path, bands) pairs the workers read; ``nodata``: their nodata values."""
        client = self.client
        threads = max(1, sum(client.nthreads().values()))
        context = client.scatter([task.context], broadcast=True, hash=False)[0]
        run = uuid.uuid4().hex[:12]

        def submit(index):
            return client.submit(run_window, task.function, context, sources, nodata, blocks[index], pure=False,
                                 key="deepprospect-window-{}-{}".format(run, index), priority=-index)

        pending = collections.deque(submit(index) for index in range(min(len(blocks), WINDOWS_PER_THREAD * threads)))
        try:
            for index, block in enumerate(blocks):
                if index + len(pending) < len(blocks):     # keep the workers busy while this one is awaited
                    pending.append(submit(index + len(pending)))
                value = _result(pending[0], block, self.address, feedback)
                pending.popleft()
                write(block, value if task.collect is None else task.collect(block, value))
                feedback.set_progress(100.0 * (index + 1) / len(blocks))
        finally:
            if pending:       # cancel, an error: the windows not collected yet stop
                client.cancel(list(pending))


def run_window(function, context, sources, nodata, block):
    """What a worker runs for one window: read the sources, then the step's function."""
    from .feedback import Feedback
    from .pipeline import GDAL_CACHE_MB, read_sources
    from .raster import bounded_gdal_cache

    try:
        with bounded_gdal_cache(GDAL_CACHE_MB):
            data = read_sources(sources, nodata, block)
        return function(block, data, context, Feedback())
    except DeepProspectError as error:
        # Its cause (a GDAL or Keras exception) may not pickle, and Dask would then send back a bare
        # Exception: send the message alone, which says everything (raised below, without a context).
        failure = DeepProspectError(str(error))
    raise failure


def connect(address):
    """A ``distributed.Client`` of the scheduler at ``address``; a clear error when it cannot be reached."""
    try:
        from distributed import Client
    except ImportError as error:
        raise DeepProspectError(
            "Running on a Dask cluster needs the dask.distributed package in the engine's environment ({}): "
            "reinstall the engine (Plugins > DeepProspect > Install the engine…), or leave the Dask scheduler "
            "empty to run on this machine.".format(error))
    if not address:
        raise DeepProspectError("No Dask scheduler address given: " + HOW_TO_START + ".")
    try:
        return Client(address, timeout=CONNECT_SECONDS, set_as_default=False)
    except (OSError, ValueError, TypeError) as error:
        raise DeepProspectError("Cannot reach the Dask scheduler at {} ({}): {}.".format(
            address, str(error) or type(error).__name__, HOW_TO_START))


def check_workers(client, address):
    """At least one worker is connected and can import this package, else a clear error."""
    try:
        client.wait_for_workers(1, timeout=WORKER_SECONDS)
    except (OSError, TimeoutError) as error:
        raise DeepProspectError(
            "The Dask scheduler at {} has no worker after {} s ({}): start `dask worker {}` on the machines that "
            "compute, with the engine's Python (docs/scale_out.md).".format(address, WORKER_SECONDS, error, address))
    try:
        client.run(_import_package)
    except Exception as error:   # a worker's own failure, whatever it is, comes back here
        raise DeepProspectError(
            "A Dask worker of the scheduler at {} cannot run DeepProspect ({}: {}): start the workers with the "
            "engine's Python and with the folder that holds the {} plugin on PYTHONPATH (docs/scale_out.md)."
            .format(address, type(error).__name__, error, PACKAGE))


def _import_package():
    import importlib

    importlib.import_module(PACKAGE + ".core.pipeline")
    return True


def _result(future, block, address, feedback):
    """The value of one window's future; checks cancel while waiting."""
    from distributed import KilledWorker

    while not future.done():
        if feedback.is_canceled():
            raise OperationCanceled("Canceled by the user.")
        time.sleep(POLL_SECONDS)
    try:
        return future.result()
    except DeepProspectError as error:   # raised on the worker, e.g. opening an input it cannot reach
        raise DeepProspectError(
            "A Dask worker of the scheduler at {} stopped at window {} of {}: {} The workers open the evidence "
            "stack and the model themselves, at the same path as this computer: put them on a shared folder or on "
            "object storage every worker reaches (docs/scale_out.md).".format(
                address, block.index + 1, block.count, str(error).rstrip(".") + ".")) from error
    except KilledWorker as error:
        raise DeepProspectError(
            "The Dask workers of {} died repeatedly while computing window {} of {} ({}): a worker probably ran out "
            "of memory; give the workers more memory, or use a smaller block size.".format(
                address, block.index + 1, block.count, error))


# Things a worker process keeps between windows and runs (a loaded model, a thread pool) ----------

#: Entries kept per process; the oldest is dropped beyond that.
CACHE_ENTRIES = 4
_cache = collections.OrderedDict()
_cache_lock = threading.Lock()


def process_cached(key, build):
    """``build()``'s value, built once per process for ``key`` (a hashable) and kept for later
    windows and runs (a worker loads a model once, not once per window). Thread-safe."""
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
        value = build()
        _cache[key] = value
        while len(_cache) > CACHE_ENTRIES:
            _cache.popitem(last=False)
        return value


_pools = {}


def process_pool(name, workers=1):
    """The thread pool ``name`` of this process (created once with ``workers`` threads, kept for the
    process's life, never evicted like :func:`process_cached`'s entries), for helper work beside
    a window's computation here or on a worker."""
    with _cache_lock:
        if name not in _pools:
            _pools[name] = ThreadPoolExecutor(max(1, int(workers)), thread_name_prefix="deepprospect-" + name)
        return _pools[name]
