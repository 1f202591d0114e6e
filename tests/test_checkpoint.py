"""Checkpoints (tinygan/io.py): round trips keep values, dtypes, nesting and metadata; every bad
file is refused with an error naming the problem, without running code or loading half of it;
a crash in the middle of a save leaves the previous checkpoint intact and no temporary file."""
import json
import os
import pickle
import zipfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygan as tg
import tinygan.io as tio
import tinygan.nn as nn
from tinygan.io import CheckpointError
from tinygan.optim import Adam


def mlp():
    return nn.Sequential(nn.Linear(3, 5), nn.LeakyReLU(0.2), nn.Linear(5, 2))


def trained_pair():
    """A small model and its Adam optimizer after two steps (so the optimizer has state)."""
    model = mlp()
    opt = Adam(model.parameters(), lr=1e-2)
    for _ in range(2):
        opt.zero_grad()
        (model(tg.randn(4, 3)) ** 2).mean().backward()
        opt.step()
    return model, opt


def assert_same_arrays(a: dict, b: dict):
    assert list(a) == list(b)
    for k in a:
        assert b[k].dtype == a[k].dtype, k
        assert b[k].shape == a[k].shape, k
        np.testing.assert_array_equal(b[k], a[k])


def write_raw_npz(path, **arrays):
    """An .npz written by NumPy itself (which may pickle object arrays)."""
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def header(**fields):
    """The header of a hand-made file: format version 1, the one without a checksum."""
    base = {"format": tio.FORMAT, "version": 1, "tree": {"dict": []}, "meta": {}}
    base.update(fields)
    base = {k: v for k, v in base.items() if v is not ...}
    return np.frombuffer(json.dumps(base).encode(), dtype=np.uint8)


# ---------------------------------------------------------------- round trips


def test_module_round_trip_restores_outputs(tmp_path):
    model = mlp()
    path = tmp_path / "model.npz"
    tg.save(path, model)
    ckpt = tg.load(path)
    assert isinstance(ckpt, dict) and ckpt.meta == {} and ckpt.version == tio.VERSION
    assert_same_arrays(model.state_dict(), ckpt)
    other = mlp()
    other.load_state_dict(ckpt)
    x = tg.randn(7, 3)
    np.testing.assert_array_equal(other(x).numpy(), model(x).numpy())


def test_file_is_a_plain_npz_with_state_dict_names(tmp_path):
    model = mlp()
    tg.save(tmp_path / "m.npz", model)
    with np.load(tmp_path / "m.npz", allow_pickle=False) as npz:
        assert sorted(npz.files) == sorted([tio.HEADER, *model.state_dict()])
        np.testing.assert_array_equal(npz["0.weight"], model.state_dict()["0.weight"])


def test_nested_states_with_optimizers_round_trip(tmp_path):
    G, opt_g = trained_pair()
    D, opt_d = trained_pair()
    path = tmp_path / "gan.npz"
    tg.save(path, {"G": G, "D": D.state_dict(), "opt_G": opt_g, "opt_D": opt_d.state_dict(),
                   "epoch": 7, "history": [0.5, 0.25], "note": None},
            meta={"lr": 1e-2, "name": "run-1"})
    with np.load(path, allow_pickle=False) as npz:
        assert "G/0.weight" in npz.files and "opt_G/state.0.m" in npz.files
    ckpt = tg.load(path)
    assert list(ckpt) == ["G", "D", "opt_G", "opt_D", "epoch", "history", "note"]
    assert_same_arrays(G.state_dict(), ckpt["G"])
    assert_same_arrays(opt_g.state_dict(), ckpt["opt_G"])
    assert ckpt["epoch"] == 7 and ckpt["history"] == [0.5, 0.25] and ckpt["note"] is None
    assert ckpt.meta == {"lr": 1e-2, "name": "run-1"}
    # training resumes exactly: the restored pair takes the same next step as the original
    G2, opt2 = mlp(), None
    G2.load_state_dict(ckpt["G"])
    opt2 = Adam(G2.parameters(), lr=1e-2)
    opt2.load_state_dict(ckpt["opt_G"])
    x = tg.randn(4, 3)
    for model, opt in ((G, opt_g), (G2, opt2)):
        opt.zero_grad()
        (model(x) ** 2).mean().backward()
        opt.step()
    assert_same_arrays(G.state_dict(), G2.state_dict())


