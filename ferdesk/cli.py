"""The ``ferdesk`` command. Without a subcommand it opens the window; errors print one line."""
from __future__ import annotations

import argparse
import os
import sys

from ferdesk import __version__
from ferdesk.commands import add_models_argument, load_catalog
from ferdesk.errors import FerdeskError

COMMANDS = {
    "run": "process a source headless and log every face of every frame",
    "models": "list the model catalog and what can run here",
    "eval": "accuracy of a classifier on an .npz data split",
    "bench": "latency, throughput and memory per model and backend",
    "export": "write a session log in py-feat (fex) or OpenFace column names",
    "doctor": "what this machine is, what runs here, and what ferdesk recommends",
}


def build_parser() -> argparse.ArgumentParser:
    from importlib import import_module

    p = argparse.ArgumentParser(prog="ferdesk", description="Live facial-expression recognition.")
    p.add_argument("--version", action="version", version=f"ferdesk {__version__}")
    p.add_argument("--source", help="for the window: a file or folder, camera:N, demo, or default (first camera, else demo)")
    p.add_argument("--model", help="for the window: classifier from the catalog")
    p.add_argument("--backend", help="for the window: onnxruntime or litert")
    p.add_argument("--detector", help="for the window: face detector")
    p.add_argument("--temporal", help="for the window: off, ema, ema-restart (the average restarted on a new face) or on (the TT-LSTM temporal model)")
    p.add_argument("--prior", help="for the window: the class prior: trained (default: the shares the model learned), uniform (every expression equally likely), or LABEL=SHARE,... (say neutral=0.3; the other classes share the rest)")
    p.add_argument("--record", nargs="?", const="", metavar="DIR", help="for the window: start recording at once (to DIR, or a new session folder)")
    add_models_argument(p)
    sub = p.add_subparsers(dest="command")
    for name, help_text in COMMANDS.items():
        sp = sub.add_parser(name, help=help_text, description=help_text)
        import_module(f"ferdesk.commands.{name}").add_arguments(sp)
        if name != "export":
            add_models_argument(sp)
    return p


def main(argv: list[str] | None = None) -> int:
    from importlib import import_module

    args = build_parser().parse_args(argv)
    try:
        if args.command is None:
            from ferdesk.ui.app import run_app

            return run_app(args.source, args.model, args.backend, args.detector, args.record, args.temporal,
                           catalog=load_catalog(args), prior=args.prior)
        code = import_module(f"ferdesk.commands.{args.command}").main(args)
        sys.stdout.flush()  # inside the try: a reader that went away is seen here, not at exit
        return code
    except BrokenPipeError:
        # the reader stopped early (`ferdesk models | head`): end quietly, as other command-line tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except FerdeskError as e:
        print(f"ferdesk: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
