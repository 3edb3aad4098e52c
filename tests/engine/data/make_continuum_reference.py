"""Record what the continuum removal before issue 19 gives on the test spectra
(``tests/engine/continuum_cases.py``) into ``continuum_reference.npz`` beside this script.

Run once, with the implementation of commit 3480b6c (kept verbatim in
``benchmarks/continuum_before.py``), from the checkout's root:
``$ENGINE tests/engine/data/make_continuum_reference.py``. Not run by the tests: the file's value
is that the old code wrote it.

Stored: per group of realistic spectra, the hull vertices as a bit mask (``vertices_<bands>``,
``numpy.packbits`` of (500, bands) booleans) and the row sums of the spectra (``spectra_sum_<bands>``,
to notice if the generator ever draws other spectra); per edge case, the continuum-removed
values themselves (``edge_<name>``).
"""
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parents[2] / "benchmarks")]

import continuum_before  # noqa: E402
import continuum_cases  # noqa: E402


def main():
    record = {}
    for wavelengths, spectra in continuum_cases.realistic_groups():
        y = spectra.astype(np.float64)
        vertices = continuum_before._hull_vertices(wavelengths, y, continuum_before._hull_candidates(wavelengths, y))
        old = continuum_before.continuum_removed(wavelengths, spectra)
        rebuilt = np.vstack([continuum_cases.continuum_from_vertices(wavelengths, row, np.flatnonzero(mask))
                             for row, mask in zip(y, vertices)])
        # the vertices are a faithful record of the old values
        np.testing.assert_allclose(rebuilt, old, rtol=0, atol=1e-12)
        record["vertices_{}".format(len(wavelengths))] = np.packbits(vertices, axis=1)
        record["spectra_sum_{}".format(len(wavelengths))] = spectra.sum(axis=1)
    for name, (wavelengths, spectra) in continuum_cases.edge_cases().items():
        with np.errstate(invalid="ignore", divide="ignore"):
            record["edge_" + name] = continuum_before.continuum_removed(wavelengths, spectra)
    np.savez_compressed(HERE / "continuum_reference.npz", **record)
    print("wrote", HERE / "continuum_reference.npz", {key: value.shape for key, value in record.items()})


if __name__ == "__main__":
    main()
