"""Writes to campaign templates: syncing the built-in files into the table, and saving users' own.

Campaigns point at a ``CampaignTemplate`` row, so the built-in data files need rows too; they
are upserted from the files (``source=builtin``) and never edited through the pages. A user's
own template is validated by the same parser as the built-in ones before it is stored, so a
stored template always loads.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from fanzha.org.models import Unit

from ..models import CampaignTemplate
from ..spec import BUILTIN_DIR, PLACEHOLDER, TemplateError, TemplateSpec, parse_template

Source = CampaignTemplate.Source


def display_title(spec: TemplateSpec) -> str:
    """The title without its placeholders, for lists: “{organisation}…方案” → “…方案”."""
    return PLACEHOLDER.sub("", spec.title).strip(" 　—-·") or spec.code


def sync_builtin_templates() -> list[CampaignTemplate]:
    """Upsert one row per file in ``templates_builtin/``; rows whose file is gone are switched off.

    Raises ``TemplateError`` (naming the file) when a file does not load, or when its code is
    already taken by a user's own template — nothing is written then.
    """
    loaded: list[tuple[TemplateSpec, str, str]] = []
    for path in sorted(BUILTIN_DIR.glob("*.toml")):
        text = path.read_text(encoding="utf-8")
        spec = parse_template(text, source=path.name)
        if any(spec.code == other.code for other, _name, _text in loaded):
            raise TemplateError(path.name, "code", _("模板代码重复：%(code)s") % {"code": spec.code})
        loaded.append((spec, path.name, text))
    codes = [spec.code for spec, _name, _text in loaded]
    with transaction.atomic():
        taken = dict(
            CampaignTemplate.objects.filter(code__in=codes)
            .exclude(source=Source.BUILTIN)
            .values_list("code", "pk")
        )
        rows = []
        for spec, name, text in loaded:
            if spec.code in taken:
                raise TemplateError(
                    name, "code", _("代码 %(code)s 已被一个自定义模板使用") % {"code": spec.code}
                )
            row, _created = CampaignTemplate.objects.update_or_create(
                code=spec.code,
                defaults={
                    "title": display_title(spec)[:200],
                    "source": Source.BUILTIN,
                    "text": text,
                    "owner_unit": None,
                    "is_active": True,
                },
            )
            rows.append(row)
        CampaignTemplate.objects.filter(source=Source.BUILTIN, is_active=True).exclude(code__in=codes).update(
            is_active=False
        )
    return rows


def save_custom_template(
    text: str,
    *,
    source_name: str,
    owner_unit: Unit,
    user: Any = None,
    template: CampaignTemplate | None = None,
) -> CampaignTemplate:
    """Create a user's template owned by ``owner_unit``, or replace the text of ``template``.

    The caller has checked that ``user`` may edit units at ``owner_unit``. Raises
    ``TemplateError`` naming ``source_name`` and the field: for any format error, for a code
    already in use, and for an edit that changes the code (campaigns refer to it).
    """
    spec = parse_template(text, source=source_name)
    if template is not None:
        if template.source != Source.CUSTOM:
            raise TemplateError(source_name, "code", _("内置模板不能修改，请另存为自定义模板"))
        if spec.code != template.code:
            raise TemplateError(
                source_name,
                "code",
                _("修改模板时不能更改代码（原代码为 %(code)s）") % {"code": template.code},
            )
        template.text = text
        template.title = display_title(spec)[:200]
        template.save(update_fields=["text", "title", "updated_at"])
        return template
    taken = TemplateError(
        source_name, "code", _("代码 %(code)s 已被其他模板使用，请换一个") % {"code": spec.code}
    )
    if CampaignTemplate.objects.filter(code=spec.code).exists():
        raise taken
    try:
        with transaction.atomic():
            return CampaignTemplate.objects.create(
                code=spec.code,
                title=display_title(spec)[:200],
                source=Source.CUSTOM,
                text=text,
                owner_unit=owner_unit,
                created_by=user if getattr(user, "is_authenticated", False) else None,
            )
    except IntegrityError as exc:  # the same code saved a moment ago by someone else
        raise taken from exc
