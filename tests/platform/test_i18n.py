"""Every English msgid in the code has a Simplified Chinese translation with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\(\w+\)[sdifr]|%[sdifr]")


def extracted_msgids() -> dict[str, str]:
    """msgid -> where it was found, extracted as `make extract-messages` does (babel.cfg, -k _l -k lazy_gettext)."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    keywords = dict(DEFAULT_KEYWORDS, _l=None, lazy_gettext=None)
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords
    ):
        for msgid in message if isinstance(message, tuple) else (message,):
            if msgid:
                found.setdefault(msgid, f"{filename}:{lineno}")
    return found


def chinese_catalog():
    with open(ROOT / "translations" / "zh" / "LC_MESSAGES" / "messages.po", "rb") as po:
        return read_po(po, locale="zh")


def test_extraction_finds_the_code_and_templates():
    msgids = extracted_msgids()
    assert "Log in" in msgids  # templates and forms
    assert "The page was not found" in msgids  # lazy strings in app/


def test_every_msgid_has_a_chinese_translation():
    catalog = chinese_catalog()
    missing = []
    for msgid, where in sorted(extracted_msgids().items()):
        message = catalog.get(msgid)
        if message is None:
            # a plural msgid is stored under its singular form
            message = next((m for m in catalog if isinstance(m.id, tuple) and msgid in m.id), None)
        strings = message.string if message is not None else ""
        strings = strings if isinstance(strings, tuple) else (strings,)
        if message is None or message.fuzzy or not all(s.strip() for s in strings):
            missing.append(f"{where}: {msgid!r}")
    assert not missing, f"{len(missing)} msgids without a Chinese translation:\n" + "\n".join(missing)


def test_translations_keep_the_placeholders():
    wrong = []
    for message in chinese_catalog():
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = sorted(PLACEHOLDER.findall(ids[0]))
        for translated in strings:
            if translated and sorted(PLACEHOLDER.findall(translated)) != expected:
                wrong.append(f"{ids[0]!r} -> {translated!r}")
    assert not wrong, "translations whose placeholders differ from the msgid:\n" + "\n".join(wrong)
