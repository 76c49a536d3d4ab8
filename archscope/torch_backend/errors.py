"""Errors of the torch backend that are meant for people, not tracebacks. Imports no torch.

The CLI prints ``str(error)`` and exits with 2 (usage: torch missing, device unavailable,
a configuration that would not fit in memory) or 1 (``LoweringError``: torch disagrees with
the static rules, which is what ``verify`` exists to find).
"""

from __future__ import annotations

from typing import Any

INSTALL_HINT = "pip install 'archscope[torch]'"


class BackendError(Exception):
    """An expected failure of build, verify or bench; the message says what to do."""

    exit_code = 2


class TorchMissing(BackendError):
    pass


class DeviceUnavailable(BackendError):
    pass


class MemoryEstimateTooLarge(BackendError):
    pass


class ForwardTooSlow(BackendError):
    """One forward call would take longer than the limit (``bench --force`` times it anyway)."""


class LoweringError(BackendError):
    """torch rejected a layer that the static rules accepted (a bug in one of the two)."""

    exit_code = 1


def require_torch(feature: str = "this command") -> Any:
    """Import and return ``torch``, or raise :class:`TorchMissing` with the install command."""
    try:
        import torch
    except ImportError as exc:
        raise TorchMissing(
            f"{feature} needs PyTorch, which is not installed ({exc.msg}); "
            f"install archscope's torch extra: {INSTALL_HINT}"
        ) from None
    return torch


def require_fvcore() -> Any:
    """Import ``fvcore.nn`` quietly (it warns about torch.jit deprecations on import)."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import fvcore.nn as fvnn
    except ImportError as exc:
        raise TorchMissing(
            f"`verify` needs fvcore, which is not installed ({exc.msg}); "
            f"install archscope's torch extra: {INSTALL_HINT}"
        ) from None
    return fvnn
