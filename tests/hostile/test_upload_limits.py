"""Uploads with limits: zip bombs refused before openpyxl, photo bombs before Pillow decodes, GPS never stored,
and a body over MAX_CONTENT_LENGTH answered with the Chinese 413 page over a real connection (no reset).

The .xlsx bombs are written by hand (`_zip`): the sizes their headers declare are whatever the test says.
"""

from __future__ import annotations

import bz2
import html
import http.client
import io
import json
import re
import struct
import threading
import time
import tracemalloc
import zipfile
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from datetime import time as clock
from functools import cache
from pathlib import Path

import pytest
from openpyxl import Workbook
from PIL import Image
from sqlalchemy import func, select
from werkzeug.serving import make_server

from api.tokens import create_token
from app.permissions import Role
from app.security import demo_id_number
from app.timeutil import local_today, utcnow
from app.web.bodies import CountingInput, DrainUnreadBody
from events.models import AssignmentStatus, Shift
from patrols.reports.models import PatrolFinding, PatrolPhoto, PatrolReport
from tests import factories
from tests.ops.helpers import gunicorn, production_env
from tests.support import PASSWORD, real_keys
from volunteers.accounts.models import User
from volunteers.imports import importer
from volunteers.imports.models import ImportJob
from volunteers.imports.rows import COLUMNS

MB = 1024 * 1024
# a bomb is refused within this: generous, for a loaded 2-core machine (a first CI run refused one in 1.3 s while
# the other worker ran); what proves the early refusal is the memory bound and that openpyxl never ran
SECONDS = 5.0
PEAK_BYTES = 20 * MB  # and the request's memory grows by less than this
SHEET = "xl/worksheets/sheet1.xml"


@pytest.fixture
def app_overrides(tmp_path):
    return {"PATROL_PHOTO_DIR": str(tmp_path / "patrol_photos")}


# -- zips written by hand ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """A zip member as stored: its bytes (already packed), method, CRC and the size its headers declare."""

    name: str
    stored: bytes
    method: int
    crc: int
    size: int
    flags: int = 0


def deflated(name: str, data: bytes, *, size: int | None = None) -> Entry:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    stored = packer.compress(data) + packer.flush()
    return Entry(name, stored, zipfile.ZIP_DEFLATED, zlib.crc32(data), len(data) if size is None else size)


def _zip(entries: list[Entry], central: list[tuple[int, int]] | None = None) -> bytes:
    """The entries, then a central directory of (entry index, declared size): by default each entry once."""
    out, offsets = io.BytesIO(), []
    for entry in entries:
        offsets.append(out.tell())
        name = entry.name.encode()
        out.write(
            struct.pack(
                "<4sHHHHHLLLHH",
                b"PK\x03\x04",
                20,
                entry.flags,
                entry.method,
                0,
                0x21,
                entry.crc,
                len(entry.stored),
                entry.size,
                len(name),
                0,
            )
        )
        out.write(name + entry.stored)
    start = out.tell()
    directory = central if central is not None else [(i, entry.size) for i, entry in enumerate(entries)]
    for index, size in directory:
        entry, name = entries[index], entries[index].name.encode()
        out.write(
            struct.pack(
                "<4sHHHHHHLLLHHHHHLL",
                b"PK\x01\x02",
                20,
                20,
                entry.flags,
                entry.method,
                0,
                0x21,
                entry.crc,
                len(entry.stored),
                size,
                len(name),
                0,
                0,
                0,
                0,
                0,
                offsets[index],
            )
        )
        out.write(name)
    end = out.tell()
    out.write(struct.pack("<4sHHHHLLH", b"PK\x05\x06", 0, 0, len(directory), len(directory), end - start, start, 0))
    return out.getvalue()


@cache
def workbook_members() -> dict[str, bytes]:
    """The members of a real .xlsx whose sheet has the template's header row."""
    workbook = Workbook()
    workbook.active.title = "志愿者"
    workbook.active.append(COLUMNS)
    buffer = io.BytesIO()
    workbook.save(buffer)
    with zipfile.ZipFile(buffer) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def sheet_xml(megabytes: float) -> bytes:
    """A worksheet of that many MB: the same row again and again, each followed by indentation (compresses ~700:1)."""
    row = '<row r="2"><c r="A2" t="inlineStr"><is><t>张三</t></is></c></row>'.encode() + b" " * 4000
    return (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        + row * int(megabytes * MB / len(row))
        + b"</sheetData></worksheet>"
    )


