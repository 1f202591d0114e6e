"""MNIST from its four canonical IDX `.gz` files, checked before use.

Where files are looked for, in order: the `data_dir` argument, $TINYGAN_DATA_DIR, then the user
cache ($XDG_CACHE_HOME/tinygan/mnist, else ~/.cache/tinygan/mnist). Every file is compared with its
published SHA-256 and its IDX header (big-endian magic number, dimensions, payload length) is
checked before any array is built, so a corrupted or truncated file raises instead of loading
half a dataset. Nothing is downloaded unless `download=True` is passed; downloads come from the
maintained mirrors in MIRRORS, stream into a temporary file beside the target, are checksummed,
and are renamed into place only when complete.

MNIST is by Yann LeCun, Corinna Cortes and Christopher J. C. Burges (a derivative of NIST data),
available under the Creative Commons Attribution-Share Alike 3.0 license.

    from tinygan.data import mnist
    images, labels = mnist.load("test")                  # uint8 (10000, 28, 28), uint8 (10000,)
    images, labels, split = mnist.load_available()       # train if present, else test
    x, y = mnist.load_for_gan()                          # float32 (N, 1, 28, 28) in [-1, 1]
"""
from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import http.client
import logging
import os
import tempfile
import urllib.request
import zlib
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
# Published SHA-256 of the .gz files (the same bytes every mirror serves). Tests may pass their own
# table through the `checksums` argument of load/download instead of editing this one.
SHA256 = {
    "train-images-idx3-ubyte.gz":
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz":
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz":
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz":
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
# Tried in order; the original host (yann.lecun.com) no longer serves the files reliably.
MIRRORS = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",      # PyTorch CI mirror
    "https://storage.googleapis.com/cvdf-datasets/mnist/",  # CVDF mirror (TensorFlow Datasets)
]
IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions
LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension
SIDE = 28
NUM_CLASSES = 10
_CHUNK = 1 << 16


class MNISTNotFoundError(FileNotFoundError):
    """The files of a split are in none of the searched directories."""


class MNISTFileError(ValueError):
    """A file is present but wrong: checksum mismatch, broken gzip, bad IDX header or length."""


class DownloadError(OSError):
    """No mirror delivered a complete file with the right checksum."""


# ---------------------------------------------------------------------------------------------
# Where files live
# ---------------------------------------------------------------------------------------------

def cache_dir() -> Path:
    """The user cache for MNIST: $XDG_CACHE_HOME/tinygan/mnist, else ~/.cache/tinygan/mnist."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "tinygan" / "mnist"


def _search_path(data_dir=None) -> list[tuple[Path, str]]:
    """(directory, where it came from) in search order, duplicates removed."""
    candidates = []
    if data_dir is not None:
        candidates.append((Path(data_dir).expanduser(), "data_dir argument"))
    if os.environ.get("TINYGAN_DATA_DIR"):
        candidates.append((Path(os.environ["TINYGAN_DATA_DIR"]).expanduser(), "$TINYGAN_DATA_DIR"))
    candidates.append((cache_dir(), "user cache"))
    seen, out = set(), []
    for path, origin in candidates:
        if path not in seen:
            seen.add(path)
            out.append((path, origin))
    return out


def search_dirs(data_dir=None) -> list[Path]:
    """The directories searched for MNIST files, in order."""
    return [path for path, _ in _search_path(data_dir)]


def find_file(name: str, data_dir=None) -> Path | None:
    """The first searched directory's copy of `name`, or None when no directory has it."""
    for directory in search_dirs(data_dir):
        if (directory / name).is_file():
            return directory / name
    return None


def _check_split(split: str, allowed=tuple(FILES)) -> str:
    if split not in allowed:
        raise ValueError(f"unknown MNIST split {split!r}: expected one of {allowed}")
    return split


def available_splits(data_dir=None) -> list[str]:
    """Splits whose two files are both found (presence only; load() verifies them)."""
    return [s for s, names in FILES.items() if all(find_file(n, data_dir) for n in names)]


