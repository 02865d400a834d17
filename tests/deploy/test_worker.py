"""What gunicorn's worker does once it has loaded chatapp."""

import time
from pathlib import Path

from deploy.services import free_port, stop_process, wait_for_port
from tests.deploy.test_preflight import gunicorn

WITH_CENSUS = Path(__file__).with_name("gunicorn_census.conf.py")


def test_the_loaded_app_is_left_out_of_full_collections(tmp_path, monkeypatch):
    census = tmp_path / "census"
    monkeypatch.setenv("GC_CENSUS", str(census))
    port = free_port()
    process = gunicorn(tmp_path, WITH_CENSUS, workers=1, port=port)
    try:
        wait_for_port(port, process, seconds=60)
        deadline = time.monotonic() + 60
        while not census.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop_process(process)
        printed = process.communicate()[0]
    assert census.exists(), f"the worker hook did not run:\n{printed}"
    before, after = map(int, census.read_text().split())
    assert before > 50_000, before
    assert after < before / 10, (before, after)