DTYPES = ["float16", "float32", "float64", ">f4", "int8", "uint8", "int32", "int64", "bool",
          "complex64"]


@given(st.dictionaries(
    st.text(st.characters(codec="ascii", exclude_characters="/\x00"), min_size=1, max_size=8),
    st.sampled_from(DTYPES).flatmap(
        lambda dt: hnp.arrays(np.dtype(dt), hnp.array_shapes(min_dims=0, max_dims=3, min_side=0,
                                                             max_side=4))),
    max_size=5))
def test_any_dict_of_arrays_round_trips_exactly(tmp_path_factory, state):
    path = tmp_path_factory.mktemp("rt") / "state.npz"
    tg.save(path, state)
    loaded = tg.load(path)
    assert list(loaded) == list(state)
    for k, a in state.items():
        assert loaded[k].dtype == a.dtype and loaded[k].shape == a.shape
        np.testing.assert_array_equal(loaded[k], a)  # NaNs compare equal here


def test_tensors_lists_tuples_int_keys_and_layouts(tmp_path):
    fortran = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    state = {"t": tg.tensor([1.0, 2.0], dtype=np.float64), "nested": {3: [fortran, (np.int16(5),
             "text", True)]}, "empty": np.zeros((0, 4), np.float32)}
    tg.save(tmp_path / "x.npz", state)
    ckpt = tg.load(tmp_path / "x.npz")
    assert isinstance(ckpt["t"], np.ndarray) and ckpt["t"].dtype == np.float64
    inner = ckpt["nested"][3]
    assert isinstance(inner, list) and isinstance(inner[1], tuple)
    np.testing.assert_array_equal(inner[0], fortran)
    assert inner[1][0].dtype == np.int16 and inner[1][0] == 5 and inner[1][1:] == ("text", True)
    assert ckpt["empty"].shape == (0, 4)
    assert ckpt.state == dict(ckpt) and type(ckpt.state) is dict


def test_meta_round_trips_and_must_be_json(tmp_path):
    meta = {"epoch": 3, "loss": np.float32(0.25), "tags": ["a", "b"], "cfg": {"z": 100},
            "ok": True, "none": None, "unicode": "µ"}
    tg.save(tmp_path / "m.npz", {"w": np.ones(2)}, meta=meta)
    assert tg.load(tmp_path / "m.npz").meta == {**meta, "loss": 0.25}
    with pytest.raises(TypeError, match="meta values must be JSON.*ndarray"):
        tg.save(tmp_path / "bad.npz", {"w": np.ones(2)}, meta={"x": np.ones(3)})
    with pytest.raises(TypeError, match="meta must be a dict"):
        tg.save(tmp_path / "bad.npz", {"w": np.ones(2)}, meta=[1, 2])
    assert not (tmp_path / "bad.npz").exists()


def test_overwrite_replaces_the_file_and_respects_umask(tmp_path):
    path = tmp_path / "c.npz"
    tg.save(path, {"w": np.zeros(3)})
    tg.save(path, {"w": np.ones(3)})
    np.testing.assert_array_equal(tg.load(path)["w"], np.ones(3))
    umask = os.umask(0o022)
    os.umask(umask)
    assert (path.stat().st_mode & 0o777) == 0o666 & ~umask
    assert os.listdir(tmp_path) == ["c.npz"]


# ---------------------------------------------------------------- what save refuses


@pytest.mark.parametrize("state, error, words", [
    ({"x": np.array([{}, 1], dtype=object)}, TypeError, "Python objects"),
    ({"a/b": np.ones(2)}, ValueError, "contain '/'"),
    ({"": np.ones(2)}, ValueError, "cannot be empty"),
    ({(1, 2): np.ones(2)}, TypeError, "keys must be strings"),
    ({"x": {1, 2}}, TypeError, "cannot store set"),
    ({"__tinygan__": np.ones(2)}, ValueError, "cannot be stored under the name"),
    (np.ones(3), TypeError, "takes a Module"),
    ([np.ones(3)], TypeError, "takes a Module"),
])
def test_save_refuses_what_it_cannot_store(tmp_path, state, error, words):
    with pytest.raises(error, match=words):
        tg.save(tmp_path / "c.npz", state)
    assert os.listdir(tmp_path) == []