def workbook_with(sheet: Entry, *, copies: int = 1, declared: int | None = None) -> bytes:
    """A workbook whose sheet member is `sheet`, listed `copies` times in the directory (each declaring `declared`)."""
    others = [deflated(name, data) for name, data in workbook_members().items() if name != SHEET]
    entries = [*others, sheet]
    central = [(i, e.size) for i, e in enumerate(others)]
    central += [(len(others), sheet.size if declared is None else declared)] * copies
    return _zip(entries, central)


@cache
def declares_gigabytes() -> bytes:
    """A few KB: 2 MB of rows deflated, whose headers declare 3.75 GB."""
    return workbook_with(deflated(SHEET, sheet_xml(2), size=0xF000_0000))


@cache
def shares_ten_megabytes_a_hundred_times() -> bytes:
    """A few KB that really unpack to a gigabyte: one 10 MB sheet, listed 100 times, each entry declaring 1 KB."""
    return workbook_with(deflated(SHEET, sheet_xml(10)), copies=100, declared=1024)


@cache
def lies_2_megabytes_as_1_kilobyte() -> bytes:
    """One sheet of 2 MB whose headers say 1 KB."""
    real = deflated(SHEET, sheet_xml(2))
    return workbook_with(Entry(SHEET, real.stored, real.method, real.crc, 1024))


def with_dimension(ref: str) -> bytes:
    """A real one-row workbook (openpyxl, normal mode) whose sheet declares <dimension ref=...>."""
    members = dict(workbook_members())
    members[SHEET], found = re.subn(
        rb'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{ref}"/>'.encode(), members[SHEET]
    )
    assert found == 1
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def bzip2_workbook() -> bytes:
    members = workbook_members()
    entries = [
        Entry(name, bz2.compress(data), zipfile.ZIP_BZIP2, zlib.crc32(data), len(data))
        for name, data in members.items()
    ]
    return _zip(entries)


def encrypted_workbook() -> bytes:
    entries = [deflated(name, data) for name, data in workbook_members().items()]
    return _zip([Entry(e.name, e.stored, e.method, e.crc, e.size, flags=0x1) for e in entries])


# -- the import page ------------------------------------------------------------------------------------------


def counts(db) -> tuple[int, int]:
    db.session.expire_all()
    return db.session.scalar(select(func.count(User.id))), db.session.scalar(select(func.count(ImportJob.id)))


def errors_beside(page: str, field: str) -> list[str]:
    """The error messages shown inside the field's own block of the form."""
    block = re.search(rf'<div class="field has-error[^"]*" id="field-{field}">(.*?)\n  </div>', page, re.S)
    assert block, f"no error beside {field}"
    return [html.unescape(m) for m in re.findall(r'<div class="error" role="alert">(.*?)</div>', block.group(1))]


@dataclass
class Measured:
    status: int
    page: str
    seconds: float
    peak_bytes: int


@pytest.fixture
def import_admin(client, db, orgs, make_user, login):
    admin = make_user(organization=orgs["nancheng"], role=Role.ADMIN, role_org=orgs["nancheng"])
    login(admin)
    assert client.get("/admin/import").status_code == 200  # templates compiled before anything is timed
    return admin


