"""tinygan.data.mnist on small synthetic IDX files (and the real test split when it is present).

The download path is exercised against a local HTTP server on 127.0.0.1; MIRRORS is pointed at a
closed local port in every test so nothing here can reach the internet."""
import gzip
import hashlib
import http.server
import logging
import os
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tinygan.data import mnist

REPO = Path(__file__).resolve().parents[1]
TEST_FILES = mnist.FILES["test"]
TRAIN_FILES = mnist.FILES["train"]


def _real_dir():
    """The folder with the real t10k files: $TINYGAN_DATA_DIR, else ../shared/data/mnist."""
    for candidate in (os.environ.get("TINYGAN_DATA_DIR"), REPO.parent / "shared/data/mnist"):
        if candidate and all((Path(candidate) / n).is_file() for n in TEST_FILES):
            return Path(candidate)
    return None


REAL_DIR = _real_dir()  # looked up before any test changes the environment


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """Empty user cache, no $TINYGAN_DATA_DIR, and mirrors that can only refuse (port 9)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv("TINYGAN_DATA_DIR", raising=False)
    monkeypatch.setattr(mnist, "MIRRORS", ["http://127.0.0.1:9/"])


# ---------------------------------------------------------------------------------------------
# Synthetic IDX files
# ---------------------------------------------------------------------------------------------

def idx_bytes(array: np.ndarray, magic: int) -> bytes:
    """The raw (un-gzipped) IDX encoding: big-endian magic, big-endian dims, then the bytes."""
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_gz(path: Path, raw: bytes, table: dict) -> bytes:
    """Write gzip(raw) to path and record its SHA-256 in table; returns the compressed bytes."""
    data = gzip.compress(raw, mtime=0)
    path.write_bytes(data)
    table[path.name] = hashlib.sha256(data).hexdigest()
    return data


def make_split(directory: Path, split: str, table: dict, n: int = 7, seed: int = 0):
    """Write a synthetic split of n digits; returns (images, labels)."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    img_name, lbl_name = mnist.FILES[split]
    write_gz(directory / img_name, idx_bytes(images, mnist.IMAGES_MAGIC), table)
    write_gz(directory / lbl_name, idx_bytes(labels, mnist.LABELS_MAGIC), table)
    return images, labels


@pytest.fixture
def table():
    return {}


def test_round_trip(tmp_path, table):
    images, labels = make_split(tmp_path / "d", "test", table, n=9, seed=3)
    got_images, got_labels = mnist.load("test", data_dir=tmp_path / "d", checksums=table)
    assert got_images.dtype == np.uint8 and got_images.shape == (9, 28, 28)
    assert got_labels.dtype == np.uint8 and got_labels.shape == (9,)
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)
    got_images[0, 0, 0] ^= 1  # the arrays are the caller's own (writable, not views of a cache)


def test_train_round_trip_and_split_names(tmp_path, table):
    images, labels = make_split(tmp_path, "train", table, n=4, seed=1)
    got = mnist.load("train", data_dir=tmp_path, checksums=table)
    np.testing.assert_array_equal(got[0], images)
    np.testing.assert_array_equal(got[1], labels)
    with pytest.raises(ValueError, match="unknown MNIST split 'validation'"):
        mnist.load("validation", data_dir=tmp_path, checksums=table)


@given(arrays(np.uint8, st.tuples(st.integers(1, 3), st.just(28), st.just(28))))
def test_gan_range_round_trip(images):
    x = mnist.to_gan_range(images)
    assert x.dtype == np.float32 and x.shape == (len(images), 1, 28, 28)
    assert x.min() >= -1.0 and x.max() <= 1.0
    np.testing.assert_array_equal(x[:, 0] == -1.0, images == 0)
    np.testing.assert_array_equal(x[:, 0] == 1.0, images == 255)
    np.testing.assert_array_equal(mnist.from_gan_range(x), images)


def test_gan_range_rejects_floats():
    with pytest.raises(ValueError, match="uint8"):
        mnist.to_gan_range(np.zeros((2, 28, 28), dtype=np.float32))


def test_load_for_gan(tmp_path, table):
    images, labels = make_split(tmp_path, "test", table, n=5)
    x, y = mnist.load_for_gan("test", data_dir=tmp_path, checksums=table)
    np.testing.assert_allclose(x[:, 0], images / 127.5 - 1.0, atol=1e-6)
    np.testing.assert_array_equal(y, labels)


# ---------------------------------------------------------------------------------------------
# Search order
# ---------------------------------------------------------------------------------------------

