"""Runs: everything ``minitorch-cap train`` does, as library calls a script can make.

    spec = DataSpec()                                              # the built-in data set
    settings = RunSettings.resolve({"model": "gru"}, spec)         # the rest from the presets
    run = prepare_run({"model": "gru"}, {}, out="runs/mine")       # checks, claims the folder, builds the Trainer
    run.trainer.train()
    metrics = finish_run(run)                                      # loss.png, captions.*, metrics.json
    run.close()                                                    # releases the folder

:mod:`.settings` holds the run settings and the rule of what a resumed run keeps; :mod:`.run` the
run from start to finish.
"""

from .run import (PreparedRun, build_model, check_features_fit, check_outputs_fit, checkpoint_path, choose_settings,
                  complete_run, epoch_metrics, finish_run, load_run, prepare_run, result_line, start_run,
                  write_run_outputs)
from .settings import (MIN_ITERATIONS, TRAINING_PRESETS, RunSettings, TrainingSettings, check_resume_settings,
                       data_set, default_kind, model_fields, model_settings, saved_settings, setting_names, with_presets)

__all__ = ["PreparedRun", "prepare_run", "start_run", "finish_run", "write_run_outputs", "complete_run", "load_run",
           "result_line", "build_model", "check_features_fit", "check_outputs_fit", "checkpoint_path", "choose_settings",
           "epoch_metrics", "RunSettings", "TrainingSettings", "TRAINING_PRESETS", "MIN_ITERATIONS",
           "check_resume_settings", "data_set", "default_kind", "model_fields", "model_settings", "saved_settings",
           "setting_names", "with_presets"]
