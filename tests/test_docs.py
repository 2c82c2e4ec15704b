"""The docs: the site builds strictly, the README stays short, and the reference pages say
what the code does (every setting, every shop-file field, the HTTP API's fields and routes)."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.app.config import Settings
from bot.core.shop import Shop
from bot.domain import broadcasts, orders
from bot.web import shop_api

ROOT = Path(__file__).resolve().parent.parent


def _api_models() -> dict[str, type]:
    return {"OrderEvent": orders.OrderEventIn, "Item": orders.ItemIn,
            "BroadcastRequest": broadcasts.BroadcastIn,
            "BroadcastVariant": broadcasts.VariantIn, "Segment": broadcasts.SegmentIn}


def _shop_api_source() -> str:
    return Path(shop_api.__file__).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}\n{done.stderr}"
    return out


def _text(page: Path) -> str:
    """A built page's text, tags dropped and entities read."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8")))


def test_readme_is_short() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 150, f"README.md has {len(lines)} lines; the rest belongs in docs/"


def test_readme_keeps_the_test_command() -> None:
    """CI (.ci/run) runs exactly the README's test command."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "```sh\nscripts/test\n```" in readme
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_every_setting_is_in_the_operations_page(site: Path) -> None:
    page = (site / "operations" / "index.html").read_text(encoding="utf-8")
    settings = Settings
    prefix = str(settings.model_config.get("env_prefix") or "")
    missing = [name for name in settings.model_fields
               if f"<code>{(prefix + name).upper()}</code>" not in page]
    assert not missing, f"settings missing from the operations page: {missing}"
    assert "<!-- generated" not in page


def test_every_shop_field_is_in_the_shop_file_page(site: Path) -> None:
    page = (site / "shop-file" / "index.html").read_text(encoding="utf-8")
    shop = Shop
    missing = [field.alias or name for name, field in shop.model_fields.items()
               if f"<code>{field.alias or name}</code>" not in page]
    assert not missing, f"shop-file fields missing from the reference: {missing}"
    assert 'id="shop-products-variants"' in page  # the nested models have their sections


def test_every_redis_key_is_in_the_storage_page(site: Path) -> None:
    sys.path.insert(0, str(ROOT / "docs"))
    from hooks import keys_table  # the table the build puts in, from bot/storage/keys.py

    page = _text(site / "storage" / "index.html")
    keys = re.findall(r"^\| `([^`]+)`", keys_table(), re.M)
    assert len(keys) > 40 and all(key in page for key in keys)
    assert "<!-- generated" not in page


def test_every_page_is_built(site: Path) -> None:
    pages = sorted(p.stem for p in (ROOT / "docs").glob("*.md"))
    for name in pages:
        built = site / ("index.html" if name == "index" else f"{name}/index.html")
        assert built.is_file(), f"docs/{name}.md was not built"
        assert _text(built).strip()
    assert (site / "openapi.yaml").is_file()


def test_openapi_names_the_fields_the_models_take() -> None:
    spec = yaml.safe_load((ROOT / "docs" / "openapi.yaml").read_text(encoding="utf-8"))
    assert spec["openapi"].startswith("3.1")
    schemas = spec["components"]["schemas"]
    for schema, model in _api_models().items():
        fields = {field.alias or name for name, field in model.model_fields.items()}
        assert set(schemas[schema]["properties"]) == fields, schema
        required = {field.alias or name for name, field in model.model_fields.items()
                    if field.is_required()}
        assert set(schemas[schema].get("required", [])) == required, schema


def test_openapi_has_every_route_of_the_api() -> None:
    spec = yaml.safe_load((ROOT / "docs" / "openapi.yaml").read_text(encoding="utf-8"))
    documented = {(method.upper(), re.sub(r"\{[^}]+\}", "{}", path))
                  for path, operations in spec["paths"].items() for method in operations}
    served = {(method.upper(), re.sub(r"\{[^}]+\}", "{}", path))
              for method, path in re.findall(r'add_(get|post)\("([^"]+)"', _shop_api_source())}
    assert served and documented == served
