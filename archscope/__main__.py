"""``python -m archscope`` and the ``archscope`` command.

Ctrl-C is handled before anything heavy is imported: until a command runs, an interrupt ends
the process at once with exit status 130 and no traceback (see :mod:`archscope.cli.interrupt`)."""

from __future__ import annotations

from archscope.cli.interrupt import install

install()


def run() -> None:
    from archscope.cli.app import main

    main()


if __name__ == "__main__":
    run()
