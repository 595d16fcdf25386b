"""The one shape of a form view: validate → call a service → commit → flash → redirect; bad input shows the form again.

A view loads its object and checks permission itself, then hands the form and the service call here:

    form = PositionForm()
    return form_page(form, lambda: manage.create_position(event, form.to_data(), by=user, now=utcnow()),
                     success=_("Position added."), then=lambda position: redirect(...),
                     template="events/position_form.html", event=event, position=None)

A refusal from the service is shown beside its field (or at the top of the form), the form comes back
with 422, and nothing is committed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import flash, render_template
from werkzeug.wrappers import Response

from app.errors import DomainError, ValidationFailed
from app.extensions import db

T = TypeVar("T")


def show_refusal(form, exc: DomainError) -> None:
    """Show a service's refusal (and every other problem it names) beside its field, or at the top of the form."""
    problems = exc.details.get("problems") or {exc.field: exc.message}
    for name, message in problems.items():
        field = getattr(form, name, None) if name else None
        if field is not None and hasattr(field, "errors"):
            field.errors = [*list(field.errors), message]
        else:
            form.form_errors.append(message)


def refuse_problems(problems: dict[str, str]) -> None:
    """Refuse with every {field: message} problem at once, so the form shows each beside its field."""
    if problems:
        raise ValidationFailed(next(iter(problems.values())), details={"problems": problems})


def save_form(
    form, save: Callable[[], T], *, success: str, then: Callable[[T], Response], raise_statuses: tuple[int, ...] = ()
) -> Response | None:
    """A sent, valid form: run `save`, commit, flash `success` and return `then(result)`.

    None when the form is to be shown (again): not sent, bad input, or a refusal of the service, rolled back
    and shown on the form. Refusals whose status is in `raise_statuses` go on to the site's error handler.
    """
    if not form.validate_on_submit():
        return None
    try:
        result = save()
    except DomainError as exc:
        db.session.rollback()
        if exc.status in raise_statuses:
            raise
        show_refusal(form, exc)
        return None
    db.session.commit()
    flash(success, "success")
    return then(result)


def form_status(form) -> int:
    """200 for a form shown the first time (GET, HEAD), 422 for a sent form shown again with its errors."""
    return 422 if form.is_submitted() else 200


def form_page(
    form,
    save: Callable[[], T],
    *,
    success: str,
    then: Callable[[T], Response],
    template: str,
    raise_statuses: tuple[int, ...] = (),
    **context: Any,
):
    """A GET/POST form page: `save_form`, or else `template` rendered with the form and `context` (200 or 422)."""
    done = save_form(form, save, success=success, then=then, raise_statuses=raise_statuses)
    if done is not None:
        return done
    return render_template(template, form=form, **context), form_status(form)


def run_action(action: Callable[[], Any], *, success: str) -> None:
    """A button's service call: commit and flash `success`, or roll back and flash the refusal (never a 500)."""
    try:
        action()
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(success, "success")


def optional_int(value):
    """Coerce a select's value to int, or None for the empty choice."""
    if value in (None, "", "None"):
        return None
    return int(value)
