"""Continuum removal (issue 19): the compiled hull (core/continuum.py) against the numpy monotone
chain it replaced (benchmarks/continuum_before.py), the anchor, measured in the same run.

1. In memory: the spectra of a SIZE × SIZE × 400-band synthetic scene (mineral mixtures with
   sensor noise, float32; at most 512 × 512 of them): seconds per megapixel before and after,
   the speed-up (goal ≥ 20) and the largest difference (goal ≤ 1e-6).
2. On the raster: ``core.spectral.preprocess_raster`` with continuum removal as the only step,
   before (the old implementation patched in, the anchor) and after: the whole run, the same run
   with no step (the trim alone: reading and writing the same 400 bands), and the continuum
   removal's own time inside the run (timed in the window loop; the speed-up goal ≥ 20 is on
   it: the whole run is bound by reading and writing). numba's import and compilation, paid once
   per process (its compiled code is cached on disk after the first run), are timed apart.

Run: /usr/bin/python3 benchmarks/bench_continuum.py [--size 256]   (make bench-full: 1024)
Outputs go to benchmarks/output/continuum/.
"""
import argparse
import time

from _bootstrap import ROOT, print_machine, sized  # noqa: E402  (puts this checkout on sys.path as deepprospect)

import numpy as np  # noqa: E402

import continuum_before  # noqa: E402
from bench_spectral import OUTPUT as SCENES, make_raster  # noqa: E402

OUTPUT = ROOT / "benchmarks" / "output" / "continuum"
IN_MEMORY_SIDE = 512


def in_memory(raster):
    """Seconds per megapixel of the old and new implementation on the same spectra."""
    import rasterio

    from deepprospect.core.spectral import raster_wavelengths
    from deepprospect.core.spectral_preprocessing import continuum_removed

    wavelengths = raster_wavelengths(raster)
    with rasterio.open(raster) as dataset:
        side = min(IN_MEMORY_SIDE, dataset.width)
        cube = dataset.read(window=((0, side), (0, side)))
    spectra = np.ascontiguousarray(cube.reshape(len(cube), -1).T)
    started = time.perf_counter()
    continuum_removed(wavelengths, spectra[:2])
    compile_seconds = time.perf_counter() - started
    started = time.perf_counter()
    before = continuum_before.continuum_removed(wavelengths, spectra)
    old = time.perf_counter() - started
    started = time.perf_counter()
    after = continuum_removed(wavelengths, spectra)
    new = time.perf_counter() - started
    difference = float(np.nanmax(np.abs(after - before)))
    same_nan = bool(np.array_equal(np.isnan(after), np.isnan(before)))
    megapixels = len(spectra) / 1e6
    print("In memory, {:,} spectra × {} bands (float32):".format(len(spectra), len(wavelengths)))
    print("  before: numpy monotone chain (anchor)   {:8.2f} s = {:7.2f} s per Mpx   1.00".format(old, old / megapixels))
    print("  after:  compiled quickhull               {:8.3f} s = {:7.2f} s per Mpx   {:.1f}× faster (goal ≥ 20)".format(
        new, new / megapixels, old / new))
    print("  largest difference {:.1e} (goal ≤ 1e-6), same NaN cells: {}; numba import + compilation "
          "(once per process): {:.1f} s".format(difference, same_nan, compile_seconds), flush=True)
    return old / new


def raster_run(raster, continuum_removal, implementation):
    """``preprocess_raster`` on ``raster`` with continuum removal as the only step (or no step at
    all: the trim alone reads and writes the same bands), with ``implementation``. Returns (seconds
    of the whole run, seconds spent in the continuum removal of its windows, seconds spent in the
    pre-processing chain of its windows: the continuum plus the chain's NaN checks and copies)."""
    from deepprospect.core import spectral, spectral_preprocessing

    wavelengths = spectral.raster_wavelengths(raster)
    settings = spectral_preprocessing.PreprocessSettings(
        min_wavelength=float(wavelengths[0]), max_wavelength=float(wavelengths[-1]),
        continuum_removal=continuum_removal, absorbance=False, smoothing=False, derivative=0)
    spent = {"continuum": 0.0, "chain": 0.0}

    def timed(name, function):
        def run(*arguments):
            started = time.perf_counter()
            try:
                return function(*arguments)
            finally:
                spent[name] += time.perf_counter() - started
        return run

    # the chain's step and core.spectral's window function look these names up at each call
    current, chain = spectral_preprocessing.continuum_removed, spectral.preprocess
    spectral_preprocessing.continuum_removed = timed("continuum", implementation)
    spectral.preprocess = timed("chain", chain)
    try:
        started = time.perf_counter()
        spectral.preprocess_raster(raster, OUTPUT / "removed.tif", settings)
        return time.perf_counter() - started, spent["continuum"], spent["chain"]
    finally:
        spectral_preprocessing.continuum_removed, spectral.preprocess = current, chain


def on_raster(raster, size):
    """The raster path: the whole run, and the continuum removal's own time inside it (measured in
    the window loop, on the windows' pixels as the pipeline hands them over), before (the old
    implementation patched in, the anchor; best of two runs) and after (best of three runs),
    interleaved with the trim alone (reading and writing the same 400 bands: what a run costs
    besides the pre-processing). On a shared machine the whole run's wall time swings by seconds
    with the disk and the load, so the in-run continuum time is the figure to compare."""
    from deepprospect.core.spectral_preprocessing import continuum_removed

    trims, afters = [], []
    for _ in range(3):
        trims.append(raster_run(raster, False, continuum_removed))
        afters.append(raster_run(raster, True, continuum_removed))
    befores = [raster_run(raster, True, continuum_before.continuum_removed) for _ in range(2)]
    trim, after, before = min(trims), min(afters, key=lambda run: run[1]), min(befores, key=lambda run: run[1])
    megapixels = size * size / 1e6
    print("On the {0} × {0} × 400 raster (core.spectral.preprocess_raster, float32 GeoTIFF out):".format(size))
    print("  trim only (read + write)               {:8.2f} s".format(trim[0]))
    for label, (seconds, removal, chain) in (("before", before), ("after", after)):
        print("  {:6s} whole run {:7.2f} s ({:5.2f} × trim only); in the run: continuum removal {:7.3f} s = {:7.2f} s "
              "per Mpx, chain {:7.3f} s".format(label, seconds, seconds / trim[0], removal, removal / megapixels, chain))
    print("  raster speed-up of the continuum removal in the run: {:.1f}× (goal ≥ 20); of the pre-processing chain "
          "{:.1f}×; of the whole run {:.1f}× (reading and writing 400 bands bound it)".format(
              before[1] / after[1], before[2] / after[2], before[0] / after[0]), flush=True)
    return before[1] / after[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=sized(256, 1024), help="side of the test raster (pixels)")
    arguments = parser.parse_args()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    print_machine("Continuum removal: compiled hull vs the numpy implementation before issue 19")
    raster = SCENES / "scene_{}.tif".format(arguments.size)   # the scene bench_spectral classifies
    if not raster.exists():
        SCENES.mkdir(parents=True, exist_ok=True)
        make_raster(raster, arguments.size)
    in_memory(raster)
    on_raster(raster, arguments.size)


if __name__ == "__main__":
    main()