def test_search_order_argument_env_cache(tmp_path, monkeypatch):
    arg, env, cache = tmp_path / "arg", tmp_path / "env", mnist.cache_dir()
    # three different synthetic sets; each table accepts only its own files, so loading with a
    # table also proves which folder the files came from
    tables = {"arg": {}, "env": {}, "cache": {}}
    from_arg = make_split(arg, "test", tables["arg"], seed=1)
    from_env = make_split(env, "test", tables["env"], seed=2)
    from_cache = make_split(cache, "test", tables["cache"], seed=3)
    monkeypatch.setenv("TINYGAN_DATA_DIR", str(env))
    assert mnist.search_dirs(arg) == [arg, env, cache]

    def loaded(data_dir, source):
        return mnist.load("test", data_dir=data_dir, checksums=tables[source])[0]

    np.testing.assert_array_equal(loaded(arg, "arg"), from_arg[0])
    np.testing.assert_array_equal(loaded(None, "env"), from_env[0])
    np.testing.assert_array_equal(loaded(tmp_path / "empty", "env"), from_env[0])  # falls through
    with pytest.raises(mnist.MNISTFileError, match=str(arg)):
        loaded(arg, "env")  # the argument's folder wins even when the env folder would verify
    monkeypatch.delenv("TINYGAN_DATA_DIR")
    np.testing.assert_array_equal(loaded(None, "cache"), from_cache[0])


def test_cache_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "c"))
    assert mnist.cache_dir() == tmp_path / "c" / "tinygan" / "mnist"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert mnist.cache_dir() == tmp_path / "home" / ".cache" / "tinygan" / "mnist"


# ---------------------------------------------------------------------------------------------
# Broken files are rejected, never half loaded
# ---------------------------------------------------------------------------------------------

GOOD_IMAGES = np.arange(3 * 28 * 28, dtype=np.int64).reshape(3, 28, 28).astype(np.uint8)
GOOD_LABELS = np.array([1, 2, 3], dtype=np.uint8)


@pytest.mark.parametrize("which, raw, message", [
    ("images", idx_bytes(GOOD_IMAGES, mnist.LABELS_MAGIC), "magic number 2049"),
    ("labels", idx_bytes(GOOD_LABELS, mnist.IMAGES_MAGIC), "magic number 2051"),
    ("images", b"\x00\x00", "too short for an IDX header"),
    ("images", mnist.IMAGES_MAGIC.to_bytes(4, "big") + b"\x00\x00\x00\x03", "header needs 16"),
    ("images", idx_bytes(np.zeros((3, 27, 28), np.uint8), mnist.IMAGES_MAGIC), r"\(27, 28\)"),
    ("images", idx_bytes(GOOD_IMAGES, mnist.IMAGES_MAGIC)[:-1], "holds 2351"),
    ("images", idx_bytes(GOOD_IMAGES, mnist.IMAGES_MAGIC) + b"\x00", "truncated or padded"),
    ("labels", idx_bytes(GOOD_LABELS, mnist.LABELS_MAGIC)[:-2], "holds 1"),
    ("labels", idx_bytes(np.array([1, 2], np.uint8), mnist.LABELS_MAGIC), "3 images .* 2 labels"),
    ("labels", idx_bytes(np.array([1, 10, 3], np.uint8), mnist.LABELS_MAGIC), "label 10"),
])
def test_header_errors(tmp_path, table, which, raw, message):
    img_name, lbl_name = TEST_FILES
    write_gz(tmp_path / img_name, idx_bytes(GOOD_IMAGES, mnist.IMAGES_MAGIC), table)
    write_gz(tmp_path / lbl_name, idx_bytes(GOOD_LABELS, mnist.LABELS_MAGIC), table)
    write_gz(tmp_path / (img_name if which == "images" else lbl_name), raw, table)
    with pytest.raises(mnist.MNISTFileError, match=message):
        mnist.load("test", data_dir=tmp_path, checksums=table)


