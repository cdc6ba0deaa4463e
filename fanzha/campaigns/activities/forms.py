"""Forms of the activity and check-in pages. They validate input; ``actions`` writes."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from fanzha.org.forms import Form, UnitChoiceField
from fanzha.org.models import Unit, UnitKind
from fanzha.org.names import with_building

from ..models import ActivityKind, Obligation
from ..outreach.options import ALL_KINDS, RecordOptions
from .files import ACCEPT, evidence_limits, inspect_upload
from .queries import obvious_obligation

# Up to this many units are offered as big buttons (a counsellor's few classes); more get a list.
BUTTON_UNITS = 6
MAX_FILES = 20


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """A file field that takes several files at once (Django's documented pattern)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ACCEPT, "multiple": True}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


class ObligationSelect(forms.Select):
    """Options carry their unit and counted kinds, so the page's script can hide the ones that do not fit."""

    def create_option(self, name: str, value: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(name, value, *args, **kwargs)
        instance = getattr(value, "instance", None)
        if instance is not None:
            option["attrs"]["data-unit"] = str(instance.unit_id)
            option["attrs"]["data-kinds"] = " ".join(instance.rule.activity_kinds)
        return option


class ObligationChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.rule.title} · {obj.campaign.title}"


class ActivityForm(Form):
    """The one-screen form to record (or edit) an activity on a phone."""

    kind = forms.ChoiceField(
        label=_("活动类型"), choices=ActivityKind.choices, initial=ActivityKind.CLASS_MEETING
    )
    occurred_on = forms.DateField(
        label=_("日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    unit = UnitChoiceField(label=_("单位"), queryset=Unit.objects.none(), empty_label=None)
    title = forms.CharField(label=_("标题"), max_length=200, required=False)
    summary = forms.CharField(
        label=_("内容摘要"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("活动内容、形式、效果，一两句话即可")}),
    )
    link = forms.URLField(
        label=_("链接"),
        required=False,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"placeholder": _("推送的文章或视频的网址（如有）"), "inputmode": "url"}),
    )
    attendance_count = forms.IntegerField(
        label=_("参加人数"),
        required=False,
        min_value=0,
        max_value=1_000_000,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 0}),
    )
    obligation = ObligationChoiceField(
        label=_("计入工作任务"),
        queryset=Obligation.objects.none(),
        required=False,
        empty_label=_("不关联（自主开展的活动）"),
        widget=ObligationSelect,
    )
    target_groups = forms.MultipleChoiceField(
        label=_("重点人群"), required=False, widget=forms.CheckboxSelectMultiple
    )
    channel = forms.ChoiceField(label=_("宣传渠道"), required=False)
    area = forms.CharField(
        label=_("乡镇（村）"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("如：城关镇东岭村")}),
    )
    materials_count = forms.IntegerField(
        label=_("发放宣传资料（份）"),
        required=False,
        min_value=0,
        max_value=10_000_000,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 0}),
    )
    camera = MultipleFileField(
        label=_("拍照"),
        required=False,
        widget=MultipleFileInput(attrs={"accept": "image/*", "capture": "environment"}),
    )
    attachments = MultipleFileField(label=_("从相册或文件中选择"), required=False)

    def __init__(
        self,
        *args: Any,
        units: QuerySet[Unit],
        obligations: QuerySet[Obligation],
        unit_list: list[Unit] | None = None,
        with_files: bool = True,
        options: RecordOptions = ALL_KINDS,
        **kwargs: Any,
    ) -> None:
        """``units`` and ``obligations`` are what may be chosen; ``unit_list`` what is shown (a large
        scope shows its upper levels), and only the shown units' obligations are listed. ``options``
        (``outreach.options``): the kinds offered and, for a campaign that counts outreach, its target
        groups and channels (a bank's form offers no class meeting)."""
        super().__init__(*args, **kwargs)
        self.options = options
        kind_field: Any = self.fields["kind"]
        kind_field.choices = options.kind_choices()
        if options.reach:
            groups: Any = self.fields["target_groups"]
            groups.choices = [(g.code, g.name) for g in options.groups]
            channel: Any = self.fields["channel"]
            channel.choices = [("", _("（请选择）")), *((c.code, c.name) for c in options.channels)]
            self.fields["attendance_count"].label = _("覆盖人数")
            if not options.groups:
                del self.fields["target_groups"]
            if options.by_place:  # police "five into": the kind of place, the place, the people reached
                channel.label = _("场所类型")
                self.fields["area"].label = _("场所名称")
                self.fields["area"].widget.attrs["placeholder"] = _("如：东门社区、城关农贸市场")
        else:
            for name in ("target_groups", "channel", "area", "materials_count"):
                del self.fields[name]
        self.unit_list = with_building(units if unit_list is None else unit_list)
        self.obligation_list = list(obligations.filter(unit__in=[u.pk for u in self.unit_list]))
        unit_field: Any = self.fields["unit"]
        unit_field.queryset = units
        unit_field.top_depth = min((u.depth for u in self.unit_list), default=1)
        self.unit_buttons = len(self.unit_list) <= BUTTON_UNITS
        if self.unit_buttons:
            unit_field.widget = forms.RadioSelect(attrs={"class": "unit-choice"})
        # Choices from the rows already loaded: rendering them makes no further query.
        unit_field.choices = [
            (forms.models.ModelChoiceIteratorValue(u.pk, u), unit_field.label_from_instance(u))
            for u in self.unit_list
        ]
        # One unit of one's own (a counsellor's class, besides the rooms their students live in): chosen.
        own = [u for u in self.unit_list if u.kind != UnitKind.DORM_ROOM] or self.unit_list
        if len(own) == 1 and not self.initial.get("unit"):
            self.initial["unit"] = own[0].pk
        obligation_field: Any = self.fields["obligation"]
        obligation_field.queryset = obligations
        obligation_field.choices = [("", obligation_field.empty_label)] + [
            (forms.models.ModelChoiceIteratorValue(o.pk, o), obligation_field.label_from_instance(o))
            for o in self.obligation_list
        ]
        self.fields["occurred_on"].initial = timezone.localdate
        # A plan that counts outreach (a police station's "five into", a bank branch's month) is
        # recorded as outreach; a school's default stays the class meeting.
        default = ActivityKind.OUTREACH if options.reach else ActivityKind.CLASS_MEETING
        kind = self.initial.get("kind") or self._asked_kind(options, default)
        if kind not in options.kinds:
            kind = options.kinds[0]
        self.initial["kind"] = kind
        self.initial.setdefault("title", ActivityKind(kind).label)
        if "obligation" not in self.initial:
            obvious = obvious_obligation(self.obligation_list, self.initial.get("unit"), kind)
            if obvious is not None:
                self.initial["obligation"] = obvious.pk
        if not with_files:
            del self.fields["camera"], self.fields["attachments"]
        self.with_files = with_files

    def _asked_kind(self, options: RecordOptions, default: str) -> str:
        """The kind to start with: ``default`` when the chosen unit's own work counts it (or asks for no
        kind in particular), else the first kind that work counts. Why: a dormitory head's room is asked
        for room visits and tips, so a form opening on "主题班会" would record work that counts for nothing.
        """
        unit_pk = self.initial.get("unit")
        asked = [
            k
            for o in self.obligation_list
            if o.unit_id == unit_pk
            for k in o.rule.activity_kinds
            if k in options.kinds
        ]
        return default if not asked or default in asked else asked[0]
        limits = evidence_limits()
        self.size_help = _(
            "照片不超过 %(photo)s，文档不超过 %(document)s，视频不超过 %(video)s；按文件内容识别类型。"
        ) % {kind: filesizeformat(limits[kind]) for kind in ("photo", "document", "video")}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None
        uploads = [*data.get("camera", []), *data.get("attachments", [])]
        if len(uploads) > MAX_FILES:
            raise ValidationError(_("一次最多上传 %(n)s 个文件") % {"n": MAX_FILES})
        kept, seen = [], set()
        for upload in uploads:
            try:
                digest = inspect_upload(upload).sha256
            except ValidationError as exc:
                self.add_error("attachments", exc)
                continue
            if digest not in seen:  # the same photo chosen twice is kept once
                seen.add(digest)
                kept.append(upload)
        data["uploads"] = kept
        return data

    def changes(self) -> dict[str, Any]:
        """The cleaned values that ``edit_activity`` takes."""
        names = ["unit", "kind", "occurred_on", "title", "summary", "link", "attendance_count", "obligation"]
        return {name: self.cleaned_data[name] for name in names} | self.reach()

    def reach(self) -> dict[str, Any]:
        """The outreach fields' cleaned values (none when the form counts no outreach)."""
        if not self.options.reach:
            return {}
        data = self.cleaned_data
        return {
            "target_groups": list(data.get("target_groups") or []),
            "channel": data["channel"],
            "area": data["area"],
            "materials_count": data["materials_count"],
        }


