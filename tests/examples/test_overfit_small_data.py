"""examples/overfit_small_data.py: the course's sanity check, a captioner overfits 50 training captions.

Settings of CS231n's notebooks: hidden 512, word vectors 256, Adam lr 5e-3, 50 epochs of
batch 25 (100 iterations), lr_decay 0.995 (LSTM) / 0.95 (RNN). Data: 50 random captions of
5 to 12 words over a 40-word vocabulary, each with its own random 512-d feature vector
(``random_caption_data``, COCO format). The example's own data choices are checked at the end.

The LSTM's run with these settings (H=512, W=256, Adam 5e-3, lr_decay 0.995, 100 iterations of 25,
final loss below 0.5) is tests/examples/test_lstm_captioning.py's step 4, on 50 captions of the
built-in data set; it is not run a second time here. The RNN's is, with the notebook's bound 0.1.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from minitorch_cap import CaptioningModel
from minitorch_cap.optim import Adam, ExponentialLR
from minitorch_cap.training import Trainer

from tests.conftest import make_caption_data

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "overfit_small_data.py"


@pytest.mark.parametrize("cell_type, lr_decay, bound", [("rnn", 0.95, 0.1)])
def test_overfits_fifty_captions(cell_type, lr_decay, bound):
    data = make_caption_data(num_train=50, num_val=0, dim=512, vocab_size=40, T=17, seed=231, words=(5, 12))
    model = CaptioningModel(data["word_to_idx"], input_dim=512, wordvec_dim=256, hidden_dim=512,
                            cell_type=cell_type, rng=np.random.default_rng(231))
    optimizer = Adam(model.named_parameters(), lr=5e-3)
    trainer = Trainer(model, data, optimizer, ExponentialLR(optimizer, lr_decay), batch_size=25, num_epochs=50,
                      verbose=False, seed=231, progress=False)
    trainer.train()
    assert len(trainer.loss_history) == 100
    assert trainer.loss_history[0] > 25          # about 9.5 tokens * ln(40)
    assert trainer.loss_history[-1] < bound
    assert optimizer.lr == pytest.approx(5e-3 * lr_decay ** 50)


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("overfit_small_data", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_course_settings(example):
    assert example.LR_DECAY == {"lstm": 0.995, "rnn": 0.95} and example.TARGET == {"lstm": 0.5, "rnn": 0.1}
    assert example.NUM_CAPTIONS == 50


@pytest.mark.parametrize("source", ["random", "shapes"])
def test_fifty_captions_one_image_each(example, source):
    data = example.small_data(source, None, seed=0)
    assert len(data["train_captions"]) == 50
    assert len(np.unique(data["train_image_idxs"])) == 50


def test_missing_coco_folder_is_an_error(example, tmp_path):
    with pytest.raises((FileNotFoundError, OSError, ValueError)):
        example.small_data("random", str(tmp_path / "nowhere"), seed=0)
