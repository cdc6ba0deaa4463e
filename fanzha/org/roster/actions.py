"""The roster import's writes: ``apply_plan`` writes a checked change set in one transaction, and
``import_roster`` runs the three stages (read, check and plan, apply) as one verb for the command,
the web job and the benchmark. See the package's docstring for the stages."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from .. import actions
from ..models import Unit, User
from ..text import initials
from .check import check_rows
from .columns import Problem, Problems, Progress
from .plan import Plan, Target, UnitNode, build_plan
from .read import read_table

# --------------------------------------------------------------------------- columns


# --------------------------------------------------------------------------- problems


# --------------------------------------------------------------------------- reading


# --------------------------------------------------------------------------- checking


# --------------------------------------------------------------------------- planning


# --------------------------------------------------------------------------- applying


@transaction.atomic
def apply_plan(plan: Plan, actor: User | None = None, progress: Progress | None = None) -> dict[str, int]:
    """Write a problem-free plan in one transaction through ``actions``; an empty plan writes nothing."""
    if plan.problems:
        raise ValueError("a plan with problems cannot be applied")
    counts = plan.summary()
    if plan.is_empty:
        return counts
    if progress:
        progress("write", 0, None)
    # Units: parents before children (a new room may sit in a new building).
    groups: dict[UnitNode, list[UnitNode]] = {}
    for node in sorted(plan.units, key=lambda n: n.path.count("#")):
        assert node.parent is not None
        groups.setdefault(node.parent, []).append(node)
    for parent_node, children in groups.items():
        parent = parent_node.created or Unit.objects.get(pk=parent_node.pk)
        unit_specs = [actions.UnitSpec(name=c.code, code=c.code, kind=c.kind) for c in children]
        created = actions.bulk_create_children(parent, unit_specs, actor=actor)
        for node, unit in zip(children, created, strict=True):
            node.created = unit

    # New people who cover others go in first, so that the people they cover get ``covered_by``
    # as they are inserted instead of in a second pass of updates.
    coverers = {id(c) for _s, c in plan.coverage if c.spec is not None}
    first = [t for t in plan.targets if t.spec is not None and id(t) in coverers]
    _insert_targets(plan.org, first)
    coverage = []
    for student, coverer in plan.coverage:
        if student.spec is not None and student.created is None and coverer.existing is None:
            student.spec.covered_by_id = coverer.id
        else:
            coverage.append((student, coverer))
    _insert_targets(plan.org, [t for t in plan.targets if t.spec is not None and t.created is None])
    changed = []
    for target in plan.targets:
        if target.person is not None:
            fields = set(target.changed) - {"phone", "id_number"}
            if target.phone:
                target.person.set_phone(target.phone)
                fields |= {"phone_enc", "phone_hash", "phone_masked"}
            if target.id_number:
                target.person.set_id_number(target.id_number)
                fields |= {"id_number_enc", "id_number_hash", "id_number_masked"}
            if "name" in fields:
                target.person.initials = initials(target.person.name)[:60]
                fields.add("initials")
            changed.append((target.person, fields))
    actions.bulk_update_people(changed)
    actions.bulk_remove_memberships(plan.remove_memberships)
    actions.insert_memberships((t.id, u.id, role) for t, u, role in plan.add_memberships)
    actions.bulk_upsert_guardians((g.id, s.id, relation) for g, s, relation in plan.links)
    actions.bulk_assign_coverage((s.id, c.id) for s, c in coverage)
    return counts


def _insert_targets(org: Unit, targets: list[Target]) -> None:
    specs = [t.spec for t in targets if t.spec is not None]
    for target, pk in zip(targets, actions.insert_people(org, specs), strict=True):
        target.created = pk


# --------------------------------------------------------------------------- the whole import

SUMMARY_KEYS = (
    "rows",
    "people_created",
    "people_updated",
    "people_unchanged",
    "guardians_created",
    "guardians_updated",
    "units_created",
    "memberships_added",
    "memberships_removed",
    "guardian_links",
    "coverage_changed",
    "accounts_requested",
)
# What became of the "开通账号" rows once the import committed (``accounts.actions.open_accounts``).
ACCOUNT_KEYS = ("accounts_created", "accounts_existing", "accounts_unreachable", "accounts_refused")


def summary_text(summary: dict[str, int], committed: bool) -> str:
    """The counts of an import in one line of the user's language (CLI output, messages)."""
    text = _(
        "共 %(rows)d 行：新增 %(people_created)d 人，更新 %(people_updated)d 人，"
        "未变 %(people_unchanged)d 人；新增家长 %(guardians_created)d 人，"
        "更新家长 %(guardians_updated)d 人；新建单位 %(units_created)d 个；"
        "加入单位 %(memberships_added)d 次，移出 %(memberships_removed)d 次；"
        "监护关系 %(guardian_links)d 条；联系班委 %(coverage_changed)d 条"
    ) % {key: summary.get(key, 0) for key in SUMMARY_KEYS}
    if summary.get("accounts_requested"):
        if committed:
            text += _(
                "；开通账号 %(accounts_created)d 个（已发送邀请），已有账号 %(accounts_existing)d 人，"
                "没有手机号未开通 %(accounts_unreachable)d 人，无权开通 %(accounts_refused)d 人"
            ) % {key: summary.get(key, 0) for key in ACCOUNT_KEYS}
        else:
            text += _("；将开通账号 %(count)d 个") % {"count": summary["accounts_requested"]}
    return text if committed else text + _("（试运行，未写入）")


