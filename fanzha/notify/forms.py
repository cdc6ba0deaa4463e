"""Forms of the channel pages. They only shape input; ``actions`` checks it and saves."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from fanzha.org.forms import Form, UnitChoiceField, offer_units
from fanzha.org.models import Unit

from .models import Channel, ChannelAudience, ChannelKind

KIND_CHOICES = [
    (kind.value, kind.label)
    for kind in (ChannelKind.WECOM, ChannelKind.DINGTALK, ChannelKind.FEISHU, ChannelKind.EMAIL)
]


class ChannelForm(Form):
    """A new channel (with its unit), or an existing one (its URL and secret blank: kept unless typed)."""

    unit = UnitChoiceField(queryset=Unit.objects.none(), label=_("单位"))
    kind = forms.ChoiceField(choices=KIND_CHOICES, label=_("类型"))
    name = forms.CharField(max_length=100, label=_("名称"), help_text=_("便于辨认，例如“计科2301班班级群”。"))
    audience = forms.ChoiceField(
        choices=[("", _("请选择")), *ChannelAudience.choices],
        label=_("群成员"),
        help_text=_(
            "谁在这个群里。紧急止付预警含受害学生的班级、损失和收款账户，只发到“教职工/工作群”和"
            "“警务群”，不会发到班级群或家长群；每日防骗提示可以发到班级群、家长群和工作群。"
        ),
    )
    url = forms.CharField(
        max_length=500,
        label=_("Webhook 地址或邮箱"),
        help_text=_("群机器人填写群设置里“添加机器人”后给出的 Webhook 地址；电子邮件填写收件地址。"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "inputmode": "url"}),
    )
    secret = forms.CharField(
        max_length=200,
        required=False,
        label=_("签名密钥"),
        help_text=_("钉钉、飞书机器人开启“加签”时填写，以 SEC 开头或由平台生成；其他情况留空。"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    clear_secret = forms.BooleanField(required=False, label=_("删除已保存的签名密钥"))
    keyword = forms.CharField(
        max_length=30,
        required=False,
        label=_("关键词"),
        help_text=_(
            "钉钉、飞书机器人的安全设置选了“自定义关键词”时，填写其中一个关键词；每条消息都会带上它。"
        ),
    )

    def __init__(
        self, *args: Any, units: QuerySet[Unit] | None = None, channel: Channel | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.channel = channel
        if channel is None:
            offer_units(self, "unit", units if units is not None else Unit.objects.none())
            del self.fields["clear_secret"]
        else:
            del self.fields["unit"]
            audience: Any = self.fields["audience"]
            audience.choices = (
                ChannelAudience.choices
            )  # a select with no blank: left out keeps the stored one
            audience.required = False
            url: Any = self.fields["url"]
            url.required = False
            url.help_text = _("已保存：%(url)s。留空则保持不变。") % {"url": channel.masked_url}
            secret: Any = self.fields["secret"]
            if channel.secret:
                saved = {"secret": channel.masked_secret}
                secret.help_text = _("已保存：%(secret)s。留空则保持不变。") % saved
            else:
                del self.fields["clear_secret"]

    def changes(self) -> dict[str, Any]:
        """The arguments of ``actions.update_channel``: None for what stays as it is."""
        data = self.cleaned_data
        secret: str | None = data["secret"] or None
        if data.get("clear_secret"):
            secret = ""
        return {
            "kind": data["kind"],
            "name": data["name"],
            "url": data["url"] or None,
            "secret": secret,
            "audience": data.get("audience") or None,
            "keyword": data["keyword"],
        }
