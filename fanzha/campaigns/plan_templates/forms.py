"""The template upload and edit form: a TOML file or text, checked by ``spec.parse_template``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fanzha.org.forms import UnitChoiceField, offer_units
from fanzha.org.models import Unit

MAX_TEMPLATE_BYTES = 256 * 1024


class TemplateForm(forms.Form):
    """A template as an uploaded TOML file or as text; the owner unit only when creating."""

    owner = UnitChoiceField(
        queryset=Unit.objects.none(),
        label=gettext_lazy("所属单位"),
        help_text=gettext_lazy("模板归属的单位：该单位及其上级、下级的用户都能看到它。"),
    )
    file = forms.FileField(label=gettext_lazy("上传模板文件（TOML）"), required=False)
    text = forms.CharField(
        label=gettext_lazy("或直接编辑模板内容"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "false", "class": "code"}),
    )

    def __init__(self, *args: Any, owners: QuerySet[Unit] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        if owners is None:
            del self.fields["owner"]
        else:
            offer_units(self, "owner", owners)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload = data.get("file")
        if upload:
            if upload.size > MAX_TEMPLATE_BYTES:
                raise ValidationError(
                    _("模板文件过大，上限为 %(kb)d KB") % {"kb": MAX_TEMPLATE_BYTES // 1024}
                )
            try:
                data["source_text"] = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise ValidationError(
                    _("模板文件 %(file)s 不是 UTF-8 编码的文本") % {"file": upload.name}
                ) from exc
            data["source_name"] = upload.name
        elif (data.get("text") or "").strip():
            data["source_text"] = data["text"].replace("\r\n", "\n")
            data["source_name"] = _("编辑框")
        else:
            raise ValidationError(_("请上传模板文件，或在编辑框中填写模板内容"))
        return data
