"""After-sale buttons: did it arrive, the rating, and the steps of a return."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from bot.app.config import Settings
from bot.domain.actions import ReturnSend
from bot.domain.aftersale import AfterSale
from bot.domain.conversation import Assistant
from bot.storage.store import Customer
from handlers.callback_data import RETURN_STEPS, ArrivedData, RateData, ReturnStepData
from handlers.callbacks import stale
from handlers.courier import Courier
from handlers.filters import staff_ready
from handlers.handoff import hand_over
from handlers.present import say, send
from handlers.staff_desk import StaffDesk
from handlers.texts import Texts


async def arrived(query: CallbackQuery, callback_data: ArrivedData, aftersale: AfterSale,
                  assistant: Assistant, customer: Customer, texts: Texts,
                  desk: StaffDesk | None) -> None:
    """"All good" asks for a rating; "a problem" starts the return flow (or a person)."""
    answer = callback_data.action()
    if not isinstance(query.message, Message):
        await stale(query, customer, texts)
        return
    await query.answer()
    if answer.ok:
        replies = [aftersale.ask_rating(customer, answer.order)]
    else:
        started = await aftersale.start_return(customer, answer.order)
        replies = [started or assistant.handoff(customer, "return_request")]
    await send(query.message, replies, texts, customer.lang)
    await hand_over(replies, customer, desk)


async def rate(query: CallbackQuery, callback_data: RateData, aftersale: AfterSale,
               customer: Customer, texts: Texts, desk: StaffDesk | None) -> None:
    rating = callback_data.action()
    order_id, stars = rating.order, rating.stars
    if not isinstance(query.message, Message):
        await stale(query, customer, texts)
        return
    reply = await aftersale.rate(customer, order_id, stars, with_staff=staff_ready(desk))
    if reply is None:
        await stale(query, customer, texts)
        return
    await query.answer()
    await send(query.message, [reply], texts, customer.lang)
    if reply.handoff and staff_ready(desk):
        await desk.hand_over(customer, reply.handoff, detail={"order": order_id,
                                                             "stars": stars})


async def return_step(query: CallbackQuery, callback_data: ReturnStepData,
                      aftersale: AfterSale, customer: Customer, texts: Texts,
                      desk: StaffDesk | None, settings: Settings, courier: Courier) -> None:
    if not isinstance(query.message, Message):
        await stale(query, customer, texts)
        return
    step = callback_data.action()
    if isinstance(step, ReturnSend):
        request = await aftersale.submit(customer)
        if request is None:
            await stale(query, customer, texts)
            return
        await query.answer()
        with_staff = staff_ready(desk)
        await send(query.message, [aftersale.submitted(customer, request, with_staff)], texts,
                   customer.lang)
        if desk is not None and with_staff:
            await desk.return_request(customer, request, await aftersale.return_view(request))
        else:  # no staff chat: the owners hear of it in private
            text = texts.render("staff/return_card", aftersale.shop.default_language,
                                name=customer.first_name, **await aftersale.return_view(request))
            for admin in settings.admin_ids:
                await courier.send_text(admin, text)
        return
    reply = await aftersale.return_step(customer, step)
    if reply is None:
        await stale(query, customer, texts)
        return
    await query.answer()
    await send(query.message, [reply], texts, customer.lang)


async def photo(message: Message, aftersale: AfterSale, customer: Customer,
                texts: Texts) -> None:
    """A photo while the return flow asks for them: kept for staff."""
    await say(message, texts, "return_photo_added", customer.lang)


async def _kept_for_return(message: Message, aftersale: AfterSale | None) -> bool:
    """A filter that keeps the photo when the return flow asks for photos (anything but a
    photo is turned away before Redis is asked)."""
    if aftersale is None or message.from_user is None or not message.photo:
        return False
    return await aftersale.add_photo(message.from_user.id, message.message_id)


def register(router: Router) -> None:
    """On the shoppers' router (handlers/routers.py), which passes private chats only and
    loads the customer's profile for a handler that matched."""
    router.callback_query.register(arrived, ArrivedData.filter())
    router.callback_query.register(rate, RateData.filter())
    for step in RETURN_STEPS:
        router.callback_query.register(return_step, step.filter())
    router.message.register(photo, _kept_for_return)