def _not_found(split: str, missing: list[str], data_dir) -> MNISTNotFoundError:
    dirs = "\n".join(f"  - {path} ({origin}{'' if path.is_dir() else ', does not exist'})"
                     for path, origin in _search_path(data_dir))
    lines = [f"MNIST {split} split not found: missing {', '.join(missing)}.",
             f"Searched, in order:\n{dirs}",
             "To get the files: call mnist.load(..., download=True) or mnist.download() on a "
             f"machine with internet access (mirrors: {', '.join(MIRRORS)}; checksums are "
             "verified), or run `python -m tinygan.data.mnist --dir DIR`; or copy the four .gz "
             "files into one of the directories above, or point $TINYGAN_DATA_DIR at a folder "
             "that holds them."]
    others = [s for s in available_splits(data_dir) if s != split]
    if others:
        other = others[0]
        where = find_file(FILES[other][0], data_dir).parent
        lines.append(f"The {other} split IS available (in {where}): load it with split={other!r}, "
                     "or use split='best' / mnist.load_available() to take the train split when "
                     "present and the test split otherwise. It is not substituted silently.")
    return MNISTNotFoundError("\n".join(lines))


# ---------------------------------------------------------------------------------------------
# Reading and checking
# ---------------------------------------------------------------------------------------------

def _expected_sha256(name: str, checksums) -> str:
    table = SHA256 if checksums is None else checksums
    if name not in table:
        raise MNISTFileError(f"no SHA-256 known for {name!r}; the checksum table has "
                             f"{sorted(table)}")
    return table[name].lower()


def verify(path, checksums=None) -> bytes:
    """Read a file and compare its SHA-256 with the table; return its bytes when they match."""
    path = Path(path)
    raw = path.read_bytes()
    expected = _expected_sha256(path.name, checksums)
    actual = hashlib.sha256(raw).hexdigest()
    if actual != expected:
        raise MNISTFileError(
            f"{path}: SHA-256 mismatch ({len(raw)} bytes; expected {expected}, got {actual}). "
            "The file is corrupted, truncated or not the canonical MNIST file: delete it and "
            "download it again (mnist.download() or load(..., download=True)).")
    return raw


def parse_idx(raw: bytes, expected_magic: int, name: str = "IDX data") -> np.ndarray:
    """Decode an IDX payload (already gunzipped): big-endian header, then unsigned bytes.

    Checks the magic number (2051 images, 2049 labels), the number of dimensions, that images
    are 28x28, and that the payload holds exactly the bytes the header promises."""
    if len(raw) < 4:
        raise MNISTFileError(f"{name}: {len(raw)} bytes, too short for an IDX header")
    magic = int.from_bytes(raw[:4], "big")
    if magic != expected_magic:
        kind = {IMAGES_MAGIC: "images", LABELS_MAGIC: "labels"}.get(expected_magic, "data")
        raise MNISTFileError(f"{name}: IDX magic number {magic} (0x{magic:08x}); expected "
                             f"{expected_magic} (0x{expected_magic:08x}) for MNIST {kind}")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise MNISTFileError(f"{name}: header needs {header} bytes, the data has {len(raw)}")
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    if expected_magic == IMAGES_MAGIC and dims[1:] != (SIDE, SIDE):
        raise MNISTFileError(f"{name}: images of shape {dims[1:]}; MNIST images are "
                             f"({SIDE}, {SIDE})")
    expected_len = int(np.prod(dims, dtype=np.int64))
    payload = len(raw) - header
    if payload != expected_len:
        raise MNISTFileError(f"{name}: header promises {dims} = {expected_len} bytes of data but "
                             f"the file holds {payload} (truncated or padded)")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims).copy()


def read_idx_gz(path, expected_magic: int, checksums=None) -> np.ndarray:
    """Verify a `.gz` IDX file's checksum, gunzip it whole, and parse it (all or nothing)."""
    path = Path(path)
    compressed = verify(path, checksums)
    try:
        raw = gzip.decompress(compressed)
    except (OSError, EOFError, zlib.error) as err:  # BadGzipFile is an OSError; truncation is EOF
        raise MNISTFileError(f"{path}: not a complete gzip file ({err}); delete it and download "
                             "it again") from err
    return parse_idx(raw, expected_magic, name=str(path))


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------

