"""The one shape of a form view: validate → call a service → commit → flash → redirect; bad input shows the form again.

A view loads its object (app.web.loading.load_or_404), then hands the form and the service call here:

    form = PositionForm()
    return form_page(form, lambda: manage.create_position(event, form.to_data(), by=user, now=utcnow()),
                     success=_("Position added."), then=lambda position: redirect(...),
                     template="events/position_form.html", event=event, position=None)

A refusal from the service is rolled back and shown beside its field (or at the top of the form), the
form comes back with 422, and nothing is committed. What differs between views is said with a parameter:

- `success`: the message flashed once saved, or a function of the service's result giving it (None: none);
- `then`: the answer once saved, from the service's result (a redirect, or a page);
- `template` and its context, or `render(status)` for a page the view draws itself;
- `catch`: the refusals shown on the form (any other goes on to the site's error handler), and
  `raise_statuses`: refusals of these statuses go on too;
- `show`: how a refusal is shown: on the form (`show_refusal`, the default), `flash_refusal`, or anything else;
- `status_of`: the status of the form shown again with a refusal (422 by default; `refusal_status`: 422
  for bad input, the refusal's own status otherwise);
- `commit_refusals`: refusals their service logged (a refused scan, in the scan log): committed, not rolled back.

`submit_form` is `form_page` without the page: its `Outcome` says what came of the form, for a view that
shows a refusal in a page of its own. A button (no fields to show again) is `run_action`; `attempt` is the
service call alone, its refusal rolled back and shown, for a view that commits in a step of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar, cast

from flask import flash, render_template

from app.errors import DomainError, ValidationFailed
from app.extensions import db

T = TypeVar("T")

#: the refusals a view shows itself: one DomainError class or a tuple of them (() shows none)
Refusals = type[DomainError] | tuple[type[DomainError], ...]
#: how a refusal is shown; None leaves it to the view (Outcome.refusal)
Show = Callable[[DomainError], None] | None
#: what is flashed once saved: a message, a function of the service's result giving one (or None), or None
Success = str | Callable[[Any], str | None] | None


@dataclass
class Outcome(Generic[T]):
    """What came of a sent form or a pressed button."""

    #: the service ran and its work was committed
    saved: bool = False
    #: what the service returned
    result: T | None = None
    #: the refusal shown instead (rolled back, or committed when of a `commit_refusals` class)
    refusal: DomainError | None = None
    #: submit_form: `then(result)`, once saved
    response: Any = None
    #: submit_form: the status of the form shown again (200 not sent, 422 bad input or refused, or `status_of`)
    status: int = 200


def show_refusal(form, exc: DomainError, *, field: str | None = None, loose: Literal["form", "flash"] = "form") -> None:
    """Show a service's refusal (and every other problem it names) beside its field.

    The field is the one the refusal names, else `field`; a problem the form has no field for goes at the top
    of the form (`loose="form"`) or is flashed (`loose="flash"`).
    """
    show_problems(form, exc.details.get("problems") or {exc.field: exc.message}, field=field, loose=loose)


def show_problems(form, problems: dict, *, field: str | None = None, loose: Literal["form", "flash"] = "form") -> None:
    """Show each {field name: message} problem beside its field (else beside `field`, else as `loose` says)."""
    for name, message in problems.items():
        target = _field(form, name)
        if target is None:
            target = _field(form, field)
        if target is not None:
            target.errors = [*list(target.errors), message]
        elif loose == "flash":
            flash(message, "error")
        else:
            form.form_errors.append(message)


def _field(form, name: str | None):
    return form[name] if name and name in form else None


def flash_refusal(exc: DomainError) -> None:
    """Show a refusal as a flashed error message."""
    flash(exc.message, "error")


def refusal_status(exc: DomainError) -> int:
    """The status of a form shown again with a refusal: 422 for bad input, the refusal's own otherwise (403, 409)."""
    return 422 if isinstance(exc, ValidationFailed) else exc.status


def refuse_problems(problems: dict[str, str]) -> None:
    """Refuse with every {field: message} problem at once, so the form shows each beside its field."""
    if problems:
        raise ValidationFailed(next(iter(problems.values())), details={"problems": problems})


