"""The layers, as the folders show them: what each may import (CONTRIBUTING.md). A module
that imports upward fails here, with the line that does it; so does a module of bot/domain
that reaches Redis or spells a key itself."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent

# Each layer of bot/ and what it may import of the project besides itself. `handlers` (the
# Telegram layer) may import any of bot/ but the dev tools; bot/ never imports handlers.
ALLOWED: dict[str, set[str]] = {
    "bot.core": set(),
    "bot.nlu": {"bot.core"},
    "bot.storage": {"bot.core"},
    "bot.domain": {"bot.core", "bot.nlu", "bot.storage"},
    "bot.web": {"bot.core", "bot.nlu", "bot.storage", "bot.domain"},
    "bot.app": {"bot.core", "bot.nlu", "bot.storage", "bot.domain", "bot.web"},
    "bot.devtools": {"bot.core", "bot.nlu", "bot.storage", "bot.domain", "bot.web",
                     "bot.app"},
    # The command line: on top of all of bot/, the dev tools included (`shopbot demo`).
    "bot.cli": {"bot.core", "bot.nlu", "bot.storage", "bot.domain", "bot.web", "bot.app",
                "bot.devtools"},
    "handlers": {"bot.core", "bot.nlu", "bot.storage", "bot.domain", "bot.web", "bot.app",
                 "bot.cli"},
}


def layer_of(module: str) -> str | None:
    for layer in sorted(ALLOWED, key=len, reverse=True):
        if module == layer or module.startswith(layer + "."):
            return layer
    return "bot" if module == "bot" else None  # bot/__init__: paths only, open to all


def imports(path: Path) -> list[tuple[int, str]]:
    """Every project module `path` imports, with its line (lazy imports included)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            found += [(node.lineno, n) for n in names if layer_of(n) is not None
                      and (n == node.module or layer_of(n) != layer_of(node.module))]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if layer_of(a.name)]
    return found


def modules() -> list[tuple[str, Path]]:
    found = []
    for package in ("bot", "handlers"):
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found.append((".".join(p for p in parts if p != "__init__"), path))
    return found


def test_every_module_of_bot_lives_in_a_layer() -> None:
    loose = [name for name, _ in modules() if layer_of(name) is None]
    assert not loose, f"modules outside any layer: {loose}"


def test_no_module_imports_a_layer_above_its_own() -> None:
    upward = []
    for name, path in modules():
        own = layer_of(name)
        assert own is not None
        allowed = ALLOWED.get(own, set()) | {own, "bot"}
        for line, imported in imports(path):
            if layer_of(imported) not in allowed:
                upward.append(f"{path.relative_to(ROOT)}:{line} imports {imported}")
    assert not upward, "imports that point up:\n" + "\n".join(upward)


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    """The test above can fail: a domain module importing the Telegram layer is caught."""
    module = tmp_path / "rules.py"
    module.write_text("from handlers.present import send_to\nimport bot.app.factory\n")
    found = {imported for _, imported in imports(module)}
    assert {"handlers.present", "bot.app.factory"} <= found
    assert layer_of("handlers.present") not in ALLOWED["bot.domain"]


# bot/domain holds the shop's rules; what they keep, they keep through the repositories of
# bot/storage/ (CONTRIBUTING.md, "New Redis keys through bot/storage/"). These are the ways
# a module would reach Redis or spell a key instead.
REDIS_MODULES = ("redis", "arq", "fakeredis", "bot.storage.keys", "bot.storage.transactions")
REDIS_ATTRIBUTES = {"redis": "a Redis client", "arq": "arq's Redis client",
                    "pipeline": "a Redis pipeline", "register_script": "a Lua script"}


def redis_uses(path: Path) -> list[tuple[int, str]]:
    """Where `path` reaches Redis or builds a key, with what it does there."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, f"imports {a.name}") for a in node.names
                      if a.name.split(".")[0] in REDIS_MODULES or a.name in REDIS_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and (
                node.module.split(".")[0] in REDIS_MODULES or node.module in REDIS_MODULES):
            found.append((node.lineno, f"imports {node.module}"))
        elif isinstance(node, ast.Attribute) and node.attr in REDIS_ATTRIBUTES:
            found.append((node.lineno, f"uses {REDIS_ATTRIBUTES[node.attr]} (.{node.attr})"))
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) \
                and node.value.attr == "keys":
            found.append((node.lineno, f"builds a key (.keys.{node.attr})"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr == "key":
            found.append((node.lineno, "builds a key (.key(...))"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and "redis.call" in node.value:
            found.append((node.lineno, "holds a Lua script"))
    return sorted(found)


def test_no_rule_reaches_redis_or_spells_a_key() -> None:
    offending = []
    for name, path in modules():
        if layer_of(name) != "bot.domain":
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        offending += [f"{path.relative_to(ROOT)}:{line}: {what}: {lines[line - 1].strip()}"
                      for line, what in redis_uses(path)]
    assert not offending, ("bot/domain reaches Redis; ask a repository of bot/storage/ "
                           "instead:\n" + "\n".join(offending))


def test_the_check_sees_redis_in_a_rule(tmp_path: Path) -> None:
    """The test above can fail: each way of reaching Redis is caught, with its line."""
    module = tmp_path / "rules.py"
    module.write_text(
        "import redis\n"
        "from bot.storage.keys import Keys\n"
        "async def rule(store, d):\n"
        "    await store.redis.set(store.key('order', 1), 1)\n"
        "    async with store.redis.pipeline() as pipe: ...\n"
        "    name = store.keys.order(1)\n"
        "    return sorted(d.keys(), key=len)\n")
    found = redis_uses(module)
    assert [line for line, _ in found] == [1, 2, 4, 4, 5, 5, 6]
    assert "builds a key (.keys.order)" in dict(found).values()