def load(split: str = "train", data_dir=None, download: bool = False, checksums=None):
    """Images uint8 (N, 28, 28) and labels uint8 (N,) of one split.

    split: "train" (60,000 digits), "test" (10,000), or "best" (train when its files are found,
    else test; logs which). Asking for "train" when only the test split is present raises an
    error that says so; the test split is never substituted silently.
    download: fetch missing files from MIRRORS (else a missing file raises MNISTNotFoundError).
    checksums: {file name: SHA-256 hex} to use instead of the published table (tests)."""
    split = _check_split(split, allowed=(*FILES, "best"))
    if split == "best":
        return load_available(data_dir, download, checksums)[:2]
    names = FILES[split]
    paths = [find_file(n, data_dir) for n in names]
    missing = [n for n, p in zip(names, paths) if p is None]
    if missing:
        if not download:
            raise _not_found(split, missing, data_dir)
        target = download_files(missing, data_dir=data_dir, checksums=checksums)
        paths = [p if p is not None else target / n for n, p in zip(names, paths)]
    images = read_idx_gz(paths[0], IMAGES_MAGIC, checksums)
    labels = read_idx_gz(paths[1], LABELS_MAGIC, checksums)
    if len(images) != len(labels):
        raise MNISTFileError(f"MNIST {split}: {len(images)} images ({paths[0]}) but {len(labels)} "
                             f"labels ({paths[1]})")
    if labels.size and labels.max() >= NUM_CLASSES:
        raise MNISTFileError(f"{paths[1]}: label {int(labels.max())} outside 0..9")
    log.debug("loaded MNIST %s: %d digits from %s", split, len(images), paths[0].parent)
    return images, labels


def load_available(data_dir=None, download: bool = False, checksums=None):
    """(images, labels, split): the train split when its files are found (or downloaded, when
    download=True), otherwise the test split; the choice is logged and returned."""
    available = available_splits(data_dir)
    if "train" in available or download:
        split = "train"
    elif "test" in available:
        split = "test"
    else:
        raise _not_found("train or test", [n for names in FILES.values() for n in names], data_dir)
    images, labels = load(split, data_dir, download, checksums)
    searched = [str(d) for d in search_dirs(data_dir)]
    why = "" if split == "train" else f" (no train split in {searched})"
    log.info("MNIST: using the %s split, %d digits%s", split, len(images), why)
    return images, labels, split


def to_gan_range(images) -> np.ndarray:
    """uint8 (N, 28, 28) in 0..255 -> float32 (N, 1, 28, 28) in [-1, 1] (tanh's range)."""
    images = np.asarray(images)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(f"expected uint8 images of shape (N, H, W), got {images.dtype} "
                         f"{images.shape}")
    return (images.astype(np.float32) / np.float32(127.5) - np.float32(1.0))[:, None]


