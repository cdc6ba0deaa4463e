"""Forms of the learn pages. They only shape input; ``actions`` checks it and saves."""

from __future__ import annotations

from datetime import time
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fanzha.notify.models import Channel
from fanzha.org.forms import Form, UnitChoiceField, offer_units
from fanzha.org.models import Unit

from .actions import MAX_NO_REPEAT_DAYS
from .models import Article, Audience, FraudType


class ChannelChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.unit.name} · {obj.name}（{obj.get_kind_display()}）"


def fraud_type_choices() -> list[tuple[str, str]]:
    return list(FraudType.objects.order_by("order").values_list("code", "name"))


class KnowledgeFilterForm(Form):
    """Filters of the knowledge base: audience, fraud type, kind of article."""

    audience = forms.ChoiceField(label=_("适用对象"), required=False)
    type = forms.ChoiceField(label=_("诈骗类型"), required=False)
    kind = forms.ChoiceField(label=_("类别"), required=False)

    def __init__(self, *args: Any, types: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["audience"].choices = [("", _("全部对象")), *Audience.choices]  # type: ignore[attr-defined]
        self.fields["type"].choices = [("", _("全部诈骗类型")), *types]  # type: ignore[attr-defined]
        self.fields["kind"].choices = [("", _("全部类别")), *Article.Kind.choices]  # type: ignore[attr-defined]


class ArticleForm(Form):
    """A unit's article for the knowledge base (it counts towards the weekly-article work)."""

    unit = UnitChoiceField(queryset=Unit.objects.none(), label=_("发布单位"))
    title = forms.CharField(max_length=200, label=_("标题"))
    kind = forms.ChoiceField(choices=Article.Kind.choices, label=_("类别"), initial=Article.Kind.GUIDE)
    audiences = forms.MultipleChoiceField(
        choices=Audience.choices, label=_("适用对象"), widget=forms.CheckboxSelectMultiple
    )
    fraud_types = forms.MultipleChoiceField(
        choices=(), label=_("涉及诈骗类型"), required=False, widget=forms.CheckboxSelectMultiple
    )
    published_on = forms.DateField(
        label=_("发布日期"), widget=forms.DateInput(attrs={"type": "date"}), initial=timezone.localdate
    )
    body = forms.CharField(
        label=_("正文"),
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text=_("用自己的话写，空一行分段。"),
    )

    def __init__(self, *args: Any, units: QuerySet[Unit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        offer_units(self, "unit", units)
        types: Any = self.fields["fraud_types"]
        types.choices = fraud_type_choices()


class TipScheduleForm(Form):
    """A daily-tip schedule for one class chat group's robot."""

    channel = ChannelChoiceField(queryset=Channel.objects.none(), label=_("群机器人"))
    audience = forms.ChoiceField(choices=Audience.choices, label=_("提示对象"), initial=Audience.STUDENT)
    post_time = forms.TimeField(
        label=_("发送时间"),
        initial=time(8, 0),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    no_repeat_days = forms.IntegerField(
        label=_("不重复天数"),
        min_value=1,
        max_value=MAX_NO_REPEAT_DAYS,
        initial=60,
        help_text=_("同一条提示在这么多天内不会再次发送；提示用完后优先发最久未发的。"),
    )
    starts_on = forms.DateField(
        label=_("开始日期"), widget=forms.DateInput(attrs={"type": "date"}), initial=timezone.localdate
    )

    def __init__(self, *args: Any, channels: QuerySet[Channel], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["channel"]
        field.queryset = channels
