"""``minitorch-cap train``: train a captioner and write its checkpoint, history and pictures."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from ..data import DEFAULT_TRAINING
from .common import (UserError, add_command, add_data_options, add_threads_option, caption_report, check_compatible,
                     command_line, data_options_argv, data_source, describe_model, is_builtin, load_checkpoint_model,
                     load_data, model_label,
                     non_negative_int, output_folder, plural, positive_float, positive_int, unit_float, user_errors,
                     write_caption_outputs)

#: Settings used when an option is not given: on the built-in data, its recommended ones
#: (``minitorch_cap.data.DEFAULT_TRAINING``: >= 90% fully correct held-out captions in
#: under a minute on two cores); on COCO, the course's.
BUILTIN_DEFAULTS = {"cell": DEFAULT_TRAINING["cell_type"], "epochs": DEFAULT_TRAINING["num_epochs"],
                    "batch_size": DEFAULT_TRAINING["batch_size"], "lr": DEFAULT_TRAINING["learning_rate"],
                    "lr_decay": DEFAULT_TRAINING["lr_decay"], "hidden_dim": DEFAULT_TRAINING["hidden_dim"],
                    "wordvec_dim": DEFAULT_TRAINING["wordvec_dim"]}
COCO_DEFAULTS = {"cell": "lstm", "epochs": 1, "batch_size": 100, "lr": 5e-3, "lr_decay": 0.95,
                 "hidden_dim": 512, "wordvec_dim": 256}

DESCRIPTION = """\
Train an image captioner (image features -> RNN/LSTM/GRU -> words) with Adam.

By default it trains an LSTM on the built-in shapes data set (generated in seconds, no
download) with the data set's recommended settings: under a minute on two
cores, and at least 90% of held-out images captioned fully correctly. With --data-dir
it trains on the CS231n COCO files instead.

It writes into --out (default: runs/shapes-CELL, or runs/coco-CELL with --data-dir,
with -2, -3, ... appended when that folder already holds a run). An --out that already
holds another run is refused unless --overwrite is given; --resume without --out
continues in the checkpoint's own folder.
  checkpoint.h5    weights, vocabulary, configuration, optimizer state, written after
                   every epoch (for 'sample', 'evaluate', 'summary' and --resume)
  best.h5          the same for the epoch with the lowest validation loss
  history.json     the loss of every iteration and the validation loss of every epoch
  loss.png         the loss curves
  captions.png     built-in data: validation images with the generated caption (green
                   and checked when it states every colour, shape and relation right, red
                   when not) and two reference captions
  captions.html    COCO: validation image URLs with generated and reference captions
  captions.json    every captioned validation image, generated and reference captions
  metrics.json     final training and validation loss and, on the built-in data, the
                   held-out accuracy (share of fully correct captions), also printed
"""

EPILOG = """\
examples:
  minitorch-cap train                                   the main job (built-in data, LSTM)
  minitorch-cap train --cell rnn --out runs/shapes-rnn  a vanilla RNN instead
  minitorch-cap train --model transformer --region-features   the course's Transformer, attending over the objects
  minitorch-cap train --epochs 3 --no-progress          shorter, without the progress bar
  minitorch-cap train --data-dir datasets/coco_captioning --max-train 50000 --epochs 2
  minitorch-cap train --resume runs/shapes-lstm/checkpoint.h5 --epochs 20
  minitorch-cap train --out runs/shapes-lstm --overwrite  replace the run in runs/shapes-lstm

defaults marked "built-in/COCO" differ between the two kinds of data:
  built-in: {builtin}
  COCO:     {coco}
