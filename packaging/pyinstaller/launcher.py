"""The standalone bundle's entry point: the ``ferdesk`` command, frozen.

A frozen program has no ``python -m``; ``ferdesk bench`` re-runs itself as ``sys.executable -m ferdesk
bench --worker ...``, and ``-m MODULE`` runs any module of the bundle (``ferdesk -m ferdesk.ui.bench``
measures the window's start-up), so both are understood here.
"""
import multiprocessing
import runpy
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    args = sys.argv[1:]
    if args[:1] == ["-m"] and len(args) > 1 and args[1] != "ferdesk":
        sys.argv = [sys.argv[0], *args[2:]]
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
        raise SystemExit(0)
    if args[:2] == ["-m", "ferdesk"]:
        args = args[2:]
    from ferdesk.cli import main

    raise SystemExit(main(args))
