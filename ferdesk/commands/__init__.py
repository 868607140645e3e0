"""One module per CLI command; ``ferdesk.cli`` only parses arguments and dispatches. Here: the argument
types and options the commands share."""
import argparse
from pathlib import Path


def add_models_argument(p) -> None:
    """``--models DIR``: merge a model pack (a folder with a catalog.json) into the catalog; repeatable."""
    p.add_argument("--models", action="append", type=Path, metavar="DIR", default=None,
                   help="also use the models of this model pack (a folder with a catalog.json); repeatable. "
                        "FERDESK_MODELS and installed packs (ferdesk-zoo) are merged too")


def load_catalog(a):
    """The catalog for a parsed command line: the installed set plus ``--models`` packs and the discovered ones."""
    from ferdesk.catalog import Catalog

    return Catalog.load(packs=getattr(a, "models", None) or ())


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
