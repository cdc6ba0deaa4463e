"""Forms of the account pages. They validate what a page posts; ``actions`` writes."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import forms as auth_forms
from django.utils.translation import gettext_lazy as _

from ..forms import Form
from ..models import Role

EMAIL_HELP = _("选填。填写后，邀请同时发到这个邮箱；没有手机号的人员必须填写。")


def _label_fields(form: forms.Form) -> None:
    """Django's password forms, labelled in our words and without a trailing colon."""
    form.label_suffix = ""
    names = {
        "old_password": _("原密码"),
        "new_password1": _("新密码"),
        "new_password2": _("再输入一次新密码"),
    }
    for name, label in names.items():
        if name in form.fields:
            form.fields[name].label = label


class OpenAccountForm(Form):
    """Open a staff account from a person's page."""

    email = forms.EmailField(
        label=_("电子邮件"),
        required=False,
        max_length=254,
        help_text=EMAIL_HELP,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    temporary = forms.BooleanField(
        label=_("不发送邀请，改为发放临时密码（只显示一次，由您当面交给本人，首次登录须修改）"),
        required=False,
    )


class InviteForm(Form):
    """Send the invitation again, to an e-mail address if one is typed."""

    email = forms.EmailField(
        label=_("电子邮件"),
        required=False,
        max_length=254,
        help_text=_("选填。填写后，邀请也发到这个邮箱（并保存为账号的邮箱）；留空则保持不变。"),
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )


class SetPasswordForm(auth_forms.SetPasswordForm):  # type: ignore[type-arg]
    """Choose one's password from an invitation or reset link (Django's validators)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _label_fields(self)
        self.fields["new_password1"].widget.attrs["autocomplete"] = "new-password"


class ChangePasswordForm(auth_forms.PasswordChangeForm):  # type: ignore[type-arg]
    """Change one's own password (also the forced change after a temporary password)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _label_fields(self)
        self.error_messages = {**self.error_messages, "password_incorrect": _("原密码不正确，请重新输入。")}


class ForgotForm(Form):
    """ "忘记密码": the number or phone an account signs in with."""

    login = forms.CharField(
        label=_("学号/工号或手机号"),
        max_length=60,
        widget=forms.TextInput(attrs={"autocomplete": "username"}),
    )


class CodeForm(Form):
    """The code that came by SMS or e-mail, and the new password twice."""

    code = forms.CharField(
        label=_("验证码"),
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
    new_password1 = forms.CharField(
        label=_("新密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password2 = forms.CharField(
        label=_("再输入一次新密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("new_password1") and data.get("new_password1") != data.get("new_password2"):
            self.add_error("new_password2", _("两次输入的密码不一致。"))
        return data


class GrantForm(Form):
    """Grant a role at the unit on the page to an account, named by its number or phone."""

    login = forms.CharField(
        label=_("账号（学号/工号或手机号）"),
        max_length=60,
        help_text=_("须是本单位范围内已开通账号的人员。"),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    role = forms.ChoiceField(label=_("角色"), choices=())

    def __init__(self, *args: Any, roles: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["role"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = roles


ACTIVE_CHOICES = [("", _("全部")), ("1", _("启用")), ("0", _("已停用"))]


class AccountFilterForm(Form):
    """Filters of the accounts list (all optional)."""

    q = forms.CharField(
        label=_("搜索"),
        required=False,
        max_length=60,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("姓名、学号/工号或拼音首字母")}),
    )
    unit = forms.IntegerField(required=False, widget=forms.HiddenInput)
    role = forms.ChoiceField(label=_("角色"), required=False, choices=[("", _("全部")), *Role.choices])
    active = forms.ChoiceField(label=_("状态"), required=False, choices=ACTIVE_CHOICES)
    pending = forms.BooleanField(label=_("只看邀请未接受的"), required=False)
