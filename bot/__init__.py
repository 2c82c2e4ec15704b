"""shopbot: an online shop's customer-service assistant for Telegram."""

from importlib.resources import files
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent  # the checkout (when run from one)


def _data_dir(name: str) -> Path:
    """`templates` or `locales`, wherever this copy of shopbot keeps them.

    An installed wheel or sdist carries them inside the package (bot/templates, bot/locales:
    pyproject.toml's package-dir); a checkout or an editable install keeps them as top-level
    folders of the repository, beside bot/.
    """
    packaged = files(__name__).joinpath(name)
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
    checkout = PROJECT_DIR / name
    if checkout.is_dir():
        return checkout
    # Neither: the install is broken. The packaged path is where they should have been, and
    # what the warnings and errors that follow will name.
    return Path(str(packaged))


TEMPLATES_DIR = _data_dir("templates")
LOCALES_DIR = _data_dir("locales")
DEMO_SHOP = Path(__file__).resolve().parent / "demo_shop.yaml"
