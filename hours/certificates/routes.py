"""Certificate pages: issue and download (/hours/certificates/...), and the public check (/verify).

The public pages live outside the /hours prefix, so they have their own blueprint, registered
together with the hours blueprint.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app import permissions
from app.errors import ValidationFailed
from app.extensions import db, limiter
from app.timeutil import local_today, utcnow
from app.web.forms import form_page, show_refusal
from app.web.inputs import query_int
from app.web.loading import load_or_404
from hours.blueprint import bp
from hours.certificates import services as certificates
from hours.certificates.forms import CheckCertificateForm, IssueCertificateForm, RevokeCertificateForm
from hours.certificates.models import Certificate, format_hours
from hours.certificates.pdf import CertificateFontMissing, render_certificate
from volunteers.accounts.models import User

public_bp = Blueprint("certificates_public", __name__)


@bp.app_template_filter("hours_text")
def hours_text(minutes) -> str:
    """Minutes shown as hours (90 → "1.5")."""
    return format_hours(int(minutes or 0))


def _public_url(endpoint: str, **values) -> str:
    """An absolute link for paper: PUBLIC_BASE_URL when configured, else this request's host."""
    base = (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    if base:
        return base + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def _certificates_page(volunteer, *, own: bool):
    """A volunteer's certificates with the form to issue one; issued, on to the new certificate."""
    form = IssueCertificateForm()

    def page(status: int):
        form.fill_defaults(local_today())
        return render_template(
            "hours/certificates.html",
            form=form,
            volunteer=volunteer,
            items=certificates.certificates_of(volunteer),
            own=own,
        ), status

    return form_page(
        form,
        lambda: certificates.issue_certificate(
            volunteer, period=(form.period_start.data, form.period_end.data), by=current_user, now=utcnow()
        ),
        success=lambda certificate: _("Certificate %(serial)s issued.", serial=certificate.serial),
        then=lambda certificate: redirect(url_for("hours.show_certificate", certificate_id=certificate.id)),
        catch=ValidationFailed,
        show=lambda exc: show_refusal(form, exc, loose="flash"),
        render=page,
    )


@bp.route("/certificates/", methods=["GET", "POST"])
@login_required
def my_certificates():
    """The volunteer's own certificates, and the form to issue a new one."""
    return _certificates_page(current_user, own=True)


@bp.route("/certificates/volunteers/<int:user_id>", methods=["GET", "POST"])
@login_required
def volunteer_certificates(user_id: int):
    """Staff: a volunteer's certificates, and the form to issue one for them."""
    volunteer = load_or_404(User, user_id, permissions.can_issue_certificate, denied=403)
    if volunteer.id == current_user.id:
        return redirect(url_for("hours.my_certificates"))
    return _certificates_page(volunteer, own=False)


@bp.get("/certificates/manage")
@login_required
@permissions.role_required()
def manage_certificates():
    """Staff: certificates of volunteers in their subtrees, searchable; find a volunteer to issue one."""
    search = (request.args.get("q") or "").strip()[:40]
    page = db.paginate(
        certificates.certificates_for_staff(current_user, search=search),
        page=request.args.get("page", 1, type=query_int),
        per_page=30,
        error_out=False,
    )
    found = certificates.find_volunteer_for_staff(current_user, search) if search else None
    return render_template("hours/certificate_manage.html", page=page, search=search, found=found)


def _load_certificate(certificate_id: int) -> Certificate:
    return load_or_404(Certificate, certificate_id, permissions.can_view_certificate, denied=403)


@bp.get("/certificates/<int:certificate_id>")
@login_required
def show_certificate(certificate_id: int):
    """One certificate: what it certifies, its status, the PDF and (for reviewers) revocation."""
    certificate = _load_certificate(certificate_id)
    return render_template(
        "hours/certificate_show.html",
        certificate=certificate,
        form=RevokeCertificateForm(),
        can_revoke=permissions.can_revoke_certificate(current_user, certificate),
        verify_url=_public_url("certificates_public.verify_certificate", serial=certificate.serial),
    )


@bp.get("/certificates/<int:certificate_id>.pdf")
@login_required
def download_certificate(certificate_id: int):
    """The certificate as a PDF."""
    certificate = _load_certificate(certificate_id)
    try:
        pdf = render_certificate(
            certificate,
            verify_url=_public_url("certificates_public.verify_certificate", serial=certificate.serial),
            check_page_url=_public_url("certificates_public.check_certificate"),
            masked_id_number=certificate.volunteer.masked_id_number,
        )
    except CertificateFontMissing:
        current_app.logger.exception("certificate font missing")
        abort(503)
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="certificate-{certificate.serial}.pdf"'
    return response


@bp.post("/certificates/<int:certificate_id>/revoke")
@login_required
def revoke_certificate(certificate_id: int):
    """Revoke a certificate (reviewers over the issuing committee), with a reason."""
    certificate = load_or_404(
        Certificate,
        certificate_id,
        lambda user, found: (
            permissions.can_view_certificate(user, found) and permissions.can_revoke_certificate(user, found)
        ),
        denied=403,
    )
    form = RevokeCertificateForm()
    return form_page(
        form,
        lambda: certificates.revoke_certificate(certificate, by=current_user, now=utcnow(), reason=form.reason.data),
        success=lambda _revoked: _("Certificate %(serial)s revoked.", serial=certificate.serial),
        then=lambda _revoked: redirect(url_for("hours.show_certificate", certificate_id=certificate.id)),
        catch=ValidationFailed,
        show=lambda exc: show_refusal(form, exc, loose="flash"),
        template="hours/certificate_show.html",
        certificate=certificate,
        can_revoke=True,
        verify_url=_public_url("certificates_public.verify_certificate", serial=certificate.serial),
    )


def _verify_limit() -> str:
    return current_app.config.get("CERTIFICATE_VERIFY_LIMIT", "30 per minute")


@public_bp.route("/verify", methods=["GET", "POST"])
@limiter.shared_limit(_verify_limit, scope="certificate-verify", methods=["POST"])
def check_certificate():
    """Public: check a certificate by serial number and the holder's name (no login)."""
    form = CheckCertificateForm()
    result = None
    if form.validate_on_submit():
        result = certificates.check_certificate(form.serial.data, name=form.name.data)
    status = 422 if request.method == "POST" and result is None else 200
    return render_template("hours/certificate_verify.html", form=form, result=result), status


@public_bp.get("/verify/<serial>")
@limiter.shared_limit(_verify_limit, scope="certificate-verify")
def verify_certificate(serial: str):
    """Public: the page a certificate's QR code opens (masked name, period, total, validity)."""
    result = certificates.check_certificate(serial[:40])
    return render_template("hours/certificate_verify.html", form=CheckCertificateForm(formdata=None), result=result)
