"""The production layout in deploy/ is exercised: systemd-analyze verifies every unit."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from notifier import alertrules, config

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def test_systemd_analyze_verifies_every_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is needed (Debian's systemd package)"
    venv_bin = str(Path(sys.executable).parent) + "/"
    names = []
    for unit in sorted((DEPLOY / "systemd").iterdir()):
        text = unit.read_text().replace("/opt/notifier/venv/bin/", venv_bin)
        # The environment files exist only on a real host; everything else is checked as is.
        text = text.replace("EnvironmentFile=/etc/", "EnvironmentFile=-/etc/")
        name = unit.name.replace("@.service", "@delivery.service")
        (tmp_path / name).write_text(text)
        if "@." in unit.name:
            (tmp_path / unit.name).write_text(text)
        names.append(name)
    out = subprocess.run([analyze, "verify", "--man=no", *names], cwd=tmp_path, check=False,
                         capture_output=True, text=True, timeout=60,
                         env={"SYSTEMD_LOG_LEVEL": "warning", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0 and not out.stderr.strip(), out.stderr
    assert {"notifier-web.service", "notifier-worker@delivery.service",
            "notifier-migrate.service", "notifier-backup.timer"} <= set(names)


def test_the_example_environment_uses_only_real_settings() -> None:
    names = [line.split("=", 1)[0] for line in (DEPLOY / "notifier.env.example").read_text()
             .splitlines() if line and not line.startswith("#")]
    unknown = [n for n in names if n not in config.SETTINGS]
    assert not unknown, f"not settings: {unknown}"
    assert config.load({n: "" for n in ()})  # loads without the file


def test_the_example_alert_rules_parse() -> None:
    rules = alertrules.load(str(DEPLOY / "alert-rules.example.yaml"))
    assert rules.oncall_segment == "staff" and len(rules.rules) == 3
