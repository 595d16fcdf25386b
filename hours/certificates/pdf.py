"""The certificate 志愿服务证明 as a PDF (reportlab), with Chinese set in an embedded TrueType font.

The font is WenQuanYi Micro Hei (Apache-2.0), shipped in fonts/ (see fonts/wqy-microhei-COPYRIGHT.txt);
reportlab embeds the glyphs it uses. CERTIFICATE_FONT_PATH overrides it with another TrueType
file or collection (CERTIFICATE_FONT_INDEX picks the face of a .ttc); CFF-based OpenType (.otf)
fonts cannot be embedded by reportlab.
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

from flask import current_app
from flask_babel import gettext as _
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from app.config import BASE_DIR
from app.timeutil import to_local
from hours.certificates.models import Certificate, format_hours

DEFAULT_FONT = BASE_DIR / "fonts" / "wqy-microhei.ttc"
FONT_NAME = "CertificateCJK"
QR_SIZE = 32 * mm


class CertificateFontMissing(RuntimeError):
    """The CJK font the certificate needs is not installed where configuration says."""


def _register_font() -> str:
    """Register the CJK TrueType font once per process; a clear error when it is absent."""
    if FONT_NAME in pdfmetrics.getRegisteredFontNames():
        return FONT_NAME
    path = Path(current_app.config.get("CERTIFICATE_FONT_PATH") or DEFAULT_FONT)
    if not path.is_file():
        raise CertificateFontMissing(
            f"The certificate font {path} is missing: restore fonts/wqy-microhei.ttc from the repository, "
            f"or set CERTIFICATE_FONT_PATH to a TrueType CJK font (e.g. Debian's fonts-wqy-microhei: "
            f"/usr/share/fonts/truetype/wqy/wqy-microhei.ttc)."
        )
    pdfmetrics.registerFont(
        TTFont(FONT_NAME, str(path), subfontIndex=int(current_app.config.get("CERTIFICATE_FONT_INDEX", 0)))
    )
    return FONT_NAME


def _styles(font: str) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=font, fontSize=11, leading=17, wordWrap="CJK")
    return {
        "title": ParagraphStyle("title", parent=base, fontSize=24, leading=32, alignment=TA_CENTER, spaceAfter=4 * mm),
        "serial": ParagraphStyle("serial", parent=base, fontSize=9, alignment=TA_RIGHT, textColor=colors.grey),
        "body": ParagraphStyle("text", parent=base, firstLineIndent=22, spaceAfter=3 * mm),
        "cell": ParagraphStyle("cell", parent=base, fontSize=9, leading=12),
        "head": ParagraphStyle("head", parent=base, fontSize=9, leading=12, textColor=colors.white),
        "right": ParagraphStyle("right", parent=base, alignment=TA_RIGHT),
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=11, textColor=colors.grey),
    }


def _day(value: date) -> str:
    return value.strftime("%Y-%m-%d")


def _services_table(certificate: Certificate, styles: dict[str, ParagraphStyle]) -> Table:
    cell, head = styles["cell"], styles["head"]
    rows: list[list[Paragraph | str]] = [
        [Paragraph(escape(text), head) for text in (_("Date"), _("Organizer"), _("Service"), _("Hours"))]
    ]
    for service in certificate.services:
        content = service["content"]
        if service.get("kind") == "backfill":
            content += " *"
        rows.append(
            [
                Paragraph(escape(service["date"]), cell),
                Paragraph(escape(service["organizer"]), cell),
                Paragraph(escape(content), cell),
                Paragraph(format_hours(service["minutes"]), cell),
            ]
        )
    rows.append([Paragraph(escape(_("Total")), cell), "", "", Paragraph(escape(certificate.total_hours), cell)])
    table = Table(rows, colWidths=[24 * mm, 46 * mm, 82 * mm, 18 * mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#b71c1c")),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("SPAN", (0, -1), (2, -1)),
                ("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#f3f3f3")),
                ("ROWBACKGROUNDS", (0, 1), (-1, -2), [colors.white, colors.HexColor("#fafafa")]),
            ]
        )
    )
    return table


def _qr(url: str) -> Drawing:
    widget = QrCodeWidget(url, barLevel="M")
    left, bottom, right, top = widget.getBounds()
    drawing = Drawing(QR_SIZE, QR_SIZE, transform=[QR_SIZE / (right - left), 0, 0, QR_SIZE / (top - bottom), 0, 0])
    drawing.add(widget)
    return drawing


def render_certificate(
    certificate: Certificate, *, verify_url: str, check_page_url: str, masked_id_number: str
) -> bytes:
    """The certificate as PDF bytes; `verify_url` goes into the QR code."""
    font = _register_font()
    styles = _styles(font)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=_("Certificate of volunteer service") + f" {certificate.serial}",
        author=certificate.organization.name,
        subject=certificate.serial,
        creator="Dongguan Youth Volunteers",
    )
    issued_on = _day(to_local(certificate.issued_at).date())
    story = [
        Paragraph(escape(_("No. %(serial)s", serial=certificate.serial)), styles["serial"]),
        Paragraph(escape(_("Certificate of volunteer service")), styles["title"]),
        Paragraph(
            escape(
                _(
                    "%(name)s (volunteer number %(number)s, ID number %(id_number)s) took part in the volunteer "
                    "services below between %(start)s and %(end)s, with %(hours)s verified service hours in total.",
                    name=certificate.volunteer_name,
                    number=certificate.volunteer_number,
                    id_number=masked_id_number,
                    start=_day(certificate.period_start),
                    end=_day(certificate.period_end),
                    hours=certificate.total_hours,
                )
            ),
            styles["body"],
        ),
        Paragraph(escape(_("This is to certify the above.")), styles["body"]),
        Spacer(1, 2 * mm),
    ]
    story.append(_services_table(certificate, styles))
    if any(service.get("kind") == "backfill" for service in certificate.services):
        story.append(Spacer(1, 1.5 * mm))
        story.append(
            Paragraph(escape(_("* Hours entered from paper records, verified like all others.")), styles["small"])
        )
    story.append(Spacer(1, 8 * mm))
    signature = [
        Paragraph(
            escape(_("Issued by: %(organization)s", organization=certificate.organization.name)), styles["right"]
        ),
        Paragraph(escape(_("Date of issue: %(date)s", date=issued_on)), styles["right"]),
    ]
    verify_note = Paragraph(
        escape(
            _(
                "Scan the code, or enter the serial number %(serial)s and the name at %(url)s, to check this "
                "certificate.",
                serial=certificate.serial,
                url=check_page_url,
            )
        ),
        styles["small"],
    )
    footer = Table([[_qr(verify_url), [verify_note], signature]], colWidths=[36 * mm, 62 * mm, 72 * mm])
    footer.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "BOTTOM"), ("LEFTPADDING", (0, 0), (0, 0), 0)]))
    story.append(footer)

    def page_footer(canvas: Canvas, doc: BaseDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.setFillColor(colors.grey)
        canvas.drawCentredString(A4[0] / 2, 10 * mm, f"{certificate.serial} · {doc.page}")
        canvas.restoreState()

    document.build(story, onFirstPage=page_footer, onLaterPages=page_footer)
    return buffer.getvalue()