def test_save_into_a_missing_folder_or_onto_a_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        tg.save(tmp_path / "nope" / "c.npz", {"w": np.ones(2)})
    with pytest.raises(IsADirectoryError, match="it is a folder"):
        tg.save(tmp_path, {"w": np.ones(2)})
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------- atomic writes


def test_crash_mid_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    tg.save(path, {"a": np.zeros(4), "b": np.zeros(4)}, meta={"version": "old"})
    before = path.read_bytes()
    real_write, calls = tio._write_entry, []

    def dies_halfway(zf, name, array):
        calls.append(name)
        if len(calls) == 2:  # the header and one array are written, then the process "dies"
            raise KeyboardInterrupt("simulated crash")
        real_write(zf, name, array)

    monkeypatch.setattr(tio, "_write_entry", dies_halfway)
    with pytest.raises(KeyboardInterrupt):
        tg.save(path, {"a": np.ones(4), "b": np.ones(4)}, meta={"version": "new"})
    assert len(calls) == 2
    assert os.listdir(tmp_path) == ["c.npz"]  # no temporary file left behind
    assert path.read_bytes() == before
    ckpt = tg.load(path)
    assert ckpt.meta == {"version": "old"}
    np.testing.assert_array_equal(ckpt["a"], np.zeros(4))


def test_failed_rename_leaves_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"

    def refuse(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(tio.os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        tg.save(path, {"a": np.ones(2)})
    assert os.listdir(tmp_path) == []


def test_save_fsyncs_before_renaming(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(tio.os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd)))
    monkeypatch.setattr(tio.os, "replace",
                        lambda a, b: (events.append("replace"), real_replace(a, b)))
    tg.save(tmp_path / "c.npz", {"a": np.ones(2)})
    assert events[:2] == ["fsync", "replace"]


# ---------------------------------------------------------------- bad files


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        tg.load(tmp_path / "nope.npz")
    with pytest.raises(IsADirectoryError):
        tg.load(tmp_path)


@pytest.mark.parametrize("content, words", [
    (b"", "empty"),
    (b"hello, I am text\n", "not a zip"),
    (pickle.dumps({"w": [1, 2]}), "pickle"),
    (b"PK\x05\x06" + bytes(18), "without any entries"),
])
def test_not_an_npz(tmp_path, content, words):
    path = tmp_path / "c.npz"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=words):
        tg.load(path)


def test_single_npy_file_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "c.npy"
    np.save(path, np.ones(3))
    with pytest.raises(CheckpointError, match=r"single \.npy array"):
        tg.load(path)


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.999])
def test_truncated_file(tmp_path, keep):
    path = tmp_path / "c.npz"
    tg.save(path, {"G": mlp()}, meta={"epoch": 1})
    data = path.read_bytes()
    path.write_bytes(data[:max(4, int(len(data) * keep))])
    with pytest.raises(CheckpointError, match="truncated or corrupted|cut short"):
        tg.load(path)


def _damage_inside_an_array(path):
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("w.npy")
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 200
    data[start:start + 8] = b"\xff" * 8  # inside the array's values
    path.write_bytes(bytes(data))


def test_corrupted_bytes_are_caught_by_the_file_checksum(tmp_path):
    path = tmp_path / "c.npz"
    tg.save(path, {"w": np.zeros(1000)})
    _damage_inside_an_array(path)
    with pytest.raises(CheckpointError, match="SHA-256 does not match"):
        tg.load(path)


def test_a_version_1_file_is_still_checked_by_the_zip_checksum(tmp_path):
    path = tmp_path / "c.npz"
    tree = {"dict": [["w", {"array": "w"}]]}
    write_raw_npz(path, __tinygan__=header(tree=tree), w=np.zeros(1000))
    assert tg.load(path).version == 1  # loads while intact
    _damage_inside_an_array(path)
    with pytest.raises(CheckpointError, match="'w'.*corrupted"):
        tg.load(path)


