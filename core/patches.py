"""Square neighbourhood patches around pixels, for the spatial CNN (``cnn2d_patch``).

Padding convention (documented for users in the train algorithm's help): a patch cell that
falls outside the raster or on an invalid (nodata) pixel takes the value 0 *after*
standardisation, i.e. the training mean of that factor — "no information" rather than an
invented anomaly. The centre pixel itself must be valid. Training and block-wise prediction
use this same function, so a pixel gets the same patch whichever way it is computed.
"""
import numpy as np


def extract_patches(standardised, valid, rows, cols, patch_size):
    """Patches (n, patch, patch, n_factors) centred on ``rows``, ``cols``.

    ``standardised``: float array (n_factors, height, width) already standardised;
    ``valid``: bool (height, width); ``rows``, ``cols``: integer arrays (n,) of centre pixels
    (indices into this array); ``patch_size``: odd integer ≥ 1.
    """
    if patch_size < 1 or patch_size % 2 == 0:
        raise ValueError("PATCH_SIZE must be an odd number ≥ 1 (got {}).".format(patch_size))
    half = patch_size // 2
    n_factors, height, width = standardised.shape
    padded = np.zeros((n_factors, height + 2 * half, width + 2 * half), dtype=np.float32)
    padded[:, half:half + height, half:half + width] = np.where(valid[None], standardised, 0.0)
    rows = np.asarray(rows) + half
    cols = np.asarray(cols) + half
    offsets = np.arange(-half, half + 1)
    row_index = rows[:, None, None] + offsets[None, :, None]
    col_index = cols[:, None, None] + offsets[None, None, :]
    patches = padded[:, row_index, col_index]          # (f, n, p, p)
    return np.ascontiguousarray(np.moveaxis(patches, 0, -1))


def dihedral_augment(patches, labels):
    """The 8 rotations/flips of every patch (n, p, p, f) → (8n, p, p, f), labels repeated."""
    views = []
    for flipped in (patches, patches[:, :, ::-1, :]):
        for turns in range(4):
            views.append(np.rot90(flipped, k=turns, axes=(1, 2)))
    return np.concatenate(views), np.tile(np.asarray(labels), 8)
