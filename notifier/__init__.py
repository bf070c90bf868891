"""notifier: the continuity plan for a silent customer service, made executable."""
from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from typing import Any

from flask import Flask


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create the web application: settings, database, queues, blueprints."""
    from . import banner, config, db, deliveries, i18n, logs, queues
    from .web import (
        account,
        api,
        auditlog,
        auth,
        console,
        contacts,
        drafts,
        editor,
        formatting,
        headers,
        inbound,
        inbox,
        incidents,
        inputs,
        language,
        limiter,
        metrics,
        notices,
        public,
        readiness,
        status,
        subscribe,
        subscribers,
        tokens,
        users,
        webhooks,
    )

    app = Flask(__name__, template_folder="pages")
    app.config.from_mapping(config.load())
    if test_config:
        app.config.update(test_config)
    _secret_key(app)
    logs.configure(app)
    inputs.init_app(app)
    quiet_sdk_loggers()
    db.init_app(app)
    deliveries.strict(app.extensions["notifier.engine"])
    i18n.init_app(app)
    queues.init_app(app)
    limiter.init_app(app)
    auth.init_app(app)
    headers.init_app(app)
    banner.init_app(app)
    webhooks.init_app(app)
    inbound.init_app(app)
    subscribe.init_app(app)
    app.register_blueprint(public.bp)
    app.wsgi_app = public.BannerFastPath(app, app.wsgi_app)  # type: ignore[method-assign]
    formatting.init_app(app)
    for blueprint in (console.bp, notices.bp, incidents.bp, contacts.bp, users.bp, auditlog.bp,
                      inbox.bp, language.bp, editor.bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(status.bp)
    for blueprint in (drafts.bp, readiness.bp, tokens.bp, subscribers.bp):
        app.register_blueprint(blueprint)
    metrics.init_app(app)
    api.init_app(app)
    app.register_blueprint(account.bp)
    return app


def _secret_key(app: Flask) -> None:
    """Require a secret outside the sandbox demo; the demo keeps a random one in instance/."""
    if app.config.get("SECRET_KEY"):
        return
    if not app.config["SANDBOX"]:
        from .errors import NotifierError

        raise NotifierError("NOTIFIER_SECRET_KEY is required when real providers are configured: "
                            "set it to a long random string (e.g. `python -c 'import secrets; "
                            "print(secrets.token_hex(32))'`).")
    from pathlib import Path

    path = Path(app.config["INSTANCE_DIR"]) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    app.config["SECRET_KEY"] = path.read_text().strip()


def quiet_sdk_loggers() -> None:
    """Keep SDK request logs out: they print URLs with the bot token and bodies with numbers."""
    # SQLAlchemy logs statements with their parameters (addresses) whenever the root logger is
    # at INFO or below, so it is held at WARNING too.
    for name in ("httpx", "httpcore", "twilio", "twilio.http_client", "telegram", "sendgrid",
                 "python_http_client", "urllib3", "sqlalchemy"):
        logging.getLogger(name).setLevel(logging.WARNING)