class EvidenceForm(Form):
    """More evidence for an activity already recorded."""

    attachments = MultipleFileField(label=_("添加照片、视频或文档"))

    def clean_attachments(self) -> list[UploadedFile]:
        uploads = self.cleaned_data["attachments"]
        if len(uploads) > MAX_FILES:
            raise ValidationError(_("一次最多上传 %(n)s 个文件") % {"n": MAX_FILES})
        for upload in uploads:
            inspect_upload(upload)
        return uploads


class AttendeeForm(Form):
    """Add one attendee by their student or staff number."""

    number = forms.CharField(
        label=_("学号/工号"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text"}),
    )


class ActivityFilterForm(Form):
    """Filters of the activity list: unit (with everything below it), kind, month."""

    unit = UnitChoiceField(
        label=_("单位"), queryset=Unit.objects.none(), required=False, empty_label=_("全部单位")
    )
    kind = forms.ChoiceField(
        label=_("类型"), required=False, choices=[("", _("全部类型")), *ActivityKind.choices]
    )
    month = forms.CharField(
        label=_("月份"), required=False, widget=forms.DateInput(attrs={"type": "month"}), max_length=7
    )

    def __init__(self, *args: Any, units: QuerySet[Unit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        unit_list = list(units)
        unit_field: Any = self.fields["unit"]
        unit_field.queryset = units
        unit_field.top_depth = min((u.depth for u in unit_list), default=1)
        unit_field.choices = [("", unit_field.empty_label)] + [
            (forms.models.ModelChoiceIteratorValue(u.pk, u), unit_field.label_from_instance(u))
            for u in unit_list
        ]


class CheckinForm(Form):
    """What a member types on their phone after scanning the code."""

    number = forms.CharField(
        label=_("学号/工号"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "username", "inputmode": "text", "autofocus": True}),
    )
    code = forms.CharField(
        label=_("个人登录码"),
        max_length=20,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "off", "maxlength": 20, "spellcheck": "false"}
        ),
    )
