"""/mydata: everything kept about the shopper, as a file. /forget: erase it, after a yes.

Registered before the hand-over's handlers: these work even while a person holds the
conversation (the person is told in the topic)."""

from __future__ import annotations

import json
import logging

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Message

from bot.domain.actions import Forget
from bot.domain.conversation import Assistant
from bot.domain.privacy import Privacy
from bot.domain.replies import Button, Reply
from bot.storage.store import Customer
from handlers.callback_data import ForgetData
from handlers.filters import staff_ready
from handlers.present import answer_document, drop_buttons, send
from handlers.staff_desk import StaffDesk
from handlers.texts import Texts

log = logging.getLogger(__name__)


async def mydata(message: Message, assistant: Assistant, customer: Customer,
                 texts: Texts) -> None:
    data = await Privacy(assistant.store).export(customer.id, assistant.clock())
    document = BufferedInputFile(
        json.dumps(data, ensure_ascii=False, indent=2).encode(),
        filename=f"my-data-{assistant.shop.id}.json")
    await answer_document(message, document, caption=texts.render("mydata", customer.lang))


async def forget(message: Message, customer: Customer, texts: Texts) -> None:
    reply = Reply("forget_confirm", {}, [[Button("forget_yes", data=Forget(sure=True)),
                                          Button("forget_no", data=Forget(sure=False))]])
    await send(message, [reply], texts, customer.lang)


async def confirmed(query: CallbackQuery, assistant: Assistant, customer: Customer,
                    texts: Texts, state: FSMContext, desk: StaffDesk | None) -> None:
    await query.answer()
    privacy = Privacy(assistant.store)
    topic = await privacy.erase(customer.id)
    await state.clear()
    log.info("customer %s erased their data", customer.id)
    if staff_ready(desk):
        await desk.forgotten(topic)
    if isinstance(query.message, Message):
        await drop_buttons(query.message)
        await send(query.message, [Reply("forgotten", {})], texts, customer.lang)
    # The confirmation itself went into the history the bot keeps for staff: gone too.
    await privacy.erase(customer.id)


async def kept(query: CallbackQuery, customer: Customer, texts: Texts) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await drop_buttons(query.message)
        await send(query.message, [Reply("forget_kept", {})], texts, customer.lang)


def register(router: Router) -> None:
    """On the shoppers' router (handlers/routers.py), which passes private chats only and
    loads the customer's profile for a handler that matched."""
    router.message.register(mydata, Command("mydata"))
    router.message.register(forget, Command("forget"))
    # The rule is resolved inside the CallbackData filter, on the event loop.
    router.callback_query.register(confirmed, ForgetData.filter(F.answer == "yes"))
    router.callback_query.register(kept, ForgetData.filter(F.answer == "no"))
