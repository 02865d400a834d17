"""The deployment files and the CI script keep their security settings."""

import re
import subprocess
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
NGINX = (PROJECT / "deploy" / "nginx.conf").read_text()


def location(pattern):
    """The body of the nginx location whose line contains pattern."""
    start = NGINX.index(pattern)
    return NGINX[start : NGINX.index("}", start)]


def test_nginx_sends_browsers_to_https_for_a_year():
    header = re.search(r'add_header Strict-Transport-Security "max-age=(\d+)[^"]*" always;', NGINX)
    assert header and int(header.group(1)) >= 31536000


def test_nginx_caps_sockets_and_event_streams_per_client_address():
    assert re.search(r"limit_conn_zone \$binary_remote_addr zone=(\w+):", NGINX)
    zone = re.search(r"zone=(\w+):", NGINX).group(1)
    for pattern in ["location ~ ^(/chat/room/[^/]+/ws|/api/v1/ws)$", "location = /chat/events"]:
        assert re.search(rf"limit_conn {zone} \d+;", location(pattern)), pattern


def test_the_service_creates_files_for_its_own_user_only():
    unit = (PROJECT / "deploy" / "chatapp.service").read_text()
    assert re.search(r"^UMask=0077$", unit, re.M)


def test_ci_runs_with_ci_set():
    assert re.search(r"^export CI=true$", (PROJECT / ".ci" / "run").read_text(), re.M)


def run_install_script(tmp_path, **env):
    """Run install-test-services where neither apt-get nor redis-server can be found."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ["bash", "dirname", "id", "env"]:
        (bin_dir / tool).symlink_to(subprocess.check_output(["which", tool], text=True).strip())
    script = PROJECT / "scripts" / "install-test-services"
    environment = {"PATH": str(bin_dir), **env}
    return subprocess.run(
        [str(bin_dir / "bash"), str(script)], env=environment, capture_output=True, text=True
    )


def test_installing_test_services_fails_under_ci_when_something_cannot_be_installed(tmp_path):
    result = run_install_script(tmp_path, CI="true")
    assert result.returncode != 0
    assert "cannot install" in result.stderr


def test_installing_test_services_only_warns_outside_ci(tmp_path):
    result = run_install_script(tmp_path)
    assert result.returncode == 0
    assert "cannot install" in result.stderr
