"""Settings read from the environment (and an optional `.env`)."""

from __future__ import annotations

import hashlib
import re
from datetime import time
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot import DEMO_SHOP
from bot.core.languages import Lang


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    bot_token: SecretStr | None = None
    shop_file: Path = DEMO_SHOP
    redis_url: str | None = None
    # Several shops can share one Redis: every key starts with this (default: shopbot:<shop id>).
    redis_prefix: str | None = None
    telegram_api_server: str | None = None
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    host: str = "0.0.0.0"
    port: int = 8080
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    # The staff forum (a supergroup with topics) where people take conversations over.
    staff_chat_id: int | None = None
    staff_language: Lang | None = None  # the staff's language (default: the shop's)
    staff_idle_minutes: float = Field(30.0, gt=0)  # then an untouched handoff returns to the bot
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"  # json: one object a line, for collectors
    # The HTTP API for the shop's backend (orders, returns); off while unset.
    shop_api_token: SecretStr | None = None
    followup_delay_hours: float = Field(24.0, ge=0)  # delivery -> "has everything arrived?"
    followup_hours: str = Field("09:00-21:00", pattern=r"^\d{2}:\d{2}-\d{2}:\d{2}$")
    in_process_worker: bool = True  # run the follow-up worker inside `shopbot run`
    # Broadcasts: messages a second for the whole shop (Telegram's free limit is about 30;
    # with PAID_BROADCAST, up to 1000, paid in Stars), and how many senders share one.
    broadcast_rate: float = Field(25.0, gt=0, le=1000)
    paid_broadcast: bool = False
    broadcast_lanes: int = Field(2, ge=1, le=16)
    greeting_quiet_hours: float = Field(6.0, gt=0)
    # Flood control: more than FLOOD_MESSAGES in FLOOD_SECONDS gets one notice, then silence
    # until calm. An album counts once; staff and ADMIN_IDS are never throttled.
    # Conversation lines older than this are dropped (the staff card and /mydata show them).
    history_retention_days: float = Field(90.0, gt=0)
    flood_messages: int = Field(10, ge=1)
    flood_seconds: float = Field(15.0, gt=0)

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [part for part in value.replace(";", ",").split(",") if part.strip()]
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("telegram_api_server", "redis_url", "webhook_url", "staff_chat_id",
                     "staff_language", "shop_api_token", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

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
