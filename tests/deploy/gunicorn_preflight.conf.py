"""deploy/gunicorn.conf.py with deploy/preflight.py's hook, as the deployed file is to carry it."""

import runpy
from pathlib import Path

from deploy.preflight import on_starting as on_starting

DEPLOYED = Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"

globals().update(
    {name: value for name, value in runpy.run_path(str(DEPLOYED)).items() if name[0] != "_"}
)
