"""One module per CLI command; ``ferdesk.cli`` only parses arguments and dispatches. Here: the argument
types the commands share."""
import argparse


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1 (frames, threads, runs)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not at least 1")
    return value


def positive_number(text: str) -> float:
    """An argparse type: a number above 0 (seconds)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} is not above 0")
    return value
