"""Ctrl-C, at any moment: exit status 130 and one line, never a traceback.

Outside a command (while Python imports, typer parses, or the interpreter shuts down) the
handler ends the process at once. While a command runs (:func:`archscope.cli.common.handled`),
it raises :class:`KeyboardInterrupt` as Python's default handler does, so that ``finally``
blocks run (a half-written ``-o`` file is removed) and the command exits 130 with its message.
Python runs a signal handler in the main thread between bytecodes; work that must stay
interruptible (timing a forward pass) runs in a worker thread while the main thread waits.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
_state = {"raise": False}


def _on_sigint(_signum: int, _frame: object) -> None:
    if _state["raise"]:
        raise KeyboardInterrupt
    try:
        os.write(2, b"\narchscope: interrupted\n")
    finally:
        os._exit(EXIT_INTERRUPTED)


def install() -> None:
    """Install the handler (the main thread only; elsewhere Python refuses, and it is left as is)."""
    if threading.current_thread() is threading.main_thread():
        try:
            signal.signal(signal.SIGINT, _on_sigint)
        except (ValueError, OSError):
            pass


@contextmanager
def raising() -> Iterator[None]:
    """Within: Ctrl-C raises KeyboardInterrupt (when our handler is installed; else Python's does)."""
    before = _state["raise"]
    _state["raise"] = True
    try:
        yield
    finally:
        _state["raise"] = before


def interrupted_message() -> None:
    sys.stderr.write("archscope: interrupted\n")


def exit_if_busy() -> None:
    """After Ctrl-C: if a worker thread still runs (a forward pass inside torch, see
    :func:`archscope.torch_backend.bench_guards.interruptible`), end the process now: finalising the
    interpreter under a running torch call aborts it (``terminate called…``, SIGABRT)."""
    if any(t.name.startswith("archscope-") and t.is_alive() for t in threading.enumerate()):
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(EXIT_INTERRUPTED)
