"""Ctrl-C held while compiled code runs (``pcnopt._interrupts``).

A Ctrl-C that landed while numba loaded a kernel on its first call killed ``pcnopt
neighbourhoods`` with a segmentation fault (issue 17: "Ctrl-C at any moment of any command").
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numba
import pytest

from pcnopt._interrupts import AbandonableThreads, holding_sigint, sigint_held
from pcnopt.model import objectives
from pcnopt.model.partition import enumeration
from tests.conftest import PROJECT

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signals")


def test_ctrl_c_inside_the_block_is_raised_when_the_block_ends():
    steps = []
    with pytest.raises(KeyboardInterrupt):
        with sigint_held():
            os.kill(os.getpid(), signal.SIGINT)
            steps.append("went on after Ctrl-C")
        steps.append("not reached")
    assert steps == ["went on after Ctrl-C"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_held_function_finishes_before_ctrl_c_is_raised():
    steps = []

    @holding_sigint
    def kernel(n: int) -> int:
        os.kill(os.getpid(), signal.SIGINT)
        steps.append(n)
        return n

    with pytest.raises(KeyboardInterrupt):
        kernel(3)
    assert steps == [3]
    assert kernel.__name__ == "kernel"


def test_without_ctrl_c_nothing_changes():
    with sigint_held():
        value = 1
    assert value == 1
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_where_ctrl_c_is_ignored_it_stays_ignored():
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with sigint_held():
            os.kill(os.getpid(), signal.SIGINT)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


def test_every_kernel_called_from_python_holds_ctrl_c():
    """No compiled kernel of the model is reachable from Python without the hold."""
    for module in (objectives, enumeration):
        for name in dir(module):
            value = getattr(module, name)
            if isinstance(value, numba.core.registry.CPUDispatcher) and not name.startswith("_"):
                users = [
                    other
                    for other in dir(module)
                    if getattr(getattr(module, other), "__wrapped__", None) is value
                ]
                pytest.fail(f"{module.__name__}.{name} is a bare numba kernel ({users})")


def test_ctrl_c_while_numba_compiles_the_first_call_waits_for_the_kernel(tmp_path):
    """Deterministic form of the segfault: SIGINT while numba's own code runs (a fresh cache,
    so the first call compiles); the interrupt must come from the hold, after the kernel."""
    script = textwrap.dedent(
        """
        import os, signal, sys, traceback
        import numpy as np
        from pcnopt.model.partition.enumeration import rule_mask

        calls = [0]

        def hook(frame, event, arg):
            if event == "call" and "/numba/" in frame.f_code.co_filename:
                calls[0] += 1
                if calls[0] == 2000:
                    sys.setprofile(None)
                    os.kill(os.getpid(), signal.SIGINT)

        members = np.array([0, 1, 1, 2], np.int64)
        ptr = np.array([0, 2, 4], np.int64)
        pairs = np.array([[0, 1]], np.int64)
        sys.setprofile(hook)
        try:
            rule_mask(members, ptr, pairs, np.array([True]), 3)
            print("no interrupt")
        except KeyboardInterrupt as exc:
            print("raised in", traceback.extract_tb(exc.__traceback__)[-1].filename)
        """
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(PROJECT)}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("_interrupts.py"), done.stdout + done.stderr[-2000:]


@pytest.mark.parametrize("where", ["/pydantic/", "/argparse.py"])
def test_ctrl_c_while_the_command_line_is_read_exits_130_with_one_line(tmp_path, where):
    """Ctrl-C in the first second (the parser's imports, argument parsing), not only mid-solve."""
    script = textwrap.dedent(
        f"""
        import os, signal, sys

        calls = [0]

        def hook(frame, event, arg):
            if event == "call" and {where!r} in frame.f_code.co_filename:
                calls[0] += 1
                if calls[0] == 50:
                    sys.setprofile(None)
                    os.kill(os.getpid(), signal.SIGINT)

        sys.setprofile(hook)
        from pcnopt.cli import main
        sys.exit(main(["optimise", "--out", {str(tmp_path / "out")!r}]))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
        timeout=120,
    )
    assert done.returncode == 130, done.stderr[-2000:]
    assert done.stderr.strip().splitlines() == ["pcnopt: interrupted; nothing was written."]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("late", "code"),
    [
        # Ctrl-C on the way out (an exit handler runs while it lands): the exit code stands
        ("atexit.register(lambda: (os.kill(os.getpid(), signal.SIGINT), time.sleep(0.2)))", 0),
        # Ctrl-C in the instant after main's own handler: still one line and 130
        ("(_ for _ in ()).throw(KeyboardInterrupt())", 130),
    ],
    ids=["while exiting", "after main's handler"],
)
def test_ctrl_c_after_the_work_is_done_changes_nothing(late, code):
    script = textwrap.dedent(
        f"""
        import atexit, os, signal, time
        import pcnopt.cli as cli

        cli.main = lambda: ({late}, 0)[-1]
        cli.run()
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
        timeout=60,
    )
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr and "KeyboardInterrupt" not in done.stderr


def test_abandonable_threads_run_calls_and_do_not_hold_the_exit(tmp_path):
    """Calls run and give their results; a call still running does not keep Python alive."""
    threads = AbandonableThreads(2, name="t")
    futures = [threads.submit(pow, 2, k) for k in range(5)]
    threads.shutdown()
    assert [f.result() for f in futures] == [1, 2, 4, 8, 16]
    failing = AbandonableThreads(1, name="t")
    future = failing.submit(int, "x")
    failing.shutdown()
    assert isinstance(future.exception(), ValueError)
    script = textwrap.dedent(
        """
        import time
        from pcnopt._interrupts import AbandonableThreads
        AbandonableThreads(1, name="busy").submit(time.sleep, 120)
        print("leaving")
        """
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
        timeout=100,
    )
    assert done.returncode == 0 and done.stdout.strip() == "leaving", done.stderr
    assert time.monotonic() - started < 100


def test_cancelled_calls_never_run():
    threads = AbandonableThreads(1, name="t")
    first = threads.submit(time.sleep, 0.5)
    later = [threads.submit(pow, 2, k) for k in range(3)]
    while not first.running():
        time.sleep(0.01)
    threads.shutdown(cancel_futures=True)
    assert first.result() is None
    assert all(f.cancelled() for f in later)
