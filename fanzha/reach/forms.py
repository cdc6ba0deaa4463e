"""Forms of the member pages (phone-first) and the counsellor tools."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from fanzha.campaigns.activities.files import ACCEPT
from fanzha.campaigns.letters.forms import SignForm
from fanzha.org.forms import Form

from .models import Item


class MemberSignInForm(Form):
    """Student or staff number and the personal sign-in code, or a code sent to the registered phone."""

    number = forms.CharField(
        label=_("学号/工号"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    code = forms.CharField(
        label=_("个人登录码"),
        required=False,  # not for "send me a code"; an empty one is a wrong one
        max_length=20,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "off", "maxlength": 20, "spellcheck": "false"}
        ),
        help_text=_("辅导员或班主任发给你的 10 位数字，只属于你本人，不要告诉任何人。"),
    )


class GuardianSignInForm(Form):
    """A parent's registered phone number."""

    phone = forms.CharField(
        label=_("家长手机号"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"type": "tel", "inputmode": "tel", "autocomplete": "tel", "autofocus": True}
        ),
    )


class CodeForm(Form):
    code = forms.CharField(
        label=_("短信验证码"),
        max_length=6,
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "pattern": "[0-9]{6}",
                "autocomplete": "one-time-code",
                "maxlength": 6,
                "autofocus": True,
            }
        ),
    )


class SignatureForm(SignForm):
    """Just the drawn signature (the signer is the signed-in member): ``SignForm``'s checks, no name."""

    signer_name = None  # type: ignore[assignment]


class AppDeclarationForm(Form):
    app_installed = forms.BooleanField(label=_("我已安装国家反诈中心APP"), required=False)
    app_registered = forms.BooleanField(label=_("我已在APP中完成实名注册"), required=False)
    app_warnings_on = forms.BooleanField(label=_("我已在APP中开启来电预警和短信预警"), required=False)
    screenshot = forms.FileField(
        label=_("截图（可选）"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*,.heic,.heif"}),
        help_text=_("APP“我的”页面截图，不超过 10 MB。"),
    )

    def __init__(self, *args: Any, items: tuple[str, ...] = (), done: set[str] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        done = done or set()
        for name in (Item.APP_INSTALLED, Item.APP_REGISTERED, Item.APP_WARNINGS_ON):
            if name not in items:
                del self.fields[name]
            elif name in done:
                self.fields[name].initial = True
                self.fields[name].disabled = True

    def chosen(self) -> list[str]:
        return [
            name
            for name in (Item.APP_INSTALLED, Item.APP_REGISTERED, Item.APP_WARNINGS_ON)
            if name in self.fields and not self.fields[name].disabled and self.cleaned_data.get(name)
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors and not self.chosen():
            raise ValidationError(_("请至少勾选一项。"))
        return data


class ParentAppForm(Form):
    """A parent declares the anti-fraud app installed on their own phone, with an optional screenshot."""

    installed = forms.BooleanField(
        label=_("我已在自己的手机上安装国家反诈中心APP"),
        error_messages={"required": _("请先安装APP，再勾选这一项。")},
    )
    screenshot = forms.FileField(
        label=_("截图（可选）"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*,.heic,.heif"}),
        help_text=_("APP“我的”页面截图，不超过 10 MB。"),
    )


class ConfirmForm(Form):
    """Bulk confirmation: the people ticked on the missing list, and one optional evidence file."""

    item = forms.ChoiceField(choices=Item.choices, widget=forms.HiddenInput)
    people = forms.TypedMultipleChoiceField(coerce=int, choices=(), widget=forms.CheckboxSelectMultiple)
    evidence = forms.FileField(
        label=_("佐证材料（可选）"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
        help_text=_("签到表、截图或照片，一份材料用于本次确认的所有人。"),
    )

    def __init__(self, *args: Any, people: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["people"]
        assert isinstance(field, forms.TypedMultipleChoiceField)
        field.choices = people or []
        field.error_messages["required"] = _("请勾选要确认的人员。")


class SlipsForm(Form):
    """Whom the slips are for: students without a code, or the whole class again."""

    which = forms.ChoiceField(
        label=_("为谁生成登录码"),
        choices=[
            ("missing", _("只为还没有登录码的学生生成")),
            ("all", _("为全班学生重新生成（原登录码全部作废）")),
        ],
        initial="missing",
        widget=forms.RadioSelect,
    )
