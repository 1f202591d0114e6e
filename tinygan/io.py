"""Checkpoints: `tg.save(path, obj, meta=None)` writes a model, an optimizer or a nested dict of
states to one .npz file; `tg.load(path)` reads it back as a dict (with `.meta`).

    tg.save("gan.npz", {"G": G, "D": D, "opt_G": opt_G, "opt_D": opt_D}, meta={"epoch": 3})
    ckpt = tg.load("gan.npz")
    G.load_state_dict(ckpt["G"]); opt_G.load_state_dict(ckpt["opt_G"]); ckpt.meta["epoch"]

    tg.save("g.npz", G)                  # a single module: G.load_state_dict(tg.load("g.npz"))

The file is a plain, uncompressed .npz (a zip of .npy files), readable by
`numpy.load(path, allow_pickle=False)`; its zip comment (the file's last 79 bytes) is
"tinygan-sha256:" and the SHA-256 of every byte before the hex digits, so that any damage (a
flipped byte, a cut, swapped members) is found before anything is read:
  "__tinygan__"  a uint8 array holding UTF-8 JSON: {"format": "tinygan-checkpoint",
                 "version": 1, "tree": ..., "meta": ...}. The tree records the nesting (dicts,
                 lists, Python numbers and strings) and which entry holds each array.
  "G/0.weight"   one entry per array, named by its path through the nesting, joined by "/"
                 (a module's own keys keep PyTorch's dots, so a module saved alone has exactly
                 its state_dict keys).
No pickle anywhere: arrays of Python objects are refused when saving, and loading reads with
allow_pickle=False, so a file cannot run code. Saving is atomic: the file is written next to
its destination under a temporary name, flushed to disk, then renamed over it, so a crash
mid-save leaves the previous checkpoint intact. Loading checks everything before returning
anything; a bad file raises CheckpointError listing every problem found.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import zipfile
from collections.abc import Mapping

import numpy as np

from . import backend
from .tensor import Tensor

__all__ = ["save", "load", "Checkpoint", "CheckpointError", "atomic_path", "write_atomically",
           "FORMAT", "VERSION"]

FORMAT = "tinygan-checkpoint"
VERSION = 2          # 2: the file ends in its SHA-256 (version-1 files, without it, still load)
HEADER = "__tinygan__"
CHECKSUM = b"tinygan-sha256:"
_SCALARS = (bool, int, float, str, type(None))


class CheckpointError(ValueError):
    """A file that is not a readable tinygan checkpoint (the message lists what is wrong)."""


class Checkpoint(dict):
    """What tg.load returns: the saved state as a dict (so `model.load_state_dict(ckpt)` works
    for a module saved alone, and `ckpt["G"]` for a nested save), plus `.meta` (the JSON
    metadata, {} when none was given), `.version` and `.path`."""

    def __init__(self, state, meta, version, path):
        super().__init__(state)
        self.meta, self.version, self.path = meta, version, path

    @property
    def state(self) -> dict:
        """The saved state as a plain dict."""
        return dict(self)

    def __repr__(self):
        return f"Checkpoint({self.path!r}, keys={list(self)}, meta={self.meta!r})"


# ---------------------------------------------------------------- saving


def save(path, obj, meta=None) -> None:
    """Write `obj` to `path` atomically as an .npz checkpoint (the name is used as given).

    obj: a Module or an optimizer (anything with state_dict()), or a dict whose values are
    arrays, Tensors, Python numbers/strings/None, further dicts or lists, or Modules/optimizers.
    meta: a dict of JSON values (numbers, strings, lists, dicts; NumPy scalars are converted).
    """
    path = os.fspath(path)
    if not (isinstance(obj, Mapping) or _has_state_dict(obj)):
        raise TypeError(f"tg.save takes a Module, an optimizer or a dict of states, got "
                        f"{type(obj).__name__}")
    arrays = {}
    tree = _flatten(obj, (), arrays)
    header = {"format": FORMAT, "version": VERSION, "tree": tree, "meta": _check_meta(meta)}
    header_bytes = np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)
    _write_archive(path, {HEADER: header_bytes, **arrays})


def _has_state_dict(obj) -> bool:
    return callable(getattr(obj, "state_dict", None)) and not isinstance(obj, Mapping)


def _flatten(value, where: tuple, arrays: dict):
    """The JSON tree for `value`; its arrays go into `arrays` under their "/"-joined path."""
    if _has_state_dict(value):
        value = value.state_dict()
    if isinstance(value, Mapping):
        items = []
        for key, item in value.items():
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise TypeError(f"checkpoint keys must be strings (or ints), got {key!r} of type "
                                f"{type(key).__name__} at {_show(where)}")
            if isinstance(key, str) and (key == "" or "/" in key):
                raise ValueError(f"checkpoint key {key!r} at {_show(where)} cannot be empty or "
                                 "contain '/' (it separates the levels of the nesting)")
            items.append([key, _flatten(item, where + (str(key),), arrays)])
        return {"dict": items}
    if isinstance(value, (list, tuple)):
        kind = "list" if isinstance(value, list) else "tuple"
        return {kind: [_flatten(item, where + (str(i),), arrays) for i, item in enumerate(value)]}
    if isinstance(value, _SCALARS):
        return {"value": value}
    array = _as_host_array(value, where)
    name = "/".join(where)
    if not where or name == HEADER:
        raise ValueError(f"an array cannot be stored under the name {name!r}: put it in a dict")
    arrays[name] = array
    return {"array": name}


def _as_host_array(value, where):
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, np.generic):
        value = np.asarray(value)
    if not hasattr(value, "dtype") or not hasattr(value, "shape"):
        raise TypeError(f"cannot store {type(value).__name__} at {_show(where)}: checkpoints hold "
                        "arrays, Tensors, numbers, strings, None, and dicts/lists of those")
    try:
        array = backend.to_numpy(value)
    except Exception as e:  # e.g. a torch tensor that requires grad
        raise TypeError(f"cannot convert {type(value).__name__} at {_show(where)} to a NumPy "
                        f"array: {e}") from None
    if array.dtype.hasobject:
        raise TypeError(f"the array at {_show(where)} holds Python objects (dtype "
                        f"{array.dtype}); checkpoints store numeric arrays only, never pickles")
    return array


def _show(where) -> str:
    return "the top level" if not where else repr("/".join(where))


def _check_meta(meta):
    if meta is None:
        return {}
    if not isinstance(meta, Mapping):
        raise TypeError(f"meta must be a dict of JSON values, got {type(meta).__name__}")

    def default(x):
        if isinstance(x, np.generic):  # e.g. a float32 loss value
            return x.item()
        raise TypeError(f"meta values must be JSON (numbers, strings, bools, None, lists, "
                        f"dicts), got {type(x).__name__}: {x!r:.60}")

    return json.loads(json.dumps(dict(meta), default=default))


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path` to write the file into; when the block ends without
    an error, the file is flushed to disk and renamed over `path` (os.replace is atomic), then
    the folder is synced so the rename itself is on disk. On any error (a full disk, Ctrl-C)
    the temporary file is removed and `path` is left as it was: a crash never leaves half a
    file. Checkpoints, run files and figures are all written through this."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot write {path!r}: the folder {folder!r} does not exist")
    if os.path.isdir(path):
        raise IsADirectoryError(f"cannot write {path!r}: it is a folder; give a file name")
    stem, suffix = os.path.splitext(os.path.basename(path))
    # the suffix stays last, so writers that choose a format by it (savefig) see the real one
    tmp = os.path.join(folder, f".{stem}.{secrets.token_hex(6)}.tmp{suffix}")
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_folder(folder)


def write_atomically(path, data: bytes) -> None:
    """Write `data` to `path` through atomic_path: all of it or, after a crash, the old file."""
    with atomic_path(path) as tmp:
        with open(tmp, "xb") as f:
            f.write(data)


def _write_archive(path: str, arrays: dict) -> None:
    """The .npz archive with its checksum as the zip comment, written through atomic_path."""
    with atomic_path(path) as tmp:
        with open(tmp, "x+b") as f:
            with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED,
                                 allowZip64=True) as zf:
                for name, array in arrays.items():
                    _write_entry(zf, name, array)
                zf.comment = CHECKSUM + b"0" * 64  # the digits are filled in below
            f.seek(0)
            digest = hashlib.sha256(f.read()[:-64]).hexdigest().encode()
            f.seek(-64, os.SEEK_END)
            f.write(digest)


def _write_entry(zf: zipfile.ZipFile, name: str, array: np.ndarray) -> None:
    """One .npy member, as numpy.savez writes it (never pickling)."""
    with zf.open(name + ".npy", mode="w", force_zip64=True) as entry:
        np.lib.format.write_array(entry, np.asanyarray(array), allow_pickle=False)


def _fsync_folder(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # Windows cannot open folders; its rename is durable enough
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------- loading


def load(path) -> Checkpoint:
    """Read a checkpoint written by tg.save. Returns a Checkpoint: the saved dict (a module's
    or optimizer's state_dict when one was saved alone) with NumPy arrays as leaves, and
    `.meta`. Raises FileNotFoundError, or CheckpointError listing every problem; nothing is
    returned unless the whole file checks out."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {path!r}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path!r} is a folder, not a checkpoint file")
    _check_magic(path)
    checked = _check_checksum(path)
    entries, problems = _read_entries(path)
    header = entries.pop(HEADER, None)
    tree, meta, version = None, {}, None
    if header is None:
        problems.insert(0, f"no {HEADER!r} entry, so no format version: not written by "
                           "tg.save (a plain numpy.savez file? load it with numpy.load)")
    elif not isinstance(header, np.ndarray) or header.dtype != np.uint8 or header.ndim != 1:
        problems.insert(0, f"the {HEADER!r} entry must be a 1-D uint8 array of JSON bytes")
    else:
        tree, meta, version = _parse_header(header.tobytes(), problems)
    if version is not None and version >= 2 and not checked:
        problems.insert(0, f"format version {version} files end in their SHA-256, and this "
                           "one does not: it was cut short or altered after it was written")
    if tree is not None:
        referenced = set()
        _collect_names(tree, referenced, problems)
        missing = sorted(referenced - set(entries))
        unexpected = sorted(set(entries) - referenced)
        if missing:
            problems.append(f"arrays listed in the header but absent from the file: {missing}")
        if unexpected:
            problems.append(f"arrays in the file that the header does not list: {unexpected}")
    if problems:
        raise CheckpointError(f"cannot load checkpoint {path!r}:\n  - " + "\n  - ".join(problems))
    return Checkpoint(_unflatten(tree, entries), meta, version, path)


