"""Real parts for the fault tests and the results benchmark: a redis-server of our own (so
restarting or flushing it touches nobody else), real Celery worker and beat processes, a real
gunicorn, and the CPU time they used (read from /proc; psutil is not installed)."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(condition: object, *, timeout: float, interval: float = 0.1, what: str = "") -> None:
    """Call `condition` until it is true; AssertionError naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what or condition}")


class RedisServer:
    """A redis-server on a spare port, keeping nothing on disk, that can be restarted."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("redis-server") is not None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> "RedisServer":
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
                "--logfile",
                str(self.workdir / f"redis-{self.port}.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self.answers, timeout=10, what=f"redis-server on port {self.port}")
        return self

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """Stop it the hard way: everything queued in it is lost, as in a crash."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


def _group_stats(pgid: int) -> list[list[str]]:
    """/proc/<pid>/stat fields after the command name, of every process in group `pgid`:
    [0] state, [1] ppid, [2] pgrp, ... [11] utime, [12] stime (clock ticks)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rfind(")") + 2 :].split()
        if int(fields[2]) == pgid:
            members.append(fields)
    return members


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds of every process in process group `pgid`."""
    ticks = sum(int(fields[11]) + int(fields[12]) for fields in _group_stats(pgid))
    return ticks / CLOCK_TICKS


def _group_alive(pgid: int) -> bool:
    return any(fields[0] != "Z" for fields in _group_stats(pgid))


class Process:
    """A real process of ours (worker, beat, web) in its own process group, logging to a file."""

    def __init__(self, name: str, argv: list[str], env: Mapping[str, str], log_dir: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = dict(env)
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, ready: str | None = None, timeout: float = 60) -> "Process":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        if ready is not None:
            wait_for(
                lambda: ready in self.log() or self.process.poll() is not None,  # type: ignore[union-attr]
                timeout=timeout,
                what=f"{self.name} to be ready",
            )
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log()[-3000:]}")
        return self

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def cpu_seconds(self) -> float:
        return group_cpu_seconds(self.pid)

    def kill(self) -> None:
        """SIGKILL the whole process group (main process, pool children, embedded beat)."""
        if self.process is None:
            return
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(10)
        pgid = self.pid
        wait_for(lambda: not _group_alive(pgid), timeout=10, what=f"{self.name} to die")
        self.process = None

    def stop(self) -> None:
        """Ask the main process to stop (SIGTERM: a warm shutdown), then make sure of it."""
        if self.process is None:
            return
        try:
            self.process.terminate()
            self.process.wait(20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        self.kill()


def celery(*args: str, env: Mapping[str, str], log_dir: Path, name: str = "worker") -> Process:
    """`celery -A agentdesk <args>` as a real process."""
    argv = [sys.executable, "-m", "celery", "-A", "agentdesk", *args]
    return Process(name, argv, env, log_dir)


def django_env(**values: str) -> dict[str, str]:
    """The environment of a process of ours: this one's, with `values` on top."""
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "agentdesk.settings", **values}
