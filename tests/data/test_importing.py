"""import_captions: your captions JSON + features (.npy / HDF5 / array) -> load_coco_data round trip."""

import json

import h5py
import numpy as np
import pytest

from minitorch_cap.data import Vocabulary, decode_captions, import_captions, load_coco_data

ENTRIES = [
    {"split": "train", "url": "http://x/0.jpg", "captions": ["A dog runs.", "A brown dog"]},
    {"split": "val", "url": "http://x/1.jpg", "captions": ["A zebra runs"]},
    {"split": "train", "url": "http://x/2.jpg", "captions": ["A cat sleeps"]},
    {"split": "val", "captions": ["A dog sleeps"]},
]


def _features(n=4, d=5):
    return np.arange(n * d, dtype=np.float32).reshape(n, d) / 10


@pytest.mark.parametrize("kind", ["npy", "h5", "array"])
def test_round_trip(tmp_path, kind):
    feats = _features()
    captions = tmp_path / "captions.json"
    captions.write_text(json.dumps({"images": ENTRIES}))
    if kind == "npy":
        source = tmp_path / "f.npy"
        np.save(source, feats)
    elif kind == "h5":
        source = tmp_path / "f.h5"
        with h5py.File(source, "w") as f:
            f["feats"] = feats
    else:
        source = feats
    out = tmp_path / "coco"
    report = import_captions(out, captions, source, features_key="feats", max_length=6)
    assert report["train"] == {"images": 2, "captions": 3, "unk_rate": 0.0, "truncated": 0, "dropped_captions": 0,
                               "dropped_examples": []}
    assert report["val"]["images"] == 2 and report["val"]["unk_rate"] == pytest.approx(1 / 6)

    data = load_coco_data(out, pca_features=False)
    np.testing.assert_array_equal(data["train_features"], feats[[0, 2]])
    np.testing.assert_array_equal(data["val_features"], feats[[1, 3]])
    assert list(data["train_image_idxs"]) == [0, 0, 1] and list(data["val_image_idxs"]) == [0, 1]
    assert decode_captions(data["train_captions"], data["idx_to_word"]) == [
        "<START> a dog runs <END>", "<START> a brown dog <END>", "<START> a cat sleeps <END>"]
    assert decode_captions(data["val_captions"][0], data["idx_to_word"]) == "<START> a <UNK> runs <END>"
    assert list(data["val_urls"]) == ["http://x/1.jpg", "image-3"]
    assert "zebra" not in data["word_to_idx"]                 # vocabulary from the training split only
    assert Vocabulary.load(out / "coco2014_vocab.json").idx_to_word == data["idx_to_word"]


def test_pca_name_and_refusal_to_overwrite(tmp_path):
    import_captions(tmp_path, ENTRIES, _features(), pca_features=True)
    assert load_coco_data(tmp_path)["train_features"].shape == (2, 5)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        import_captions(tmp_path, ENTRIES, _features(), pca_features=True)
    import_captions(tmp_path, ENTRIES, _features() + 1, pca_features=True, overwrite=True)
    assert load_coco_data(tmp_path)["train_features"][0, 0] == pytest.approx(1.0)


@pytest.mark.parametrize("entries,match", [
    ([{"split": "test", "captions": ["a"]}], "'split' must be"),
    ([{"split": "train", "captions": []}], "non-empty list"),
    ([{"split": "train", "captions": "a dog"}], "non-empty list"),
    ([{"split": "train", "captions": ["a"]}] * 4, "no image in the 'val' split"),
    ({"imgs": []}, "must be"),
])
def test_bad_captions(tmp_path, entries, match):
    with pytest.raises(ValueError, match=match):
        import_captions(tmp_path / "o", entries, _features(len(entries) if isinstance(entries, list) else 1))