def _check_checksum(path: str) -> bool:
    """True when the file ends in a checksum that matches; False when it has none (a version-1
    file, or one cut short); a CheckpointError when the checksum does not match."""
    with open(path, "rb") as f:
        data = f.read()
    tail = data[-len(CHECKSUM) - 64:]
    if not tail.startswith(CHECKSUM):
        return False
    digits = tail[len(CHECKSUM):]
    if hashlib.sha256(data[:-64]).hexdigest().encode() != digits:
        raise CheckpointError(f"cannot load checkpoint {path!r}: its SHA-256 does not match the "
                              "one written at its end; the file was damaged or changed after "
                              "it was saved (nothing was read from it)")
    return True


def _check_magic(path: str) -> None:
    with open(path, "rb") as f:
        start = f.read(6)
    if start.startswith(b"PK\x03\x04"):
        return
    if not start:
        kind = "empty"
    elif start == b"\x93NUMPY":
        kind = "a single .npy array (numpy.save), not an .npz archive"
    elif start[:1] == b"\x80":
        kind = "a Python pickle (e.g. from torch.save or pickle.dump); tinygan never unpickles"
    elif start.startswith(b"PK"):
        kind = "a zip archive without any entries"
    else:
        kind = "not a zip/.npz archive"
    raise CheckpointError(f"cannot load checkpoint {path!r}: the file is {kind}")


