"""Parts the chaos benchmark (tests/bench/chaos.py) needs beyond tests/realparts.py: a
PostgreSQL server of its own that it may restart (never the machine's shared one, which other
people and CI use), and the pool processes of a Celery worker, to SIGKILL one of them."""

import os
import shutil
import subprocess
import tempfile
import threading
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


class CpuByPart(threading.Thread):
    """The CPU each part of the run used: every second, every process's CPU so far
    (/proc/<pid>/stat), kept by pid so that a process killed mid-run keeps what it used until
    its last sample, and summed by part on demand. The parts: the gunicorns by the port they
    serve (`ports`: port -> name, from WEB_BIND in their environment), the Celery worker and
    beat, the bench's own PostgreSQL (`pg_datadir`) and Redis, and this process (the desks'
    driver and the sandbox's control calls). Anything else on the machine is not counted."""

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, ports: dict[int, str], pg_datadir: str, redis_port: int) -> None:
        super().__init__(daemon=True)
        self.ports, self.pg_datadir, self.redis_port = ports, pg_datadir, redis_port
        self.used: dict[int, tuple[str, float]] = {}
        self.roles: dict[int, str | None] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(1.0):
            self.sample()

    def totals(self) -> dict[str, float]:
        self.sample()
        out: dict[str, float] = {}
        for role, seconds in list(self.used.values()):
            out[role] = out.get(role, 0.0) + seconds
        return dict(sorted(out.items(), key=lambda item: -item[1]))

    def sample(self) -> None:
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            pid = int(entry)
            try:
                with open(f"/proc/{pid}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
                role = self.role(pid, int(fields[1]))
            except (OSError, IndexError, ValueError):
                continue
            if role is not None:
                self.used[pid] = (role, (int(fields[11]) + int(fields[12])) / self.TICK)

    def role(self, pid: int, ppid: int) -> str | None:
        if pid not in self.roles:
            self.roles[pid] = self.find_role(pid, ppid)
        return self.roles[pid]

    def find_role(self, pid: int, ppid: int) -> str | None:
        if pid == os.getpid():
            return "bench (desks' driver, sandbox control)"
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        if "redis-server" in cmdline:
            return "Redis" if f":{self.redis_port}" in cmdline else None
        if self.pg_datadir in cmdline:
            return "PostgreSQL"
        if cmdline.startswith("postgres: ") and not cmdline.startswith("postgres: 15/"):
            parent = Path(f"/proc/{ppid}/cmdline").read_bytes()
            return "PostgreSQL" if self.pg_datadir.encode() in parent else None
        if "celery" in cmdline:
            return "Celery beat" if " beat" in cmdline else "Celery worker"
        if "gunicorn" in cmdline:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            for item in environ:
                if item.startswith(b"WEB_BIND="):
                    port = int(item.rsplit(b":", 1)[1])
                    return self.ports.get(port)
        return None
