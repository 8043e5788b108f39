"""The course's ``cs231n/classifiers``: ``rnn.CaptioningRNN``."""

from .rnn import CaptioningRNN

__all__ = ["CaptioningRNN"]
