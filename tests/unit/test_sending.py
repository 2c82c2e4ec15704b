"""One way out: every message the bot sends, copies or edits leaves through
`handlers/present.py` (CONTRIBUTING.md, "One way to send"). A module that calls Telegram's
sending methods itself fails here, with the line that does it."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from aiogram import Bot, methods
from aiogram.types import Message

ROOT = Path(__file__).resolve().parent.parent.parent
SENDING_MODULE = ROOT / "handlers" / "present.py"

# What puts a message in a chat or changes one there, as Telegram names it: the Bot's
# methods, aiogram's method objects (which a handler could also return to the webhook), and
# the shortcuts on a Message (`message.answer(...)`, `message.edit_text(...)`). Read from
# aiogram, so a method it adds later is covered too.
_KINDS = ("send_", "copy_message", "forward_message", "edit_message_")
BOT_METHODS = {name for name in dir(Bot) if name.startswith(_KINDS)}
METHOD_CLASSES = {name for name, cls in inspect.getmembers(methods, inspect.isclass)
                  if name.startswith(("Send", "CopyMessage", "ForwardMessage", "EditMessage"))}
MESSAGE_SHORTCUTS = {name for name in dir(Message)
                     if name.startswith(("answer", "reply", "edit_"))
                     or name in ("copy_to", "forward", "send_copy")}

# Receivers whose `answer` is no message: a callback query's answer is a toast over the
# pressed button (every handler names the query `query`), and `self.answer` is a class's
# own method of that name (`Assistant.answer`), not aiogram's.
NOT_MESSAGES = {"query", "self"}

# Calls that look like sending and are not, each with why. Keep it short: a new entry needs
# a reason that would convince a reviewer.
ALLOWED: dict[tuple[str, str], str] = {
    ("handlers/staff.py", "event.answer"):
        "StaffOnly, after isinstance(event, CallbackQuery): a toast for a non-member's press",
}


def sends(path: Path) -> list[tuple[int, str]]:
    """Every call in `path` that sends, copies or edits a message, with its line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute):
            receiver = ast.unparse(func.value)
            if func.attr in BOT_METHODS or func.attr in METHOD_CLASSES or (
                    func.attr in MESSAGE_SHORTCUTS and receiver not in NOT_MESSAGES):
                found.append((node.lineno, f"{receiver}.{func.attr}"))
        elif isinstance(func, ast.Name) and func.id in METHOD_CLASSES:
            found.append((node.lineno, func.id))
    return found


def test_only_the_sending_module_sends() -> None:
    direct = []
    for package in ("bot", "handlers"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == SENDING_MODULE:
                continue
            where = path.relative_to(ROOT).as_posix()
            direct += [f"{where}:{line} calls {call}" for line, call in sends(path)
                       if (where, call) not in ALLOWED]
    assert not direct, ("send through handlers/present.py (CONTRIBUTING.md, 'One way to "
                        "send'):\n" + "\n".join(direct))


def test_every_allowed_call_is_still_there() -> None:
    """An entry whose call is gone is removed, so the list never grows stale."""
    for (where, call), _why in ALLOWED.items():
        assert call in {c for _, c in sends(ROOT / where)}, f"{where}: no {call} any more"


def test_the_check_sees_every_way_to_send(tmp_path: Path) -> None:
    """The test above can fail: each way of sending is caught, and a toast is not."""
    module = tmp_path / "handler.py"
    module.write_text(
        "async def h(message, query, bot, self):\n"
        "    await message.answer('hi')\n"
        "    await query.message.answer_photo('p')\n"
        "    await self.bot.send_message(1, 'hi')\n"
        "    await bot.copy_message(1, 2, 3)\n"
        "    await bot.edit_message_text(text='hi', chat_id=1, message_id=2)\n"
        "    await bot(SendMessage(chat_id=1, text='hi'))\n"
        "    await query.answer()\n"
        "    await self.answer(message)\n"
        "    await desk.answer_staff('hi')\n"
    )
    assert [call for _, call in sends(module)] == [
        "message.answer", "query.message.answer_photo", "self.bot.send_message",
        "bot.copy_message", "bot.edit_message_text", "SendMessage"]
