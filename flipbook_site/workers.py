"""`serve --workers N`: a supervisor process and its N worker processes.

The supervisor binds the HTTP port and starts each worker as a new Python process (not a
fork: gRPC and database drivers do not survive a fork) that inherits the listening socket;
workers bind the gRPC port with SO_REUSEPORT after the supervisor has checked that no other
process serves it. A worker that dies is replaced (a crash loop is slowed down, never
given up on); SIGTERM or SIGINT is passed on to every worker, which stops gracefully, and
the supervisor exits when they have (killing what is left after the grace). Workers end
with their supervisor (PR_SET_PDEATHSIG), so a killed supervisor leaves no orphan serving.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import asdict

from flipbook_site.serve import ServeOptions

logger = logging.getLogger("flipbook.serve")

WORKER_ENV = "FLIPBOOK_SERVE_WORKER"  # JSON: the worker's options, index and socket fd
# Restarts within this many seconds count as a crash loop, slowed to one per BACKOFF_MAX.
CRASH_WINDOW = 10.0
BACKOFF_MAX = 5.0
PR_SET_PDEATHSIG = 1


class Supervisor:
    """Runs ``options.workers`` workers on ``http_socket`` until SIGTERM or SIGINT."""

    def __init__(self, options: ServeOptions, http_socket: socket.socket) -> None:
        self.options = options
        self.http_socket = http_socket
        self.workers: dict[int, subprocess.Popen] = {}
        self.stopping = threading.Event()

    def run(self) -> None:
        if self.options.grpc_port is not None:
            check_port_free(self.options.host, self.options.grpc_port)
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        logger.info(
            "starting workers",
            extra={"workers": self.options.workers, "pid": os.getpid()},
        )
        for index in range(self.options.workers):
            self._start(index)
        restarts: list[float] = []
        while not self.stopping.is_set():
            for index, process in list(self.workers.items()):
                code = process.poll()
                if code is None or self.stopping.is_set():
                    continue
                logger.error(
                    "worker exited; starting another",
                    extra={"worker": index, "pid": process.pid, "exit_code": code},
                )
                now = time.monotonic()
                restarts = [t for t in restarts if now - t < CRASH_WINDOW] + [now]
                if len(restarts) > self.options.workers:
                    self.stopping.wait(min(BACKOFF_MAX, 0.5 * len(restarts)))
                if not self.stopping.is_set():
                    self._start(index)
            self.stopping.wait(0.2)
        self._stop_all()

    def _on_signal(self, signum, frame) -> None:
        self.stopping.set()

    def _start(self, index: int) -> None:
        spec = {
            "options": asdict(self.options),
            "index": index,
            "fd": self.http_socket.fileno(),
        }
        env = {**os.environ, WORKER_ENV: json.dumps(spec)}
        process = subprocess.Popen(
            [sys.executable, "-m", "flipbook_site.workers"],
            env=env,
            pass_fds=(self.http_socket.fileno(),),
        )
        self.workers[index] = process

    def _stop_all(self) -> None:
        logger.info("stopping workers", extra={"workers": len(self.workers)})
        for process in self.workers.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.options.grace + 5
        for process in self.workers.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.error("worker did not stop in time; killing it", extra={"pid": process.pid})
                process.kill()
                process.wait()
        self.http_socket.close()
        logger.info("stopped")


def check_port_free(host: str, port: int) -> None:
    """Refuse a gRPC port that another process serves: workers share theirs by
    SO_REUSEPORT, which would otherwise share it with a stranger silently."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host.strip("[]"), port))
        except OSError as exc:
            raise OSError(
                f"the gRPC server cannot listen on {host}:{port} ({exc.strerror}); is the port "
                "in use? Choose another with FLIPBOOK_GRPC_PORT."
            ) from exc


def _end_with_parent() -> None:
    """Ask Linux to SIGTERM this process when its supervisor dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: workers outlive a killed supervisor
        return


def worker_main() -> None:
    """Entry point of a worker process (`python -m flipbook_site.workers`)."""
    spec = json.loads(os.environ.pop(WORKER_ENV))
    parent = os.getppid()
    _end_with_parent()
    if os.getppid() != parent:  # the supervisor died before the line above
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flipbook_site.settings")
    import django

    django.setup()
    from flipbook_site.serve import run_worker

    options = ServeOptions(**spec["options"])
    http_socket = socket.socket(fileno=spec["fd"])
    run_worker(options, http_socket, worker_index=spec["index"], share_grpc_port=True)


if __name__ == "__main__":
    worker_main()
