"""The library's version: one home, read by the package, the checkpoints and the command line."""

__version__ = "0.2.0"