class _Payload:
    """Unpickling this would create a folder: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (self.marker,)


def test_pickled_object_arrays_are_refused_without_running_code(tmp_path):
    marker = str(tmp_path / "code_ran")
    path = tmp_path / "evil.npz"
    tree = {"dict": [["w", {"array": "w"}], ["evil", {"array": "evil"}]]}
    write_raw_npz(path, __tinygan__=header(tree=tree), w=np.ones(2),
                  evil=np.array([_Payload(marker)], dtype=object))
    with pytest.raises(CheckpointError, match="'evil' holds pickled Python objects"):
        tg.load(path)
    assert not os.path.exists(marker)


def test_a_whole_pickle_file_is_refused_without_running_code(tmp_path):
    marker = str(tmp_path / "code_ran")
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(CheckpointError, match="never unpickles"):
        tg.load(path)
    assert not os.path.exists(marker)


@pytest.mark.parametrize("make, words", [
    (lambda: None, "no '__tinygan__' entry, so no format version"),
    (lambda: header(version=...), "no format version"),
    (lambda: header(version=3), "format version 3 was written by a newer tinygan"),
    (lambda: header(version=2), "files end in their SHA-256, and this one does not"),
    (lambda: header(version="1"), "not a positive integer"),
    (lambda: header(version=0), "not a positive integer"),
    (lambda: header(format="something-else"), "format is 'something-else'"),
    (lambda: np.frombuffer(b"{not json", dtype=np.uint8), "not valid UTF-8 JSON"),
    (lambda: np.arange(3.0), "1-D uint8 array"),
    (lambda: header(tree={"weird": 1}), "malformed node"),
])
def test_bad_or_missing_format_version(tmp_path, make, words):
    path = tmp_path / "c.npz"
    value = make()
    write_raw_npz(path, **({} if value is None else {"__tinygan__": value}), w=np.ones(2))
    with pytest.raises(CheckpointError, match=words):
        tg.load(path)


def test_header_and_entries_must_agree_and_all_problems_are_listed(tmp_path):
    path = tmp_path / "c.npz"
    tree = {"dict": [["w", {"array": "w"}], ["gone", {"array": "gone"}]]}
    write_raw_npz(path, __tinygan__=header(tree=tree), w=np.ones(2), stray=np.ones(1),
                  evil=np.array([None], dtype=object))
    with pytest.raises(CheckpointError) as info:
        tg.load(path)
    message = str(info.value)
    assert "absent from the file: ['gone']" in message
    assert "does not list: ['stray']" in message  # 'evil' is reported as a pickle instead
    assert "'evil' holds pickled Python objects" in message


# ---------------------------------------------------------------- loading into a module


def test_loading_into_a_module_reports_missing_extra_and_misshapen_keys(tmp_path):
    state = mlp().state_dict()
    state.pop("0.bias")
    state["3.weight"] = np.ones((2, 2), np.float32)
    state["2.weight"] = np.ones((9, 9), np.float32)
    tg.save(tmp_path / "c.npz", state)
    model = mlp()
    before = model.state_dict()
    with pytest.raises(ValueError) as info:
        model.load_state_dict(tg.load(tmp_path / "c.npz"))
    message = str(info.value)
    assert "0.bias" in message and "3.weight" in message and "2.weight" in message
    assert "(9, 9)" in message and "(2, 5)" in message
    assert_same_arrays(before, model.state_dict())  # nothing was changed


def test_loads_into_the_same_torch_module(tmp_path):
    torch = pytest.importorskip("torch")
    model = mlp()
    tg.save(tmp_path / "m.npz", model)
    net = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.LeakyReLU(0.2),
                              torch.nn.Linear(5, 2))
    net.load_state_dict({k: torch.from_numpy(v) for k, v in tg.load(tmp_path / "m.npz").items()})
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_allclose(net(torch.from_numpy(x)).detach().numpy(),
                               model(tg.tensor(x)).numpy(), rtol=1e-5, atol=1e-6)
