"""MkDocs hook: the reference tables that come from the code, so they cannot drift.

Three placeholders are filled when the site is built:

- `<!-- generated: settings -->` (operations.md): every field of `Settings`, as the
  environment variable that sets it, with its type, default and meaning;
- `<!-- generated: shop-file -->` (shop-file.md): every field of the shop file, from `Shop`
  and the models nested in it, with its type, whether it is required or its default, and
  its meaning;
- `<!-- generated: keys -->` (storage.md): every Redis key, from `bot/storage/keys.py`: each
  method of `Keys` called with its parameters' names as placeholders, with the type and the
  contents its docstring gives.

A field's meaning is its `Field(description=...)`, else the `# comment` on its line, else the
comment lines right above it, read from the source with `tokenize` and `ast` (comments are
not kept at run time). A field with none of them shows "—": give it a comment in the code.
The build fails when a placeholder is missing or left unfilled.
"""

from __future__ import annotations

import ast
import inspect
import io
import re
import sys
import textwrap
import tokenize
import types
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from markdown.extensions.toc import slugify
from mkdocs.exceptions import PluginError

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.app.config import Settings  # noqa: E402  (the checkout, put on the path above)
from bot.core.shop import Shop  # noqa: E402
from bot.storage.keys import Keys  # noqa: E402

SETTINGS_MARK = "<!-- generated: settings -->"
SHOP_MARK = "<!-- generated: shop-file -->"
KEYS_MARK = "<!-- generated: keys -->"
# Models of the shop file shown as a type of their own rather than as a section of fields.
SHOP_LEAVES = {
    "Localized": "[localized text](#field-types)",
    "LocalizedList": "[localized list](#field-types)",
    "WorkingHours": "[opening hours](#working-hours)",
}
_filled: set[str] = set()


# -- meanings, from the source ---------------------------------------------------------------

_NOT_PROSE = re.compile(r"^(type:|noqa|pragma|fmt:|ruff:)")


def _comments(model: type) -> dict[str, str]:
    """Field name -> the comment that explains it, for a model and its bases."""
    found: dict[str, str] = {}
    for klass in reversed(model.__mro__):
        if klass.__module__.split(".")[0] in ("pydantic", "pydantic_settings", "builtins"):
            continue
        try:
            source = textwrap.dedent(inspect.getsource(klass))
        except (OSError, TypeError):
            continue
        lines = source.splitlines()
        comments: dict[int, tuple[str, bool]] = {}  # line -> (text, whole line)
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                row, col = token.start
                text = token.string.lstrip("#").strip()
                comments[row] = (text, not lines[row - 1][:col].strip())
        classdef = ast.parse(source).body[0]
        for node in getattr(classdef, "body", []):
            if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
                continue
            end = node.end_lineno or node.lineno
            trailing = [comments[row][0] for row in range(node.lineno, end + 1)
                        if row in comments and not comments[row][1]
                        and not _NOT_PROSE.match(comments[row][0])]
            above: list[str] = []
            row = node.lineno - 1
            while row in comments and comments[row][1]:
                if not _NOT_PROSE.match(comments[row][0]):
                    above.insert(0, comments[row][0])
                row -= 1
            text = " ".join(trailing) or " ".join(above)
            if text:
                found[node.target.id] = text
    return found


def _meaning(model: type, name: str, comments: dict[str, str]) -> str:
    field = model.model_fields[name]
    text = field.description or comments.get(name, "")
    if not text:
        return "—"
    if re.match(r"[a-z]+\b(?![_./(-])", text):  # a plain first word starts a sentence
        text = text[0].upper() + text[1:]
    return _cell(text if text.endswith((".", "!", "?")) else text + ".")


def _cell(text: str) -> str:
    """A comment as a table cell: HTML-escaped outside `code`, no pipes, one line."""
    parts = text.replace("\n", " ").split("`")
    for i in range(0, len(parts), 2):  # the even parts are outside backticks
        parts[i] = parts[i].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(parts).replace("|", "\\|")


# -- types, defaults, constraints ------------------------------------------------------------

def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)
    return str(value)


