"""HDF5 checkpoints: round trips, atomic writes under failure, clear errors for damaged or foreign files."""

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest

from minitorch_cap import CaptioningModel
from minitorch_cap.optim import SGD
from minitorch_cap.training import (
    FORMAT_VERSION, CheckpointError, init_from_checkpoint, load_checkpoint, load_model, save_checkpoint,
)
from minitorch_cap.training import checkpoint as checkpoint_module
from minitorch_cap.data.files import remove_stale_temp_files

from tests.conftest import make_caption_data, make_setup

ROOT = Path(__file__).resolve().parents[2]


def trained(data, cell_type="lstm", steps=3, dtype_model=None):
    model, opt, sched = make_setup(data, cell_type=cell_type)
    for _ in range(steps):
        model.loss(data["train_features"][:8], data["train_captions"][:8])
        opt.step()
        sched.step()
    return model, opt, sched


def assert_same_weights(a, b):
    names_a = [n for n, _ in a.named_parameters()]
    assert names_a == [n for n, _ in b.named_parameters()]
    for (name, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        assert p.dtype == q.dtype, name
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)


@pytest.mark.parametrize("cell_type", ["rnn", "lstm", "gru"])
def test_load_model_rebuilds_config_vocabulary_and_weights(data, tmp_path, cell_type):
    model, _, _ = trained(data, cell_type)
    save_checkpoint(tmp_path / "m.h5", model)
    again = load_model(tmp_path / "m.h5")
    assert type(again) is type(model) and again.config() == model.config()
    assert again.word_to_idx == model.word_to_idx and again.idx_to_word == model.idx_to_word
    assert_same_weights(model, again)
    features = data["val_features"][:4]
    np.testing.assert_array_equal(again.sample(features, max_length=6), model.sample(features, max_length=6))


def test_float64_model_round_trips(data, tmp_path):
    model, _, _ = make_setup(data)
    model.to(np.float64)
    save_checkpoint(tmp_path / "m.h5", model)
    again = load_model(tmp_path / "m.h5")
    assert again.dtype == np.float64
    assert_same_weights(model, again)


def test_optimizer_and_schedule_state_round_trip(data, tmp_path):
    model, opt, sched = trained(data)
    save_checkpoint(tmp_path / "m.h5", model, opt, sched, trainer={"epoch": 3, "history": np.arange(4.0),
                                                                    "nested": {"a": [1, 2], "b": None}})
    saved = load_checkpoint(tmp_path / "m.h5")
    assert saved["format_version"] == FORMAT_VERSION
    state = opt.state_dict()
    assert saved["optimizer"]["type"] == "Adam" and saved["optimizer"]["hyperparams"] == state["hyperparams"]
    for name, entry in state["state"].items():
        assert saved["optimizer"]["state"][name]["step"] == entry["step"] == 3
        np.testing.assert_array_equal(saved["optimizer"]["state"][name]["m"], entry["m"])
        np.testing.assert_array_equal(saved["optimizer"]["state"][name]["v"], entry["v"])
    assert saved["scheduler"] == sched.state_dict()
    assert saved["trainer"]["epoch"] == 3 and saved["trainer"]["nested"] == {"a": [1, 2], "b": None}
    np.testing.assert_array_equal(saved["trainer"]["history"], np.arange(4.0))
    # the loaded state drives a fresh optimizer to the same next step
    model2 = load_model(tmp_path / "m.h5")
    opt2 = type(opt)(model2.named_parameters())
    opt2.load_state_dict(saved["optimizer"])
    for m in (model, model2):
        m.loss(data["train_features"][8:16], data["train_captions"][8:16])
    opt.step()
    opt2.step()
    assert_same_weights(model, model2)


def test_checkpoint_without_optional_sections(data, tmp_path):
    model, _, _ = make_setup(data)
    save_checkpoint(tmp_path / "m.h5", model)
    saved = load_checkpoint(tmp_path / "m.h5")
    assert saved["optimizer"] is None and saved["scheduler"] is None and saved["trainer"] is None


def test_no_pickle_inside(data, tmp_path):
    model, opt, sched = trained(data)
    save_checkpoint(tmp_path / "m.h5", model, opt, sched)
    kinds = []
    with h5py.File(tmp_path / "m.h5", "r") as f:
        f.visititems(lambda name, item: kinds.append(item.dtype.kind) if isinstance(item, h5py.Dataset) else None)
    assert set(kinds) <= {"f", "i", "u", "O"}   # numbers, and the vocabulary as UTF-8 strings ('O')
    assert b"pickle" not in (tmp_path / "m.h5").read_bytes()


