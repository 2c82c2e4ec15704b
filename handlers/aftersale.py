"""After-sale buttons: did it arrive, the rating, and the steps of a return; and the rating
of a person's help after staff hand a conversation back, with its optional word."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message

from bot.app.config import Settings
from bot.domain.actions import ReturnSend
from bot.domain.aftersale import AfterSale, HelpRatings
from bot.domain.conversation import Assistant
from bot.storage.store import Customer
from handlers.callback_data import (
    RETURN_STEPS,
    ArrivedData,
    RateData,
    RateHelpData,
    ReturnStepData,
    SkipHelpCommentData,
)
from handlers.callbacks import stale
from handlers.courier import Courier
from handlers.filters import staff_ready
from handlers.handoff import hand_over
from handlers.present import drop_buttons, say, send
from handlers.staff_desk import StaffDesk
from handlers.texts import Texts, plain

log = logging.getLogger(__name__)


class HelpComment(StatesGroup):
    """After rating a person's help: the shopper's next message is their word on it."""

    waiting = State()


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
        replies = await assistant.away_words(
            customer, [started or assistant.handoff(customer, "return_request")])
    await send(query.message, replies, texts, customer.lang)
    await hand_over(replies, customer, desk)


async def rate(query: CallbackQuery, callback_data: RateData, aftersale: AfterSale,
               assistant: Assistant, customer: Customer, texts: Texts,
               desk: StaffDesk | None) -> None:
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
    replies = await assistant.away_words(customer, [reply])
    await send(query.message, replies, texts, customer.lang)
    await hand_over(replies, customer, desk, detail={"order": order_id, "stars": stars})


async def rate_help(query: CallbackQuery, callback_data: RateHelpData, aftersale: AfterSale,
                    customer: Customer, texts: Texts, desk: StaffDesk | None,
                    state: FSMContext) -> None:
    """A star under "how was the help?": thanks and "anything to add?" (the next message is
    taken as the word, or *Skip*); 1–2 stars go to the customer's topic at once. An old
    question's stars, once rated, are answered kindly and change nothing."""
    rating = callback_data.action()
    if not isinstance(query.message, Message):
        await stale(query, customer, texts)
        return
    answered = await aftersale.help.rate(customer, rating.ask, rating.stars)
    if answered is None:
        await stale(query, customer, texts)
        return
    reply, recorded = answered
    await query.answer()
    if recorded:
        await state.set_state(HelpComment.waiting)
        await state.set_data({"ask": rating.ask, "stars": rating.stars,
                              "at": aftersale.clock().timestamp()})
    await send(query.message, [reply], texts, customer.lang)
    if recorded and aftersale.help.low(rating.stars):
        await _tell_staff(desk, customer, rating.stars, None)


async def skip_comment(query: CallbackQuery, callback_data: SkipHelpCommentData,
                       aftersale: AfterSale, customer: Customer, texts: Texts,
                       state: FSMContext, raw_state: str | None = None) -> None:
    """*Skip*: no word to add. The button goes; a press on an old one only stops its spinner."""
    ask = callback_data.action().ask
    data = await state.get_data() if raw_state == HelpComment.waiting.state else {}
    if data.get("ask") != ask:
        await query.answer()
        return
    await state.clear()
    toast = aftersale.help.commented(customer, int(data.get("stars", 5)), skipped=True)
    await query.answer(plain(texts.render(toast.template, customer.lang, **toast.context)))
    if isinstance(query.message, Message):
        try:
            await drop_buttons(query.message)
        except TelegramAPIError as exc:
            log.info("skip button of %s not removed: %s", customer.id, exc.message)


async def comment(message: Message, aftersale: AfterSale, assistant: Assistant,
                  customer: Customer, texts: Texts, desk: StaffDesk | None,
                  state: FSMContext) -> None:
    """The shopper's word after rating a person's help: passed to their topic, thanked. Once
    the conversation has gone quiet it is an ordinary message again (the next handler's)."""
    data = await state.get_data()
    await state.clear()
    stars = data.get("stars")
    if not isinstance(stars, int) or not aftersale.help.open_for_comment(
            float(data.get("at", 0)), assistant.quiet_period):
        raise SkipHandler
    await _tell_staff(desk, customer, stars, message.text or "")
    await send(message, [aftersale.help.commented(customer, stars, skipped=False)], texts,
               customer.lang)


async def _commenting(message: Message, raw_state: str | None = None) -> bool:
    """A filter: text (not a command) while a word on a rating of the team's help is awaited;
    the FSM state came with the chat's load, so no other message asks Redis."""
    return raw_state == HelpComment.waiting.state and message.text is not None \
        and not message.text.startswith("/")


async def _tell_staff(desk: StaffDesk | None, customer: Customer, stars: int,
                      comment: str | None) -> None:
    """A rating of the team's help, in the customer's topic."""
    if not staff_ready(desk):
        return
    try:
        await desk.notice(customer.id, "staff/help_rated", name=customer.first_name,
                          stars=stars, comment=comment, low=HelpRatings.low(stars))
    except TelegramAPIError:
        log.warning("rating of %s's help not shown to staff", customer.id, exc_info=True)


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
    router.callback_query.register(rate_help, RateHelpData.filter())
    router.callback_query.register(skip_comment, SkipHelpCommentData.filter())
    for step in RETURN_STEPS:
        router.callback_query.register(return_step, step.filter())
    router.message.register(photo, _kept_for_return)
    router.message.register(comment, _commenting)