@dataclass
class ImportResult:
    """The outcome of an import or a dry run: problems (nothing written) or the counts of the changes."""

    problems: list[Problem]
    summary: dict[str, int]
    committed: bool = False
    problem_total: int = 0  # every problem found, also those past the listed ones
    encodings: tuple[str, ...] = ()  # a CSV readable in these encodings alike: ask which (``charset``)
    crashed: bool = False  # an internal error, not a problem of the file

    @property
    def ok(self) -> bool:
        return not self.problems

    @classmethod
    def failed(cls, problems: Problems, summary: dict[str, int] | None = None) -> ImportResult:
        return cls(problems.sorted(), summary or {}, problem_total=problems.total)


def import_roster(
    source: IO[bytes] | str | Path,
    root: Unit,
    *,
    filename: str = "",
    size: int | None = None,
    dry_run: bool = False,
    create_units: bool = False,
    actor: User | None = None,
    progress: Progress | None = None,
    encoding: str | None = None,
) -> ImportResult:
    """Read, check, plan and (unless ``dry_run`` or anything is wrong) apply a roster file: all or nothing.

    ``encoding`` (``utf-8`` or ``gbk``) answers a CSV whose encoding ``ImportResult.encodings`` said
    was ambiguous."""
    table = read_table(source, filename, size, progress, encoding)
    if table.problems:
        result = ImportResult.failed(table.problems)
        result.encodings = table.encodings
        return result
    rows, problems = check_rows(table, progress)
    del table
    if dry_run:
        plan = build_plan(rows, root, create_units=create_units, problems=problems, progress=progress)
        return ImportResult.failed(plan.problems, plan.summary())
    if progress:
        progress("write", 0, None)
    try:
        with transaction.atomic():
            plan = build_plan(rows, root, create_units=create_units, problems=problems, progress=progress)
            del rows  # the plan holds what it needs; free the rows before the write
            if plan.problems:
                return ImportResult.failed(plan.problems, plan.summary())
            counts = apply_plan(plan, actor=actor, progress=progress)
            if actor is not None and not plan.is_empty:
                from fanzha.core.models import AuditRecord

                AuditRecord.objects.create(
                    actor=actor,
                    action=AuditRecord.Action.IMPORT,
                    object_type="unit",
                    object_id=str(root.pk),
                    detail=" ".join(f"{k}={v}" for k, v in counts.items() if v)[:200],
                )
    except (ValidationError, IntegrityError) as exc:
        # Someone changed the same people or units between the check and the write: all rolled back.
        detail = exc.messages[0] if isinstance(exc, ValidationError) else ""
        message = _("数据在导入期间被其他操作修改，未写入任何数据，请重新导入。%(detail)s")
        message = message % {"detail": detail}
        return ImportResult([Problem(0, "-", message.strip())], {}, problem_total=1)
    wanted = [t.id for t in plan.account_targets()]
    if wanted:
        counts.update(_open_accounts(actor, wanted, progress))
    return ImportResult([], counts, committed=True)


def _open_accounts(actor: User | None, person_ids: list[int], progress: Progress | None) -> dict[str, int]:
    """Open and invite the accounts that "开通账号" rows asked for, once the import has committed (each
    in its own transaction: an invitation never goes out for people who were rolled back). Only on
    the authority of the importing account, where it may grant; a command without ``--user`` opens none."""
    from django.conf import settings

    from ..accounts import actions as accounts
    from ..models import Person

    def step(done: int, total: int) -> None:
        if progress:
            progress("accounts", done, total)

    people = Person.objects.filter(pk__in=person_ids).order_by("pk")
    result = accounts.open_accounts(actor, people, site=settings.FANZHA_SITE_URL, progress=step)
    return {f"accounts_{key}": value for key, value in result.items()}


# --------------------------------------------------------------------------- template and export


def export_for(user: User, unit: Unit, out: IO[bytes] | str | Path, reveal: bool = False) -> int:
    """Write the roster of ``unit``'s subtree to ``out`` (XLSX) on ``user``'s authority: ``Cap.VIEW`` at
    the unit, and ``Cap.REVEAL`` for full phone and ID numbers (masked otherwise). Every export is
    audited: who, which unit, how many people, whether revealed. Returns the number of people."""
    from django.core.exceptions import PermissionDenied

    from fanzha.core.models import AuditRecord

    from ..scope import Cap, in_scope
    from .export import export_roster

    if user is None or not user.is_authenticated or not in_scope(user, unit, Cap.VIEW):
        raise PermissionDenied(_("您没有权限导出该单位的花名册"))
    if reveal and not in_scope(user, unit, Cap.REVEAL):
        raise PermissionDenied(_("您没有权限导出完整的手机号和身份证号"))
    count = export_roster(unit, out, reveal=reveal)
    AuditRecord.objects.create(
        actor=user,
        action=AuditRecord.Action.EXPORT,
        object_type="unit",
        object_id=str(unit.pk),
        detail=(f"roster;unit={unit.code};count={count}" + (";reveal" if reveal else ""))[:200],
    )
    return count


# --------------------------------------------------------------------------- web jobs
