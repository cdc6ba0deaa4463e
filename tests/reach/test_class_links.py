"""A class has its link from the moment it is created, so a GET of ``/me/`` never has to create one."""

from __future__ import annotations

import pytest

from fanzha.org import actions as org_actions
from fanzha.reach.models import ClassLink

pytestmark = pytest.mark.django_db


def test_a_new_class_gets_its_link_and_a_new_college_does_not(
    cast, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        klass = org_actions.create_unit(parent=cast.cs, name="计科2302班", code="CS2399", kind="class")
        college = org_actions.create_unit(parent=cast.uni, name="新学院", code="NEW", kind="college")
    assert ClassLink.objects.filter(unit=klass, is_active=True).count() == 1
    assert not ClassLink.objects.filter(unit=college).exists()
