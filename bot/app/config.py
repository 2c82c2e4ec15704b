"""Settings read from the environment (and an optional `.env`)."""

from __future__ import annotations

import hashlib
import re
from datetime import time
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot import DEMO_SHOP
from bot.app.redis_url import sentinel_address
from bot.core.languages import Lang


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    # The token from @BotFather; required to run.
    bot_token: SecretStr | None = None
    # Path to the shop file (default: the bundled demo shop).
    shop_file: Path = DEMO_SHOP
    # E.g. redis://localhost:6379/0, or through Sentinel
    # redis+sentinel://host1:26379,host2:26379/<service>/0. Unset: an in-process Redis, and
    # nothing survives a restart.
    redis_url: str | None = None
    # Prefix of every Redis key (default: shopbot:<shop id>), so several shops can share one Redis.
    redis_prefix: str | None = None
    # Replicas that must have an update before Telegram is told it arrived (Redis WAIT; 0: do
    # not wait). Narrows what a Sentinel failover can lose, for one more round trip an update.
    redis_wait_replicas: int = Field(0, ge=0, le=16)
    # How long to wait for them, in milliseconds; past it the update is confirmed anyway.
    redis_wait_ms: int = Field(100, ge=1, le=10_000)
    # Base URL of a self-hosted Bot API server (unset: https://api.telegram.org).
    telegram_api_server: str | None = None
    # Public https URL Telegram posts updates to; setting it switches from long polling to webhook
    # mode.
    webhook_url: str | None = None
    # Secret Telegram sends with every webhook request (unset: derived from the token); 1-256
    # characters of A-Za-z0-9_-.
    webhook_secret: SecretStr | None = None
    # Interface the web server listens on: the webhook, /healthz, /metrics and the shop's API.
    host: str = "0.0.0.0"
    # Port of that server (in polling mode too: /healthz, /metrics, the shop's API).
    port: int = 8080
    # The shop's admins, Telegram user ids: /reload, /stats, /broadcast, /broadcasts, and told when
    # a reload by SIGHUP fails.
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    # The staff forum (a supergroup with topics, its id starts with -100) where people take
    # conversations over; unset, shoppers who ask for a person get the contacts.
    staff_chat_id: int | None = None
    # Language of what the bot writes in the staff chat (default: the shop's default_language).
    staff_language: Lang | None = None
    # Minutes without a message either way (in working time) after which a conversation a person
    # holds goes back to the bot.
    staff_idle_minutes: float = Field(30.0, gt=0)
    # Python logging level: DEBUG, INFO, WARNING...
    log_level: str = "INFO"
    # `text`, or `json` for one JSON object a line (for log collectors).
    log_format: Literal["text", "json"] = "text"
    # The secret the shop's backend sends to the HTTP API (orders, returns, broadcasts); the API is
    # off while unset.
    shop_api_token: SecretStr | None = None
    # Hours after delivery before the bot asks whether everything arrived.
    followup_delay_hours: float = Field(24.0, ge=0)
    # The part of the day (shop's time zone) the delivery check may be sent in, HH:MM-HH:MM.
    followup_hours: str = Field("09:00-21:00", pattern=r"^\d{2}:\d{2}-\d{2}:\d{2}$")
    # Run the follow-up worker inside `shopbot run`; false when separate `shopbot worker` processes
    # run it.
    in_process_worker: bool = True
    # Broadcast messages a second for the whole shop, shared by every process; above 30 needs
    # PAID_BROADCAST.
    broadcast_rate: float = Field(25.0, gt=0, le=1000)
    # Send broadcasts with Telegram's allow_paid_broadcast: up to 1000 a second, paid in Stars.
    paid_broadcast: bool = False
    # Senders per broadcast, each a job any worker may run; the creating process's value counts.
    broadcast_lanes: int = Field(2, ge=1, le=16)
    # Hours without messages after which the next one starts a new conversation (greeted again,
    # counted as a visit).
    greeting_quiet_hours: float = Field(6.0, gt=0)
    # Conversation lines older than this are dropped, and a silent customer's history expires this
    # long after their last message.
    history_retention_days: float = Field(90.0, gt=0)
    # Flood control: more than this many messages in FLOOD_SECONDS get one notice, then silence
    # until calm (an album counts once; staff and ADMIN_IDS are never throttled).
    flood_messages: int = Field(10, ge=1)
    # The window of flood control, in seconds.
    flood_seconds: float = Field(15.0, gt=0)

    # The payment provider's token from @BotFather (Payments): shoppers fill a cart and pay a
    # Telegram invoice in the chat. Unset: "Order this" gives the shop's order instructions
    # (digital products priced in Stars are paid in Stars either way).
    payment_provider_token: SecretStr | None = None
    # Minutes a checkout holds its stock while the shopper pays.
    payment_hold_minutes: float = Field(15.0, gt=0, le=24 * 60)
    # Answer shoppers who write to a business account connected to the bot (Telegram Business:
    # Settings → Telegram Business → Chatbots); false: the bot keeps quiet in its chats.
    business_replies: bool = True
    # Minutes after the business account's owner last wrote to a shopper in person before the bot
    # answers that shopper again (the owner can hand the chat back sooner).
    business_idle_minutes: float = Field(30.0, gt=0)
    # The bot's greeting in business chats: `auto` (until Telegram's own greeting or away message
    # has been seen on the account), `always`, or `never`.
    business_greeting: Literal["auto", "always", "never"] = "auto"
    # Send what the bot starts (order news, delivery checks, return updates) to the business chat
    # a customer last wrote in; false: to the bot's own chat only.
    business_followups: bool = True

    # Your backend's http(s) URL the bot posts an order it created itself to (a Telegram
    # payment), signed, retried until a 2xx answer or 48 hours; unset: nothing is sent.
    order_webhook_url: str | None = None
    # The key of that post's HMAC-SHA256 signature (`X-Shopbot-Signature`); required with
    # ORDER_WEBHOOK_URL.
    order_webhook_secret: SecretStr | None = None

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [part for part in value.replace(";", ",").split(",") if part.strip()]
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("telegram_api_server", "redis_url", "webhook_url", "staff_chat_id",
                     "staff_language", "shop_api_token", "payment_provider_token", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("redis_url")
    @classmethod
    def _readable_redis_url(cls, value: str | None) -> str | None:
        if value is not None:
            sentinel_address(value)  # a Sentinel URL it cannot read says what is wrong
        return value

    @model_validator(mode="after")
    def _free_rate(self) -> Settings:
        if self.broadcast_rate > 30 and not self.paid_broadcast:
            raise ValueError("BROADCAST_RATE above 30 messages a second needs PAID_BROADCAST=true")
        return self

    @field_validator("webhook_secret")
    @classmethod
    def _telegram_accepts_secret(cls, value: SecretStr | None) -> SecretStr | None:
        secret = value.get_secret_value() if value is not None else None
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ValueError("Telegram accepts 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("order_webhook_url", "order_webhook_secret", mode="before")
    @classmethod
    def _order_webhook_blank_is_none(cls, value: object) -> object:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _order_webhook(self) -> Settings:
        url = self.order_webhook_url
        if url is None:
            return self
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"ORDER_WEBHOOK_URL must be an http:// or https:// URL, not {url!r}")
        if self.order_webhook_secret is None:
            raise ValueError("ORDER_WEBHOOK_SECRET is required when ORDER_WEBHOOK_URL is set: "
                             "your backend checks each post's signature with it")
        return self

    def token_problem(self) -> str | None:
        """Why BOT_TOKEN cannot serve, in one line (None when it may): checked before anything
        heavy is loaded. Only Telegram can tell whether a well-formed token is valid."""
        token = self.bot_token.get_secret_value().strip() if self.bot_token else ""
        if not token:
            return "BOT_TOKEN is not set: get one from @BotFather and set BOT_TOKEN"
        # The form aiogram accepts (`aiogram.utils.token.validate_token`), without importing it.
        bot_id, colon, secret = token.partition(":")
        if not colon or not bot_id.isdigit() or not secret or any(c.isspace() for c in token):
            return "BOT_TOKEN does not look like a bot token (it reads like 123456:ABC-DEF...)"
        return None

    def followup_day(self) -> tuple[time, time]:
        """The part of the day follow-ups may be sent in (the shop's time zone)."""
        start, end = self.followup_hours.split("-")
        return time.fromisoformat(start), time.fromisoformat(end)

    def secret_token(self) -> str:
        """The webhook secret: the configured one, or one derived from the bot token.

        Deriving it keeps every web process behind one URL agreeing without more set-up,
        and it is as secret as the token itself.
        """
        if self.webhook_secret is not None:
            return self.webhook_secret.get_secret_value()
        token = self.bot_token.get_secret_value() if self.bot_token else ""
        return hashlib.sha256(f"shopbot-webhook:{token}".encode()).hexdigest()[:48]