def attempt(
    call: Callable[[], T],
    *,
    show: Show,
    catch: Refusals = DomainError,
    raise_statuses: tuple[int, ...] = (),
    commit_refusals: Refusals = (),
) -> Outcome[T]:
    """Run a service call; nothing is committed. A refusal of a `catch` class is rolled back (committed when of a
    `commit_refusals` class), shown with `show` and returned; one whose status is in `raise_statuses` goes on to
    the site's error handler."""
    try:
        result = call()
    except catch as exc:
        if isinstance(exc, commit_refusals):
            db.session.commit()  # the service logged the refusal (the scan log): keep it
        else:
            db.session.rollback()
        if exc.status in raise_statuses:
            raise
        if show is not None:
            show(exc)
        return Outcome(refusal=exc)
    return Outcome(result=result)


def _saved(done: Outcome, success: Success) -> None:
    db.session.commit()
    done.saved = True
    message = success(done.result) if callable(success) else success
    if message is not None:
        flash(message, "success")


def run_action(
    action: Callable[[], T],
    *,
    success: Success,
    catch: Refusals = DomainError,
    raise_statuses: tuple[int, ...] = (),
    commit_refusals: Refusals = (),
    show: Show = flash_refusal,
) -> Outcome[T]:
    """A button's service call: commit and flash `success`, or roll back and flash the refusal (never a 500).

    `catch=()` leaves every refusal to the site's error handler."""
    done = attempt(action, show=show, catch=catch, raise_statuses=raise_statuses, commit_refusals=commit_refusals)
    if done.refusal is None:
        _saved(done, success)
    return done


def submit_form(
    form,
    save: Callable[[], T],
    *,
    success: Success,
    then: Callable[[T], Any] | None = None,
    catch: Refusals = DomainError,
    raise_statuses: tuple[int, ...] = (),
    commit_refusals: Refusals = (),
    show: Show | Literal["form"] = "form",
    status_of: Callable[[DomainError], int] | None = None,
) -> Outcome[T]:
    """A sent, valid form: run `save`, commit, flash `success`; the Outcome's response is `then(result)`.

    Not sent, bad input, or a refusal of the service (rolled back and shown, on the form unless `show` says
    otherwise): not saved, and the Outcome's status is the one to show the form again with.
    """
    if not form.validate_on_submit():
        return Outcome(status=form_status(form))
    done = attempt(
        save,
        show=(lambda exc: show_refusal(form, exc)) if show == "form" else show,
        catch=catch,
        raise_statuses=raise_statuses,
        commit_refusals=commit_refusals,
    )
    if done.refusal is not None:
        done.status = status_of(done.refusal) if status_of is not None else 422
        return done
    _saved(done, success)
    done.response = then(cast(T, done.result)) if then is not None else None  # saved: the service's result
    return done


def save_form(
    form,
    save: Callable[[], T],
    *,
    success: Success,
    then: Callable[[T], Any],
    catch: Refusals = DomainError,
    raise_statuses: tuple[int, ...] = (),
    show: Show | Literal["form"] = "form",
) -> Any | None:
    """A sent, valid form: run `save`, commit, flash `success` and return `then(result)`.

    None when the form is to be shown (again): not sent, bad input, or a refusal of the service, rolled back
    and shown on the form. Refusals whose status is in `raise_statuses` go on to the site's error handler.
    """
    done = submit_form(form, save, success=success, then=then, catch=catch, raise_statuses=raise_statuses, show=show)
    return done.response if done.saved else None


def form_status(form) -> int:
    """200 for a form shown the first time (GET, HEAD), 422 for a sent form shown again with its errors."""
    return 422 if form.is_submitted() else 200


def form_page(
    form,
    save: Callable[[], T],
    *,
    success: Success,
    then: Callable[[T], Any],
    template: str | None = None,
    render: Callable[[int], Any] | None = None,
    catch: Refusals = DomainError,
    raise_statuses: tuple[int, ...] = (),
    commit_refusals: Refusals = (),
    show: Show | Literal["form"] = "form",
    status_of: Callable[[DomainError], int] | None = None,
    **context: Any,
):
    """A GET/POST form page: `submit_form`, or else the page with the form: `template` rendered with the form and
    `context`, or `render(status)`; its status 200 the first time, 422 (or `status_of`) when shown again."""
    done = submit_form(
        form,
        save,
        success=success,
        then=then,
        catch=catch,
        raise_statuses=raise_statuses,
        commit_refusals=commit_refusals,
        show=show,
        status_of=status_of,
    )
    if done.saved:
        return done.response
    if render is not None:
        return render(done.status)
    assert template is not None, "form_page needs a template or a render function"
    return render_template(template, form=form, **context), done.status


def optional_int(value):
    """Coerce a select's value to int, or None for the empty choice."""
    if value in (None, "", "None"):
        return None
    return int(value)
