"""Filing a patrol report over HTTP: photos refused with nothing stored, a stored photo without EXIF, positions,
one report per patrol, and files removed when the transaction does not commit."""

from __future__ import annotations

import io
from datetime import date

import pytest
from PIL import Image
from sqlalchemy import select

from app.audit import AuditLog
from patrols.reports import photos
from patrols.reports import services as reports
from patrols.reports.models import PatrolFinding, PatrolPhoto, PatrolReport
from tests.patrols.reports.helpers import PHOTO_LIMIT, exif_with_gps, jpeg_bytes


def _report_form(**changes) -> dict:
    form = {
        "summary": "",
        "category": "rubbish",
        "description": "塑料瓶和泡沫堆在元美桥下的岸边",
        "latitude": "23.0201",
        "longitude": "113.7552",
    }
    form.update(changes)
    return form


def _post(client, patrol, data, files=()):
    body = dict(data)
    body["photos"] = [(io.BytesIO(content), name) for name, content in files]
    return client.post(f"/patrols/patrols/{patrol.id}/report", data=body, content_type="multipart/form-data")


@pytest.fixture
def reporter(client, login, people, patrol, put_on_patrol):
    """The test client, logged in as a team member who patrolled."""
    put_on_patrol(people["patroller"], patrol)
    return login(people["patroller"])


