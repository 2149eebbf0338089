"""Languages of the pages: Simplified Chinese first, English on request (Warehouse's ``i18n``).

The locale of a request is, in order: the ``_LOCALE_`` cookie (set by the switch at
``/locale?l=en&next=/path``), then the best ``Accept-Language`` match, then ``zh_Hans``.

Catalogues are the packaged ``web/locale/<locale>/LC_MESSAGES/messages.po`` files, compiled in
memory when first used: there is no ``.mo`` to build or to go stale, so a fresh clone works as
it is. Workflow (``make messages``): ``pybabel extract -F src/socialcredit/web/babel.cfg`` into
``messages.pot``, ``pybabel update`` both catalogues, translate, run the catalogue test
(``tests/unit/test_i18n.py`` fails on any msgid left untranslated in ``zh_Hans``).
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from starlette.requests import Request

LOCALE_DIR = Path(__file__).with_name("locale")
LOCALES = ("zh_Hans", "en")
DEFAULT = "zh_Hans"
COOKIE = "_LOCALE_"
# The ``lang`` attribute of each locale's pages (BCP 47).
HTML_LANG = {"zh_Hans": "zh-Hans", "en": "en"}
# Names shown in the switch, each in its own language.
NATIVE_NAMES = {"zh_Hans": "简体中文", "en": "English"}


@lru_cache(maxsize=len(LOCALES))
def translations(locale: str) -> Translations:
    """The catalogue of ``locale`` (compiled from its ``.po`` once per process)."""
    po = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as f:
        catalog = read_po(f, locale=locale.replace("_Hans", ""))
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return Translations(buf, domain="messages")


def _from_tag(tag: str) -> str | None:
    t = tag.strip().lower().replace("_", "-")
    if t == "zh" or t.startswith(("zh-hans", "zh-cn", "zh-sg")):
        return "zh_Hans"
    if t == "en" or t.startswith("en-"):
        return "en"
    return None


def from_accept_language(header: str) -> str | None:
    """The best supported locale in an ``Accept-Language`` header, or ``None``."""
    choices: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")):
        tag, _, params = part.partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        loc = _from_tag(tag)
        if loc is not None and q > 0:
            choices.append((-q, i, loc))
    return min(choices)[2] if choices else None


def negotiate(request: Request) -> str:
    """The locale for this request (cookie, then Accept-Language, then zh_Hans); cached."""
    cached: str | None = getattr(request.state, "locale", None)
    if cached is not None:
        return cached
    loc = request.cookies.get(COOKIE)
    if loc not in LOCALES:
        loc = from_accept_language(request.headers.get("accept-language", "")) or DEFAULT
    request.state.locale = loc
    return loc


def gettext(request: Request, message: str) -> str:
    """``message`` in the request's language (for strings built in Python, marked ``_()``)."""
    return translations(negotiate(request)).gettext(message)


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to return to: never another site (``//host`` or ``https://host``)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
