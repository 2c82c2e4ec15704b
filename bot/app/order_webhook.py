"""The order webhook's request: a signed POST to `ORDER_WEBHOOK_URL` (the `OrderWebhook`
port of bot/domain/ports.py). When and how often is bot/domain/order_hooks.py's."""

from __future__ import annotations

import hashlib
import hmac

import aiohttp

TIMEOUT = aiohttp.ClientTimeout(total=10)
SIGNATURE = "X-Shopbot-Signature"
DELIVERY = "X-Shopbot-Delivery"


def signature(secret: str, body: bytes) -> str:
    """The `X-Shopbot-Signature` header: HMAC-SHA256 of the exact body bytes."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class SignedPoster:
    def __init__(self, url: str, secret: str) -> None:
        self.url = url
        self.secret = secret

    async def post(self, delivery_id: str, body: bytes) -> str | None:
        headers = {"Content-Type": "application/json", SIGNATURE: signature(self.secret, body),
                   DELIVERY: delivery_id}
        try:
            async with aiohttp.ClientSession(timeout=TIMEOUT) as session, \
                    session.post(self.url, data=body, headers=headers) as response:
                if 200 <= response.status < 300:
                    return None
                return f"HTTP {response.status}"
        except TimeoutError:
            return "no answer within 10 seconds"
        except (aiohttp.ClientError, OSError) as error:
            return f"connection error: {type(error).__name__}: {error}"[:300]