""".format(builtin=", ".join(f"{k}={v}" for k, v in BUILTIN_DEFAULTS.items()),
           coco=", ".join(f"{k}={v}" for k, v in COCO_DEFAULTS.items()))


#: ``--model transformer`` settings when not given, replacing the recurrent ones above. Built-in
#: data (with --region-features): 99.8% held-out accuracy for weight/data seeds 0 and 1, in
#: 5 and 10 epochs (about 7 s each on two idle cores); COCO: the course's model and solver.
TRANSFORMER_BUILTIN = {"num_heads": 4, "num_layers": 2, "dim_feedforward": 256, "dropout": 0.0,
                       "wordvec_dim": 64, "lr": 1e-3, "epochs": 10, "lr_decay": 0.85}
TRANSFORMER_COCO = {"num_heads": 4, "num_layers": 2, "dim_feedforward": 2048, "dropout": 0.1,
                    "wordvec_dim": 256, "lr": 1e-3, "epochs": 1, "lr_decay": 1.0}


def add_model_options(group) -> None:
    """--model, --cell, --hidden-dim, --wordvec-dim, --num-heads, --num-layers, --dim-feedforward
    (default None: the data's defaults below), for train and summary."""
    b, c = BUILTIN_DEFAULTS, COCO_DEFAULTS
    t, tc = TRANSFORMER_BUILTIN, TRANSFORMER_COCO
    group.add_argument("--model", choices=("recurrent", "transformer"), default="recurrent",
                       help="recurrent captioner (--cell) or the course's Transformer decoder (default: recurrent; "
                            "on the built-in data add --region-features so it attends over the objects). "
                            "Transformer defaults (built-in/COCO): " + ", ".join(
                                f"{k}={t[k]}/{tc[k]}" for k in ("wordvec_dim", "lr", "epochs", "lr_decay")))
    group.add_argument("--num-heads", metavar="HEADS", type=positive_int, default=None,
                       help=f"--model transformer: attention heads (default: {t['num_heads']})")
    group.add_argument("--num-layers", metavar="L", type=positive_int, default=None,
                       help=f"--model transformer: decoder layers (default: {t['num_layers']})")
    group.add_argument("--dim-feedforward", metavar="F", type=positive_int, default=None,
                       help=f"--model transformer: feed-forward units per layer (built-in/COCO default: "
                            f"{t['dim_feedforward']}/{tc['dim_feedforward']})")
    group.add_argument("--dropout", metavar="P", type=float, default=None,
                       help=f"--model transformer: dropout probability (built-in/COCO default: "
                            f"{t['dropout']}/{tc['dropout']})")
    group.add_argument("--cell", choices=("rnn", "lstm", "gru"), default=None,
                       help=f"recurrent cell (built-in/COCO default: {b['cell']}/{c['cell']})")
    group.add_argument("--hidden-dim", metavar="H", type=positive_int, default=None,
                       help=f"hidden size H (built-in/COCO default: {b['hidden_dim']}/{c['hidden_dim']})")
    group.add_argument("--wordvec-dim", metavar="W", type=positive_int, default=None,
                       help=f"word-vector size W (built-in/COCO default: {b['wordvec_dim']}/{c['wordvec_dim']})")


def register(subparsers) -> None:
    p = add_command(subparsers, "train", help="train a captioner (built-in data by default)",
                    description=DESCRIPTION, epilog=EPILOG)
    add_model_options(p.add_argument_group("model"))
    b, c = BUILTIN_DEFAULTS, COCO_DEFAULTS
    opt = p.add_argument_group("optimisation")
    opt.add_argument("--epochs", metavar="E", type=positive_int, default=None,
                     help=f"number of epochs (built-in/COCO default: {b['epochs']}/{c['epochs']})")
    opt.add_argument("--batch-size", metavar="B", type=positive_int, default=None,
                     help=f"captions per minibatch (built-in/COCO default: {b['batch_size']}/{c['batch_size']})")
    opt.add_argument("--lr", metavar="RATE", type=positive_float, default=None,
                     help=f"Adam learning rate (built-in/COCO default: {b['lr']:g}/{c['lr']:g})")
    opt.add_argument("--lr-decay", metavar="G", type=unit_float, default=None,
                     help="multiply the learning rate by G after every epoch "
                          f"(built-in/COCO default: {b['lr_decay']}/{c['lr_decay']})")
    opt.add_argument("--clip-grad-norm", metavar="NORM", type=positive_float, default=None,
                     help="clip the global gradient norm to NORM (default: no clipping)")
    opt.add_argument("--seed", metavar="S", type=non_negative_int, default=None,
                     help="seed of the initial weights and the minibatch order (a run is repeatable; "
                          "default: 0)")
    add_data_options(p)
    run_group = p.add_argument_group("output and run")
    run_group.add_argument("--out", metavar="DIR", default=None,
                           help="output folder (default: runs/shapes-CELL, or runs/coco-CELL with --data-dir; "
                                "-2, -3, ... appended when it already holds a run; with --resume: the "
                                "checkpoint's folder)")
    run_group.add_argument("--overwrite", action="store_true",
                           help="replace the run already in --out (its files are deleted first)")
    run_group.add_argument("--resume", metavar="CKPT", default=None,
                           help="continue a run from its checkpoint (optimizer, schedule, random state and "
                                "counters included) up to --epochs in total (default: the run's own number); "
                                "the model and training options come from the checkpoint (giving others is "
                                "refused)")
    run_group.add_argument("--init", metavar="CKPT", default=None,
                           help="start from the weights of a checkpoint (fresh optimizer; model options ignored)")
    run_group.add_argument("--num-images", metavar="N", type=positive_int, default=16,
                           help="validation images drawn in captions.png")
    run_group.add_argument("--max-length", metavar="T", type=positive_int, default=30,
                           help="longest generated caption, in words")
    run_group.add_argument("--no-progress", dest="progress", action="store_false",
                           help="no progress bar (it is shown only on a terminal anyway)")
    run_group.add_argument("--quiet", action="store_true", help="print only errors and the final result")
    add_threads_option(run_group)
    p.set_defaults(func=run)


def resolve(args, data: dict) -> dict:
    """The training settings: the options given, completed with the defaults of the data kind."""
    defaults = dict(BUILTIN_DEFAULTS if is_builtin(data) else COCO_DEFAULTS)
    if getattr(args, "model", "recurrent") == "transformer":
        defaults.update(TRANSFORMER_BUILTIN if is_builtin(data) else TRANSFORMER_COCO)
        del defaults["cell"], defaults["hidden_dim"]
    return {k: getattr(args, k) if getattr(args, k, None) is not None else v for k, v in defaults.items()}


#: The files of a run in --out: a folder holding the first two holds a run.
RUN_FILES = ("checkpoint.h5", "history.json", "best.h5", "loss.png", "captions.png", "captions.html",
             "captions.json", "metrics.json")


def holds_run(folder: Path) -> bool:
    return any((folder / name).is_file() for name in RUN_FILES[:2])


def default_out(args) -> Path:
    """runs/shapes-CELL (runs/coco-CELL with --data-dir), or the first of -2, -3, ... holding no run."""
    kind = "shapes" if args.data_dir is None else "coco"
    base = Path("runs") / f"{kind}-{'transformer' if args.model == 'transformer' else args.cell or BUILTIN_DEFAULTS['cell']}"
    out, k = base, 1
    while holds_run(out):
        k += 1
        out = base.with_name(f"{base.name}-{k}")
    return out


def choose_out(args) -> Path:
    """The output folder: --out, the resumed checkpoint's folder, or a fresh default one.

    An --out holding a run other than the resumed one is refused without --overwrite, and with
    it the old run's files are deleted, so that no file of it stays among the new ones.
    """
    if args.out is None:
        return Path(args.resume).parent if args.resume else default_out(args)
    out = Path(args.out)
    same_run = args.resume is not None and Path(args.resume).resolve().parent == out.resolve()
    if holds_run(out) and not same_run:
        if not args.overwrite:
            raise UserError(f"--out {str(out)!r} already holds a run; continue it with --resume "
                            f"{out / 'checkpoint.h5'}, choose another --out, or pass --overwrite to replace it")
        for name in RUN_FILES:
            (out / name).unlink(missing_ok=True)
    return out


def check_resume(args):
    """Before any work: the checkpoint can be resumed, the model options given agree with it and
    --epochs goes beyond the epochs it has completed. Returns its model."""
    from ..training import load_checkpoint

    model = load_checkpoint_model(args.resume)
    for option, given, saved in (("--cell", args.cell, getattr(model, "cell_type", None)),
                                 ("--hidden-dim", args.hidden_dim, getattr(model, "hidden_dim", None)),
                                 ("--wordvec-dim", args.wordvec_dim, model.wordvec_dim),
                                 ("--num-heads", args.num_heads, getattr(model, "num_heads", None)),
                                 ("--num-layers", args.num_layers, getattr(model, "num_layers", None)),
                                 ("--dim-feedforward", args.dim_feedforward, getattr(model, "dim_feedforward", None))):
        if given is not None and given != saved:
            raise UserError(f"{option} {given} differs from the checkpoint's {saved}: a resumed run keeps the "
                            f"checkpoint's model; drop {option}, or start a new run from its weights with "
                            f"--init {args.resume}")
    saved = load_checkpoint(args.resume)
    state = saved["trainer"]
    if state is None:
        raise UserError(f"{args.resume!r} holds weights but no training state; start a new run from it with --init")
    schedule = saved["scheduler"] or {}
    for option, given, kept in (("--batch-size", args.batch_size, state["config"]["batch_size"]),
                                ("--seed", args.seed, state["config"]["seed"]),
                                ("--clip-grad-norm", args.clip_grad_norm, state["config"]["clip_grad_norm"]),
                                ("--lr", args.lr, schedule.get("base_lr")),
                                ("--lr-decay", args.lr_decay, schedule.get("hyperparams", {}).get("gamma"))):
        if given is not None and given != kept:
            raise UserError(f"{option} {given} differs from the run's {kept}: a resumed run continues with the "
                            f"optimizer, schedule, batch size and random state it was started with; drop "
                            f"{option}, or start a new run from its weights with --init {args.resume}")
    done = int(state["epoch"])
    total = args.epochs or int(state["config"]["num_epochs"])
    if total <= done:
        raise UserError(f"the checkpoint has already completed {plural(done, 'epoch')}; "
                        f"pass --epochs greater than {done} to train more")
    return model


@user_errors("train")
def run(args) -> int:
    from ..data import model_caption_accuracy
    from ..optim import Adam, ExponentialLR
    from ..training import Trainer

    if args.resume and args.init:
        raise UserError("--resume and --init exclude each other (resume continues a run; init only copies weights)")
    start = time.perf_counter()
    say = (lambda *a: None) if args.quiet else print
    resumed_model = check_resume(args) if args.resume else None
    if args.overwrite and args.out is None:
        raise UserError("--overwrite needs --out (without --out, train picks a folder that holds no run)")
    out = output_folder(choose_out(args))

    try:
        data = load_data(args)
    except KeyboardInterrupt:
        kept = f"{args.resume} is unchanged" if args.resume else "nothing was saved"
        raise KeyboardInterrupt(f"while loading the data, before training; {kept}") from None
    source = data_source(args, data)
    settings = resolve(args, data)
    n_train = len(data["train_captions"])
    say(f"data: {source}: {n_train:,} training captions, {len(data['val_captions']):,} validation captions, "
        f"vocabulary of {len(data['word_to_idx'])} words, {data['train_features'].shape[-1]}-d features "
        f"{'(' + str(data['train_features'].shape[1]) + ' region tokens per image) ' if data['train_features'].ndim == 3 else ''}"
        f"({time.perf_counter() - start:.1f} s)")

    trainer_options = dict(num_epochs=settings["epochs"], verbose=False, out_dir=str(out),
                           progress=None if args.progress else False,
                           callbacks=[] if args.quiet else [_print_epoch])
    if is_builtin(data):  # held-out accuracy after every epoch, kept in history.json
        trainer_options["metrics"] = {"val_accuracy": model_caption_accuracy}
    if args.resume:
        check_compatible(resumed_model, data, source)
        if args.epochs is None:  # the run's own number of epochs
            del trainer_options["num_epochs"]
        trainer = _resume(args.resume, data, trainer_options)
        model, cfg = trainer.model, trainer.config
        settings.update(model_settings(model), epochs=cfg.num_epochs, batch_size=cfg.batch_size, lr=trainer.optimizer.lr,
                        lr_decay=getattr(trainer.scheduler, "gamma", settings["lr_decay"]))
        seed = cfg.seed
        what = f"resuming {args.resume} at epoch {trainer.epoch}"
    else:
        seed = 0 if args.seed is None else args.seed
        if args.init:
            model = load_checkpoint_model(args.init)
            check_compatible(model, data, source)
            settings.update(model_settings(model))
        else:
            model = build_model(args, data, settings, seed)
            settings.update(model_settings(model))
        optimizer = Adam(model.named_parameters(), lr=settings["lr"])
        scheduler = ExponentialLR(optimizer, gamma=settings["lr_decay"])
        trainer = Trainer(model, data, optimizer, scheduler, batch_size=settings["batch_size"], seed=seed,
                          clip_grad_norm=args.clip_grad_norm, **trainer_options)
        what = f"from the weights of {args.init}" if args.init else "from scratch"
    if settings.get("model") == "transformer":   # a resumed or --init Transformer: no recurrent settings
        settings.pop("cell", None), settings.pop("hidden_dim", None)
    say(f"training {what}: {describe_model(model)}, "
        f"{plural(settings['epochs'], 'epoch')} of {plural(trainer.iterations_per_epoch, 'iteration')}, "
        f"batch {settings['batch_size']}, Adam lr {settings['lr']:g} decayed by {settings['lr_decay']} per epoch "
        f"-> {out}")
    try:
        return _train_and_report(args, trainer, data, settings, out, start)
    except KeyboardInterrupt:
        raise KeyboardInterrupt(what_was_saved(args, trainer)) from None


def build_model(args, data: dict, settings: dict, seed: int):
    """A fresh captioner of the kind ``--model`` names, sized for the data's features (the last axis)."""
    from ..model import CaptioningModel
    from ..transformer_model import CaptioningTransformer

    input_dim = data["train_features"].shape[-1]
    rng = np.random.default_rng(seed)
    if args.model == "transformer":
        t = settings
        if not 0.0 <= t["dropout"] < 1.0:
            raise UserError(f"--dropout must be in [0, 1), got {t['dropout']}")
        return CaptioningTransformer(data["word_to_idx"], input_dim, settings["wordvec_dim"], num_heads=t["num_heads"],
                                     num_layers=t["num_layers"], dim_feedforward=t["dim_feedforward"],
                                     dropout=t["dropout"], rng=rng)
    if data["train_features"].ndim != 2:
        raise UserError("region features (--region-features) need --model transformer")
    return CaptioningModel(data["word_to_idx"], input_dim=input_dim, wordvec_dim=settings["wordvec_dim"],
                           hidden_dim=settings["hidden_dim"], cell_type=settings["cell"], rng=rng)


def model_settings(model) -> dict:
    """The model's own sizes, by the names of the options (for the settings in metrics.json)."""
    names = ("cell_type", "hidden_dim", "wordvec_dim", "num_heads", "num_layers", "dim_feedforward", "dropout")
    config = model.config()
    out = {("cell" if k == "cell_type" else k): config[k] for k in names if k in config}
    out["model"] = "recurrent" if "cell_type" in config else "transformer"
    return out


def _train_and_report(args, trainer, data: dict, settings: dict, out: Path, start: float) -> int:
    """Train, then write the pictures and metrics.json and print the result."""
    from ..plots import plot_loss_curve
    from ..training import TrainingDiverged

    say = (lambda *a: None) if args.quiet else print
    model, source = trainer.model, data_source(args, data)
    train_start = time.perf_counter()
    try:
        trainer.train()
    except TrainingDiverged as exc:
        print(f"minitorch-cap train: {exc}", file=sys.stderr)
        return 1
    train_seconds = time.perf_counter() - train_start

    loss_history, val_history = trainer.loss_history, trainer.val_loss_history
    plot_loss_curve(trainer.history, out / "loss.png",
                    title=f"{model_label(model)} training loss ({source})")

    model.eval()
    report = caption_report(model, data, "val", max_length=args.max_length,
                            max_images=None if is_builtin(data) else 200)
    pictures = write_caption_outputs(report, data, out, num_images=args.num_images,
                                     title=f"{model_label(model)} after {len(loss_history)} iterations", model=model)
    metrics = {
        "final_loss": loss_history[-1],
        "final_val_loss": val_history[-1] if val_history else None,
        "final_epoch_train_loss": trainer.epochs[-1]["train_loss"] if trainer.epochs else None,
        "iterations": len(loss_history),
        "epochs": trainer.epoch,
        "train_seconds": round(train_seconds, 2),
        "settings": settings,
        "seed": trainer.config.seed,
        "data": "builtin-shapes" if is_builtin(data) else str(args.data_dir),
    }
    if "accuracy" in report:
        metrics["val_accuracy"] = report["accuracy"]
        metrics["val_images"] = len(report["correct"])
        metrics["val_correct"] = int(sum(report["correct"]))
    metrics["total_seconds"] = round(time.perf_counter() - start, 2)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")

    files = sorted(p.name for p in out.iterdir() if p.is_file())
    say(f"wrote {', '.join(files)} in {out} ({time.perf_counter() - start:.0f} s in all)")
    loss_text = f"last-epoch training loss {metrics['final_epoch_train_loss']:.3f}"
    if val_history:
        loss_text += f", validation loss {metrics['final_val_loss']:.3f}"
    if "accuracy" in report:
        print(f"held-out accuracy: {100 * report['accuracy']:.1f}% of {len(report['correct'])} validation images "
              f"captioned fully correctly ({loss_text})")
    else:
        print(f"done: {loss_text}; captions of {len(report['generated'])} validation images in "
              f"{[p.name for p in pictures][0]}")
    return 0


def what_was_saved(args, trainer) -> str:
    """After Ctrl-C: the epoch interrupted, the last checkpoint and the command that continues the run."""
    from ..training import load_checkpoint

    total = trainer.config.num_epochs
    path = trainer.last_checkpoint
    try:
        saved = int(load_checkpoint(path)["trainer"]["epoch"]) if path is not None else 0
    except (OSError, ValueError, KeyError):  # an unreadable file cannot be resumed either
        path, saved = None, 0
    if path is None:
        return f"in epoch {saved + 1} of {total} before any checkpoint was written; nothing was saved"
    if saved >= total:
        again = ["minitorch-cap", "sample", path, *data_options_argv(args)]
        return (f"after training: {path} holds all {plural(total, 'epoch')}, but the pictures and metrics.json "
                f"may be missing: `{command_line(again)}` draws the captions")
    again = ["minitorch-cap", "train", "--resume", path, "--epochs", total, *data_options_argv(args)]
    return (f"in epoch {saved + 1} of {total}; the last checkpoint is {path} (epoch {saved}): "
            f"continue with `{command_line(again)}`")


def _print_epoch(trainer, record: dict) -> None:
    """One line per epoch (above the progress bar when there is one)."""
    from tqdm import tqdm

    parts = [f"epoch {record['epoch']}/{trainer.config.num_epochs}", f"train loss {record['train_loss']:.3f}"]
    if record.get("val_loss") is not None:
        parts.append(f"val loss {record['val_loss']:.3f}")
    if "val_accuracy" in record:
        parts.append(f"held-out accuracy {100 * record['val_accuracy']:.1f}%")
    parts.append(f"lr {record['lr']:.3g}")
    parts.append(f"{record.get('seconds', 0.0):.1f} s")
    tqdm.write(", ".join(parts), file=sys.stdout)


def _resume(path: str, data: dict, options: dict):
    """``Trainer.resume`` with the command's options; unusable checkpoints are user errors."""
    from ..training import CheckpointError, Trainer

    try:
        return Trainer.resume(path, data=data, **options)
    except (CheckpointError, OSError, ValueError) as exc:
        raise UserError(f"cannot resume from {path!r}: {exc}") from None
