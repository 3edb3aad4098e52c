"""Opening a model bundle someone else wrote: nothing in it runs, and a changed one is refused.

What a bundle holds is data only (``models.bundle``): ``metadata.json`` (read with ``json``),
the members' weights as ``.npz`` arrays and ``background.npy`` (read with
``allow_pickle=False``: a pickled Python object is refused with a clear message, since
unpickling can run code the sender put in the file), and for format 1 each member's HDF5
weights (read with h5py, links to other files refused). Networks are rebuilt from a JSON
description by ``models.architectures``; no Keras object is deserialised, and the
``keras/member_N.keras`` copies are never opened. Nothing is extracted to disk: members are read
into memory by the names the metadata lists, and those must be names DeepProspect writes
(``member_0.npz`` …), so a zip entry such as ``../evil`` is never written anywhere.

Checksums: from bundle format 2 with checksums, ``metadata.json`` records the SHA-256 of every
other file in the bundle (``checksums`` {name: hex digest}); a bundle whose files do not match,
or that holds files not listed, was changed after it was written and is refused. This catches a
damaged copy and a member swapped in by hand; someone who rewrites ``metadata.json`` as well
can only change the weights, which rebuilds a wrong but harmless network. Bundles written
before checksums (none recorded) still load, with an info line.
"""
import hashlib
import io
import re

import numpy as np

from .bundle import BundleError

#: metadata.json's key for {file name: SHA-256 hex digest} of every other file of the bundle.
CHECKSUMS = "checksums"
#: Member file names DeepProspect writes: format 2 ``.npz`` weights, format 1 Keras 2 ``.keras`` files.
_MEMBER_NAME = {2: re.compile(r"member_\d+\.npz"), 1: re.compile(r"member_\d+\.keras")}


class RefusedBundleError(BundleError):
    """A bundle refused as a whole (changed after writing, or holding code): the message is complete."""


def checksums(files):
    """{name: SHA-256 hex digest} of ``files`` ({name: bytes})."""
    return {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}


def check_member_names(path, metadata, version):
    """Refuse member names DeepProspect never writes (``../evil``, absolute paths, other files)."""
    for name in metadata["members"]:
        if not isinstance(name, str) or not _MEMBER_NAME[version].fullmatch(name):
            raise RefusedBundleError(
                "The model bundle {} lists a member '{}', which is not a file name DeepProspect writes "
                "(member_0.npz, member_1.npz, …): it was not written by deepprospect:train, or was edited by "
                "hand. It is refused and nothing from it is read or extracted.".format(path, name))


def verify_files(path, archive, metadata, feedback=None):
    """Check every file of the open zip ``archive`` against the checksums in ``metadata``.

    Raises :class:`RefusedBundleError` ("… was changed after it was written …") when a file
    differs, is missing or was added; without recorded checksums (bundles written before them)
    reports that on ``feedback`` (if given) and returns.
    """
    recorded = metadata.get(CHECKSUMS)
    if recorded is None:
        if feedback is not None:
            feedback.info("The model bundle {} was written before bundles recorded checksums of their files, so "
                          "it cannot be checked for changes; re-save it by retraining to add them.".format(path))
        return
    if not isinstance(recorded, dict):
        raise RefusedBundleError("The model bundle {} was changed after it was written: its metadata.json has no "
                                 "readable checksum list. Ask the sender for the original file.".format(path))
    present = set(archive.namelist()) - {"metadata.json"}
    added, missing = sorted(present - set(recorded)), sorted(set(recorded) - present)
    changed = sorted(name for name in present & set(recorded)
                     if hashlib.sha256(archive.read(name)).hexdigest() != recorded[name])
    problems = (["{} does not match the SHA-256 checksum recorded when it was written".format(name)
                 for name in changed] + ["{} is missing".format(name) for name in missing]
                + ["{} was not in it when it was written".format(name) for name in added])
    if problems:
        raise RefusedBundleError(
            "The model bundle {} was changed after it was written: {}. Do not use it: ask the sender for the "
            "original file, or retrain the model.".format(path, "; ".join(problems)))


def read_arrays(data, name, path):
    """The arrays of an ``.npz`` (list, in file order) or an ``.npy`` (one array), plain numbers
    only: a pickled object array is refused (:class:`RefusedBundleError`)."""
    try:
        loaded = np.load(io.BytesIO(data), allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            return loaded
        with loaded:
            return {key: loaded[key] for key in loaded.files}
    except ValueError as error:
        if "allow_pickle" not in str(error):
            raise
        raise RefusedBundleError(
            "The model bundle {} is refused: its {} holds pickled Python objects, which DeepProspect never opens "
            "(unpickling can run code put in the file). A bundle written by deepprospect:train holds plain number "
            "arrays only; ask the sender for one.".format(path, name)) from error


def member_weights(arrays):
    """A format-2 member's ``.npz`` arrays ({name: array}) as the list ``model.get_weights()``
    gave: ``np.savez`` names them ``arr_0``, ``arr_1``, …"""
    if not isinstance(arrays, dict):
        raise BundleError("a member weights file is a single array, not an .npz of arrays.")
    return [arrays[name] for name in sorted(arrays, key=_array_index)]


def checked_weights(weights, variables, what):
    """``weights`` as float32 arrays, after checking they are floats of the ``variables``' number and shapes."""
    expected = [tuple(variable.shape) for variable in variables]
    found = [tuple(np.shape(weight)) for weight in weights]
    if expected != found:
        raise BundleError("its weights do not fit {}: {} arrays of shapes {} stored, {} of shapes {} needed.".format(
            what, len(found), found, len(expected), expected))
    if not all(np.issubdtype(np.asarray(weight).dtype, np.floating) for weight in weights):
        raise BundleError("the weights of {} are not all floating-point arrays.".format(what))
    if not all(np.isfinite(weight).all() for weight in weights):
        # a diverged training or an edited file: every probability would be NaN, a blank map
        raise BundleError("the weights of {} hold NaN or infinite values, so every prediction would be NaN; "
                          "retrain the model (a lower learning rate if the training diverged).".format(what))
    return [np.asarray(weight, dtype=np.float32) for weight in weights]


def _array_index(name):
    """``arr_12`` → 12: ``np.savez`` names positional arrays ``arr_0``, ``arr_1``, …"""
    match = re.fullmatch(r"arr_(\d+)", name)
    if match is None:
        raise BundleError("its weights file holds an unexpected array '{}'.".format(name))
    return int(match.group(1))
