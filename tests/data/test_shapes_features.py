"""The object-centric extractor: from pixels alone it finds the generator's objects, in spatial order."""

import numpy as np
import pytest

from minitorch_cap.data import extract_features, load_shapes_data
from minitorch_cap.data.shapes import BASE_COLOURS, COLOUR_JITTER
from minitorch_cap.data.shapes_features import FEATURE_DIM, FEATURE_NAMES

col = FEATURE_NAMES.index


@pytest.fixture(scope="module")
def data():
    return load_shapes_data(seed=5, num_train=300, num_val=10)


def test_segmentation_recovers_every_object_in_order(data):
    S = data["train_images"].shape[1]
    for f, a in zip(data["train_features"], data["train_attributes"]):
        objs = a["objects"]
        assert f[col("slot1_present")] == 1 and f[col("slot2_present")] == (len(objs) == 2)
        assert f[col("cut_vertical")] == (a["relation"] == "left of")
        assert f[col("cut_horizontal")] == (a["relation"] == "above")
        for k, o in enumerate(objs, start=1):
            mean = (np.array([f[col(f"slot{k}_mean_{c}")] for c in "rgb"]) + 1) / 2 * 255
            assert np.abs(mean - BASE_COLOURS[o["colour"]]).max() <= COLOUR_JITTER + 12
            # the centroid is the shape's centre up to the triangle's offset (its point is up)
            x, y = ((f[col(f"slot{k}_x")] + 1) / 2 * S, (f[col(f"slot{k}_y")] + 1) / 2 * S)
            assert abs(x - o["x"]) < 1.5 and abs(y - o["y"]) < 3
        if len(objs) == 1:
            assert not f[col("slot2_present"):col("slot2_eta12") + 1].any()


def test_shape_descriptors_separate_the_shapes(data):
    fill = {}
    for f, a in zip(data["train_features"], data["train_attributes"]):
        fill.setdefault(a["objects"][0]["shape"], []).append((f[col("slot1_fill")], f[col("slot1_eta03")]))
    fill = {k: np.array(v) for k, v in fill.items()}
    assert fill["square"][:, 0].min() > fill["circle"][:, 0].max() > fill["diamond"][:, 0].max()
    assert fill["triangle"][:, 1].max() < fill["diamond"][:, 1].min()     # the point breaks the symmetry


def test_translation_leaves_shape_descriptors_unchanged(data):
    image = data["train_images"][0]
    shifted = np.zeros_like(image)
    shifted[2:, 3:] = image[:-2, :-3]
    a, b = extract_features(np.stack([image, shifted]))
    shape_cols = [col(f"slot1_{n}") for n in ("size", "fill", "compactness", "eta20", "eta02", "eta30", "eta03")]
    np.testing.assert_allclose(a[shape_cols], b[shape_cols], atol=1e-5)


def test_output_and_bad_input(data):
    f = extract_features(data["val_images"])
    assert f.dtype == np.float32 and f.shape == (10, FEATURE_DIM) and np.isfinite(f).all()
    np.testing.assert_array_equal(f, data["val_features"])
    np.testing.assert_array_equal(extract_features(np.zeros((2, 24, 24, 3), np.uint8)), 0)
    with pytest.raises(ValueError, match="uint8"):
        extract_features(np.zeros((2, 24, 24, 3), np.float32))
    with pytest.raises(ValueError, match=r"\(N, S, S, 3\)"):
        extract_features(np.zeros((24, 24, 3), np.uint8))
