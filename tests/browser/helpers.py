"""Helpers of the browser tests (the fixtures are in conftest.py): the phone the pages are opened on and a watch
on a page's errors."""

from __future__ import annotations

#: the browser context of every page: a phone (390x844, touch) in zh-CN, Asia/Shanghai
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
}


def watch_page_errors(page) -> list[str]:
    """A list that fills with the page's console errors and uncaught exceptions from now on."""
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    return problems
