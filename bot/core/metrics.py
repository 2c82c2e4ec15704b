"""Prometheus metrics of one process, served at /metrics, and /healthz.

Each app has its own registry, so several apps in one process (the tests) do not mix.
Every process exposes its own figures; Prometheus adds them up across processes.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["CONTENT_TYPE", "Metrics"]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.updates = Counter("shopbot_updates", "Updates handled, by type", ["type"],
                               registry=r)
        self.update_errors = Counter("shopbot_update_errors",
                                     "Updates whose handling raised", registry=r)
        self.latency = Histogram(
            "shopbot_update_seconds", "Time to handle one update", registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        self.requests = Counter("shopbot_telegram_requests",
                                "Bot API calls, by method and outcome", ["method", "outcome"],
                                registry=r)
        self.sends = Counter("shopbot_messages_sent", "Messages sent (send and copy methods)",
                             registry=r)
        self.retry_after = Counter("shopbot_telegram_429",
                                   "Bot API answers 429 Too Many Requests", registry=r)
        self.events = Counter("shopbot_events", "Shop events: conversations, handoffs, "
                              "broadcasts, broadcast messages, follow-ups", ["event"],
                              registry=r)
        self.flood_notices = Counter("shopbot_flood_notices",
                                     "Shoppers told to slow down", registry=r)
        self.updates_again = Counter(
            "shopbot_updates_again", "Updates handled again: their process stopped mid-way",
            registry=r)
        self.updates_set_aside = Counter(
            "shopbot_updates_set_aside",
            "Updates set aside unhandled: three processes stopped while handling them",
            registry=r)
        self.sends_not_repeated = Counter(
            "shopbot_sends_not_repeated",
            "Sends a second try of an update found already made, and did not repeat",
            registry=r)
        self.updates_unreplicated = Counter(
            "shopbot_updates_unreplicated",
            "Updates confirmed to Telegram before REDIS_WAIT_REPLICAS replicas had them",
            registry=r)
        self.redis_up = Gauge("shopbot_redis_up", "1 while Redis answers, 0 while it does not",
                              registry=r)
        self.redis_up.set(1)

    def expose(self) -> bytes:
        return generate_latest(self.registry)
