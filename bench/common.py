"""What the benchmarks share: a migrated database, processes' CPU and memory, percentiles."""

import math
import os
import subprocess
import sys
from pathlib import Path

from tests.live import PROJECT

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def note(text):
    """Say what is going on, on stderr, away from the tables."""
    print(text, file=sys.stderr, flush=True)


def migrated_database(folder):
    """A SQLite file brought up to date by the migrations, as `make run` does; its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "chatapp.sqlite"
    env = {key: value for key, value in os.environ.items() if not key.startswith("CHATAPP_")}
    env.update(
        CHATAPP_SECRET_KEY="bench secret",
        CHATAPP_DATABASE_URL=f"sqlite:///{path}",
        CHATAPP_INSTANCE_PATH=str(folder / "instance"),
        CHATAPP_LOG_DIR=str(folder / "logs"),
    )
    upgrade = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
    )
    if upgrade.returncode:
        raise RuntimeError(f"flask db upgrade failed:\n{upgrade.stdout}{upgrade.stderr}")
    return path


def worker_pid(master_pid):
    """The pid of gunicorn's worker: the master's only child process."""
    children = [
        int(stat.parent.name)
        for stat in Path("/proc").glob("[0-9]*/stat")
        if parent_pid(stat) == master_pid
    ]
    if len(children) != 1:
        raise RuntimeError(f"gunicorn {master_pid} has {len(children)} workers, not one")
    return children[0]


def parent_pid(stat_path):
    """The parent pid from a /proc/<pid>/stat file, or None once that process is gone."""
    try:
        return int(stat_fields(stat_path)[1])
    except OSError:
        return None


def stat_fields(stat_path):
    """The fields of a /proc stat file after the command name, from the state on."""
    # The command name is in parentheses and may itself hold spaces and parentheses.
    return stat_path.read_text().rpartition(")")[2].split()


def cpu_seconds(pid):
    """User and system CPU time a process has used so far."""
    fields = stat_fields(Path(f"/proc/{pid}/stat"))
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def resident_bytes(pid):
    """The process's resident memory now."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def percentile(sorted_values, fraction):
    """The nearest-rank percentile of sorted values; NaN when there are none."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]
