"""The catalogues: every marked string is translated into Simplified Chinese, placeholders
survive translation, and the language of a request is chosen as documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from socialcredit.web import i18n

SRC = Path(i18n.__file__).parents[1]  # src/socialcredit


def _extracted() -> set[str]:
    method_map = [
        ("**/templates/**.html", "jinja2.ext:babel_extract"),
        ("**.py", "python"),
    ]
    options = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}
    found: set[str] = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        str(SRC), method_map, options_map=options
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def _catalog(locale: str) -> dict[str, str]:
    path = i18n.LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as f:
        cat = read_po(f)
    return {m.id: ("" if m.fuzzy else m.string) for m in cat if m.id and isinstance(m.id, str)}


def test_every_message_is_translated_into_chinese() -> None:
    used = _extracted()
    assert used, "no marked strings found: is the extraction broken?"
    zh = _catalog("zh_Hans")
    missing = sorted(m for m in used if not zh.get(m))
    assert not missing, f"untranslated in zh_Hans (run `make messages` and translate): {missing}"
    assert set(_catalog("en")) >= used, "en catalogue is behind: run `make messages`"


def test_placeholders_survive_translation() -> None:
    for msgid, msgstr in _catalog("zh_Hans").items():
        want = sorted(re.findall(r"%\(\w+\)s", msgid))
        assert sorted(re.findall(r"%\(\w+\)s", msgstr)) == want, msgid


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh_Hans"),
        ("en-US,en;q=0.9", "en"),
        ("en;q=0.5, zh-Hans;q=0.8", "zh_Hans"),
        ("fr-FR, en;q=0.3", "en"),
        ("fr-FR", None),
        ("", None),
        ("zh-TW", None),  # traditional Chinese is not offered; the default applies
    ],
)
def test_accept_language(header: str, expected: str | None) -> None:
    assert i18n.from_accept_language(header) == expected


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/account", "/account"),
        ("//evil.example/", "/"),
        ("https://evil.example", "/"),
        ("/\\evil", "/"),
        (None, "/"),
    ],
)
def test_return_paths_stay_on_this_site(target: str | None, expected: str) -> None:
    assert i18n.safe_next(target) == expected


def test_chinese_is_the_default_catalogue() -> None:
    assert i18n.DEFAULT == "zh_Hans"
    assert i18n.translations("zh_Hans").gettext("Sign in") == "登录"
    assert i18n.translations("en").gettext("Sign in") == "Sign in"
