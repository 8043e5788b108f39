"""Train the attention captioner on the built-in data set; print held-out accuracy and time.

    python benchmarks/shapes_attention.py --attention dot
    python benchmarks/shapes_attention.py --attention additive --seed 1 --data-seed 1
    python benchmarks/shapes_attention.py --pooled          # the (N, 49) pooled features: one region

What ``minitorch-cap train`` does (Adam, ExponentialLR stepped per epoch, minibatches drawn
by the Trainer, one BLAS thread), with the library's Trainer and its held-out accuracy
(``model_caption_accuracy``: the share of the 500 validation images whose greedy caption
states every colour, shape and relation correctly). Defaults: the settings recommended for
the attention model on this data (region features, ``load_shapes_data(region_features=True)``,
H=128, W=64, batch 50, no penalty), per kind in ``RECOMMENDED``. Measured with them (weight /
data seeds 0/0, 1/1, 2/2): dot 99.6, 99.4, 99.8% in 45-47 s of CPU time; additive 99.8, 99.4,
99.8% in 64 s of CPU time (on a shared 2-core machine at load 5-7: 147-180 s and 278-297 s
of wall time).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

#: Adam's learning rate, its decay per epoch and the epochs, per attention kind.
RECOMMENDED = {"dot": {"lr": 1e-2, "lr_decay": 0.8, "epochs": 10},
               "additive": {"lr": 5e-3, "lr_decay": 0.85, "epochs": 12}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--attention", default="dot", choices=["dot", "additive"])
    parser.add_argument("--attention-reg", type=float, default=0.0)
    parser.add_argument("--hidden-dim", type=int, default=128)
    parser.add_argument("--wordvec-dim", type=int, default=64)
    parser.add_argument("--lr", type=float, help="default: RECOMMENDED[attention]")
    parser.add_argument("--lr-decay", type=float, help="default: RECOMMENDED[attention]")
    parser.add_argument("--epochs", type=int, help="default: RECOMMENDED[attention]")
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--clip-grad-norm", type=float)
    parser.add_argument("--seed", type=int, default=0, help="weights and minibatches")
    parser.add_argument("--data-seed", type=int, default=0)
    parser.add_argument("--pooled", action="store_true", help="pooled (N, 49) features instead of regions")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    for name, value in RECOMMENDED[args.attention].items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    threadpool_limits(args.threads, user_api="blas")

    from minitorch_cap import CaptioningModel, Trainer, load_shapes_data
    from minitorch_cap.evaluation import model_caption_accuracy
    from minitorch_cap.optim import Adam, ExponentialLR

    data = load_shapes_data(seed=args.data_seed, region_features=not args.pooled)
    model = CaptioningModel(data["word_to_idx"], input_dim=data["train_features"].shape[-1],
                            wordvec_dim=args.wordvec_dim, hidden_dim=args.hidden_dim, cell_type="attention",
                            rng=np.random.default_rng(args.seed), attention=args.attention,
                            attention_reg=args.attention_reg)
    optimizer = Adam(model.named_parameters(), lr=args.lr)
    trainer = Trainer(model, data, optimizer, ExponentialLR(optimizer, gamma=args.lr_decay),
                      batch_size=args.batch_size, num_epochs=args.epochs, seed=args.seed, verbose=False,
                      clip_grad_norm=args.clip_grad_norm, metrics={"val_accuracy": model_caption_accuracy})
    print(f"{args.attention} attention, {'pooled' if args.pooled else 'region'} features "
          f"{data['train_features'].shape[1:]}, H={args.hidden_dim} W={args.wordvec_dim}, Adam lr {args.lr:g} "
          f"decay {args.lr_decay} per epoch, {args.epochs} epochs of batch {args.batch_size}, "
          f"penalty {args.attention_reg:g}, seeds {args.seed}/{args.data_seed}")
    started, cpu_started = time.perf_counter(), time.process_time()
    history = trainer.train()
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    for epoch in history["epochs"]:
        print(f"epoch {epoch['epoch']}: train loss {epoch['train_loss']:.3f}, val loss {epoch['val_loss']:.3f}, "
              f"held-out accuracy {100 * epoch['val_accuracy']:.1f}% ({epoch['seconds']:.1f} s)")
    print(f"final held-out accuracy {100 * model_caption_accuracy(trainer.model, data):.1f}% after {seconds:.0f} s "
          f"of training ({cpu_seconds:.0f} s of CPU time; per-epoch accuracy included), load average "
          f"{os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
