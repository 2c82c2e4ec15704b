"""The HTTP API the shop's backend calls (served by the bot's aiohttp app).

    POST /api/orders          one order event (created, paid, shipped, delivered, cancelled)
    GET  /api/orders/{id}     the order as the bot knows it
    POST /api/returns/{id}    a return's new status (approved, declined, received, ...)

Every call needs `Authorization: Bearer <SHOP_API_TOKEN>`. A bad payload gets a 400 whose
`field` names what to fix; the same event twice gets 200 with `"duplicate": true`.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from bot.domain.aftersale import RETURN_STATUSES, AfterSale
from bot.domain.broadcasts import BroadcastIn, Progress
from bot.domain.followups import Followups
from bot.domain.order_desk import OrderDesk
from bot.domain.orders import OrderError, OrderEventIn, jsonable
from bot.domain.ports import Courier

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(status: int, message: str, field: str | None = None) -> web.Response:
    return web.json_response({"ok": False, "field": field, "error": message}, status=status)


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise web.HTTPBadRequest(
            text=json.dumps({"ok": False, "field": None, "error": "the body is not JSON"}),
            content_type="application/json") from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(
            text=json.dumps({"ok": False, "field": None,
                             "error": "the body must be a JSON object"}),
            content_type="application/json")
    return data


def _invalid(exc: ValidationError) -> web.Response:
    """A 400 naming the first field to fix (`items.0.quantity`, `variants.ru.text`...)."""
    problem = exc.errors()[0]
    field = ".".join(str(part) for part in problem["loc"]) or None
    message = problem["msg"].removeprefix("Value error, ")
    name, _, rest = message.partition(": ")
    if rest and name.isidentifier():  # "tracking: ..." from a check of the whole model
        field, message = ".".join(part for part in (field, name) if part), rest
    return _error(400, message, field)


def add_shop_api(app: web.Application, token: str, desk: OrderDesk, aftersale: AfterSale,
                 courier: Courier, bot_username: Callable[[], str | None]) -> None:
    @web.middleware
    async def bearer(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith("/api/"):
            return await handler(request)
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return _error(401, "a valid 'Authorization: Bearer <SHOP_API_TOKEN>' is needed")
        return await handler(request)

    async def post_order(request: web.Request) -> web.Response:
        try:
            event = OrderEventIn.model_validate(await _body(request))
        except ValidationError as exc:
            return _invalid(exc)
        try:
            applied = await desk.report(event)
        except OrderError as exc:
            return _error(400, str(exc), exc.field)
        order = applied.order
        answer: dict[str, Any] = {"ok": True, "order_id": order.id, "status": order.status,
                                  "duplicate": applied.duplicate,
                                  "customer_id": order.customer}
        username = bot_username()
        if order.token and username:
            answer["link"] = f"https://t.me/{username}?start={order.token}"
        return web.json_response(answer)

    async def get_order(request: web.Request) -> web.Response:
        order = await desk.orders.get(request.match_info["order_id"])
        if order is None:
            return _error(404, "no such order", "order_id")
        return web.json_response({"ok": True, "order": jsonable(order)})

    async def post_return(request: web.Request) -> web.Response:
        data = await _body(request)
        status = data.get("status")
        if status not in RETURN_STATUSES[1:]:  # "requested" is where every return starts
            return _error(400, f"status must be one of {', '.join(RETURN_STATUSES[1:])}",
                          "status")
        return_id = request.match_info["return_id"]
        known = await aftersale.get_return(return_id)
        if known is None:
            return _error(404, "no such return", "return_id")
        changed = await aftersale.set_return_status(return_id, status)
        if changed is not None and changed.customer is not None:  # None: erased (/forget)
            customer = await aftersale.store.customer(changed.customer)
            lang = customer.lang if customer else aftersale.shop.default_language
            await courier.send(changed.customer, [aftersale.return_status(customer, changed)],
                               lang)
        return web.json_response({"ok": True, "return_id": return_id, "status": status,
                                  "duplicate": changed is None})

    app.middlewares.append(bearer)
    app.router.add_post("/api/orders", post_order)
    app.router.add_get("/api/orders/{order_id}", get_order)
    app.router.add_post("/api/returns/{return_id}", post_return)


def add_broadcast_api(app: web.Application, followups: Followups, lanes: int) -> None:
    """Broadcasts for the owner's tools (behind the same bearer token as the orders):

        POST /api/broadcasts               create one (and start it, now or at `at`)
        GET  /api/broadcasts               the recent ones with their figures
        GET  /api/broadcasts/{id}          one, with its figures
        POST /api/broadcasts/{id}/cancel   stop it
    """
    assert followups.sender is not None
    broadcasts = followups.sender.broadcasts

    def figures(progress: Progress) -> dict[str, Any]:
        b = progress.broadcast
        return {"id": b.id, "status": b.status, "recipients": b.total,
                "at": datetime.fromtimestamp(b.at, tz=UTC).isoformat(),
                **{state: progress.counts.get(state, 0)
                   for state in ("sent", "failed", "blocked", "left")}}

    async def post(request: web.Request) -> web.Response:
        try:
            wanted = BroadcastIn.model_validate(await _body(request))
        except ValidationError as exc:
            return _invalid(exc)
        broadcast = await broadcasts.create(wanted)
        await followups.broadcast(broadcast.id, datetime.fromtimestamp(broadcast.at, tz=UTC),
                                  lanes)
        progress = await broadcasts.progress(broadcast.id)
        assert progress is not None
        return web.json_response({"ok": True, **figures(progress)})

    async def listing(request: web.Request) -> web.Response:
        found = [await broadcasts.progress(b.id) for b in await broadcasts.recent(20)]
        return web.json_response({"ok": True, "broadcasts": [figures(p) for p in found if p]})

    async def one(request: web.Request) -> web.Response:
        progress = await broadcasts.progress(request.match_info["bid"])
        if progress is None:
            return _error(404, "no such broadcast", "id")
        return web.json_response({"ok": True, **figures(progress)})

    async def cancel(request: web.Request) -> web.Response:
        bid = request.match_info["bid"]
        if await broadcasts.get(bid) is None:
            return _error(404, "no such broadcast", "id")
        cancelled = await broadcasts.cancel(bid)
        progress = await broadcasts.progress(bid)
        assert progress is not None
        return web.json_response({"ok": True, "cancelled": cancelled is not None,
                                  **figures(progress)})

    app.router.add_post("/api/broadcasts", post)
    app.router.add_get("/api/broadcasts", listing)
    app.router.add_get("/api/broadcasts/{bid}", one)
    app.router.add_post("/api/broadcasts/{bid}/cancel", cancel)