def test_non_finite_weights_are_never_written(data, tmp_path):
    model, _, _ = make_setup(data)
    save_checkpoint(tmp_path / "m.h5", model)
    before = (tmp_path / "m.h5").read_bytes()
    model.rnn.Wh.data[0, 0] = np.inf
    with pytest.raises(ValueError, match=r"'rnn\.Wh' hold NaN or infinity; refusing"):
        save_checkpoint(tmp_path / "m.h5", model)
    assert (tmp_path / "m.h5").read_bytes() == before


def test_a_failing_rename_keeps_the_previous_checkpoint(data, tmp_path, monkeypatch):
    model, _, _ = make_setup(data)
    save_checkpoint(tmp_path / "m.h5", model)
    model.vocab.b.data += 1.0

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(tmp_path / "m.h5", model)
    monkeypatch.undo()
    np.testing.assert_array_equal(load_model(tmp_path / "m.h5").vocab.b.data, model.vocab.b.data - 1.0)
    assert [p.name for p in tmp_path.iterdir()] == ["m.h5"]      # no temporary file left behind


def test_a_write_failing_midway_keeps_the_previous_checkpoint(data, tmp_path, monkeypatch):
    model, opt, sched = trained(data)
    save_checkpoint(tmp_path / "m.h5", model, opt, sched)
    before = (tmp_path / "m.h5").read_bytes()
    original = h5py.Group.create_dataset
    count = {"n": 0}

    def failing(self, *args, **kwargs):
        count["n"] += 1
        if count["n"] == 5:                      # some weights are already in the temporary file
            raise OSError("I/O error while writing")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(h5py.Group, "create_dataset", failing)
    model.proj.W.data *= 2
    with pytest.raises(OSError, match="I/O error"):
        save_checkpoint(tmp_path / "m.h5", model, opt, sched)
    monkeypatch.undo()
    assert (tmp_path / "m.h5").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.h5"]
    load_checkpoint(tmp_path / "m.h5")


