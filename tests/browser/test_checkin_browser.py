"""Check-in in Chromium: the coordinator's scanner reads a real badge QR from the fake camera and checks the
volunteer in; a logged-in volunteer opens a kiosk URL and is checked in while the kiosk's count goes up."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import qrcode
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from app.timeutil import utcnow
from checkin.models import Attendance
from checkin.tokens import badge_token, kiosk_token
from tests.browser.helpers import PHONE, watch_page_errors

pytestmark = pytest.mark.browser


def write_qr_video(path: Path, text: str, frames: int = 20, blank_frames: int = 0) -> Path:
    """A .y4m video (640x480, 4:2:0, 10 frames/s): `blank_frames` white frames, then `frames` showing a QR code
    of `text` on white (Chromium's fake camera plays it in a loop from the start)."""
    width, height = 640, 480
    code = qrcode.QRCode(border=4, box_size=10)
    code.add_data(text)
    code.make(fit=True)
    qr = code.make_image(fill_color="black", back_color="white").get_image().convert("RGB")
    side = min(qr.size[0], height - 20)
    canvas = Image.new("RGB", (width, height), "white")
    canvas.paste(qr.resize((side, side), Image.NEAREST), ((width - side) // 2, (height - side) // 2))
    y, cb, cr = canvas.convert("YCbCr").split()
    frame = (
        b"FRAME\n"
        + y.tobytes()
        + cb.resize((width // 2, height // 2)).tobytes()
        + cr.resize((width // 2, height // 2)).tobytes()
    )
    white = b"FRAME\n" + b"\xff" * (width * height) + b"\x80" * (width * height // 2)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for _ in range(blank_frames):
            out.write(white)
        for _ in range(frames):
            out.write(frame)
    return path


def _attendance(db, user):
    db.session.expire_all()
    return db.session.scalars(select(Attendance).where(Attendance.user_id == user.id)).all()


def test_the_scanner_reads_a_badge_from_the_camera_and_checks_the_volunteer_in(
    db, site, live_server, launch_chromium, browser_login, tmp_path, screenshot
):
    volunteer, event = site["volunteer"], site["event"]
    # the badge rotates every 30 s and is accepted for one more window: make the video just before the browser
    video = write_qr_video(tmp_path / "badge.y4m", badge_token(volunteer.id, now=utcnow()))
    chromium = launch_chromium(
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    )
    context = chromium.new_context(base_url=live_server.base_url, permissions=["camera"], **PHONE)
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems = watch_page_errors(page)
    page.goto("/login?lang=en")
    browser_login(page, site["coordinator"])

    page.goto(f"/checkin/events/{event.id}/scanner")
    result = page.locator("#scan-result")
    expect(result).to_be_visible()
    expect(result).to_have_attribute("data-kind", "ok")
    expect(page.locator("#scan-result-title")).to_have_text("Checked in")
    expect(page.locator("#scan-result-name")).to_have_text("陈小明")
    expect(page.locator("#scan-result-shift")).to_contain_text("路口引导")
    expect(page.locator("#scanner-pending-count")).to_have_text("0")
    screenshot(page, "checkin-scanner-green")

    [attendance] = _attendance(db, volunteer)
    assert attendance.status == "open" and attendance.check_in_method == "badge"
    assert attendance.checked_in_by_id == site["coordinator"].id and attendance.offline is False
    assert problems == []


def test_a_logged_in_volunteer_opens_a_kiosk_url_and_is_checked_in(
    db, site, live_server, browser, page, browser_login, screenshot
):
    volunteer, event = site["volunteer"], site["event"]
    # the coordinator's tablet shows the kiosk
    kiosk_context = browser.new_context(base_url=live_server.base_url, viewport={"width": 1024, "height": 768})
    kiosk = kiosk_context.new_page()
    kiosk_problems = watch_page_errors(kiosk)
    kiosk.goto("/login?lang=en")
    browser_login(kiosk, site["coordinator"])
    kiosk.goto(f"/checkin/events/{event.id}/kiosk")
    expect(kiosk.locator("#kiosk-count")).to_have_text("0")
    assert kiosk.locator("#kiosk-qr").evaluate("img => img.complete && img.naturalWidth > 0")
    screenshot(kiosk, "checkin-kiosk")

    # the volunteer's phone, already logged in, opens the URL held by the kiosk's QR code
    problems = watch_page_errors(page)
    page.goto("/login?lang=en")
    browser_login(page, volunteer)
    page.goto(f"/k/{kiosk_token(event.id, shift_id=None, now=utcnow())}")
    page.wait_for_url("**/checkin/kiosk/done")
    expect(page.locator("#kiosk-result")).to_have_attribute("data-action", "check_in")
    expect(page.locator("#kiosk-result h1")).to_have_text("Checked in")
    expect(page.locator("#kiosk-result")).to_contain_text("路口引导")
    screenshot(page, "checkin-kiosk-confirmation")
    [attendance] = _attendance(db, volunteer)
    assert attendance.status == "open" and attendance.check_in_method == "kiosk"

    expect(kiosk.locator("#kiosk-count")).to_have_text("1", timeout=15_000)  # the kiosk polls its count
    kiosk_context.close()
    assert problems == [] and kiosk_problems == []


def test_without_network_the_scan_is_queued_and_synced_when_the_network_returns(
    db, site, live_server, launch_chromium, browser_login, tmp_path, screenshot
):
    volunteer, event = site["volunteer"], site["event"]
    # five seconds of white before the badge shows: time to take the phone off the network
    video = write_qr_video(tmp_path / "badge-later.y4m", badge_token(volunteer.id, now=utcnow()), blank_frames=50)
    chromium = launch_chromium(
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    )
    context = chromium.new_context(base_url=live_server.base_url, permissions=["camera"], **PHONE)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/login?lang=en")
    browser_login(page, site["coordinator"])
    page.goto(f"/checkin/events/{event.id}/scanner")
    expect(page.locator("#scanner-message")).to_have_text("Point the camera at a volunteer badge.")
    context.set_offline(True)

    expect(page.locator("#scan-result")).to_have_attribute("data-kind", "warn", timeout=15_000)
    expect(page.locator("#scan-result-title")).to_have_text("Saved on this phone")
    expect(page.locator("#scanner-pending-count")).to_have_text("1")
    expect(page.locator("#scanner-online")).to_have_text("Offline")
    queued = page.evaluate(f"JSON.parse(localStorage.getItem('checkin.queue.{event.id}'))")
    assert len(queued) == 1 and queued[0]["badge_token"].startswith("B.") and queued[0]["client_scan_id"]
    assert _attendance(db, volunteer) == []
    screenshot(page, "checkin-scanner-offline")

    context.set_offline(False)  # the browser's "online" event sends the queue
    expect(page.locator("#scanner-pending-count")).to_have_text("0")
    expect(page.locator("#scanner-online")).to_have_text("Online")
    [attendance] = _attendance(db, volunteer)
    assert attendance.status == "open" and attendance.offline is True
    scanned_at = queued[0]["scanned_at"]
    assert (
        abs((attendance.checked_in_at - datetime.fromisoformat(scanned_at.replace("Z", "+00:00"))).total_seconds()) < 1
    )  # the original time of the scan, not the time it was synced
