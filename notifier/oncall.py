"""After an alert opens a draft: tell the on-call people, and send the drill a rule allows.

On-call staff are a handful of subscriptions in one segment, told by SMS and email straight
through the channel adapters (no delivery rows: this is a message to staff, not a notice to
customers, and it must not wait behind a notice's batches). Nothing public changes here.
"""
from __future__ import annotations

import logging
from dataclasses import replace

from flask import current_app
from sqlalchemy import select

from . import db, dispatch, idempotency, queues
from .alertrules import RuleSet
from .alerts import AlertIn, Outcome
from .channels import make_adapter
from .channels.base import Message
from .errors import NotifierError
from .models import Incident, Proposal, Segment, Subscriber, SubscriberSegment, Subscription

log = logging.getLogger(__name__)
PROVIDERS = {"sms": "twilio", "email": "sendgrid"}
TEXT = {
    "sv": ("Utkast till händelse {id}: {title}. Förslag: {template}{down}. Ingenting har skickats. "
           "Bekräfta eller avfärda: {url}"),
    "en": ("Draft incident {id}: {title}. Proposed: {template}{down}. Nothing has been sent. "
           "Confirm or dismiss: {url}"),
}
DOWN = {"sv": ", ner: {keys}", "en": ", down: {keys}"}


def after_alert(outcome: Outcome, alert: AlertIn, rules: RuleSet, who: str) -> Outcome:
    """Send the rule's drill, if it allows one, and queue the message to on-call staff."""
    if outcome.result != "draft" or outcome.proposal_id is None:
        return outcome
    rule = rules.first(alert.labels)
    drill = send_drill(outcome.proposal_id, rule.drill_segment, who) \
        if rule is not None and rule.drill_segment else None
    if rules.oncall_segment:
        queues.queue("control").enqueue(queues.TELL_ONCALL, outcome.proposal_id,
                                        rules.oncall_segment)
    return replace(outcome, drill_notice_id=drill)


def send_drill(proposal_id: int, segment: str, who: str) -> int | None:
    """Send the proposed notice at once as a drill to a test segment (a rule allowed it)."""
    with db.transaction() as s:
        p = s.get(Proposal, proposal_id)
        assert p is not None
        req = dispatch.NoticeRequest(p.template_key, dict(p.values), ["sms", "email", "telegram"],
                                     [segment], drill=True)
    key = idempotency.Key("api", f"alert-drill:{proposal_id}",
                          idempotency.fingerprint("alert-drill", proposal_id))
    try:
        return dispatch.confirm_idempotently(req, who, key).notices[0].id
    except NotifierError as exc:
        log.warning("alert drill for proposal %s not sent: %s", proposal_id, exc)
        return None


def _text(lang: str, incident: Incident, proposal: Proposal, url: str) -> str:
    down = [k for k, v in proposal.contact_states.items() if v == "down"]
    extra = DOWN[lang].format(keys=", ".join(down)) if down else ""
    return TEXT[lang].format(id=incident.id, title=incident.title, template=proposal.template_key,
                             down=extra, url=url)


def tell(proposal_id: int, segment: str) -> int:
    """Tell the on-call segment by SMS and email that a draft waits; return messages sent."""
    cfg = current_app.config
    with db.transaction() as s:
        proposal = s.get(Proposal, proposal_id)
        incident = s.get(Incident, proposal.incident_id) if proposal else None
        if proposal is None or incident is None:
            return 0
        url = f"{cfg['PUBLIC_URL']}/drafts/{incident.id}"
        rows = s.execute(
            select(Subscription.channel, Subscription.address, Subscriber.language)
            .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
            .join(SubscriberSegment, SubscriberSegment.subscriber_id == Subscriber.id)
            .join(Segment, Segment.id == SubscriberSegment.segment_id)
            .where(Segment.key == segment, Subscription.status == "active",
                   Subscription.channel.in_(list(PROVIDERS)))).all()
        texts = {lang: _text(lang, incident, proposal, url) for lang in TEXT}
    sent = 0
    for channel, provider in PROVIDERS.items():
        # Negative ids: no delivery row has them, so a receipt for these matches nothing.
        messages = [Message(-(i + 1), address, lang, texts.get(lang, texts["en"]),
                            subject=texts.get(lang, texts["en"])[:78] if channel == "email" else None)
                    for i, (ch, address, lang) in enumerate(rows) if ch == channel]
        if not messages:
            continue
        adapter = make_adapter(channel, cfg["PROVIDERS"][provider], cfg)
        try:
            outcomes = adapter.send(messages)
        finally:
            adapter.close()
        sent += sum(1 for o in outcomes if o.result.value == "sent")
    return sent
