"""Your own captions and features: import them, train on them, caption with the result.

A runnable version of the README's "COCO and your own data" block. It writes a tiny
captions JSON (the layout ``import_captions`` reads) and a feature array of its own, so it
needs no download; replace them with yours:

    python examples/own_data.py                 # writes into own_data_output/
    python examples/own_data.py --out /tmp/x

captions.json:  {"images": [{"split": "train", "url": "...", "captions": ["A cat.", ...]}, ...]}
features.npy:   (number of images, D) floats, one row per image entry, in the same order.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from minitorch_cap.cli import main as minitorch_cap_command
from minitorch_cap.data import import_captions

ANIMALS, PLACES = ("cat", "dog", "horse", "bird"), ("on a mat", "in the grass", "on a sofa", "by a window")


def write_sources(folder: Path, rng: np.random.Generator) -> tuple[Path, Path]:
    """A captions JSON and a features.npy whose features say which animal and place each image shows."""
    entries, features = [], []
    for i in range(120):
        a, p = rng.integers(len(ANIMALS)), rng.integers(len(PLACES))
        captions = [f"A {ANIMALS[a]} {PLACES[p]}.", f"There is a {ANIMALS[a]} {PLACES[p]}!",
                    f"a {ANIMALS[a]}’s picture, {PLACES[p]}"]          # typographic apostrophe: one spelling
        entries.append({"split": "train" if i < 100 else "val", "url": f"https://example.org/{i}.jpg",
                        "captions": captions})
        features.append(np.concatenate([np.eye(4)[a], np.eye(4)[p], rng.normal(0, 0.1, 8)]))
    (folder / "captions.json").write_text(json.dumps({"images": entries}, ensure_ascii=False), encoding="utf-8")
    np.save(folder / "features.npy", np.asarray(features, dtype=np.float32))
    return folder / "captions.json", folder / "features.npy"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="own_data_output", help="folder for the sources, the data and the run")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    captions, features = write_sources(out, np.random.default_rng(0))

    # 1. Import: the course's directory layout (vocabulary from the training captions only).
    report = import_captions(out / "my_data", captions, features, min_count=1)
    print(f"imported: {report['vocab_size']} words, {report['train']['captions']} training captions, "
          f"<UNK> rate on val {report['val']['unk_rate']:.3f}")

    # 2. Train with the command line (the same as `minitorch-cap train --data-dir ...`): no
    #    --no-pca needed, the full features are found; the run records its data, so
    #    `sample` and `evaluate` need no data option either.
    run = out / "run"
    code = minitorch_cap_command(["train", "--data-dir", str(out / "my_data"), "--epochs", "15",
                                  "--batch-size", "50", "--hidden-dim", "64", "--wordvec-dim", "32",
                                  "--out", str(run), "--overwrite", "--no-progress", "--quiet"])
    if code:
        return code
    # 3. Caption the validation images with the checkpoint.
    return minitorch_cap_command(["sample", str(run / "checkpoint.h5"), "--print", "3", "--num-images", "5"])


if __name__ == "__main__":
    raise SystemExit(main())