def test_a_process_killed_while_writing_leaves_the_previous_checkpoint_loadable(data, tmp_path):
    model, opt, sched = trained(data)
    save_checkpoint(tmp_path / "m.h5", model, opt, sched)
    expected = load_model(tmp_path / "m.h5")
    # A child process overwrites the checkpoint and is killed (SIGKILL) in the middle of writing its bytes.
    script = textwrap.dedent(f"""
        import os, signal
        from minitorch_cap.training import load_model, save_checkpoint
        model = load_model({str(tmp_path / 'm.h5')!r})
        model.proj.W.data[...] = 0
        original = os.write
        def dying(fd, data):
            original(fd, data[:len(data) // 2])
            os.kill(os.getpid(), signal.SIGKILL)
        os.write = dying
        save_checkpoint({str(tmp_path / 'm.h5')!r}, model)
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == -signal.SIGKILL, result.stderr
    leftovers = sorted(p.name for p in tmp_path.iterdir())
    assert leftovers[0] == ".m.h5.tmp-" + leftovers[0].split("-")[-1] and leftovers[1:] == ["m.h5"]
    assert_same_weights(load_model(tmp_path / "m.h5"), expected)
    # the dead process's temporary file is recognised as stale and removed; live ones are kept
    (tmp_path / f".other.h5.tmp-{os.getpid()}").write_bytes(b"in progress")
    assert remove_stale_temp_files(tmp_path) == [tmp_path / leftovers[0]]
    assert sorted(p.name for p in tmp_path.iterdir()) == [f".other.h5.tmp-{os.getpid()}", "m.h5"]


def test_a_truncated_file_gives_a_clear_error(data, tmp_path):
    model, opt, sched = trained(data)
    save_checkpoint(tmp_path / "m.h5", model, opt, sched)
    raw = (tmp_path / "m.h5").read_bytes()
    for size in (len(raw) // 2, 1000, 10):
        (tmp_path / "cut.h5").write_bytes(raw[:size])
        with pytest.raises(CheckpointError, match=r"cut\.h5 (is not a readable HDF5 checkpoint|is damaged)"):
            load_checkpoint(tmp_path / "cut.h5")
    (tmp_path / "empty.h5").write_bytes(b"")
    with pytest.raises(CheckpointError, match="damaged, truncated or of another kind"):
        load_model(tmp_path / "empty.h5")


def test_corrupted_weights_are_detected_by_the_checksum(data, tmp_path):
    model, _, _ = make_setup(data)
    save_checkpoint(tmp_path / "m.h5", model)
    with h5py.File(tmp_path / "m.h5", "r") as f:
        dataset = f["model/params/rnn.Wx"]
        offset, nbytes = dataset.id.get_chunk_info(0).byte_offset, dataset.id.get_chunk_info(0).size
    raw = bytearray((tmp_path / "m.h5").read_bytes())
    raw[offset + nbytes // 2] ^= 0xFF
    (tmp_path / "m.h5").write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match=r"m\.h5 is damaged"):
        load_model(tmp_path / "m.h5")


def test_foreign_files_give_a_clear_error(tmp_path):
    with h5py.File(tmp_path / "features.h5", "w") as f:
        f["features"] = np.zeros((3, 4))
    with pytest.raises(CheckpointError, match="HDF5 file but not a minitorch_cap checkpoint"):
        load_checkpoint(tmp_path / "features.h5")
    (tmp_path / "notes.txt").write_text("hello\n" * 100)
    with pytest.raises(CheckpointError, match="not a readable HDF5 checkpoint"):
        load_model(tmp_path / "notes.txt")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_model(tmp_path / "missing.h5")


def test_a_newer_format_version_is_refused(data, tmp_path):
    model, _, _ = make_setup(data)
    save_checkpoint(tmp_path / "m.h5", model)
    raw = (tmp_path / "m.h5").read_bytes()
    (tmp_path / "m.h5").write_bytes(checkpoint_module._seal(raw, FORMAT_VERSION + 1))
    with pytest.raises(CheckpointError, match=f"format version {FORMAT_VERSION + 1}; this library reads "
                                              f"versions 1..{FORMAT_VERSION}"):
        load_model(tmp_path / "m.h5")


def test_init_from_checkpoint_copies_weights_only(data, tmp_path):
    source, opt, sched = trained(data)
    save_checkpoint(tmp_path / "m.h5", source, opt, sched)
    model, opt2, _ = make_setup(data, seed=1)
    init_from_checkpoint(model, tmp_path / "m.h5")
    assert_same_weights(model, source)
    assert opt2.state == {}                        # the new optimizer starts fresh
    other = dict(data["word_to_idx"], extra=len(data["word_to_idx"]))
    from minitorch_cap import CaptioningModel
    wrong = CaptioningModel(other, input_dim=12, wordvec_dim=8, hidden_dim=16, cell_type="lstm")
    with pytest.raises(ValueError, match="vocabulary .* differs"):
        init_from_checkpoint(wrong, tmp_path / "m.h5")


def test_init_from_through_the_trainer(data, tmp_path):
    from minitorch_cap.training import Trainer
    source, opt, sched = trained(data)
    save_checkpoint(tmp_path / "m.h5", source)
    model, opt2, _ = make_setup(data, seed=1)
    trainer = Trainer(model, data, opt2, init_from=tmp_path / "m.h5", num_epochs=0, verbose=False)
    assert trainer.config.init_from == str(tmp_path / "m.h5")
    assert_same_weights(model, source)


def test_a_model_the_library_builds_can_be_checkpointed_gapped_ids_included(tmp_path):
    # The course's own example vocabulary has a gap (no id 1, V = 3, 'dog' = 3): the one rule allows it.
    word_to_idx = {"<NULL>": 0, "cat": 2, "dog": 3}
    model = CaptioningModel(word_to_idx, input_dim=4, wordvec_dim=3, hidden_dim=5, rng=np.random.default_rng(0))
    save_checkpoint(tmp_path / "m.h5", model)
    again = load_model(tmp_path / "m.h5")
    assert again.word_to_idx == word_to_idx
    assert_same_weights(again, model)


def test_a_vocabulary_the_models_refuse_is_refused_by_the_checkpoint_too(data, tmp_path):
    model, _, _ = make_setup(data)
    model.word_to_idx = dict(model.word_to_idx, twin=4)     # two words share id 4
    with pytest.raises(ValueError, match="same id 4"):
        save_checkpoint(tmp_path / "m.h5", model)


def test_sgd_without_momentum_has_no_state_to_save(data, tmp_path):
    model, _, _ = make_setup(data)
    opt = SGD(model.named_parameters(), lr=0.1)
    model.loss(data["train_features"][:4], data["train_captions"][:4])
    opt.step()
    save_checkpoint(tmp_path / "m.h5", model, opt)
    saved = load_checkpoint(tmp_path / "m.h5")["optimizer"]
    assert saved["type"] == "SGD" and all(entry == {} for entry in saved["state"].values())
    SGD(model.named_parameters(), lr=1.0).load_state_dict(saved)


# ---------------------------------------------------------------------------- integrity (issue 13)
def write_0_1_0_checkpoint(path, model, optimizer=None, trainer=None):
    """The layout minitorch_cap 0.1.0 wrote (format version 1): plain HDF5, no seal."""
    from minitorch_cap.training.checkpoint import _write_tree
    words = sorted(model.word_to_idx, key=model.word_to_idx.get)       # 0.1.0: the word of each id 0..V-1
    with h5py.File(path, "w", track_order=True) as f:
        f.attrs["format"] = "minitorch_cap.checkpoint"
        f.attrs["format_version"] = 1
        f.attrs["library_version"] = "0.1.0"
        group = f.create_group("model", track_order=True)
        group.attrs["class"] = type(model).__name__
        group.attrs["config"] = json.dumps(model.config())
        group.create_dataset("vocab", data=np.array(words, dtype=object),
                             dtype=h5py.string_dtype("utf-8"))
        _write_tree(group.create_group("params", track_order=True), model.state_dict())
        if optimizer is not None:
            _write_tree(f.create_group("optimizer", track_order=True), optimizer.state_dict())
        if trainer is not None:
            _write_tree(f.create_group("trainer", track_order=True), trainer)


def test_0_1_0_checkpoints_still_load(data, tmp_path):
    model, opt, _ = trained(data)
    write_0_1_0_checkpoint(tmp_path / "old.h5", model, opt, trainer={"epoch": 2})
    assert not (tmp_path / "old.h5").read_bytes().startswith(b"minitorch_cap")
    saved = load_checkpoint(tmp_path / "old.h5")
    assert saved["format_version"] == 1 and saved["library_version"] == "0.1.0" and saved["trainer"] == {"epoch": 2}
    assert_same_weights(load_model(tmp_path / "old.h5"), model)
    # their chunked arrays are still checked by Fletcher-32
    with h5py.File(tmp_path / "old.h5", "r") as f:
        offset = f["model/params/rnn.Wx"].id.get_chunk_info(0).byte_offset
    raw = bytearray((tmp_path / "old.h5").read_bytes())
    raw[offset + 3] ^= 0xFF
    (tmp_path / "old.h5").write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match=r"old\.h5 is damaged"):
        load_model(tmp_path / "old.h5")


def test_a_sealed_file_without_seal_or_with_a_garbled_one_is_refused(data, tmp_path):
    model, _, _ = make_setup(data)
    save_checkpoint(tmp_path / "m.h5", model)
    raw = (tmp_path / "m.h5").read_bytes()
    assert raw.startswith(b"minitorch_cap checkpoint\nformat_version 2\nsize %d\nsha256 " % len(raw))
    (tmp_path / "bad.h5").write_bytes(raw[:100] + b"x" + raw[101:])       # a byte of the zero padding
    with pytest.raises(CheckpointError, match=r"bad\.h5 is damaged: its seal .* is garbled"):
        load_checkpoint(tmp_path / "bad.h5")
    (tmp_path / "bad.h5").write_bytes(raw + b"\0")
    with pytest.raises(CheckpointError, match=r"bad\.h5 is damaged: it holds \d+ bytes, its seal says \d+ "
                                              r"\(bytes added at the end\)"):
        load_checkpoint(tmp_path / "bad.h5")
    (tmp_path / "bad.h5").write_bytes(raw[:-1])
    with pytest.raises(CheckpointError, match=r"\(truncated\)"):
        load_checkpoint(tmp_path / "bad.h5")


def test_a_modified_attribute_is_detected(data, tmp_path):
    """Fletcher-32 covers chunk data only; the seal covers attributes (and everything else) too."""
    model, _, _ = make_setup(data)
    save_checkpoint(tmp_path / "m.h5", model)
    with h5py.File(tmp_path / "m.h5", "a") as f:
        f["model"].attrs["config"] = f["model"].attrs["config"].replace('"hidden_dim": 16', '"hidden_dim": 17')
    with pytest.raises(CheckpointError, match=r"m\.h5 is damaged: (its content does not match the SHA-256"
                                              r"|it holds \d+ bytes, its seal says)"):
        load_model(tmp_path / "m.h5")


def test_absurd_structures_are_refused_before_reading(data, tmp_path):
    """A file whose seal is valid but whose structure is absurd (crafted, or a bug) is bounded before reading."""
    model, _, _ = make_setup(data)

    def huge(f):
        f.attrs["format"], f.attrs["format_version"] = "minitorch_cap.checkpoint", FORMAT_VERSION
        f.create_dataset("model/params/big", shape=(10**6, 10**6), dtype="f8", chunks=(1, 1))

    (tmp_path / "huge.h5").write_bytes(checkpoint_module._sealed_image(huge))
    with pytest.raises(CheckpointError, match=r"huge\.h5 is damaged: dataset '/model/params/big' declares shape"):
        load_checkpoint(tmp_path / "huge.h5")

    def deep(f):
        f.attrs["format"], f.attrs["format_version"] = "minitorch_cap.checkpoint", FORMAT_VERSION
        f.create_group("/".join(["model"] + ["g"] * 12))

    (tmp_path / "deep.h5").write_bytes(checkpoint_module._sealed_image(deep))
    with pytest.raises(CheckpointError, match=r"deep\.h5 is damaged: groups nested deeper than"):
        load_checkpoint(tmp_path / "deep.h5")

    def no_model(f):
        f.attrs["format"], f.attrs["format_version"] = "minitorch_cap.checkpoint", FORMAT_VERSION

    (tmp_path / "empty.h5").write_bytes(checkpoint_module._sealed_image(no_model))
    with pytest.raises(CheckpointError, match=r"empty\.h5 is damaged: reading it failed \(KeyError"):
        load_checkpoint(tmp_path / "empty.h5")


def test_unreadable_files_give_a_checkpoint_error(data, tmp_path, monkeypatch):
    model, _, _ = make_setup(data)
    save_checkpoint(tmp_path / "m.h5", model)

    def failing_open(*args, **kwargs):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr("builtins.open", failing_open)
    with pytest.raises(CheckpointError, match=r"cannot read checkpoint .*m\.h5: Input/output error"):
        load_checkpoint(tmp_path / "m.h5")


FLIP_SCRIPT = r"""
import faulthandler, json, os, sys
import numpy as np
from minitorch_cap import CaptioningModel
from minitorch_cap.optim import Adam, ExponentialLR
from minitorch_cap.training import CheckpointError, Trainer, load_checkpoint
from minitorch_cap.training.restore import model_from_checkpoint
from minitorch_cap.training.synthetic import random_caption_data

folder, step, head = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = random_caption_data(8, 4, input_dim=3, vocab_size=6, T=4, seed=0)
model = CaptioningModel(data["word_to_idx"], input_dim=3, wordvec_dim=2, hidden_dim=2, cell_type="lstm",
                        rng=np.random.default_rng(0))
opt = Adam(model.named_parameters(), lr=1e-2)
Trainer(model, data, opt, ExponentialLR(opt, 0.9), batch_size=4, num_epochs=1, verbose=False, out_dir=folder,
        val_size=2).train()
path = os.path.join(folder, "checkpoint.h5")
raw = open(path, "rb").read()

def canon(x):
    if isinstance(x, dict): return {k: canon(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)): return [canon(v) for v in x]
    if isinstance(x, (np.ndarray, np.generic)): return (str(x.dtype), np.shape(x), x.tobytes())
    return (type(x).__name__, repr(x))

reference = canon(load_checkpoint(path))
counts = {"size": len(raw), "flipped": 0, "error": 0, "same": 0, "different": 0, "raw": 0, "raw_examples": []}
offsets = sorted(set(range(0, len(raw), step)) | set(range(min(head, len(raw)))))
fd = os.open(path, os.O_WRONLY)
for offset in offsets:
    os.pwrite(fd, bytes([raw[offset] ^ 0xFF]), offset)
    faulthandler.dump_traceback_later(20, exit=True)     # a hang ends the child: the test sees it
    try:
        loaded = load_checkpoint(path)
        model_from_checkpoint(loaded, path)
        counts["same" if canon(loaded) == reference else "different"] += 1
    except CheckpointError as exc:
        counts["error"] += path in str(exc)
    except Exception as exc:
        counts["raw"] += 1
        counts["raw_examples"].append(f"{offset}: {type(exc).__name__}: {exc}"[:200])
    faulthandler.cancel_dump_traceback_later()
    os.pwrite(fd, bytes([raw[offset]]), offset)
    counts["flipped"] += 1
print(json.dumps(counts))
"""


def test_every_flipped_byte_is_detected(tmp_path):
    """Fault injection: XOR 0xFF into one byte at a time of a small resumable checkpoint (model, Adam,
    schedule, trainer state; ~79 KB) -- every 3rd byte, plus every byte of the first 2 KB (seal,
    superblock, root objects) -- in a child process, each load under a 20 s watchdog. Every copy must
    raise CheckpointError naming the file: no silent load (same or different), no raw exception, no hang.
    (All 78,916 offsets pass as well: ~40 s, too slow for every run.)"""
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1")
    result = subprocess.run([sys.executable, "-c", FLIP_SCRIPT, str(tmp_path), "3", "2048"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"a load hung or the child crashed:\n{result.stderr[-3000:]}"
    counts = json.loads(result.stdout.strip().splitlines()[-1])
    assert counts["flipped"] > counts["size"] // 3 > 10_000
    assert counts["raw"] == 0, counts["raw_examples"]
    assert (counts["same"], counts["different"]) == (0, 0)
    assert counts["error"] == counts["flipped"]


@pytest.mark.parametrize("code, why", [(errno.ENOSPC, "no space left on the device"),
                                       (errno.EIO, r"an input/output error occurred \(a failing disk or network file system\?\)"),
                                       (errno.EROFS, "the file system is read-only")])
def test_a_full_or_failing_disk_gives_one_clear_error_and_keeps_the_previous_file(data, tmp_path, monkeypatch,
                                                                                    code, why):
    from minitorch_cap.data.files import WriteError, write_json
    model, opt, sched = trained(data)
    save_checkpoint(tmp_path / "m.h5", model, opt, sched)
    before = (tmp_path / "m.h5").read_bytes()
    real_write, calls = os.write, []

    def full_disk(fd, chunk):                      # the first bytes fit, then the disk is full
        calls.append(len(chunk))
        if len(calls) > 1 or code != errno.ENOSPC:
            raise OSError(code, os.strerror(code))
        return real_write(fd, chunk[:1000])

    monkeypatch.setattr(os, "write", full_disk)
    model.proj.W.data *= 2
    with pytest.raises(WriteError, match=rf"cannot write m\.h5 in '{tmp_path}': {why}; the previous m\.h5 is "
                                         r"intact and no temporary file was left") as info:
        save_checkpoint(tmp_path / "m.h5", model, opt, sched)
    assert isinstance(info.value, OSError) and info.value.errno == code
    with pytest.raises(WriteError, match=rf"cannot write history\.json in '{tmp_path}': {why}; no history\.json "
                                         "was written"):
        write_json(tmp_path / "history.json", {"a": 1})
    monkeypatch.undo()
    assert (tmp_path / "m.h5").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.h5"]


def test_a_read_only_folder_gives_one_clear_error(data, tmp_path, monkeypatch):
    from minitorch_cap.data.files import WriteError
    model, _, _ = make_setup(data)
    real_open = os.open

    def read_only(path, flags, *args):
        if flags & os.O_CREAT:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), path)
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", read_only)
    with pytest.raises(WriteError, match=r"cannot write m\.h5 in .*: the file system is read-only; no m\.h5 was "
                                         r"written"):
        save_checkpoint(tmp_path / "m.h5", model)
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_reading_an_unsealed_file_is_bounded_in_time(data, tmp_path, monkeypatch):
    """HDF5 can loop forever on a damaged 0.1.0 file; it reads such files in a child process with a timeout."""
    model, _, _ = make_setup(data)
    write_0_1_0_checkpoint(tmp_path / "old.h5", model)
    monkeypatch.setattr(checkpoint_module, "_REWRITE", "import time; time.sleep(30)")   # a looping HDF5
    monkeypatch.setattr(checkpoint_module, "UNSEALED_READ_TIMEOUT", 0.5)
    with pytest.raises(CheckpointError, match=r"old\.h5 is damaged: HDF5 did not finish reading it within 0\.5 s"):
        load_checkpoint(tmp_path / "old.h5")


def test_save_checkpoint_names_a_wrong_kind_of_object(tmp_path):
    """A layer for a model, a string for an optimizer: a TypeError naming the argument (a raw
    AttributeError from inside before), and no file."""
    from minitorch_cap.nn import Affine

    model, _, _ = make_setup(make_caption_data())
    with pytest.raises(TypeError, match="model must be a captioner .*, got Affine"):
        save_checkpoint(tmp_path / "a.h5", Affine(2, 2))
    with pytest.raises(TypeError, match="optimizer must be a minitorch_cap.optim optimizer .*, got str"):
        save_checkpoint(tmp_path / "b.h5", model, "adam")
    assert not any(tmp_path.iterdir())
