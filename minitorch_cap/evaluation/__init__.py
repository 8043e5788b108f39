"""Judging and showing a trained captioner.

* :mod:`.scoring` — ``evaluate`` decodes a split and scores it (BLEU, CIDEr-D, ROUGE-L and
  diagnostics); ``make_metric`` turns a score into a Trainer metric;
* :mod:`.reports` — caption reports: what ``train`` and ``sample`` print and write, and the
  built-in data's held-out accuracy every command reports;
* :mod:`.plots` — loss curves (PNG); :mod:`.grid` — captioned image grids (PNG), caption pages (HTML).
"""

from . import grid, plots, reports
from .reports import caption_report, model_caption_accuracy
from .scoring import SCORE_NAMES, Evaluation, evaluate, make_metric, split_images, split_references

__all__ = ["evaluate", "make_metric", "Evaluation", "SCORE_NAMES", "split_images", "split_references", "caption_report",
           "model_caption_accuracy", "grid", "plots",
           "reports"]
