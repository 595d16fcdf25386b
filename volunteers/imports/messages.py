"""Readable reasons for rejected import rows and failed import jobs.

Jobs store machine-readable codes with parameters (the work runs outside any
request, so outside any language); pages turn them into text in the reader's language.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

PROBLEMS = {
    "name_required": _l("The name is missing."),
    "name_length": _l("The name must be 2 to 50 characters."),
    "mobile_required": _l("The mobile number is missing."),
    "mobile_invalid": _l("Mobile number must be 11 digits starting with 1."),
    "mobile_registered": _l("This mobile number is already registered to another volunteer."),
    "mobile_duplicate": _l("Same mobile number as row %(row)s of this file."),
    "id_required": _l("The ID number is missing."),
    "id_as_number": _l(
        "The ID number was saved as a number and lost digits; format the column as text and enter it again."
    ),
    "id_length": _l("ID number must be 18 characters."),
    "id_format": _l("ID number must be 17 digits followed by a digit or X."),
    "id_check_digit": _l("ID number check digit is wrong; please check the number."),
    "id_birth_date": _l("ID number contains an impossible birth date."),
    "id_duplicate": _l("Same ID number as row %(row)s of this file."),
    "political_status_invalid": _l("Political status must be one of: %(choices)s."),
    "activist_since_required": _l("Membership activists need the date they became an activist."),
    "date_invalid": _l("The date could not be read; write it as 2024-09-01."),
    "organization_unknown": _l("No organization is called “%(value)s”."),
    "organization_ambiguous": _l("Several organizations are called “%(value)s”; enter the organization's id instead."),
    "organization_outside_scope": _l("“%(value)s” is not part of %(scope)s, the organization this import is for."),
    "skill_unknown": _l("Unknown skill “%(value)s”."),
    "language_unknown": _l("Unknown language “%(value)s”."),
    "emergency_name_required": _l("The emergency contact is missing."),
    "text_too_long": _l("At most %(n)s characters."),
    "guardian_required": _l("Volunteers under 14 need a guardian's name and mobile number."),
}

FAILURES = {
    "too_many_rows": _l("The file has more than %(limit)s rows; split it into smaller files."),
    "unreadable": _l("The file could not be read to the end; save it again as .xlsx and upload it again."),
    "conflict": _l(
        "While the file was being checked, someone registered with the same %(what)s as one of "
        "its rows. Nothing was imported; upload the file again and that row will be reported."
    ),
    "interrupted": _l(
        "The import was interrupted (the server restarted). Nothing was imported; upload the file again."
    ),
    "error": _l("The import failed because of an error on our side. Nothing was imported."),
}

CONFLICT_SUBJECTS = {
    "mobile": _l("mobile number"),
    "id_number": _l("ID number"),
    "volunteer_number": _l("volunteer number"),
}


def describe_problem(problem: dict) -> str:
    """One rejected-row problem as text in the reader's language."""
    template = PROBLEMS.get(problem.get("code", ""))
    if template is None:
        return _("This row could not be imported.")
    return str(template) % problem.get("params", {}) if problem.get("params") else str(template)


def describe_rejections(rejected_rows: list) -> list[dict]:
    """Rejected rows with their problems in readable form, in row order."""
    described = []
    for entry in sorted(rejected_rows or [], key=lambda e: e.get("row", 0)):
        described.append(
            {
                "row": entry.get("row"),
                "name": entry.get("name", ""),
                "problems": [
                    {"column": p.get("column", ""), "message": describe_problem(p)} for p in entry.get("problems", [])
                ],
            }
        )
    return described


def describe_failure(code: str, detail: str = "", *, limit: int = 0) -> str:
    """Why a job failed, as text in the reader's language."""
    if code == "too_many_rows":
        return str(FAILURES[code]) % {"limit": detail or limit}
    if code == "conflict":
        what = CONFLICT_SUBJECTS.get(detail, CONFLICT_SUBJECTS["mobile"])
        return str(FAILURES[code]) % {"what": str(what)}
    return str(FAILURES.get(code, FAILURES["error"]))
