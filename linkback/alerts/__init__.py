"""Alerts: per site, rules that tell of new, lost and changed links, broken pages and new toxic
referring domains, through a signed webhook, email (at once or a daily/weekly digest) or the
site's Atom feed; every alert points at its evidence (issue #15).

Example (over a store the index, the monitor and the rank runs fill)::

    from linkback import alerts
    from linkback.store import Store

    with Store("linkback.duckdb") as store:
        alerts.alert_rule_add(store, "example.com", "lost_link", channel="email",
                              address="me@example.com", min_dr=30, follow_only=True)
        alerts.evaluate_alerts(store)   # what changed since each rule's last look
        alerts.deliver_alerts(store)    # what is due: webhooks, emails, digests
"""

from linkback.alerts._atom import atom_feed
from linkback.alerts._deliver import ATTEMPTS, deliver_alerts, due_alerts, retry_delay, webhook_body
from linkback.alerts._evaluate import alert_key, evaluate_alerts, first_delivery
from linkback.alerts._events import CAP, clean_line
from linkback.alerts._faces import (
    ALERT_COLUMNS,
    alert_feed,
    alert_rule_add,
    alert_rule_remove,
    alert_rules,
    alerts,
    alerts_run,
)
from linkback.alerts._mail import AlertSettings, MailError, compose, send_mail
from linkback.alerts._rules import CHANNELS, EVENTS, RULE_COLUMNS, SCHEDULES, feed_path, feed_token

__all__ = [
    "ALERT_COLUMNS",
    "ATTEMPTS",
    "CAP",
    "CHANNELS",
    "EVENTS",
    "RULE_COLUMNS",
    "SCHEDULES",
    "AlertSettings",
    "MailError",
    "alert_feed",
    "alert_key",
    "alert_rule_add",
    "alert_rule_remove",
    "alert_rules",
    "alerts",
    "alerts_run",
    "atom_feed",
    "clean_line",
    "compose",
    "deliver_alerts",
    "due_alerts",
    "evaluate_alerts",
    "feed_path",
    "feed_token",
    "first_delivery",
    "retry_delay",
    "send_mail",
    "webhook_body",
]
