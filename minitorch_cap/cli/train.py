"""``minitorch-cap train``: parse, call :mod:`minitorch_cap.runs`, print."""

from __future__ import annotations

import sys
import time

import attrs

from .common import (STOPPED, add_command, add_data_options, add_setting,
                     command_line, data_options, folder, option, positive_int, user_errors)

DESCRIPTION = """\
Train an image captioner with Adam: by default an LSTM on the built-in shapes data set (no
download) with its measured settings; with --data-dir, on the CS231n COCO files (or your own,
from minitorch_cap.data.import_captions). Options a model does not take are refused.

It writes into --out (default: runs/shapes-MODEL or runs/coco-MODEL, -2, -3, ... appended
when taken; a folder holding another run is refused unless --overwrite, which keeps its
files until the new run's first checkpoint; one run at a time may write a folder):
checkpoint.h5 (every epoch) and best.h5 (the best validation loss), both resumable;
history.json (every loss); loss.png; captions.png on the built-in data (validation images,
the generated caption green when right, red when wrong) or captions.html on COCO (image
URLs); captions.json (every captioned validation image) and metrics.json (final losses,
the held-out accuracy on the built-in data).

--resume CKPT continues a run (in its folder, on the data it records) up to --epochs in
all, and completes a run killed at any point (history.json, best.h5, pictures, metrics).
Ctrl-C and SIGTERM stop at once and print the command that continues.
Exit codes: 0 done, 1 training stopped (diverged, or the disk is full or read-only: the
message says what completes the run), 2 a usage error, 130 interrupted.
"""

EPILOG = """\
examples:
  minitorch-cap train                                   the main job (built-in data, LSTM)
  minitorch-cap train --model rnn --out runs/shapes-rnn a vanilla RNN instead
  minitorch-cap train --model transformer --region-features   the course's Transformer, attending over the objects
  minitorch-cap train --data-dir datasets/coco_captioning --max-train 50000 --epochs 2
  minitorch-cap train --resume runs/shapes-lstm/checkpoint.h5 --epochs 20
  mpiexec -n 2 minitorch-cap train                      data-parallel on 2 processes (extra 'mpi'), same run

"built-in/COCO" defaults: the presets of the built-in data set and of COCO-format files (on a
small data set of your own, the preset epochs grow to give at least 1,000 iterations).
"""


def add_model_options(parser) -> None:
    """--model (alias --cell) and every model kind's settings (made from the kinds' declarations)."""
    from ..captioners.base import KINDS
    from ..runs import default_kind, model_fields, with_presets

    group = parser.add_argument_group("model (an option a model does not take is refused)")
    group.add_argument("--model", "--cell", dest="model", choices=sorted(KINDS), default=None,
                       help=f"the captioner (default: {default_kind()})")
    for name, (field, kinds) in model_fields().items():
        takes = "" if len(kinds) == len(KINDS) else f"{', '.join(kinds)}: "
        add_setting(group, field, with_presets(takes + field.metadata["help"], name, kinds))


def register(subparsers) -> None:
    from ..captioners.base import KINDS
    from ..runs import TrainingSettings, with_presets

    p = add_command(subparsers, "train", help="train a captioner (built-in data by default)", run=run_command,
                    description=DESCRIPTION, epilog=EPILOG)
    add_model_options(p)
    opt = p.add_argument_group("optimisation (a resumed run keeps its own: giving another value is refused)")
    for field in attrs.fields(TrainingSettings):
        add_setting(opt, field, with_presets(field.metadata["help"], field.name, KINDS, field.default))
    add_data_options(p)
    run = p.add_argument_group("output and run")
    run.add_argument("--out", metavar="DIR", type=folder, default=None,
                     help="output folder (default: see above; with --resume: the checkpoint's folder)")
    run.add_argument("--overwrite", action="store_true", help="replace the run already in --out")
    start = run.add_mutually_exclusive_group()
    start.add_argument("--resume", metavar="CKPT", default=None,
                       help="continue or complete the run of this checkpoint (see above)")
    start.add_argument("--init", metavar="CKPT", default=None,
                       help="start a new run from the weights of a checkpoint (its model; fresh optimizer; its "
                            "run's data, with the data options given changed)")
    run.add_argument("--num-images", metavar="N", type=positive_int, default=16,
                     help="validation images drawn in captions.png")
    run.add_argument("--max-length", metavar="T", type=positive_int, default=None,
                     help="longest generated caption, in words (default: 30, as every command)")
    run.add_argument("--no-progress", dest="progress", action="store_false",
                     help="no progress bar (it is shown only on a terminal anyway)")
    run.add_argument("--quiet", action="store_true", help="print only errors and the final result")