def test_truncated_gzip_is_rejected(tmp_path, table):
    make_split(tmp_path, "test", table)
    path = tmp_path / TEST_FILES[0]
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(mnist.MNISTFileError, match="SHA-256 mismatch"):  # the table catches it
        mnist.load("test", data_dir=tmp_path, checksums=table)
    table[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(mnist.MNISTFileError, match="not a complete gzip file"):  # so does gzip
        mnist.load("test", data_dir=tmp_path, checksums=table)


def test_not_gzip_is_rejected(tmp_path, table):
    make_split(tmp_path, "test", table)
    write = tmp_path / TEST_FILES[1]
    write.write_bytes(b"this is not gzip data at all")
    table[write.name] = hashlib.sha256(write.read_bytes()).hexdigest()
    with pytest.raises(mnist.MNISTFileError, match="not a complete gzip file"):
        mnist.load("test", data_dir=tmp_path, checksums=table)


def test_checksum_mismatch_names_file_and_digests(tmp_path, table):
    make_split(tmp_path, "test", table)
    path = tmp_path / TEST_FILES[0]
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))
    actual = hashlib.sha256(bytes(data)).hexdigest()
    with pytest.raises(mnist.MNISTFileError) as err:
        mnist.load("test", data_dir=tmp_path, checksums=table)
    assert str(path) in str(err.value) and table[path.name] in str(err.value)
    assert actual in str(err.value) and "download it again" in str(err.value)


def test_published_checksums_apply_by_default(tmp_path, table):
    make_split(tmp_path, "test", table)  # synthetic files do not match the published digests
    with pytest.raises(mnist.MNISTFileError, match=mnist.SHA256[TEST_FILES[0]]):
        mnist.load("test", data_dir=tmp_path)
    with pytest.raises(mnist.MNISTFileError, match="no SHA-256 known"):
        mnist.load("test", data_dir=tmp_path, checksums={})


# ---------------------------------------------------------------------------------------------
# Missing files and the test-split fallback
# ---------------------------------------------------------------------------------------------

def test_missing_files_message(tmp_path, monkeypatch):
    env = tmp_path / "env"
    env.mkdir()
    monkeypatch.setenv("TINYGAN_DATA_DIR", str(env))
    with pytest.raises(mnist.MNISTNotFoundError) as err:
        mnist.load("train", data_dir=tmp_path / "nowhere")
    message = str(err.value)
    assert isinstance(err.value, FileNotFoundError)
    for text in (*TRAIN_FILES, str(tmp_path / "nowhere"), "data_dir argument", "does not exist",
                 str(env), "$TINYGAN_DATA_DIR", str(mnist.cache_dir()), "user cache",
                 "download=True", "python -m tinygan.data.mnist", "127.0.0.1:9"):
        assert text in message, text
    assert "IS available" not in message


def test_only_one_missing_file_is_named(tmp_path, table):
    make_split(tmp_path, "test", table)
    (tmp_path / TEST_FILES[1]).unlink()
    with pytest.raises(mnist.MNISTNotFoundError) as err:
        mnist.load("test", data_dir=tmp_path, checksums=table)
    assert TEST_FILES[1] in str(err.value) and f"missing {TEST_FILES[0]}" not in str(err.value)


def test_train_is_not_silently_replaced_by_test(tmp_path, table, caplog):
    images, labels = make_split(tmp_path, "test", table)
    with pytest.raises(mnist.MNISTNotFoundError, match="test split IS available") as err:
        mnist.load("train", data_dir=tmp_path, checksums=table)
    assert str(tmp_path) in str(err.value) and "split='best'" in str(err.value)
    with caplog.at_level(logging.INFO, logger=mnist.__name__):
        got_images, got_labels, split = mnist.load_available(tmp_path, checksums=table)
    assert split == "test" and "test split" in caplog.text
    np.testing.assert_array_equal(got_images, images)
    best = mnist.load("best", data_dir=tmp_path, checksums=table)
    np.testing.assert_array_equal(best[1], labels)
    assert mnist.available_splits(tmp_path) == ["test"]


def test_best_prefers_train(tmp_path, table):
    train = make_split(tmp_path, "train", table, n=6, seed=5)
    make_split(tmp_path, "test", table, n=3, seed=6)
    images, labels, split = mnist.load_available(tmp_path, checksums=table)
    assert split == "train"
    np.testing.assert_array_equal(labels, train[1])
    assert len(mnist.load_for_gan(data_dir=tmp_path, checksums=table)[0]) == 6


def test_nothing_available(tmp_path):
    with pytest.raises(mnist.MNISTNotFoundError, match="train or test split not found"):
        mnist.load_available(tmp_path)


# ---------------------------------------------------------------------------------------------
# Downloads from a local server
# ---------------------------------------------------------------------------------------------

class _Handler(http.server.BaseHTTPRequestHandler):
    """/good/NAME serves the file, /truncated/NAME half of it (full Content-Length), /wrong/NAME
    other bytes, anything else 404."""

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.server.requests.append(self.path)
        _, mode, name = self.path.split("/", 2)
        data = self.server.files.get(name)
        if data is None or mode not in ("good", "truncated", "wrong"):
            self.send_error(404)
            return
        if mode == "wrong":
            data = bytes(reversed(data))
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data if mode != "truncated" else data[: len(data) // 2])
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):  # keep test output quiet
        pass


