"""Up-front checks of the files an algorithm writes and reads, before any work starts.

A run that fails only at the end (a model bundle saved after minutes of training into a folder
that cannot be written) wastes the user's time; a traceback about ``.partial`` files tells them
nothing. These checks run in ``checkParameterValues`` and again before ``execute``
(``base.DeepProspectAlgorithm``), and say what is wrong with which path and what to do.

Writability is probed by creating and deleting a small file: ``os.access`` answers "yes" to
root for a read-only (immutable) folder and knows nothing of network shares' rules.
Standard library only (the QGIS front).
"""
import os
import uuid
from pathlib import Path


def output_file_problem(path, extensions=(), file_type="", default_extension=""):
    """Why the output file ``path`` cannot be written (a sentence with the fix), or None.

    ``extensions``: the allowed suffixes without the dot (``("tif", "tiff")``), the first one
    preferred; empty → any. ``file_type``: what the file is, for the message ("GeoTIFF");
    ``default_extension``: for the example name when any extension goes.
    A folder that does not exist yet is fine when it can be created.
    """
    path = Path(path)
    if path.is_dir():
        extension = extensions[0] if extensions else default_extension
        return "{} is an existing folder, not a file. Give a file name inside it, e.g. {}.".format(
            path, path / ("output." + extension if extension else "output"))
    if extensions and path.suffix.lower().lstrip(".") not in extensions:
        return "{} does not end in {}: this output is written as {}. Give the file that extension.".format(
            path, _either(extensions), file_type or _either(extensions))
    problem = _folder_problem(path.parent, path.name)
    if problem:
        return problem
    if path.exists():
        try:
            with open(path, "ab"):  # opening to append changes nothing, but fails where replacing would
                pass
        except OSError as error:
            return ("the existing file {} cannot be replaced ({}). Close it in other programs, make it "
                    "writable, or choose another name.".format(path, _reason(error)))
    return None


def output_folder_problem(path):
    """Why files cannot be written into the folder ``path`` (created if missing), or None."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        return "{} is an existing file, not a folder. Choose a folder (a folder that does not exist yet is created).".format(path)
    return _folder_problem(path, "")


def input_file_problem(path, extension=""):
    """Why the input file ``path`` cannot be read (``extension``: the suffix it needs), or None."""
    path = Path(path)
    if not path.exists():
        return "{} does not exist. Check the path, or choose the file again.".format(path)
    if path.is_dir():
        return "{} is a folder, not a file. Choose a file.".format(path)
    if extension and path.suffix.lower().lstrip(".") != extension.lower():
        return "{} is not a .{} file. Choose a file ending in .{}.".format(path, extension, extension)
    try:
        with open(path, "rb") as handle:
            handle.read(1)
    except OSError as error:
        return "{} cannot be read ({}). Check its permissions, or copy it somewhere readable.".format(
            path, _reason(error))
    return None


def _folder_problem(folder, name):
    """Can files be created in ``folder`` (or, when it does not exist yet, can it be created)?"""
    existing = folder
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        return ("{} is a file, so nothing can be written under it ({}). Choose another folder.".format(
            existing, folder / name if name else folder))
    probe = existing / ".{}.{}.write-test".format(name or "deepprospect", uuid.uuid4().hex[:8])
    try:
        descriptor = os.open(str(probe), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(descriptor)
        os.unlink(str(probe))
    except OSError as error:
        what = "the folder {} is not writable".format(existing)
        if existing != folder:
            what = "{} cannot be created: {}".format(folder, what)
        return "{} ({}). Choose a folder you can write to, or change its permissions.".format(what, _reason(error))
    return None


def _either(extensions):
    dotted = [".{}".format(extension) for extension in extensions]
    return dotted[0] if len(dotted) == 1 else "{} or {}".format(", ".join(dotted[:-1]), dotted[-1])


def _reason(error):
    return error.strerror or str(error)