@pytest.fixture
def openpyxl_calls(monkeypatch):
    """Every load_workbook call of the importer (none for a refused bomb: it is refused before)."""
    calls = []
    real = importer.load_workbook

    def spy(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(importer, "load_workbook", spy)
    return calls


def measure(send_request) -> Measured:
    """send_request() timed, then sent again under tracemalloc (which slows Python down) for its peak memory growth."""
    started = time.perf_counter()
    response = send_request()
    seconds = time.perf_counter() - started
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        again = send_request()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert again.status_code == response.status_code
    return Measured(response.status_code, response.get_data(as_text=True), seconds, peak)


@pytest.fixture
def upload_file(client, orgs, import_admin):
    """upload_file(data) -> Measured: POST /admin/import as 南城's administrator."""

    def upload(data: bytes) -> Measured:
        return measure(
            lambda: client.post(
                "/admin/import",
                data={"organization_id": str(orgs["nancheng"].id), "file": (io.BytesIO(data), "志愿者.xlsx")},
                content_type="multipart/form-data",
            )
        )

    return upload


BOMBS = {
    "declares-3.75-GB": (declares_gigabytes, "The file is too large once unpacked; split it into smaller files."),
    # refused at the first byte past the 1 KB the first entry declares
    "100-entries-lying-1-GB-real": (shares_ten_megabytes_a_hundred_times, "This file is not an Excel .xlsx workbook."),
    "lies-2-MB-as-1-KB": (lies_2_megabytes_as_1_kilobyte, "This file is not an Excel .xlsx workbook."),
    "dimension-A1:XFD1048576": (
        lambda: with_dimension("A1:XFD1048576"),
        "The file has more than 50000 rows; split it into smaller files.",
    ),
    "dimension-1025-columns": (
        lambda: with_dimension("A1:AMK3"),
        "The sheet has more than 1000 columns; keep only the template's columns and save it again.",
    ),
    "bzip2-members": (bzip2_workbook, "This file is not an Excel .xlsx workbook."),
    "encrypted-members": (encrypted_workbook, "This file is not an Excel .xlsx workbook."),
}


@pytest.mark.parametrize("bomb", list(BOMBS))
def test_zip_bombs_are_refused_beside_the_file_field_before_openpyxl_in_time_and_memory(
    db, upload_file, openpyxl_calls, bomb
):
    build, message = BOMBS[bomb]
    data = build()
    assert len(data) < 32_000, len(data)  # a few KB (the lying one: 26 KB for 1 GB)
    before = counts(db)
    result = upload_file(data)
    assert result.status == 422, result.page[:2000]
    assert any(error.startswith(message) for error in errors_beside(result.page, "file")), errors_beside(
        result.page, "file"
    )
    assert result.seconds < SECONDS, f"{bomb}: refused in {result.seconds:.3f} s"
    assert result.peak_bytes < PEAK_BYTES, f"{bomb}: peak {result.peak_bytes / MB:.1f} MB"
    assert openpyxl_calls == []
    assert counts(db) == before


def test_the_bombs_say_what_they_are():
    """The headers declare what the test says, the bytes hold what it says (read here with a cap of our own)."""
    with zipfile.ZipFile(io.BytesIO(declares_gigabytes())) as archive:
        assert archive.getinfo(SHEET).file_size == 0xF000_0000
    with zipfile.ZipFile(io.BytesIO(shares_ten_megabytes_a_hundred_times())) as archive:
        sheets = [info for info in archive.infolist() if info.filename == SHEET]
        assert len(sheets) == 100 and {info.file_size for info in sheets} == {1024}
        stored = archive.fp.getvalue()[sheets[0].header_offset :]
    inflater, real = zlib.decompressobj(-15), 0
    data = stored[30 + len(SHEET) :]  # past the local header
    while not inflater.eof and real <= 11 * MB:
        real += len(inflater.decompress(data, MB))
        data = inflater.unconsumed_tail
    assert real == len(sheet_xml(10)) > 9.9 * MB  # each of the 100 entries really unpacks to 10 MB: 1 GB in all


def test_a_real_workbook_still_passes_the_checks(client, db, orgs, import_admin, openpyxl_calls):
    workbook = Workbook()
    workbook.active.title = "志愿者"
    workbook.active.append(COLUMNS)
    row = {
        "姓名": "限制测试",
        "手机号": "15877770001",
        "身份证号": demo_id_number(date(2000, 1, 2), 11, region="441900").value,
        "政治面貌": "共青团员",
        "紧急联系人": "王紧急",
        "紧急联系人手机": "13712345678",
    }
    workbook.active.append([row.get(column) for column in COLUMNS])
    buffer = io.BytesIO()
    workbook.save(buffer)
    users_before = counts(db)[0]
    response = client.post(
        "/admin/import",
        data={"organization_id": str(orgs["nancheng"].id), "file": (io.BytesIO(buffer.getvalue()), "志愿者.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert openpyxl_calls and counts(db)[0] == users_before + 1


# -- patrol photos ---------------------------------------------------------------------------------------------


@pytest.fixture
def reporter(db, client, orgs, make_user, login):
    """A team member who patrolled three days ago, logged in; the patrol and the photo folder."""
    admin = make_user(name="郑管理", organization=orgs["city"], role=Role.ADMIN, role_org=orgs["city"])
    chief = make_user(name="周河长")
    segment = factories.segment(
        by=admin, now=utcnow() - timedelta(days=30), town=orgs["nancheng"], team=orgs["nancheng_team"], chief=chief
    )
    patrol = factories.patrol(segment, local_today() - timedelta(days=3), clock(9), clock(11))
    patroller = make_user(name="陈巡河")
    shift = db.session.get(Shift, patrol.shift_id)
    assignment = factories.assignment(
        shift, patroller, status=AssignmentStatus.COMPLETED.value, source="self", holds_place=False, commit=False
    )
    factories.attendance(assignment, checked_in_at=shift.starts_at, checked_out_at=shift.ends_at, commit=False)
    db.session.commit()
    login(patroller)
    return patrol


def stored_counts(db, app) -> tuple[int, int, int, int]:
    db.session.expire_all()
    folder = Path(app.config["PATROL_PHOTO_DIR"])
    files = len([p for p in folder.iterdir() if p.is_file()]) if folder.exists() else 0
    return (
        db.session.scalar(select(func.count(PatrolReport.id))),
        db.session.scalar(select(func.count(PatrolFinding.id))),
        db.session.scalar(select(func.count(PatrolPhoto.id))),
        files,
    )


def file_report(client, patrol, name: str, photo: bytes):
    form = {
        "summary": "",
        "category": "rubbish",
        "description": "桥下漂浮塑料袋",
        "latitude": "23.0201",
        "longitude": "113.7552",
        "photos": [(io.BytesIO(photo), name)],
    }
    return client.post(f"/patrols/patrols/{patrol.id}/report", data=form, content_type="multipart/form-data")


@cache
def png(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("1", size).save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    "size, message",
    [
        ((12_000, 12_000), "bomb.png has too many pixels; take it at a lower resolution."),  # past Pillow's own limit
        ((8_000, 7_500), "bomb.png has too many pixels (60 million; at most 50 million)."),  # past the app's
    ],
    ids=["pillow-limit-144-MP", "app-limit-60-MP"],
)
def test_a_decompression_bomb_photo_is_refused_before_it_is_decoded(db, app, client, reporter, size, message):
    bomb = png(size)
    assert len(bomb) < 100_000  # a few KB that decode to 144 or 60 million pixels
    before = stored_counts(db, app)
    assert client.get(f"/patrols/patrols/{reporter.id}/report").status_code == 200  # templates compiled
    result = measure(lambda: file_report(client, reporter, "bomb.png", bomb))
    assert result.status == 422
    assert message in errors_beside(result.page, "photos")
    assert result.seconds < SECONDS, f"refused in {result.seconds:.3f} s"
    assert result.peak_bytes < PEAK_BYTES, f"peak {result.peak_bytes / MB:.1f} MB"
    assert stored_counts(db, app) == before == (0, 0, 0, 0)


def gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "HUAWEI"
    exif[0x8825] = {1: "N", 2: (23.0, 1.0, 12.5), 3: "E", 4: (113.0, 45.0, 6.0), 0: b"\x02\x02\x00\x00"}
    return exif


@pytest.mark.parametrize("kind", ["JPEG", "PNG", "WEBP"])
def test_a_photo_with_gps_is_stored_re_encoded_without_any_exif(db, app, client, reporter, kind):
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (30, 120, 200)).save(out, kind, exif=gps_exif().tobytes())
    upload = out.getvalue()
    with Image.open(io.BytesIO(upload)) as sent:
        assert sent.getexif().get_ifd(0x8825)  # the upload tells where it was taken
    response = file_report(client, reporter, f"IMG_1.{kind.lower()}", upload)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    photo = db.session.scalar(select(PatrolPhoto))
    path = Path(app.config["PATROL_PHOTO_DIR"]) / photo.stored_name
    with Image.open(path) as saved:
        assert saved.format == "JPEG"
        assert dict(saved.getexif()) == {} and not saved.getexif().get_ifd(0x8825)
        assert "exif" not in saved.info
    content = path.read_bytes()
    assert b"Exif" not in content and b"HUAWEI" not in content
    finding = db.session.scalar(select(PatrolFinding))
    assert (finding.latitude, finding.longitude) == (23.0201, 113.7552)  # the position is the report's own field


# -- 413 over a real connection ---------------------------------------------------------------------------------


@contextmanager
def serving(app):
    """The app behind werkzeug's make_server on 127.0.0.1 (as tests/browser/conftest.py serves it)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="upload-limits-server", daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def send(port: int, method: str, path: str, body: bytes = b"", headers: dict | None = None):
    """(status, headers, body) of one request over http.client: the whole body is sent before the answer is read."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def multipart(field: str, filename: str, content: bytes, **fields: str) -> tuple[bytes, str]:
    boundary = "----upload-limits-boundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def test_an_upload_over_max_content_length_gets_the_chinese_413_page_from_a_real_server(app, db, orgs, make_user):
    app.config["MAX_CONTENT_LENGTH"] = MB
    admin = make_user(organization=orgs["nancheng"], role=Role.ADMIN, role_org=orgs["nancheng"])
    before = counts(db)
    with serving(app) as port:
        status, headers, _body = send(
            port,
            "POST",
            "/login",
            f"mobile={admin.mobile}&password={PASSWORD}".encode(),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert status == 302
        cookie = "; ".join(value.split(";", 1)[0] for value in headers.get_all("Set-Cookie"))
        body, content_type = multipart(
            "file", "志愿者.xlsx", b"PK\x03\x04" + bytes(3 * MB), organization_id=str(orgs["nancheng"].id)
        )
        status, headers, page = send(
            port, "POST", "/admin/import", body, {"Content-Type": content_type, "Cookie": cookie}
        )
    assert status == 413 and headers["Content-Type"].startswith("text/html")
    text = page.decode()
    assert '<html lang="zh-CN">' in text and "上传的文件过大" in text and "一次最多可上传 1 MB" in text
    assert counts(db) == before


def test_an_api_body_over_the_limit_gets_json_413_from_a_real_server(app, db, make_user):
    app.config["MAX_CONTENT_LENGTH"] = MB
    volunteer = make_user()
    _token, secret = create_token(volunteer, "upload limits", by=volunteer, now=utcnow())
    db.session.commit()
    with serving(app) as port:
        status, headers, body = send(
            port,
            "POST",
            "/api/v1/kiosk-scans",
            b'{"token": "' + b"K" * (3 * MB) + b'"}',
            {"Content-Type": "application/json", "Authorization": f"Bearer {secret}"},
        )
    assert status == 413 and headers["Content-Type"] == "application/json"
    error = json.loads(body)["error"]
    assert error["code"] == "request_entity_too_large" and "一次最多可上传 1 MB" in error["message"]


@pytest.mark.parametrize("threads", [1, 4], ids=["sync-worker", "gthread-worker"])
def test_gunicorn_answers_413_instead_of_resetting_the_connection(database_url, tmp_path, threads):
    """gunicorn.conf.py as in production. gunicorn itself drains 64 KB at most when it closes: past what the socket
    buffers hold (about 3 MB on loopback, far less on a phone's network) the client got a reset or a broken pipe while
    sending (seen with REQUEST_DRAIN_MAX_BYTES=0); the app drains the unread body, so the client reads the page."""
    env = production_env(database_url, real_keys(), MAX_CONTENT_LENGTH=MB, GUNICORN_THREADS=threads)
    with gunicorn(env, tmp_path, workers=1) as server:
        for path, size in (("/login", 3 * MB), ("/admin/import", 3 * MB), ("/admin/import", 24 * MB)):
            body, content_type = multipart("file", "志愿者.xlsx", bytes(size))
            status, _headers, page = send(server.port, "POST", path, body, {"Content-Type": content_type})
            assert status == 413, (path, size, status)
            text = page.decode()
            assert "上传的文件过大" in text and "一次最多可上传 1 MB" in text, text[:500]


# -- the drain's bounds -----------------------------------------------------------------------------------------


def test_the_drain_reads_what_the_app_left_and_nothing_past_its_bounds():
    def answer_unread(environ, start_response):
        environ["wsgi.input"].read(100)  # the app read a little, then answered
        start_response("413 Request Entity Too Large", [("Content-Type", "text/plain")])
        return [b"too large"]

    def run(size: int, config: dict, **environ) -> tuple[list[bytes], io.BytesIO]:
        stream = io.BytesIO(bytes(size) + b"NEXT REQUEST")
        environ = {"wsgi.input": stream, "CONTENT_LENGTH": str(size), **environ}
        body = DrainUnreadBody(answer_unread, config)(environ, lambda status, headers: None)
        return list(body), stream

    body, stream = run(3 * MB, {})
    assert body == [b"too large"] and stream.tell() == 3 * MB  # all of the body, not a byte past it
    _body, stream = run(3 * MB, {"REQUEST_DRAIN_MAX_BYTES": 2 * MB})
    assert stream.tell() == 100  # more than the bound is left: not read at all
    _body, stream = run(3 * MB, {"REQUEST_DRAIN_SECONDS": 0})
    assert stream.tell() == 100  # no time to read
    counting = CountingInput(io.BytesIO(b"abc\ndef\n"))
    assert counting.readline() == b"abc\n" and list(counting) == [b"def\n"] and counting.consumed == 8
