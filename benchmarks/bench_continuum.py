"""Continuum removal (issue 19): the compiled hull (core/continuum.py) against the numpy monotone
chain it replaced (benchmarks/continuum_before.py), the anchor, measured in the same run.

1. In memory: the spectra of a SIZE × SIZE × 400-band synthetic scene (mineral mixtures with
   sensor noise, float32; at most 512 × 512 of them): seconds per megapixel before and after,
   the speed-up (goal ≥ 20) and the largest difference (goal ≤ 1e-6).
2. On the raster: ``core.spectral.preprocess_raster`` with continuum removal as the only step,
   before (the old implementation patched in) and after, as ratios to the same run with no step
   (the trim alone: reading and writing the same 400 bands), and the speed-up of the whole run
   and of the continuum's share (run − trim). numba's import and compilation, paid once per
   process (its compiled code is cached on disk after the first run), are timed apart.

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
    """Seconds of ``preprocess_raster`` on ``raster`` with continuum removal as the only step (or no
    step at all: the trim alone reads and writes the same bands), with ``implementation``."""
    from deepprospect.core import spectral_preprocessing
    from deepprospect.core.spectral import preprocess_raster, raster_wavelengths

    wavelengths = raster_wavelengths(raster)
    settings = spectral_preprocessing.PreprocessSettings(
        min_wavelength=float(wavelengths[0]), max_wavelength=float(wavelengths[-1]),
        continuum_removal=continuum_removal, absorbance=False, smoothing=False, derivative=0)
    current = spectral_preprocessing.continuum_removed
    spectral_preprocessing.continuum_removed = implementation   # the chain's step looks it up at each call
    try:
        started = time.perf_counter()
        preprocess_raster(raster, OUTPUT / "removed.tif", settings)
        return time.perf_counter() - started
    finally:
        spectral_preprocessing.continuum_removed = current


def on_raster(raster, size):
    """The raster path, best of two runs each (one for the slow reference). The anchor, the trim
    alone, reads and writes the same 400 bands: what a run costs besides the continuum removal."""
    from deepprospect.core.spectral_preprocessing import continuum_removed

    trim = min(raster_run(raster, False, continuum_removed) for _ in range(2))
    after = min(raster_run(raster, True, continuum_removed) for _ in range(2))
    before = raster_run(raster, True, continuum_before.continuum_removed)
    megapixels = size * size / 1e6
    print("On the {0} × {0} × 400 raster (core.spectral.preprocess_raster, float32 GeoTIFF out):".format(size))
    print("  anchor: trim only (read + write)      {:8.2f} s                        1.00".format(trim))
    for label, seconds in (("before", before), ("after", after)):
        print("  {:6s} continuum removal            {:8.2f} s = {:7.2f} s per Mpx   {:6.2f} × anchor; the continuum's "
              "share {:6.2f} s per Mpx".format(label, seconds, seconds / megapixels, seconds / trim,
                                                (seconds - trim) / megapixels))
    print("  raster speed-up: whole run {:.1f}×, the continuum's share {:.1f}× (goal ≥ 20)".format(
        before / after, (before - trim) / max(after - trim, 1e-3)), flush=True)


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
