"""Where a server's time goes: py-spy samples the worker while a workload runs."""

import collections
import contextlib
import signal
import subprocess
import sys
from pathlib import Path

from bench.common import note

SAMPLES_PER_SECOND = 250
SHOWN = 25


@contextlib.contextmanager
def profiled(pid, path, active=True):
    """Sample the process while the block runs; write stacks and a summary next to path."""
    if not active:
        yield
        return
    stacks = Path(f"{path}.txt")
    spy = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "py-spy"),
            "record",
            "--pid",
            str(pid),
            "--rate",
            str(SAMPLES_PER_SECOND),
            "--format",
            "raw",
            "--output",
            str(stacks),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=60)
    summary = summarise(stacks)
    Path(f"{path}-summary.txt").write_text(summary)
    note(summary)


def summarise(stacks_path):
    """The functions that took the most samples: by themselves, and with what they call."""
    own, inclusive, total = collections.Counter(), collections.Counter(), 0
    for line in Path(stacks_path).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = stack.split(";")
        total += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
    lines = [f"{total} samples; by itself:"]
    lines += [f"{100 * n / total:5.1f} %  {frame}" for frame, n in own.most_common(SHOWN)]
    lines.append("with what it calls:")
    lines += [f"{100 * n / total:5.1f} %  {frame}" for frame, n in inclusive.most_common(SHOWN)]
    return "\n".join(lines)