def _read_entries(path: str):
    """Every member as an array (read with allow_pickle=False), and the problems met."""
    problems, entries = [], {}
    try:
        npz = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
        raise CheckpointError(f"cannot load checkpoint {path!r}: it starts like an .npz archive "
                              f"but is truncated or corrupted ({e}); was its save interrupted?"
                              ) from None
    with npz:
        for name in npz.files:
            try:
                value = npz[name]
            except ValueError as e:
                if "allow_pickle" in str(e) or "pickle" in str(e).lower():
                    problems.append(f"entry {name!r} holds pickled Python objects; tinygan "
                                    "never unpickles (a checkpoint must not run code)")
                else:
                    problems.append(f"entry {name!r} is not a valid .npy array ({e})")
                continue
            except (zipfile.BadZipFile, EOFError, OSError) as e:
                problems.append(f"entry {name!r} is corrupted or truncated ({e})")
                continue
            except Exception as e:  # a malformed .npy header (numpy parses it without eval)
                problems.append(f"entry {name!r} is not a valid .npy array ({e})")
                continue
            if not isinstance(value, np.ndarray):
                problems.append(f"entry {name!r} is not a .npy array")
                continue
            entries[name] = value
    return entries, problems


def _parse_header(raw: bytes, problems: list):
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        problems.insert(0, f"the {HEADER!r} entry is not valid UTF-8 JSON ({e})")
        return None, {}, None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        found = header.get("format") if isinstance(header, dict) else type(header).__name__
        problems.insert(0, f"the header's format is {found!r}, expected {FORMAT!r}")
        return None, {}, None
    version = header.get("version")
    if "version" not in header:
        problems.insert(0, "the header has no format version")
        return None, {}, None
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        problems.insert(0, f"the format version {version!r} is not a positive integer")
        return None, {}, None
    if version > VERSION:
        problems.insert(0, f"format version {version} was written by a newer tinygan; this one "
                           f"reads versions up to {VERSION} (upgrade tinygan)")
        return None, {}, None
    meta = header.get("meta", {})
    if not isinstance(meta, dict):
        problems.append(f"the header's meta must be a JSON object, got {type(meta).__name__}")
    if "tree" not in header:
        problems.append("the header has no 'tree' describing the saved state")
        return None, meta, version
    return header["tree"], meta, version


