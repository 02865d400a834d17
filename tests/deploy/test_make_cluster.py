"""`make cluster` serves the whole stack, and Ctrl-C leaves nothing running behind it."""

import os
import re
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from deploy import services
from tests.live import PROJECT
from tests.services import unavailable

STARTUP_SECONDS = 120


def descendants(pid):
    """Every process under pid, found through /proc."""
    found, waiting = [], [pid]
    while waiting:
        parent = waiting.pop()
        path = Path(f"/proc/{parent}/task/{parent}/children")
        children = [int(child) for child in path.read_text().split()] if path.exists() else []
        found += children
        waiting += children
    return found


def running(pid):
    """Whether a process with this pid exists and has not exited."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def read_until_served(process):
    """What `make cluster` printed up to and including the files line."""
    lines, deadline = [], time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            pytest.fail(f"make cluster exited with {process.wait()}:\n{''.join(lines)}")
        lines.append(line)
        if line.strip().startswith("files:"):
            return "".join(lines)
    pytest.fail(f"make cluster did not serve within {STARTUP_SECONDS} s:\n{''.join(lines)}")


@pytest.fixture
def make_cluster():
    """`make cluster` with two workers per gunicorn, in a process group as a terminal runs it."""
    if not services.nginx_program():
        unavailable("nginx is not installed")
    process = subprocess.Popen(
        ["make", "--no-print-directory", "-C", str(PROJECT), "cluster", "WEB_CONCURRENCY=2"],
        env={key: value for key, value in os.environ.items() if not key.startswith("CHATAPP_")},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    yield process
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate()


def test_make_cluster_serves_and_ctrl_c_stops_everything(make_cluster):
    printed = read_until_served(make_cluster)
    url = re.search(r"chatapp: (http://\S+)/ ", printed).group(1)
    folder = Path(re.search(r"files: (\S+) ", printed).group(1))
    workers = re.findall(r"gunicorn \d: \S+, workers (\d+), (\d+), log", printed)
    assert len(workers) == 2, printed
    with urllib.request.urlopen(f"{url}/chat/login/", timeout=10) as response:
        assert "<h1>Log in</h1>" in response.read().decode()
    postmaster = services.postmaster_pid(folder / "postgresql")
    processes = [*descendants(make_cluster.pid), postmaster]
    # make, the cluster, Redis, two gunicorns with two workers each, nginx with its worker
    assert len(processes) >= 10

    os.killpg(make_cluster.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    output, _ = make_cluster.communicate(timeout=60)
    # make waits for the cluster to finish stopping, then dies of the same Ctrl-C.
    assert make_cluster.returncode in (0, -signal.SIGINT), output
    assert output.rstrip().endswith("stopped")
    assert [pid for pid in processes if running(pid)] == []
    assert not folder.exists()
