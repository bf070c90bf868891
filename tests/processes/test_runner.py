"""`notifier up` as a newcomer runs it: everything starts, the CLI reaches it, Ctrl-C stops it all."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import notifier_cmd, wait_until

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


RUNS: list[Run] = []


class Run:
    """One `notifier up` process with its output in a file."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        RUNS.append(self)
        self.log = folder / f"up-{len(list(folder.glob('up-*.log')))}.log"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(notifier_cmd("up"), env=env, cwd=folder,
                                         stdout=out, stderr=subprocess.STDOUT)
        self.env = env

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def children(self) -> list[int]:
        return [int(p) for p in re.findall(r"started .+? \(pid (\d+)\)", self.output)]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.env['NOTIFIER_PORT']}{path}"

    def wait_ready(self) -> None:
        def ready() -> bool:
            assert self.proc.poll() is None, f"notifier up exited:\n{self.output}"
            if "notifier is running at" not in self.output:  # announced once all answer
                return False
            try:
                with urllib.request.urlopen(self.url("/readyz"), timeout=2) as resp:
                    return resp.status == 200
            except OSError:
                return False
        wait_until(ready, timeout=90, what=f"the console at {self.url('/readyz')}")


@pytest.fixture(autouse=True)
def _stop_leftover_runs() -> Iterator[None]:
    """Stop a run a failed assertion left behind, so it cannot disturb the next test."""
    yield
    while RUNS:
        run = RUNS.pop()
        if run.proc.poll() is None:
            run.proc.send_signal(signal.SIGINT)
            try:
                run.proc.wait(30)
            except subprocess.TimeoutExpired:
                run.proc.kill()
                run.proc.wait()


@pytest.fixture
def up_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTIFIER_")}
    env.update(NOTIFIER_PORT=str(_free_port()), NOTIFIER_SANDBOX_PORT=str(_free_port()),
               NOTIFIER_DEMO_PASSWORD="correct-horse-battery", NOTIFIER_WORKERS="1",
               NOTIFIER_RECONCILE_EVERY="1", NOTIFIER_SMS_RATE="100")
    yield env


def _reached(output: str) -> dict[str, int]:
    """Add up sent and delivered per delivery channel from `send --wait` / `status` output."""
    reached: dict[str, int] = {}
    for channel, counts in re.findall(r"^(sms|email|telegram)\s+(.+)$", output, re.MULTILINE):
        reached[channel] = sum(int(n) for status, n in re.findall(r"(\w+) (\d+)", counts)
                               if status in ("sent", "delivered"))
    return reached


def test_up_serves_the_console_reaches_the_cli_and_stops_everything_on_ctrl_c(
        tmp_path: Path, up_env: dict[str, str]) -> None:
    run = Run(tmp_path, up_env)
    run.wait_ready()
    out = run.output
    assert f"notifier is running at http://127.0.0.1:{up_env['NOTIFIER_PORT']}" in out
    assert "SANDBOX: nothing real is sent" in out
    assert "operator@solvik.example" in out and "password  correct-horse-battery" in out
    assert (tmp_path / "instance" / "valkey.sock").exists()

    # A second terminal in the same folder: the CLI finds the running Valkey and workers.
    # As the printed next step says: the operator's account, asking for the demo password.
    assert "--as operator@solvik.example" in out
    sent = subprocess.run(notifier_cmd("send", "phone-lines-down", "--var", "contacts=vaxel,chatt",
                                       "--yes", "--wait", "--as", "operator@solvik.example"),
                          env=up_env, cwd=tmp_path, input="correct-horse-battery\n",
                          capture_output=True, text=True, timeout=120)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert _reached(sent.stdout) == {"sms": 43, "email": 36, "telegram": 15}, sent.stdout
    # The sandbox reports delivery back to the console, as Twilio would: SMS end "delivered".
    wait_until(lambda: "sms       delivered 43" in subprocess.run(
        notifier_cmd("status", "1"), env=up_env, cwd=tmp_path, capture_output=True, text=True,
        timeout=60).stdout, timeout=30, what="the SMS delivery receipts")

    # ... and SendGrid's events, signed as SendGrid signs them: the emails end "delivered" too.
    wait_until(lambda: "email     delivered 36" in subprocess.run(
        notifier_cmd("status", "1"), env=up_env, cwd=tmp_path, capture_output=True, text=True,
        timeout=60).stdout, timeout=30, what="the email delivery events")

    children = run.children()
    assert len(children) == 4  # sandbox, web, banner worker, one worker
    before = len(run.output)
    run.proc.send_signal(signal.SIGINT)
    assert run.proc.wait(30) == 0
    tail = run.output[before:]
    assert "Traceback" not in tail and "KeyboardInterrupt" not in tail, tail
    assert tail.strip().splitlines()[-6:] == [
        "stopped sandbox", "stopped web", "stopped banner worker", "stopped worker 1",
        "stopped valkey", "notifier stopped"], tail
    wait_until(lambda: not any(_alive(pid) for pid in children), timeout=15,
               what="every child process to stop")
    assert not (tmp_path / "instance" / "valkey.sock").exists()

    # A second run keeps the data: no new demo, the notice is still there.
    again = Run(tmp_path, up_env)
    again.wait_ready()
    assert "password  correct-horse-battery" not in again.output
    status = subprocess.run(notifier_cmd("status", "1"), env=up_env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert "phone-lines-down (completed)" in status.stdout, status.stdout + status.stderr
    again.proc.send_signal(signal.SIGINT)
    assert again.proc.wait(30) == 0


def test_a_killed_run_leaves_nothing_behind_and_the_next_run_recovers(
        tmp_path: Path, up_env: dict[str, str]) -> None:
    run = Run(tmp_path, up_env)
    run.wait_ready()
    children = run.children()
    valkey_pid = int((tmp_path / "instance" / "valkey.pid").read_text())
    os.kill(valkey_pid, signal.SIGKILL)  # as in a power cut: no chance to clean up
    run.proc.kill()
    run.proc.wait()
    wait_until(lambda: not any(_alive(pid) for pid in [*children, valkey_pid]), timeout=20,
               what="the children of a killed run to stop with it")
    assert (tmp_path / "instance" / "valkey.sock").exists()  # stale socket left behind
    assert (tmp_path / "instance" / "valkey.pid").exists()  # stale pid file left behind

    again = Run(tmp_path, up_env)
    again.wait_ready()
    again.proc.send_signal(signal.SIGINT)
    assert again.proc.wait(30) == 0


def test_ctrl_c_while_starting_stops_cleanly(tmp_path: Path, up_env: dict[str, str]) -> None:
    run = Run(tmp_path, up_env)
    wait_until(lambda: "started web" in run.output or run.proc.poll() is not None, timeout=90,
               what="the first processes to start")
    run.proc.send_signal(signal.SIGINT)
    assert run.proc.wait(30) == 0, run.output
    assert "Traceback" not in run.output
    wait_until(lambda: not any(_alive(pid) for pid in run.children()), timeout=15,
               what="every child process to stop")
