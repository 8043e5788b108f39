"""The course's LSTM_Captioning notebook, walked with minitorch_cap (offline, about 10 seconds).

The second captioning notebook of CS231n assignment 3 swaps the vanilla RNN for an LSTM
(gates i, f, o, g). With the library the swap is ``cell_type="lstm"``:

1. the LSTM step and the whole-sequence LSTM against the notebook's printed values;
2. gradient checks of the LSTM and of the whole LSTM ``CaptioningModel``;
3. the captioner's loss with the notebook's weights (expected 9.82445935443);
4. "overfit small data": 50 training captions (one per image) of the built-in shapes data
   set, the notebook's settings (H=512, W=256, Adam 5e-3, lr_decay 0.995, 50 epochs of 25);
   the loss falls below 0.5; a loss-curve PNG;
5. test-time sampling on training and validation images, decoded to words.

Run:  python examples/lstm_captioning.py [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from minitorch_cap import CaptioningModel, check_module, rel_error
from minitorch_cap.data import decode_captions, sample_coco_minibatch
from minitorch_cap.data import load_shapes_data
from minitorch_cap.nn import LSTM
from minitorch_cap.optim import Adam, ExponentialLR
from minitorch_cap.evaluation.plots import plot_loss_curve
from minitorch_cap.training import blas_threads
from minitorch_cap.training import Trainer


def linspace(lo, hi, *shape):
    """The notebook's way of setting weights: evenly spaced values in a given shape."""
    return np.linspace(lo, hi, num=int(np.prod(shape))).reshape(*shape)


def forward_checks() -> None:
    print("== 1. LSTM: step and sequence forward, against the notebook's values")
    N, D, H = 3, 4, 5
    lstm = LSTM(D, H, dtype=np.float64)
    lstm.Wx.data[...], lstm.Wh.data[...], lstm.b.data[...] = linspace(-2.1, 1.3, D, 4 * H), \
        linspace(-0.7, 2.2, H, 4 * H), linspace(0.3, 0.7, 4 * H)
    next_h, next_c = lstm.step(linspace(-0.4, 1.2, N, D), linspace(-0.3, 0.7, N, H), linspace(-0.4, 0.9, N, H))
    expected_h = np.asarray([[0.24635157, 0.28610883, 0.32240467, 0.35525807, 0.38474904],
                             [0.49223563, 0.55611431, 0.61507696, 0.66844003, 0.7159181],
                             [0.56735664, 0.66310127, 0.74419266, 0.80889665, 0.858299]])
    expected_c = np.asarray([[0.32986176, 0.39145139, 0.451556, 0.51014116, 0.56717407],
                             [0.66382255, 0.76674007, 0.87195994, 0.97902709, 1.08751345],
                             [0.74192008, 0.90592151, 1.07717006, 1.25120233, 1.42395676]])
    print(f"   LSTM.step    next_h relative error {rel_error(next_h, expected_h):.2e}, "
          f"next_c {rel_error(next_c, expected_c):.2e}   (notebook: around 1e-8)")

    N, D, H, T = 2, 5, 4, 3
    lstm = LSTM(D, H, dtype=np.float64)
    lstm.Wx.data[...], lstm.Wh.data[...], lstm.b.data[...] = linspace(-0.2, 0.9, D, 4 * H), \
        linspace(-0.3, 0.6, H, 4 * H), linspace(0.2, 0.7, 4 * H)
    h = lstm.forward(linspace(-0.4, 0.6, N, T, D), linspace(-0.4, 0.8, N, H))
    expected = np.asarray([
        [[0.01764008, 0.01823233, 0.01882671, 0.0194232],
         [0.11287491, 0.12146228, 0.13018446, 0.13902939],
         [0.31358768, 0.33338627, 0.35304453, 0.37250975]],
        [[0.45767879, 0.4761092, 0.4936887, 0.51041945],
         [0.6704845, 0.69350089, 0.71486014, 0.7346449],
         [0.81733511, 0.83677871, 0.85403753, 0.86935314]]])
    print(f"   LSTM.forward relative error {rel_error(h, expected):.2e}")


