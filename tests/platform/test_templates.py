"""Templates load nothing from other hosts and carry no inline code or style (the CSP forbids both)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))
STATIC = ROOT / "static"

SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
TAG = re.compile(r"<(?!a\b)[a-z][a-z0-9]*\b[^>]*>", re.IGNORECASE)  # links (<a>) may point anywhere; loads may not
EXTERNAL = re.compile(r"""\b(?:src|href|srcset|action|poster|data)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)
STATIC_FILE = re.compile(r"""url_for\(\s*['"]static['"]\s*,\s*filename\s*=\s*['"]([^'"]+)['"]""")


def relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_there_are_templates_to_check():
    assert any(p.name == "base.html" for p in TEMPLATES)


@pytest.mark.parametrize("template", TEMPLATES, ids=relative)
def test_template_has_no_inline_script_or_style(template):
    text = template.read_text(encoding="utf-8")
    for attributes, body in SCRIPT.findall(text):
        assert "src=" in attributes, f"{relative(template)}: a <script> without src"
        assert not body.strip(), f"{relative(template)}: inline code inside <script src=...>"
    assert not re.search(r"<style\b", text, re.IGNORECASE), f"{relative(template)}: a <style> block"
    assert not re.search(r"""\sstyle\s*=\s*["']""", text, re.IGNORECASE), f"{relative(template)}: a style= attribute"
    handler = re.search(r"""<[^>]*\son[a-z]+\s*=\s*["'][^>]*>""", text, re.IGNORECASE)
    assert not handler, f"{relative(template)}: an inline event handler: {handler.group(0) if handler else ''}"
    assert "javascript:" not in text.lower(), f"{relative(template)}: a javascript: URL"


@pytest.mark.parametrize("template", TEMPLATES, ids=relative)
def test_template_loads_nothing_from_another_host(template):
    tags = TAG.findall(template.read_text(encoding="utf-8"))
    external = [tag for tag in tags if EXTERNAL.search(tag)]
    assert not external, f"{relative(template)}: loads from another host: {external}"


@pytest.mark.parametrize("template", TEMPLATES, ids=relative)
def test_static_files_named_by_templates_are_vendored(template):
    for filename in STATIC_FILE.findall(template.read_text(encoding="utf-8")):
        assert (STATIC / filename).is_file(), f"{relative(template)} needs static/{filename}, which is missing"


@pytest.mark.parametrize("stylesheet", sorted(STATIC.rglob("*.css")), ids=relative)
def test_stylesheets_fetch_nothing_from_another_host(stylesheet):
    text = stylesheet.read_text(encoding="utf-8")
    assert not re.search(r"""url\(\s*["']?\s*(?:https?:)?//""", text, re.IGNORECASE), relative(stylesheet)
    assert not re.search(r"@import\s+(?:url\()?\s*[\"']?\s*(?:https?:)?//", text, re.IGNORECASE), relative(stylesheet)