def test_bad_features(tmp_path):
    with pytest.raises(ValueError, match="3 rows but the captions list 4 images"):
        import_captions(tmp_path / "o", ENTRIES, _features(3))
    with pytest.raises(ValueError, match="floating-point"):
        import_captions(tmp_path / "o", ENTRIES, np.zeros((4, 2), np.int64))
    bad = _features()
    bad[3, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        import_captions(tmp_path / "o", ENTRIES, bad)
    with pytest.raises(FileNotFoundError, match="missing.npy"):
        import_captions(tmp_path / "o", ENTRIES, tmp_path / "missing.npy")
    with h5py.File(tmp_path / "f.h5", "w") as f:
        f["other"] = _features()
    with pytest.raises(KeyError, match="'features'"):
        import_captions(tmp_path / "o", ENTRIES, tmp_path / "f.h5")
    with pytest.raises(FileNotFoundError, match="no captions file"):
        import_captions(tmp_path / "o", tmp_path / "none.json", _features())


@pytest.mark.parametrize("case", ["nan", "max_length"])
def test_nothing_appears_on_error_and_a_retry_works(tmp_path, case):
    """Issue 13: a failing import writes nothing (no captions file, vocabulary or features) and leaves no
    temporary folder, so the retry with the mistake fixed succeeds."""
    feats, max_length = _features(), 6
    if case == "nan":
        feats = feats.copy()
        feats[2, 1] = np.nan
    else:
        max_length = 2
    match = (r"features of image entry 2 \(row 2 of the features\) hold NaN" if case == "nan"
             else "max_length")
    with pytest.raises(ValueError, match=match):
        import_captions(tmp_path / "coco", ENTRIES, feats, max_length=max_length)
    assert list(tmp_path.iterdir()) == []
    import_captions(tmp_path / "coco", ENTRIES, _features(), max_length=6)
    assert load_coco_data(tmp_path / "coco", pca_features=False)["train_features"].shape == (2, 5)
    assert [p.name for p in tmp_path.iterdir()] == ["coco"]


def test_an_existing_folder_keeps_its_files_on_error(tmp_path):
    import_captions(tmp_path, ENTRIES, _features())
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    bad = _features()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or infinity"):
        import_captions(tmp_path, ENTRIES, bad, overwrite=True)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_captions_file_in_another_encoding_is_named(tmp_path):
    path = tmp_path / "captions.json"
    path.write_bytes(json.dumps({"images": [{**e, "captions": ["Un caf\u00e9 cr\u00e8me"]} for e in ENTRIES]},
                                ensure_ascii=False).encode("latin-1"))
    with pytest.raises(ValueError, match=r"import_captions: '.*captions\.json' is not UTF-8 text"):
        import_captions(tmp_path / "coco", path, _features())
    assert not (tmp_path / "coco").exists()


def test_a_caption_without_a_word_is_left_out_and_reported(tmp_path):
    """Issue 14: "!!!" became an empty <START> <END> caption that no report mentioned."""
    import numpy as np

    from minitorch_cap import load_coco_data
    from minitorch_cap.data import import_captions

    entries = [{"split": "train", "captions": ["a cat on a mat", "!!!"]},
               {"split": "train", "captions": ["a dog"]}, {"split": "val", "captions": ["a cat", "..."]}]
    report = import_captions(tmp_path / "d", {"images": entries}, np.ones((3, 4), dtype=np.float32))
    assert report["train"]["dropped_captions"] == 1 and report["train"]["dropped_examples"] == ["!!!"]
    assert report["val"]["dropped_captions"] == 1 and report["train"]["captions"] == 2
    data = load_coco_data(tmp_path / "d", pca_features=False)
    assert ((data["train_captions"] != 0).sum(axis=1) > 2).all()       # every caption holds a word
    with pytest.raises(ValueError, match="image entry 0: no caption holds a word"):
        import_captions(tmp_path / "e", [{"split": "train", "captions": ["?!"]}, entries[2]], np.ones((2, 4)))
    assert not (tmp_path / "e").exists()


def test_a_killed_imports_staging_folder_is_removed_by_the_next_import(tmp_path):
    """Issue 13: a killed import_captions left its .NAME.tmp-PID folder behind for ever."""
    import subprocess
    import sys

    import numpy as np

    from minitorch_cap.data import import_captions

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".d.tmp-{int(dead.stdout)}"
    stale.mkdir()
    (stale / "coco2014_vocab.json").write_text("{}")
    other = tmp_path / f".other.tmp-{int(dead.stdout)}"          # another target's: not ours to remove
    other.mkdir()
    entries = [{"split": "train", "captions": ["a cat"]}, {"split": "val", "captions": ["a dog"]}]
    import_captions(tmp_path / "d", entries, np.ones((2, 3)))
    assert not stale.exists() and other.exists() and (tmp_path / "d" / "coco2014_vocab.json").is_file()


@pytest.mark.parametrize("first_pca, second_pca", [(True, False), (False, True)])
def test_an_overwrite_leaves_no_file_of_the_earlier_import(tmp_path, first_pca, second_pca):
    """Issue 24: a re-import with overwrite=True kept the old *_pca.h5, which load_coco_data (PCA by default)
    and `train --data-dir` (the PCA features when present) then read with the new captions, silently."""
    from minitorch_cap.data.spec import DataSpec

    (tmp_path / "notes.txt").write_text("not a file of the layout")
    import_captions(tmp_path, ENTRIES, _features(), pca_features=first_pca)
    import_captions(tmp_path, ENTRIES, _features() + 100, pca_features=second_pca, overwrite=True)
    suffix = "_pca" if second_pca else ""
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([
        "coco2014_captions.h5", "coco2014_vocab.json", f"train2014_vgg16_fc7{suffix}.h5",
        f"val2014_vgg16_fc7{suffix}.h5", "train2014_urls.txt", "val2014_urls.txt", "notes.txt"])
    assert DataSpec(data_dir=tmp_path).load()["train_features"].min() >= 100         # the new features only
    assert load_coco_data(tmp_path)["train_features"].min() >= 100                    # the loader's own default too
    if not second_pca:
        with pytest.raises(FileNotFoundError, match=r"train2014_vgg16_fc7\.h5 is there: pass pca_features=False"):
            load_coco_data(tmp_path, pca_features=True)                                # refused, not the old ones


def test_a_folder_holding_either_kind_of_features_is_not_overwritten_silently(tmp_path):
    import_captions(tmp_path, ENTRIES, _features(), pca_features=True)
    with pytest.raises(FileExistsError, match=r"already holds .*train2014_vgg16_fc7_pca\.h5"):
        import_captions(tmp_path, ENTRIES, _features(), pca_features=False)


@pytest.mark.parametrize("url", ["http://x/a\rb.jpg", "http://x/a\nb.jpg", "http://x/a\r\n", "http://x/\u2028.jpg",
                                 " http://x/a.jpg", "http://x/a.jpg\t", 7])
def test_a_url_that_would_not_read_back_as_one_line_is_refused(tmp_path, url):
    """Issue 24: a URL holding \\r was written, and load_coco_data then refused the folder over its row counts."""
    entries = [dict(ENTRIES[0], url=url), *ENTRIES[1:]]
    with pytest.raises(ValueError, match=r"image entry 0: 'url' .*(line break|must be a string)"):
        import_captions(tmp_path / "coco", entries, _features())
    assert not (tmp_path / "coco").exists()


def test_urls_read_back_as_written(tmp_path):
    urls = ["http://x/caf\u00e9.jpg", "", "file:///a b/c.jpg", "http://x/3.jpg"]
    entries = [dict(e, url=u) for e, u in zip(ENTRIES, urls)]
    import_captions(tmp_path, entries, _features())
    data = load_coco_data(tmp_path, pca_features=False)
    assert list(data["train_urls"]) == [urls[0], urls[2]] and list(data["val_urls"]) == [urls[1], urls[3]]


def test_a_url_file_is_split_at_newlines_only(tmp_path):
    """A folder written before the rule (a URL holding \\r) loads with one URL per line; \\r\\n endings too."""
    import_captions(tmp_path, ENTRIES, _features())
    (tmp_path / "train2014_urls.txt").write_bytes(b"http://x/a\rb.jpg\r\nhttp://x/2.jpg\r\n")
    assert list(load_coco_data(tmp_path, pca_features=False)["train_urls"]) == ["http://x/a\rb.jpg", "http://x/2.jpg"]


def test_a_full_disk_gives_one_write_error_naming_the_folder(tmp_path, monkeypatch):
    import errno

    from minitorch_cap.data import files

    import_captions(tmp_path / "coco", ENTRIES, _features())
    before = {p.name: p.read_bytes() for p in (tmp_path / "coco").iterdir()}
    real = files.atomic_write_bytes

    def full(path, data):
        if str(path).endswith("urls.txt"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, data)

    monkeypatch.setattr(files, "atomic_write_bytes", full)
    for target, kept in ((tmp_path / "coco", "its previous files are intact"), (tmp_path / "new", "nothing was written")):
        with pytest.raises(files.WriteError, match=rf"^import_captions: cannot write the folder '{target}': no space "
                                                   rf"left on the device; {kept}$") as info:
            import_captions(target, ENTRIES, _features() + 1, overwrite=True)
        assert info.value.errno == errno.ENOSPC
    assert {p.name: p.read_bytes() for p in (tmp_path / "coco").iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["coco"]          # no staging folder left