def from_gan_range(x) -> np.ndarray:
    """float (N, 1, H, W) or (N, H, W) in [-1, 1] -> uint8 (N, H, W) in 0..255 (for pictures)."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 4:
        if x.shape[1] != 1:
            raise ValueError(f"expected one channel (N, 1, H, W), got shape {x.shape}")
        x = x[:, 0]
    return np.clip(np.rint((x + 1.0) * 127.5), 0, 255).astype(np.uint8)


def load_for_gan(split: str = "best", data_dir=None, download: bool = False, checksums=None):
    """float32 images (N, 1, 28, 28) in [-1, 1] and uint8 labels (N,). split as in load(); the
    default "best" takes train when present and the test split otherwise (logged)."""
    images, labels = load(split, data_dir, download, checksums)
    return to_gan_range(images), labels


# ---------------------------------------------------------------------------------------------
# Downloading (only when asked)
# ---------------------------------------------------------------------------------------------

class _LogProgress:
    """Progress reported through logging when tqdm is not installed (every 10 %)."""

    def __init__(self, name, total):
        self.name, self.total, self.done, self.next_report = name, total, 0, 0.1

    def update(self, n):
        self.done += n
        if self.total and self.done / self.total >= self.next_report:
            log.info("%s: %d%% of %d bytes", self.name, 100 * self.done // self.total, self.total)
            self.next_report += 0.1

    def close(self):
        log.info("%s: %d bytes received", self.name, self.done)


def _progress_bar(name: str, total, enabled: bool):
    if enabled:
        try:
            from tqdm import tqdm
            return tqdm(total=total, unit="B", unit_scale=True, desc=name, leave=False)
        except ImportError:
            pass
    return _LogProgress(name, total)


def _download_dir(data_dir) -> Path:
    """The data_dir argument when given; else $TINYGAN_DATA_DIR when writable; else the cache."""
    candidates = _search_path(data_dir)
    if data_dir is not None:
        candidates = candidates[:1]  # the caller named the place: do not write anywhere else
    for path, origin in candidates:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(path, os.W_OK):
            return path
        log.info("not downloading into %s (%s): not writable", path, origin)
    raise DownloadError(f"no writable directory to download MNIST into (tried "
                        f"{[str(p) for p, _ in candidates]})")


def _fetch(url: str, target: Path, expected: str, timeout: float, progress: bool) -> None:
    """Stream url into a temporary file beside target; rename it into place only when the
    length and SHA-256 are right. Any failure, even an interrupt, removes the temporary file."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        digest, received = hashlib.sha256(), 0
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            bar = _progress_bar(target.name, total, progress)
            try:
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
            finally:
                bar.close()
            out.flush()
            os.fsync(out.fileno())
        if total is not None and received != total:
            raise DownloadError(f"{url}: received {received} of {total} bytes")
        if digest.hexdigest() != expected:
            raise DownloadError(f"{url}: SHA-256 {digest.hexdigest()} does not match the "
                                f"published {expected}")
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a data file is for everyone to read
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def download_files(names, data_dir=None, mirrors=None, checksums=None, progress: bool = True,
                   timeout: float = 60.0) -> Path:
    """Download the named files (mirror by mirror until one delivers the right bytes) into the
    download directory (see _download_dir); files already there with the right checksum are kept.
    Returns the directory."""
    mirrors = MIRRORS if mirrors is None else list(mirrors)
    target_dir = _download_dir(data_dir)
    for name in names:
        expected = _expected_sha256(name, checksums)
        target = target_dir / name
        if target.is_file():
            with contextlib.suppress(MNISTFileError):
                verify(target, checksums)
                continue
        failures = []
        for mirror in mirrors:
            url = mirror.rstrip("/") + "/" + name
            log.info("downloading %s", url)
            try:
                _fetch(url, target, expected, timeout, progress)
                break
            except (OSError, http.client.HTTPException) as err:  # URLError is an OSError
                log.warning("download of %s failed: %s", url, err)
                failures.append(f"{url}: {err}")
        else:
            raise DownloadError(f"could not download {name} into {target_dir}:\n  "
                                + "\n  ".join(failures or ["no mirrors given"]))
        log.info("saved %s", target)
    return target_dir


def download(splits=("train", "test"), data_dir=None, mirrors=None, checksums=None,
             progress: bool = True, timeout: float = 60.0) -> Path:
    """Download the files of the given splits (a name or a sequence); returns the folder."""
    splits = (splits,) if isinstance(splits, str) else tuple(splits)
    names = [n for s in splits for n in FILES[_check_split(s)]]
    return download_files(names, data_dir, mirrors, checksums, progress, timeout)


def main(argv=None) -> None:
    """`python -m tinygan.data.mnist [--dir DIR] [--split train test]`: download and verify."""
    parser = argparse.ArgumentParser(description="Download and verify the MNIST IDX files.")
    parser.add_argument("--dir", default=None, help="target folder (default: $TINYGAN_DATA_DIR "
                        "or the user cache)")
    parser.add_argument("--split", nargs="+", default=["train", "test"], choices=list(FILES))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    folder = download(args.split, data_dir=args.dir)
    for split in args.split:
        images, _ = load(split, data_dir=folder)
        log.info("%s: %d digits verified in %s", split, len(images), folder)


if __name__ == "__main__":
    main()
