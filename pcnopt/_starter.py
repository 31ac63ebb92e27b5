"""Start a program that dies with the process that started this one (Linux).

Run as ``python -I -S _starter.py PARENT_PID PROGRAM [ARGUMENTS...]`` by
:func:`pcnopt._processes.guarded` when pcnopt has other threads (there a ``preexec_fn`` can
deadlock the child between fork and exec). It asks the kernel to kill it when its parent
dies (``PR_SET_PDEATHSIG``, kept across ``exec``), exits at once if the parent has already
died, then becomes the program (same process id, so the parent's signals reach the program).
Nothing of pcnopt is imported: this file runs alone, in an isolated interpreter.
"""

import ctypes
import os
import sys

_PR_SET_PDEATHSIG = 1
_SIGKILL = 9
_PARENT_GONE = 70


def main() -> None:
    """Set the parent-death signal, check the parent, exec the program."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, _SIGKILL, 0, 0, 0)
    if os.getppid() != int(sys.argv[1]):  # the parent died before the signal was set
        os._exit(_PARENT_GONE)
    os.execvp(sys.argv[2], sys.argv[2:])


if __name__ == "__main__":
    main()
