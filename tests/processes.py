"""Child processes for the crash tests: how much CPU a run costs, and a SIGKILL timed by
the work a child has done rather than by the clock.

A kill after ``time.sleep(x)`` lands wherever a machine happens to be after x seconds:
before the build has started on a slow or busy machine, after it has published on a fast
one. A kill once the child has used a fraction of the CPU time the same run needed when
measured on this machine lands at the same point of the work everywhere (CPU time is the
child's own, so other load on the machine does not move it).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

POLL_SECONDS = 0.005
DEADLINE_SECONDS = 300.0  # generous: only a hung child takes anywhere near this long


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, its children not included;
    0.0 once it is gone."""
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()  # the name in parentheses may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_measured(command: list[str], **popen) -> tuple[int, float]:
    """(exit code, CPU seconds) of a command run to its end; the CPU time includes the
    children it waited for (indexing workers)."""
    process = subprocess.Popen(command, **popen)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return process.returncode, usage.ru_utime + usage.ru_stime


def wait_for(condition: Callable[[], bool], what: str, process: subprocess.Popen | None = None,
             deadline: float = DEADLINE_SECONDS, poll: float = POLL_SECONDS) -> None:
    """Poll until condition() holds; fails if ``process`` ends first (the moment waited
    for never came) or after ``deadline`` seconds."""
    give_up = time.monotonic() + deadline
    while not condition():
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the child ended (exit {process.returncode}) before {what}")
        if time.monotonic() > give_up:
            raise AssertionError(f"no {what} within {deadline:.0f} s")
        time.sleep(poll)


def kill_after_cpu(process: subprocess.Popen, seconds: float) -> int:
    """SIGKILL the child once it has used ``seconds`` of CPU; returns its exit status."""
    wait_for(lambda: cpu_seconds(process.pid) >= seconds,
             f"{seconds:.2f} s of CPU used", process)
    process.send_signal(signal.SIGKILL)
    return process.wait()
