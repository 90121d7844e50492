"""Parts the chaos benchmark (tests/bench/chaos.py) needs beyond tests/realparts.py: a
PostgreSQL server of its own that it may restart (never the machine's shared one, which other
people and CI use), and the pool processes of a Celery worker, to SIGKILL one of them."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.realparts import wait_for

PG_BIN = Path(os.environ.get("BENCH_PG_BIN", "/usr/lib/postgresql/15/bin"))
# PostgreSQL refuses to run as root: as root, the server runs as this user.
PG_USER = "postgres"


class OwnPostgres:
    """A throwaway PostgreSQL cluster (initdb into a temporary directory) on `port`, trusting
    local connections, that the bench restarts as an operator would (`pg_ctl restart`)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.datadir = Path(tempfile.mkdtemp(prefix="agentdesk-chaos-pg-"))
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.datadir, PG_USER, PG_USER)

    def url(self, name: str) -> str:
        return f"postgres://{PG_USER}@127.0.0.1:{self.port}/{name}"

    def _run(self, *argv: str) -> None:
        prefix = ["runuser", "-u", PG_USER, "--"] if self.as_root else []
        subprocess.run([*prefix, *argv], check=True, capture_output=True, cwd="/tmp")

    def _pg_ctl(self, *args: str) -> None:
        log = str(self.datadir / "server.log")
        options = f"-p {self.port} -k {self.datadir} -c listen_addresses=127.0.0.1"
        options += " -c max_connections=300 -c fsync=off"
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.datadir / "data"), "-l", log, "-w",
                  "-o", options, *args)  # fmt: skip

    def start(self) -> "OwnPostgres":
        data = str(self.datadir / "data")
        self._run(str(PG_BIN / "initdb"), "-D", data, "-U", PG_USER, "--auth=trust", "-E", "UTF8")
        self._pg_ctl("start")
        wait_for(self.answers, timeout=30, what=f"PostgreSQL on port {self.port}")
        return self

    def answers(self) -> bool:
        result = subprocess.run(
            [str(PG_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
            capture_output=True,
        )
        return result.returncode == 0

    def restart(self) -> None:
        """Restart it (fast shutdown: every connection is cut, as in `pg_ctlcluster restart`)."""
        self._pg_ctl("restart", "-m", "fast")
        wait_for(self.answers, timeout=60, what="PostgreSQL to come back")

    def stop(self) -> None:
        try:
            self._pg_ctl("stop", "-m", "immediate")
        except subprocess.CalledProcessError:
            pass  # already down
        shutil.rmtree(self.datadir, ignore_errors=True)


def children(pid: int) -> list[int]:
    """The direct children of process `pid` (a prefork worker's pool processes)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(child) for child in task.read_text().split()]
        except OSError:
            continue
    return found