def settings_given(args) -> dict:
    """The run settings given on the command line (``None``: not given)."""
    from ..runs import setting_names
    return {name: getattr(args, name) for name in setting_names()}


@user_errors("train")
def run_command(args) -> int:
    from .. import runs
    from ..distributed import RankFailed, only_root_prints, world
    from ..training import TrainingDiverged, WriteError, progress

    started, since = time.perf_counter(), time.time()      # since: the wall clock, to list the files written
    comm = world()          # under `mpiexec -n K` (K > 1): data-parallel over the K ranks, rank 0 reports
    only_root_prints(comm)
    say = (lambda *a: None) if args.quiet else print
    run = runs.prepare_run(settings_given(args), data_options(args), resume=args.resume, init=args.init,
                           out=args.out, overwrite=args.overwrite, comm=comm, label=option,
                           progress=None if args.progress else False,
                           callbacks=[] if args.quiet else [lambda t, r: progress.print_epoch(t, r)])
    trainer, out, finished = run.trainer, run.out, False    # not finished: a folder it made and left empty goes
    try:
        runs.check_outputs_fit(run.data, args.max_length, option)
        for line in run.describe(args.init):
            say(line)
        if run.needs_training:
            trainer.train()
        metrics = runs.finish_run(run, max_length=args.max_length, num_images=args.num_images, started=started)
        finished = True
    except (TrainingDiverged, RankFailed) as exc:
        print(f"minitorch-cap train: {exc}".replace("the clip_grad_norm option", "--clip-grad-norm"), file=sys.stderr)
        return STOPPED
    except WriteError as exc:       # a full or failing disk: the run stops, what it saved is intact
        last = trainer.last_checkpoint or run.resumed
        again = (f"; once it is fixed, `{command_line(['minitorch-cap', 'train', '--resume', last])}` "
                 "completes the run" if last else "")
        print(f"minitorch-cap train: {exc}{again}", file=sys.stderr)
        return STOPPED
    except KeyboardInterrupt:
        raise KeyboardInterrupt(_what_was_saved(trainer)) from None
    finally:
        run.close(failed=not finished)
    if comm is not None and comm.Get_rank() != 0:
        return 0
    if trainer.config.keep_best and trainer.best_epoch and not (out / "best.h5").exists():
        say(f"note: best.h5 (epoch {trainer.best_epoch}) is missing and cannot be rebuilt: checkpoint.h5 holds "
            f"epoch {trainer.epoch}")
    written = sorted(p.name for p in out.iterdir() if p.is_file() and p.name[0] != "." and p.stat().st_mtime >= since)
    say(f"wrote {', '.join(written) or 'nothing'} in {out} ({time.perf_counter() - started:.0f} s in all)")
    print(runs.result_line(metrics) if metrics else f"done: the run in {out} was complete; nothing to write")
    return 0


def _what_was_saved(trainer) -> str:
    """After Ctrl-C or SIGTERM: where the run stopped, the last checkpoint and the command that continues it."""
    from ..runs.run import plural

    path, saved, total = trainer.last_checkpoint, trainer.last_checkpoint_epoch, trainer.config.num_epochs
    if path is None:
        return f"in epoch {saved + 1} of {total} before any checkpoint was written; nothing was saved"
    again = command_line(["minitorch-cap", "train", "--resume", path])
    if saved >= total:
        return (f"after training: {path} holds all {plural(total, 'epoch')}, but the pictures and metrics.json may "
                f"be missing: `{again}` completes the run")
    return f"in epoch {saved + 1} of {total}; the last checkpoint is {path} (epoch {saved}): continue with `{again}`"
