"""Argument parsing shared by the CLI's commands: one-line errors and checked numbers."""

from __future__ import annotations

import argparse
from typing import NoReturn


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, like the CLI's other errors."""

    def error(self, message: str) -> NoReturn:
        """Print `error: <message>` and exit with status 2, as argparse does."""
        self.exit(2, f"error: {message} (see --help)\n")


def positive_int(text: str) -> int:
    """A whole number of at least 1, or an argparse error that quotes `text`."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return value
