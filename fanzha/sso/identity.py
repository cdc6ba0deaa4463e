"""What a sign-in provider vouches for, and the reasons a sign-in is refused."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Identity:
    """A person as a provider vouches for them: the provider's own stable id for them (``subject``),
    and the student or staff number of ``organisation`` (a root unit's code) that names them here."""

    provider: str
    subject: str
    number: str
    organisation: str


class Reason:
    """Why a sign-in is refused: what the person is told (no codes, no provider jargon)."""

    UNKNOWN = _("在%(organisation)s的名册中没有找到学号/工号为 %(number)s 的人员，未能登录。")
    NOT_ON_ROLL = _("学号/工号 %(number)s 对应的人员已不在册，不能登录。")
    NO_ACCOUNT = _("您的身份已确认，但本平台尚未为您开通账号。请联系管理员开通账号。")
    DISABLED = _("您的账号已停用，不能登录。")
    SUPERUSER = _("系统管理员账号不能通过单点登录进入，请使用密码登录。")
    NO_NUMBER = _("登录服务没有提供您的学号/工号，无法确认您的身份。")
    NOT_MEMBER = _("您不在本单位的通讯录中，不能通过它登录。")
    STATE = _("登录请求已失效（超时、重复提交或不是从本站发起）。请回到登录页重新开始。")
    CANCELLED = _("登录没有完成：授权被取消，或登录服务拒绝了请求。")
    PROVIDER = _("暂时无法完成登录：登录服务没有答复，或答复无法使用。请稍后重试。")
    UNVERIFIED = _("登录服务的答复没有通过校验，未能登录。")
    MISCONFIGURED = _("单点登录的配置有误，暂时不能使用。请联系系统管理员。")


HINTS = {
    "unknown": _("如学号/工号有误或名册尚未导入，请联系本单位管理员。"),
    "not_on_roll": _("如有疑问，请联系本单位管理员。"),
    "disabled": _("如需恢复，请联系本单位管理员。"),
    "not_member": _("也可以使用学号/工号和密码登录。"),
}


class Refusal(Exception):
    """A sign-in refused for ``code`` (unknown, no_account …); ``message`` tells the person why.

    Raised inside the sign-in's transaction, so a refusal leaves nothing behind."""

    def __init__(self, code: str, message: str | Promise, status: int = 403, **params: str) -> None:
        super().__init__(code)
        self.code = code
        self.message = message
        self.status = status
        self.params = params

    @property
    def text(self) -> str:
        return str(self.message) % self.params if self.params else str(self.message)

    @property
    def hint(self) -> str:
        hint = HINTS.get(self.code)
        return str(hint) if hint else ""