def gradient_checks() -> None:
    print("== 2. gradient checks (float64, extrapolated five-point differences): relative error per tensor (to its gradient scale)")
    rng = np.random.default_rng(0)
    N, T, D, H, W = 2, 3, 4, 5, 6
    lstm = LSTM(D, H, rng=rng)
    checks = [("LSTM", check_module(lstm, rng.standard_normal((N, T, D)), rng.standard_normal((N, H))))]
    word_to_idx = {"<NULL>": 0, "<START>": 1, "<END>": 2, "cat": 3, "dog": 4}
    model = CaptioningModel(word_to_idx, input_dim=D, wordvec_dim=W, hidden_dim=H, cell_type="lstm",
                            dtype=np.float64, rng=rng)
    captions = rng.integers(0, len(word_to_idx), size=(N, T + 1))
    checks.append(("CaptioningModel (lstm)", check_module(model, rng.standard_normal((N, D)), captions)))
    for name, report in checks:
        worst = max(report.errors, key=report.errors.get)
        print(f"   {name:<22} {report.max_error:.1e}  (worst: {worst})")
        report.assert_close(1e-7)
    print("   (Embedding, TemporalAffine and the loss are checked in examples/rnn_captioning.py)")


def course_loss() -> None:
    print("== 3. the captioner's loss with the notebook's weights")
    N, D, W, H = 10, 20, 30, 40
    word_to_idx = {"<NULL>": 0, "cat": 2, "dog": 3}
    model = CaptioningModel(word_to_idx, input_dim=D, wordvec_dim=W, hidden_dim=H, cell_type="lstm",
                            dtype=np.float64)
    for _, p in model.named_parameters():
        p.data[...] = np.linspace(-1.4, 1.3, num=p.size).reshape(p.shape)
    features = linspace(-0.5, 1.7, N, D)
    captions = (np.arange(N * 13) % len(word_to_idx)).reshape(N, 13)
    loss, _ = model.loss(features, captions)
    print(f"   loss {loss:.11f}   expected 9.82445935443   difference {abs(loss - 9.82445935443):.1e}")


def overfit_and_sample(out: Path) -> None:
    print("== 4. overfit 50 training captions of the built-in shapes data set")
    data = load_shapes_data(seed=0, num_train=50, num_val=20)
    small = dict(data)  # one caption per image (each image has five), as the course's 50 captions
    small["train_captions"] = data["train_captions"][::5]
    small["train_image_idxs"] = data["train_image_idxs"][::5]
    model = CaptioningModel(data["word_to_idx"], input_dim=data["train_features"].shape[1], wordvec_dim=256,
                            hidden_dim=512, cell_type="lstm", rng=np.random.default_rng(0))
    optimizer = Adam(model.named_parameters(), lr=5e-3)
    trainer = Trainer(model, small, optimizer, ExponentialLR(optimizer, gamma=0.995), batch_size=25,
                      num_epochs=50, print_every=10, verbose=False, seed=0, progress=False, val_size=0)
    trainer.train()
    for it in range(0, len(trainer.loss_history), 10):
        print(f"   (Iteration {it + 1} / {len(trainer.loss_history)}) loss: {trainer.loss_history[it]:f}")
    print(f"   final loss {trainer.loss_history[-1]:.3f}   (the notebook ends below 0.5)")
    curve = plot_loss_curve(trainer.history, out / "lstm_overfit_loss.png")
    print(f"   loss curve: {curve}")

    print("== 5. test-time sampling (greedy), decoded to words")
    for split in ("train", "val"):
        captions, features, urls = sample_coco_minibatch(small, batch_size=3, split=split,
                                                         rng=np.random.default_rng(1))
        generated = decode_captions(model.sample(features), data["idx_to_word"])
        references = decode_captions(captions, data["idx_to_word"])
        for ref, gen, url in zip(references, generated, urls):
            print(f"   [{split}] {url}\n      generated: {gen}\n      reference: {ref}")
    print("   (the overfit model recites its training captions; on validation images it guesses)")
    print("== next: a captioner that generalises — 'minitorch-cap train' trains an LSTM on the whole built-in\n"
          "   data set and reports the share of fully correct captions on held-out images")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/examples", help="folder for the loss-curve PNG")
    parser.add_argument("--threads", type=int, default=1, help="numpy's BLAS threads (one is fastest for these "
                                                               "small matrices, as the command line's default)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with blas_threads(args.threads):
        forward_checks()
        gradient_checks()
        course_loss()
        overfit_and_sample(out)


if __name__ == "__main__":
    main()
