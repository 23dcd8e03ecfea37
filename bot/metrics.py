"""Prometheus metrics, one registry per running bot (so tests never share counters)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import CONTENT_TYPE_LATEST  # noqa: F401  (re-exported for the route)


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.callbacks = Counter("wecom_callbacks_total", "Callbacks received, by result",
                                 ["channel", "result"], registry=r)
        self.acks = Counter("wecom_acks_total", "Callbacks acknowledged with 200", ["channel"],
                            registry=r)
        self.ack_latency = Histogram("wecom_ack_seconds", "Time from request to ack",
                                     ["channel"], registry=r,
                                     buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, 1, 5))
        self.inbox_depth = Gauge("inbox_depth", "Inbox events by status", ["status"], registry=r)
        self.handler_latency = Histogram("handler_seconds", "Handler run time by event type",
                                         ["type", "outcome"], registry=r)
        self.handler_failures = Counter("handler_failures_total", "Handler failures",
                                        ["type"], registry=r)
        self.outbox_depth = Gauge("outbox_depth", "Outbox messages by status", ["status"],
                                  registry=r)
        self.outbox_sent = Counter("outbox_sent_total", "Messages accepted by WeCom", ["api"],
                                   registry=r)
        self.outbox_retries = Counter("outbox_retries_total", "Send attempts that will be retried",
                                      ["api", "reason"], registry=r)
        self.outbox_deferred = Counter("outbox_paced_total",
                                       "Sends held back to stay inside WeCom's rate limits",
                                       ["api"], registry=r)
        self.api_calls = Counter("wecom_api_calls_total", "WeCom API calls by errcode",
                                 ["api", "errcode"], registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)