@pytest.fixture
def server(tmp_path, table):
    """A local mirror holding a synthetic test split; yields (base URL, server, arrays)."""
    source = tmp_path / "source"
    arrays_ = make_split(source, "test", table, n=5, seed=11)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.files = {n: (source / n).read_bytes() for n in TEST_FILES}
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/", httpd, arrays_
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_download_only_when_asked(tmp_path, table, server, monkeypatch):
    base, httpd, _ = server
    monkeypatch.setattr(mnist, "MIRRORS", [base + "good/"])
    with pytest.raises(mnist.MNISTNotFoundError):
        mnist.load("test", data_dir=tmp_path / "target", checksums=table)
    assert httpd.requests == []


def test_download_falls_back_to_next_mirror(tmp_path, table, server, monkeypatch):
    base, httpd, (images, labels) = server
    monkeypatch.setattr(mnist, "MIRRORS", [base + "missing/", base + "good/"])
    target = tmp_path / "target"
    got = mnist.load("test", data_dir=target, download=True, checksums=table)
    np.testing.assert_array_equal(got[0], images)
    np.testing.assert_array_equal(got[1], labels)
    assert sorted(p.name for p in target.iterdir()) == sorted(TEST_FILES)  # no .part left over
    assert len(httpd.requests) == 4
    mnist.load("test", data_dir=target, download=True, checksums=table)
    assert len(httpd.requests) == 4  # present and verified: not fetched again


def test_download_into_cache_when_no_dir_given(table, server):
    base, httpd, (images, _) = server
    folder = mnist.download("test", mirrors=[base + "good/"], checksums=table, progress=False)
    assert folder == mnist.cache_dir()
    np.testing.assert_array_equal(mnist.load("test", checksums=table)[0], images)


@pytest.mark.parametrize("mode, message", [("truncated", "received"), ("wrong", "SHA-256")])
def test_bad_download_leaves_no_file(tmp_path, table, server, mode, message):
    base, httpd, _ = server
    target = tmp_path / "target"
    with pytest.raises(mnist.DownloadError, match=message):
        mnist.download("test", data_dir=target, mirrors=[base + mode + "/"], checksums=table)
    assert list(target.iterdir()) == []


def test_interrupted_download_leaves_no_file(tmp_path, table, server, monkeypatch):
    base, _, _ = server

    class Interrupting:
        def update(self, n):
            raise KeyboardInterrupt

        def close(self):
            pass

    monkeypatch.setattr(mnist, "_progress_bar", lambda *args: Interrupting())
    target = tmp_path / "target"
    with pytest.raises(KeyboardInterrupt):
        mnist.download("test", data_dir=target, mirrors=[base + "good/"], checksums=table)
    assert list(target.iterdir()) == []


def test_download_replaces_a_corrupt_file(tmp_path, table, server, caplog):
    base, _, (images, _) = server
    target = tmp_path / "target"
    target.mkdir()
    (target / TEST_FILES[0]).write_bytes(b"junk")
    with caplog.at_level(logging.INFO, logger=mnist.__name__):
        mnist.download("test", data_dir=target, mirrors=[base + "good/"], checksums=table,
                       progress=False)
    assert "bytes received" in caplog.text  # the logging progress used when progress=False
    np.testing.assert_array_equal(mnist.load("test", data_dir=target, checksums=table)[0], images)


# ---------------------------------------------------------------------------------------------
# The real test split
# ---------------------------------------------------------------------------------------------

@pytest.mark.skipif(REAL_DIR is None, reason="MNIST t10k files not found ($TINYGAN_DATA_DIR or "
                    "../shared/data/mnist)")
def test_real_test_split():
    images, labels = mnist.load("test", data_dir=REAL_DIR)
    assert images.shape == (10000, 28, 28) and labels.shape == (10000,)
    counts = np.bincount(labels, minlength=10)
    assert counts.sum() == 10000 and len(counts) == 10
    assert counts.min() >= 800 and counts.max() <= 1200  # each digit about a tenth
    assert images.min() == 0 and images.max() == 255
    assert 20 < images.mean() < 50  # mostly black background, white strokes
    if not any((REAL_DIR / n).is_file() for n in TRAIN_FILES):
        with pytest.raises(mnist.MNISTNotFoundError, match="test split IS available"):
            mnist.load("train", data_dir=REAL_DIR)
        assert mnist.load_available(REAL_DIR)[2] == "test"