def test_a_report_with_a_photo_is_filed_and_the_stored_photo_has_no_exif(
    db, reporter, people, patrol, stored, photo_dir
):
    upload = jpeg_bytes((2400, 1800), exif=exif_with_gps(orientation=8))
    assert Image.open(io.BytesIO(upload)).getexif().get_ifd(0x8825)  # GPS in the upload
    response = _post(reporter, patrol, _report_form(summary="水面总体干净"), [("IMG_2041.JPG", upload)])
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    report = db.session.scalar(select(PatrolReport))
    assert response.headers["Location"].endswith(f"/patrols/reports/{report.id}")
    assert (report.patrol_shift_id, report.patrol_date, report.filed_by_id) == (
        patrol.id,
        date(2026, 10, 10),
        people["patroller"].id,
    )
    (finding,) = report.findings
    assert (finding.category, finding.status, finding.latitude, finding.reported_by_id) == (
        "rubbish",
        "reported",
        23.0201,
        people["patroller"].id,
    )
    (photo,) = finding.photos
    assert stored() == (1, 1, 1, 1)
    path = photo_dir / photo.stored_name
    assert photo.stored_name != "IMG_2041.JPG" and len(photo.stored_name) == 36
    with Image.open(path) as saved:
        assert saved.format == "JPEG"
        assert dict(saved.getexif()) == {}
        assert saved.size == (1200, 1600)  # orientation 8 turned it upright; the longest side is 1600
        assert max(saved.size) <= 1600
    assert path.stat().st_size == photo.size_bytes <= PHOTO_LIMIT
    assert b"HUAWEI" not in path.read_bytes()
    served = reporter.get(f"/patrols/photos/{photo.id}")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert served.data == path.read_bytes() and "no-store" in served.headers["Cache-Control"]
    actions = db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions[-2:] == ["patrol_report.file", "patrol_finding.report"]


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("river.jpg", "这不是照片，只是改了扩展名的文本文件。\n".encode() * 50, "river.jpg is not a photo"),
        ("huge.jpg", None, "huge.jpg is too large: a photo may be at most 0.12 MB."),
        ("broken.jpg", "truncated", "broken.jpg is damaged and cannot be read"),
    ],
)
def test_bad_photos_are_refused_with_a_clear_message_and_nothing_is_stored(
    reporter, patrol, stored, name, content, message
):
    if content is None:
        content = jpeg_bytes((350, 350), noise=True, quality=95)
        assert len(content) > PHOTO_LIMIT
    elif content == "truncated":
        whole = jpeg_bytes((300, 300), noise=True)
        content = whole[: len(whole) // 2]
    good = jpeg_bytes((400, 300))
    response = _post(reporter, patrol, _report_form(), [("good.jpg", good), (name, content)])
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert 'id="field-photos"' in page and "has-error" in page
    assert stored() == (0, 0, 0, 0)


def test_a_finding_with_a_bad_position_is_refused_beside_the_field(reporter, patrol, stored):
    far = _post(reporter, patrol, _report_form(latitude="113.7552", longitude="23.0201"))
    assert far.status_code == 422 and "The latitude must be between -90 and 90." in far.get_data(as_text=True)
    elsewhere = _post(reporter, patrol, _report_form(latitude="22.5431", longitude="114.0579"))  # 深圳
    assert elsewhere.status_code == 422
    assert "km from the segment: check the numbers" in elsewhere.get_data(as_text=True)
    half = _post(reporter, patrol, _report_form(longitude=""))
    assert half.status_code == 422 and "Give both latitude and longitude, or neither." in half.get_data(as_text=True)
    words = _post(reporter, patrol, _report_form(latitude="north"))
    assert words.status_code == 422 and "Write the latitude as a number" in words.get_data(as_text=True)
    assert stored() == (0, 0, 0, 0)
    fine = _post(reporter, patrol, _report_form(latitude="", longitude=""))
    assert fine.status_code == 302 and stored() == (1, 1, 0, 0)


def test_an_empty_report_and_photos_without_a_finding_are_refused(reporter, patrol, stored):
    empty = _post(reporter, patrol, _report_form(category="", description="", latitude="", longitude=""))
    assert empty.status_code == 422
    assert "Describe a finding, or write in the summary what the patrol saw." in empty.get_data(as_text=True)
    loose = _post(
        reporter,
        patrol,
        _report_form(category="", description="", latitude="", longitude="", summary="一切正常"),
        [("a.jpg", jpeg_bytes())],
    )
    assert loose.status_code == 422 and "Photos belong to a finding" in loose.get_data(as_text=True)
    assert stored() == (0, 0, 0, 0)
    nothing_found = _post(
        reporter, patrol, _report_form(category="", description="", latitude="", longitude="", summary="一切正常")
    )
    assert nothing_found.status_code == 302 and stored() == (1, 0, 0, 0)


def test_one_report_per_patrol_later_findings_join_it(db, reporter, people, patrol, stored):
    assert _post(reporter, patrol, _report_form()).status_code == 302
    report = db.session.scalar(select(PatrolReport))
    again = reporter.get(f"/patrols/patrols/{patrol.id}/report")
    assert again.status_code == 302 and again.headers["Location"].endswith(f"/patrols/reports/{report.id}")
    added = reporter.post(
        f"/patrols/reports/{report.id}/findings",
        content_type="multipart/form-data",
        data={
            "category": "sewage_outfall",
            "description": "簪花桥东侧排污口有灰黑色污水流出",
            "latitude": "",
            "longitude": "",
            "photos": [(io.BytesIO(jpeg_bytes((640, 480))), "outfall.jpg")],
        },
    )
    assert added.status_code == 302
    assert stored() == (1, 2, 1, 1)
    page = reporter.get(f"/patrols/reports/{report.id}").get_data(as_text=True)
    assert "Sewage outfall" in page and "Rubbish" in page and "陈巡河" in page


def test_a_report_waits_for_the_patrol_and_a_cancelled_patrol_has_none(
    client, login, people, segment, make_patrol, stored
):
    login(people["chief"])
    future = make_patrol(segment, date(2099, 1, 3))
    response = client.post(f"/patrols/patrols/{future.id}/report", data=_report_form())
    assert response.status_code == 400
    cancelled = make_patrol(segment, date(2026, 10, 3), cancelled=True)
    assert client.get(f"/patrols/patrols/{cancelled.id}/report").status_code == 400
    assert stored() == (0, 0, 0, 0)


def test_files_written_for_a_transaction_that_does_not_commit_are_removed(db, people, patrol, stored, now):
    upload = photos.Upload(jpeg_bytes((900, 700)), "a.jpg")
    reports.file_report(
        patrol,
        summary="",
        finding=reports.FindingData("rubbish", "垃圾"),
        uploads=[upload],
        by=people["chief"],
        now=now,
    )
    db.session.flush()
    assert stored()[3] == 1  # written after the rows were flushed ...
    db.session.rollback()
    assert stored() == (0, 0, 0, 0)  # ... and gone with the transaction
    report = reports.file_report(
        patrol,
        summary="",
        finding=reports.FindingData("rubbish", "垃圾"),
        uploads=[upload],
        by=people["chief"],
        now=now,
    )
    db.session.commit()
    assert stored() == (1, 1, 1, 1)
    photo = db.session.scalar(select(PatrolPhoto))
    reports.remove_photo(photo, by=people["chief"], now=now)
    db.session.rollback()  # the removal failed: row and file stay
    assert stored() == (1, 1, 1, 1)
    photo = db.session.scalar(select(PatrolPhoto))
    reports.remove_photo(photo, by=people["chief"], now=now)
    db.session.commit()
    assert stored() == (1, 1, 0, 0)
    assert db.session.get(PatrolFinding, report.findings[0].id) is not None


def test_a_finding_takes_at_most_the_configured_number_of_photos(app, reporter, patrol, stored):
    app.config["PATROL_PHOTOS_PER_FINDING"] = 2
    files = [(f"p{n}.jpg", jpeg_bytes((200, 200))) for n in range(3)]
    response = _post(reporter, patrol, _report_form(), files)
    assert response.status_code == 422 and "A finding holds at most 2 photos." in response.get_data(as_text=True)
    assert stored() == (0, 0, 0, 0)


def test_photos_are_added_and_removed_on_the_edit_page(db, reporter, patrol, stored, photo_dir):
    assert _post(reporter, patrol, _report_form(), [("a.jpg", jpeg_bytes((300, 200)))]).status_code == 302
    finding = db.session.scalar(select(PatrolFinding))
    edit = f"/patrols/findings/{finding.id}/edit"
    refused = reporter.post(
        edit,
        content_type="multipart/form-data",
        data={
            "category": "rubbish",
            "description": "更多垃圾",
            "latitude": "",
            "longitude": "",
            "photos": [(io.BytesIO(b"not a photo at all"), "b.jpg")],
        },
    )
    assert refused.status_code == 422 and "b.jpg is not a photo" in refused.get_data(as_text=True)
    assert stored() == (1, 1, 1, 1)
    added = reporter.post(
        edit,
        content_type="multipart/form-data",
        data={
            "category": "rubbish",
            "description": "更多垃圾",
            "latitude": "",
            "longitude": "",
            "photos": [(io.BytesIO(jpeg_bytes((300, 200))), "b.jpg")],
        },
    )
    assert added.status_code == 302 and stored() == (1, 1, 2, 2)
    first = db.session.scalars(select(PatrolPhoto).order_by(PatrolPhoto.id)).first()
    name = first.stored_name
    assert reporter.post(f"/patrols/photos/{first.id}/delete").status_code == 302
    assert stored() == (1, 1, 1, 1) and not (photo_dir / name).exists()
    assert reporter.get(f"/patrols/photos/{first.id}").status_code == 404
