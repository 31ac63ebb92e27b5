"""Process helpers for the tests that interrupt or kill pcnopt (a test helper, not the package)."""

from __future__ import annotations

import psutil


def descendants(pid: int) -> list[psutil.Process]:
    """Every process started by ``pid`` and by its children, or none when it has ended."""
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def command(process: psutil.Process) -> str:
    """The command line of ``process``, or "" when it has ended meanwhile."""
    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""
