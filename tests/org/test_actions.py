"""Writes to the grid: units, history, people, sensitive fields."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from fanzha.core.models import AuditRecord
from fanzha.org import actions
from fanzha.org.models import Person, Unit, UnitEvent

pytestmark = pytest.mark.django_db


def test_code_unique_among_siblings_only(cast):
    with pytest.raises(ValidationError):
        actions.create_unit(parent=cast.cs, name="重复", code="CS2301", kind="class")
    # The same code under another parent is fine.
    unit = actions.create_unit(parent=cast.ma, name="同代码", code="CS2301", kind="class")
    assert unit.parent_path == cast.ma.path


def test_subtree_is_prefix(cast):
    codes = set(Unit.objects.filter(path__startswith=cast.cs.path).values_list("code", flat=True))
    assert codes == {"CS", "CS2301", "CS2302"}


def test_move_keeps_history_and_parent_path(cast):
    moved = actions.move_unit(cast.cs2302, cast.ma)
    assert moved.path.startswith(cast.ma.path)
    assert moved.parent_path == Unit.objects.get(pk=cast.ma.pk).path
    event = UnitEvent.objects.filter(unit=moved, kind="moved").get()
    assert "CS" in event.old and "MA" in event.new


def test_move_subtree_updates_descendants(cast):
    actions.move_unit(cast.cs, cast.d1)
    cs = Unit.objects.get(pk=cast.cs.pk)
    for child in Unit.objects.filter(path__startswith=cs.path).exclude(pk=cs.pk):
        assert child.parent_path == cs.path
    assert Unit.objects.find_problems() == ([], [], [], [], [])


def test_cannot_move_under_own_subtree(cast):
    with pytest.raises(ValidationError):
        actions.move_unit(cast.cs, cast.cs2301)


def test_rename_keeps_history(cast):
    actions.rename_unit(cast.cs, name="计算机与软件学院", code="CSE")
    kinds = set(UnitEvent.objects.filter(unit=cast.cs).values_list("kind", "old"))
    assert ("renamed", "计算机学院") in kinds and ("recoded", "CS") in kinds
    assert Unit.objects.get(pk=cast.cs.pk).initials == "jsjyrjxy"


def test_sensitive_fields_encrypted_and_masked(cast):
    raw = Person.objects.filter(pk=cast.student.pk).values("phone_enc", "id_number_enc").get()
    assert "13800138000" not in raw["phone_enc"]
    assert "11010519491231002X" not in raw["id_number_enc"]
    student = Person.objects.get(pk=cast.student.pk)
    assert student.phone_masked == "138****8000"
    assert student.id_number_masked == "110***********002X"
    assert student.id_number == "11010519491231002X"


def test_reveal_is_audited(cast):
    value = actions.reveal_person_field(cast.student, "phone", cast.school_admin)
    assert value == "13800138000"
    assert AuditRecord.objects.filter(
        actor=cast.school_admin, action="reveal", object_id=str(cast.student.pk)
    ).exists()


def test_external_number_unique_within_root(cast):
    with pytest.raises(ValidationError):
        actions.save_person(root=cast.uni, name="重号", kind="student", external_number="2023001")
    # Another organisation may reuse it (the cast's outsider school already does).
    assert Person.objects.filter(external_number="2023001").count() == 2


def test_resolve_unit_by_code_and_path(cast):
    assert actions.resolve_unit("CS2301") == cast.cs2301
    assert actions.resolve_unit("UNI/CS/CS2301") == cast.cs2301
    with pytest.raises(Unit.DoesNotExist):
        actions.resolve_unit("NOPE")
    actions.create_unit(parent=cast.ma, name="x", code="CS2301", kind="class")
    with pytest.raises(ValidationError):
        actions.resolve_unit("CS2301")


def test_login_by_number_or_phone(cast, client):
    from tests.conftest import PASSWORD

    def login(username, password):
        client.post("/logout/")
        response = client.post("/login/", {"username": username, "password": password})
        return response.status_code == 302

    # The number is used in two organisations; the password decides which account it is.
    assert login("2023001", PASSWORD)
    assert login("+86 138-0013-8000", PASSWORD)
    assert not login("2023001", "wrong")


def test_no_unit_below_a_root_may_take_a_root_code(cast):
    """A college admin's unit coded like another organisation (OTH) made every command naming it fail."""
    before = Unit.objects.count()
    with pytest.raises(ValidationError) as caught:
        actions.create_unit(parent=cast.cs, name="冒名", code="OTH", kind="class", actor=cast.college_admin)
    assert "顶级单位" in caught.value.messages[0]
    with pytest.raises(ValidationError):
        actions.create_unit(parent=cast.cs, name="冒名", code="UNI", kind="class")
    with pytest.raises(ValidationError):
        actions.bulk_create_children(cast.cs, [actions.UnitSpec(name="冒名", code="OTH", kind="class")])
    with pytest.raises(ValidationError):
        actions.bulk_create_tree(cast.cs, [actions.UnitTree(name="冒名", code="OTH", kind="class")])
    with pytest.raises(ValidationError):
        actions.rename_unit(cast.cs2302, code="OTH", actor=cast.college_admin)
    with pytest.raises(ValidationError):  # nor a new organisation a code some unit already has
        actions.create_unit(parent=None, name="新学校", code="CS2301", kind="school")
    with pytest.raises(ValidationError):
        actions.rename_unit(cast.other, code="CS")
    assert Unit.objects.count() == before
    assert actions.resolve_unit("OTH") == cast.other and actions.resolve_unit("UNI") == cast.uni
    # Codes may still repeat below roots (a class code in two colleges), and a root may be renamed.
    actions.create_unit(parent=cast.ma, name="x", code="CS2301", kind="class")
    assert actions.rename_unit(cast.other, code="OTH2").code == "OTH2"


def test_a_unit_that_already_has_a_root_code_cannot_move_and_the_root_still_resolves(cast):
    """Older data may hold such a unit: commands naming the root resolve to the root all the same."""
    fields = {"name": "旧", "code": "OTH", "kind": "class", "parent_path": cast.cs.path}
    legacy = Unit.objects.add_child(cast.cs, create_kwargs=fields)  # past the verbs, as older data
    assert actions.resolve_unit("OTH") == cast.other
    assert actions.resolve_unit("OTH/OC") == Unit.objects.get(code="OC")
    assert actions.resolve_unit("UNI/CS/OTH") == legacy
    with pytest.raises(ValidationError):
        actions.move_unit(legacy, cast.ma)
