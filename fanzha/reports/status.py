"""``fanzha campaign-status``'s two forms of ``queries.campaign_status``: a dict for ``--json`` whose keys
stay stable for scripts and cron checks, and the same figures as Chinese (gettext) lines for people.

Why a module of its own: the command stays a thin wrapper, and a test reads ``as_dict`` directly.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from .queries import CampaignStatus, GoalRow


def _goal(row: GoalRow) -> dict[str, Any]:
    goal = row.goal
    return {
        "code": goal.code,
        "metric": goal.metric,
        "description": goal.description,
        "target": float(goal.target),
        "unit": goal.unit,
        "deadline": goal.deadline.isoformat(),
        "value": row.actual,
        "met": row.met,
        "source": row.source,
        "reason": row.reason,
        "recorded_by": _who(row.record.recorded_by) if row.record else None,
        "recorded_at": row.record.recorded_at.isoformat() if row.record else None,
        "note": row.record.note if row.record else None,
    }


def _who(user: Any) -> str:
    return "" if user is None else (user.get_full_name() or user.get_username())


def as_dict(status: CampaignStatus) -> dict[str, Any]:
    """The status for scripts: keys never renamed (new ones may be added)."""
    campaign, figures, ob = status.campaign, status.figures, status.obligations
    return {
        "campaign": {
            "id": campaign.pk,
            "title": campaign.title,
            "status": campaign.status,
            "unit": {"id": status.unit.pk, "name": status.unit.name},
            "starts_on": campaign.starts_on.isoformat(),
            "ends_on": campaign.ends_on.isoformat(),
        },
        "as_of": status.today.isoformat(),
        "people": figures.people,
        "coverage_percent": figures.coverage_percent,
        "items": [
            {"item": item, "label": figures.labels.get(item, item), **_ratio(ratio)}
            for item, ratio in figures.items.items()
        ],
        "goals": [_goal(row) for row in status.goals],
        "obligations": {
            "obligations": ob.obligations,
            "done": ob.done,
            "due": ob.due,
            "overdue": ob.overdue,
            "late": ob.late,
            "excepted": ob.excepted,
            "percent": ob.percent,
        },
        "units": [
            {
                "id": row.unit.pk,
                "name": row.unit.name,
                "people": row.figures.people,
                "coverage_percent": row.figures.coverage_percent,
                "obligations": row.figures.obligations,
                "done": row.figures.tally.done,
                "due": row.figures.tally.due,
                "overdue": row.figures.tally.overdue,
                "late": row.figures.tally.late,
                "excepted": row.figures.tally.excepted,
                "compliance_percent": row.figures.tally.percent,
            }
            for row in status.units
        ],
    }


def _ratio(ratio: Any) -> dict[str, Any]:
    return {"done": ratio.done, "due": ratio.due, "percent": ratio.percent}


def _pct(value: int | None) -> str:
    return "—" if value is None else f"{value}%"


def as_text(status: CampaignStatus) -> str:
    """The status as lines for people, in the active language (Chinese by default)."""
    campaign, figures, ob = status.campaign, status.figures, status.obligations
    lines = [
        f"{campaign.title}（{status.unit.name}）",
        _("截至 %(day)s，应覆盖 %(people)s 人，平均覆盖率 %(coverage)s")
        % {
            "day": status.today.isoformat(),
            "people": figures.people,
            "coverage": _pct(figures.coverage_percent),
        },
    ]
    for item, ratio in figures.items.items():
        lines.append(
            "  "
            + _("%(label)s：%(done)s / %(due)s（%(percent)s）")
            % {
                "label": figures.labels.get(item, item),
                "done": ratio.done,
                "due": ratio.due,
                "percent": _pct(ratio.percent),
            }
        )
    lines.append(_("目标："))
    for row in status.goals:
        met = "" if row.met is None else (_("已达成") if row.met else _("未达成"))
        if row.record is not None:
            met += _("（%(who)s 于 %(day)s 人工记录）") % {
                "who": _who(row.record.recorded_by) or "—",
                "day": timezone.localtime(row.record.recorded_at).date().isoformat(),
            }
        line = "  " + _("%(description)s：目标 %(target)s，期限 %(deadline)s，当前 %(value)s %(met)s") % {
            "description": row.goal.description,
            "target": row.target_text,
            "deadline": row.goal.deadline.isoformat(),
            "value": row.reason_text if row.actual is None and row.reason else row.text,
            "met": met,
        }
        lines.append(line.rstrip())
    lines.append(
        _(
            "工作任务 %(obligations)s 项：按时完成 %(done)s 期，逾期完成 %(late)s 期，"
            "例外认可 %(excepted)s 期，进行中 %(due)s 期，逾期未完成 %(overdue)s 期（按时完成率 %(percent)s）"
        )
        % {
            "obligations": ob.obligations,
            "done": ob.done,
            "late": ob.late,
            "excepted": ob.excepted,
            "due": ob.due,
            "overdue": ob.overdue,
            "percent": _pct(ob.percent),
        }
    )
    if status.units:
        lines.append(_("下级单位（落后的在前）："))
        for child in status.units:
            lines.append(
                "  "
                + _(
                    "%(name)s：%(people)s 人，覆盖率 %(coverage)s，完成率 %(compliance)s，逾期 %(overdue)s 期"
                )
                % {
                    "name": child.unit.name,
                    "people": child.figures.people,
                    "coverage": _pct(child.figures.coverage_percent),
                    "compliance": _pct(child.figures.tally.percent),
                    "overdue": child.figures.tally.overdue,
                }
            )
    return "\n".join(lines)
