"""What a message is for: the purposes of verification codes and of plain notices, and their texts.

Each purpose has its own template id at the provider (SMS_TEMPLATE_<PURPOSE>); the text here is what the console
backend writes (the providers' templates hold their own approved wording). A code's template has one variable,
`code` (Alibaba Cloud allows one variable in a verification template; Tencent Cloud's {1}); the notice's variables
are the caller's `params`, in order for Tencent Cloud ({1}, {2}, ...).
"""

from __future__ import annotations

from enum import Enum

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l


class SmsPurpose(str, Enum):
    """Why a message goes out."""

    REGISTER = "register"
    RESET_PASSWORD = "reset_password"
    CHANGE_MOBILE = "change_mobile"
    GUARDIAN_CONFIRM = "guardian_confirm"
    MOBILE_CHANGED_NOTICE = "mobile_changed_notice"

    @property
    def is_code(self) -> bool:
        """True for the purposes that carry a verification code."""
        return self in CODE_PURPOSES

    @property
    def label(self) -> str:
        """The purpose's name, as the outbox shows it."""
        return str(LABELS[self])

    @property
    def config_key(self) -> str:
        """The configuration key of this purpose's template id at the provider."""
        return f"SMS_TEMPLATE_{self.name}"


CODE_PURPOSES = frozenset(
    {SmsPurpose.REGISTER, SmsPurpose.RESET_PASSWORD, SmsPurpose.CHANGE_MOBILE, SmsPurpose.GUARDIAN_CONFIRM}
)

LABELS = {
    SmsPurpose.REGISTER: _l("Registration code"),
    SmsPurpose.RESET_PASSWORD: _l("Password reset code"),
    SmsPurpose.CHANGE_MOBILE: _l("New mobile number code"),
    SmsPurpose.GUARDIAN_CONFIRM: _l("Guardian confirmation code"),
    SmsPurpose.MOBILE_CHANGED_NOTICE: _l("Mobile number changed notice"),
}


def message_text(purpose: SmsPurpose, params: dict[str, str], *, minutes: int) -> str:
    """The text of a message, as the console backend shows it (in the current language)."""
    values = {"minutes": minutes, **params}
    if purpose is SmsPurpose.REGISTER:
        text = _(
            "Your code for registering as a volunteer is %(code)s, valid for %(minutes)s minutes. Do not share it.",
            **values,
        )
    elif purpose is SmsPurpose.RESET_PASSWORD:
        text = _(
            "Your code for resetting your volunteer account's password is %(code)s, valid for %(minutes)s minutes. If you did not ask for it, ignore this message.",
            **values,
        )
    elif purpose is SmsPurpose.CHANGE_MOBILE:
        text = _(
            "Your code for making this number your volunteer account's mobile is %(code)s, valid for %(minutes)s minutes.",
            **values,
        )
    elif purpose is SmsPurpose.GUARDIAN_CONFIRM:
        text = _(
            "Your code for confirming, as the guardian, a minor's volunteer registration is %(code)s, valid for %(minutes)s minutes.",
            **values,
        )
    else:
        text = _(
            "The mobile number of your volunteer account was changed to %(mobile)s. If you did not do this, contact your volunteer team at once.",
            **{"mobile": "", **values},
        )
    return text
