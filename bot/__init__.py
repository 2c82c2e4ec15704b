"""shopbot: an online shop's customer-service assistant for Telegram."""

from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = PROJECT_DIR / "templates"
LOCALES_DIR = PROJECT_DIR / "locales"
DEMO_SHOP = Path(__file__).resolve().parent / "demo_shop.yaml"