def _constraints(metadata: list[Any]) -> list[str]:
    said = []
    for item in metadata:
        for attr, sign in (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤")):
            value = getattr(item, attr, None)
            if value is not None and type(item).__name__.lower() == attr:
                said.append(f"{sign} {_number(value)}")
        kind = type(item).__name__
        if kind == "MinLen" and item.min_length > 0:
            said.append(f"at least {item.min_length}")
        elif kind == "MaxLen":
            said.append(f"at most {item.max_length}")
        pattern = getattr(item, "pattern", None)
        if pattern and kind != "StringConstraints":
            said.append(f"matching `{pattern}`")
    return said


def _string(metadata: list[Any]) -> str | None:
    """What a constrained string is: an ID, a text, or a bounded text."""
    for item in metadata:
        if type(item).__name__ != "StringConstraints":
            continue
        if item.pattern == r"^[a-z0-9][a-z0-9_-]*$":
            return "[ID](#field-types)"
        if item.max_length:
            return f"text, at most {item.max_length} characters"
        return "text"
    return None


class _Types:
    """Renders an annotation for one reference: `anchor` gives a nested model's section."""

    def __init__(self, leaves: dict[str, str], anchor: Any = None) -> None:
        self.leaves = leaves
        self.anchor = anchor

    def render(self, annotation: Any, metadata: list[Any] | None = None,
               path: str = "") -> str:
        metadata = list(metadata or [])
        origin = get_origin(annotation)
        if origin is Annotated:
            base, *extra = get_args(annotation)
            return self.render(base, metadata + list(extra), path)
        if origin in (Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            return " or ".join(self.render(a, metadata, path) for a in args)
        if origin is Literal:
            values = [f"`{v}`" for v in get_args(annotation)]
            return ", ".join(values[:-1]) + f" or {values[-1]}" if len(values) > 1 else values[0]
        if origin is list:
            (item,) = get_args(annotation)
            bounds = _constraints(metadata)
            inner = self.render(item, [], path + "[]")
            if any(getattr(m, "__name__", type(m).__name__) == "NoDecode" for m in metadata):
                return f"{inner}s, comma-separated"
            words = f"list of {inner}"
            return words + (f" ({', '.join(bounds)})" if bounds else "")
        if origin is dict:
            key, value = get_args(annotation)
            key_words = self.render(key, [], path)
            return f"mapping {key_words} → {self.render(value, [], path + '.<key>')}"
        if isinstance(annotation, type):
            name = annotation.__name__
            if name in self.leaves:
                return self.leaves[name]
            if hasattr(annotation, "model_fields"):
                slug, title = self.anchor(annotation, path)
                return f"mapping ([{title}](#{slug}))"
            if issubclass(annotation, Enum):
                return " or ".join(f"`{m.value}`" for m in annotation)
            base = {
                bool: "`true` or `false`", int: "integer", float: "number", Decimal: "number",
                str: "text", Path: "path",
            }.get(annotation)
            if name == "SecretStr":
                base = "secret text"
            if annotation is str:
                base = _string(metadata) or base
            base = base or name
            bounds = _constraints(metadata)
            return base + (" " + ", ".join(bounds) if bounds else "")
        return _cell(str(annotation))


def _default(field: Any, unset: str, types_: _Types) -> str:
    if field.is_required():
        return "**required**"
    if field.default_factory is not None:
        value = field.default_factory()
    else:
        value = field.default
    if value is None:
        return unset
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, int | float | Decimal):
        return f"`{_number(value)}`"
    if isinstance(value, Enum):
        return f"`{value.value}`"
    if isinstance(value, Path):
        try:
            value = value.relative_to(ROOT)
        except ValueError:
            pass
        return f"`{value.as_posix()}`"
    if isinstance(value, str):
        return f"`{value}`"
    if isinstance(value, list | dict | set | tuple) and not value:
        return "none"
    if hasattr(value, "model_fields"):
        name = type(value).__name__
        if name in types_.leaves:
            return "none"
        return "its fields' defaults"
    return f"`{value!r}`"


# -- the settings table ----------------------------------------------------------------------

def _mentions(docs_dir: Path, names: list[str], skip: tuple[str, str]) -> dict[str, list[str]]:
    """Where each setting is written about: links to the sections that name it, best first.

    A section whose title shares a word with the setting's name ranks first (`FLOOD_SECONDS`:
    "Flood control"), then one that names it more often, then the first in page order.
    """
    found: dict[str, dict[str, tuple[int, int, int]]] = {name: {} for name in names}
    order = 0
    for page in sorted(docs_dir.glob("*.md")):
        title, heading, anchor, fenced, seen = "", "", "", False, {}
        for line in page.read_text(encoding="utf-8").splitlines():
            order += 1
            if line.lstrip().startswith(("```", "~~~")):
                fenced = not fenced
                continue
            match = None if fenced else re.match(r"^(#{1,6}) (.+?)\s*(\{#([\w-]+)\})?$", line)
            if match:
                text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", match.group(2))
                slug = match.group(4) or slugify(text, "-")
                count = seen.get(slug, 0)
                seen[slug] = count + 1
                heading, anchor = text, slug if not count else f"{slug}_{count}"
                if len(match.group(1)) == 1:
                    title, anchor = text, ""
                continue
            if (page.name, heading) == skip:
                continue
            for name in names:
                if f"`{name}`" not in line and f"`{name}=" not in line:
                    continue
                link = (f"[{title}]({page.name})" if not anchor
                        else f"[{heading}]({page.name}#{anchor})")
                words = {w[:5] for w in re.findall(r"[a-z]+", f"{title} {heading}".lower())}
                overlap = sum(part[:5] in words for part in name.lower().split("_"))
                hits, _, first = found[name].get(link, (overlap, 0, order))
                found[name][link] = (overlap, hits + 1, first)
    return {name: sorted(links, key=lambda k: (-links[k][0], -links[k][1], links[k][2]))
            for name, links in found.items()}


def settings_table(docs_dir: Path) -> str:
    settings = Settings
    comments = _comments(settings)
    prefix = str(settings.model_config.get("env_prefix") or "")
    names = {name: (prefix + name).upper() for name in settings.model_fields}
    seen_in = _mentions(docs_dir, list(names.values()), ("operations.md", "Settings"))
    types_ = _Types({})
    rows = ["| Variable | Type | Default | Meaning |", "| --- | --- | --- | --- |"]
    for name, field in settings.model_fields.items():
        meaning = _meaning(settings, name, comments)
        links = seen_in[names[name]][:2]
        if links:
            meaning = ("" if meaning == "—" else meaning + " ") + f"See {' and '.join(links)}."
        rows.append(
            f"| `{names[name]}` | {types_.render(field.annotation, field.metadata)} "
            f"| {_default(field, 'unset', types_)} | {meaning} |"
        )
    return "\n".join(rows)


# -- the shop-file reference -----------------------------------------------------------------

def shop_reference() -> str:
    shop = Shop
    anchors: dict[str, str] = {"": "shop-top"}
    out: list[str] = []

    def section(path: str, model: type) -> None:
        children: list[tuple[str, type]] = []

        def anchor(nested: type, where: str) -> tuple[str, str]:
            if where not in anchors:
                anchors[where] = "shop-" + re.sub(r"[^a-z0-9]+", "-", where.lower()).strip("-")
                children.append((where, nested))
            return anchors[where], f"`{where}`"

        types_ = _Types(SHOP_LEAVES, anchor)
        comments = _comments(model)
        out.append(f"### {f'`{path}`' if path else 'Top level'} {{#{anchors[path]}}}")
        out.append("")
        if path and model.__doc__:
            out.extend([" ".join((inspect.getdoc(model) or "").split()), ""])
        out.extend(["| Field | Type | Required or default | Meaning |",
                    "| --- | --- | --- | --- |"])
        for name, field in model.model_fields.items():
            if field.exclude:
                continue
            key = field.alias or name
            kind = types_.render(field.annotation, field.metadata,
                                 f"{path}.{key}" if path else key)
            out.append(f"| `{key}` | {kind} | {_default(field, 'none', types_)} "
                       f"| {_meaning(model, name, comments)} |")
        out.append("")
        for where, nested in children:
            section(where, nested)

    section("", shop)
    return "\n".join(out).rstrip()


# -- the Redis keys --------------------------------------------------------------------------

# How a parameter of a `Keys` method reads in the table, when not its own name.
KEY_PLACEHOLDERS = {"bid": "id", "day": "YYYY-MM-DD", "name": "job"}


def keys_table() -> str:
    keys = Keys("<prefix>")
    rows = ["| Key | Type | Contents |", "| --- | --- | --- |"]
    for name, method in vars(Keys).items():
        if name.startswith("_") or not callable(method):
            continue
        doc = inspect.getdoc(method)
        if not doc or ": " not in doc.splitlines()[0]:
            raise PluginError(f"docs/hooks.py: Keys.{name} needs a docstring 'type: contents'")
        kind, summary = doc.splitlines()[0].split(": ", 1)
        details = " ".join(doc.split("\n\n", 1)[1].split()) if "\n\n" in doc else ""
        summary = summary[0].upper() + summary[1:]
        params = list(inspect.signature(method).parameters.values())[1:]
        shown = [f"<{KEY_PLACEHOLDERS.get(p.name, p.name.replace('_', ' '))}>" for p in params]
        key = getattr(keys, name)(*shown)
        rows.append(f"| `{key}` | {kind} | {_cell(' '.join(filter(None, [summary, details])))} |")
    return "\n".join(rows)


# -- MkDocs events ---------------------------------------------------------------------------

def on_pre_build(config: Any, **kwargs: Any) -> None:
    _filled.clear()


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if SETTINGS_MARK in markdown:
        markdown = markdown.replace(SETTINGS_MARK, settings_table(Path(config["docs_dir"])))
        _filled.add(SETTINGS_MARK)
    if SHOP_MARK in markdown:
        markdown = markdown.replace(SHOP_MARK, shop_reference())
        _filled.add(SHOP_MARK)
    if KEYS_MARK in markdown:
        markdown = markdown.replace(KEYS_MARK, keys_table())
        _filled.add(KEYS_MARK)
    return markdown


def on_post_build(config: Any, **kwargs: Any) -> None:
    missing = {SETTINGS_MARK, SHOP_MARK, KEYS_MARK} - _filled
    if missing:
        raise PluginError(f"docs/hooks.py: no page holds {', '.join(sorted(missing))}")
