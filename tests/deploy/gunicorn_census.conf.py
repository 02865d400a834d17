"""deploy/gunicorn.conf.py, writing down after its worker hook what a full collection visits."""

import gc
import os
import runpy
from pathlib import Path

DEPLOYED = Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"

globals().update(
    {name: value for name, value in runpy.run_path(str(DEPLOYED)).items() if name[0] != "_"}
)
_deployed_hook = post_worker_init  # noqa: F821  (defined by the deployed file, just above)


def post_worker_init(worker):
    """Run the deployed hook; write how many objects a full collection visits, before and after."""
    before = len(gc.get_objects())
    _deployed_hook(worker)
    after = len(gc.get_objects())
    Path(os.environ["GC_CENSUS"]).write_text(f"{before} {after}")