def _collect_names(node, names: set, problems: list) -> None:
    """Array entry names referenced by a tree; malformed nodes are reported once each."""
    kind = next(iter(node)) if isinstance(node, dict) and len(node) == 1 else None
    if kind == "array" and isinstance(node[kind], str):
        names.add(node[kind])
    elif kind == "dict" and isinstance(node[kind], list) and all(
            isinstance(p, list) and len(p) == 2 and isinstance(p[0], (str, int)) for p in node[kind]):
        for _, child in node[kind]:
            _collect_names(child, names, problems)
    elif kind in ("list", "tuple") and isinstance(node[kind], list):
        for child in node[kind]:
            _collect_names(child, names, problems)
    elif kind == "value" and isinstance(node[kind], _SCALARS):
        pass
    else:
        problems.append(f"the header's tree has a malformed node {json.dumps(node)[:80]}")


def _unflatten(node, entries: dict):
    kind, body = next(iter(node.items()))
    if kind == "array":
        return entries[body]
    if kind == "dict":
        return {key: _unflatten(child, entries) for key, child in body}
    if kind == "list":
        return [_unflatten(child, entries) for child in body]
    if kind == "tuple":
        return tuple(_unflatten(child, entries) for child in body)
    return body  # "value"


def sha256_of(path) -> str:
    """The SHA-256 of a file's bytes, as hex."""
    import hashlib
    from pathlib import Path
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def verify_sha256(path, expected, error: type, how_to_fix: str) -> None:
    """Raise `error` unless the file's SHA-256 is `expected` (expected=False: no check), naming
    both digests and how_to_fix (how to restore or retrain a committed asset)."""
    if expected is False:
        return
    actual = sha256_of(path)
    if actual != str(expected).lower():
        raise error(f"{path}: SHA-256 {actual} does not match the recorded {expected}. The "
                    f"weights were changed or corrupted; restore the file (git checkout), or "
                    f"{how_to_fix} (or pass sha256=False to load a file you trained yourself)")
