"""A warning list (预警名单) imported as CSV or XLSX: every row checked, bad ones reported with their
reason and never imported, good ones imported only on confirmation as dissuasion tasks of their
stations; the phone masked, revealed by role and audited; tasks closed with an outcome."""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from fanzha.cases.clues import actions
from fanzha.cases.models import DissuasionOutcome, DissuasionTask
from fanzha.core.models import AuditRecord

pytestmark = pytest.mark.django_db

CSV = (
    "姓名,电话,原因,派出所\n"
    "李大爷,13812345678,疑似投资理财诈骗,PCS01\n"
    "王阿姨,138-1234-5679,冒充公检法,东岭派出所\n"
    "赵某,12345,刷单,PCS01\n"
    ",13812345670,刷单,PCS01\n"
    "钱某,13812345671,刷单,不存在的所\n"
    "孙某,13812345672,贷款,东门社区\n"
)


def upload(client, body: bytes, name: str = "list.csv", batch: str = "12月第1批"):
    return client.post(reverse("warnlist_import"), {"batch": batch, "file": SimpleUploadedFile(name, body)})


def test_bad_rows_reported_good_rows_imported_on_confirmation(county_cast, client):
    c = county_cast
    client.force_login(c.police_admin)
    response = upload(client, CSV.encode())
    assert response.status_code == 200
    checked = response.context["checked"]
    assert [number for number, _ in checked.bad] == [4, 5, 6]
    assert "手机号格式不正确" in " ".join(checked.bad[0][1])
    assert "姓名为空" in checked.bad[1][1]
    assert "不存在的所" in " ".join(checked.bad[2][1])
    assert not DissuasionTask.objects.exists()  # nothing written before confirmation
    page = response.content.decode()
    assert "13812345678" not in page  # the phones travel encrypted
    token = response.context["confirm"].initial["token"]
    response = client.post(reverse("warnlist_import"), {"batch": "12月第1批", "token": token})
    assert response.status_code == 302
    # Confirming the same list again (a double click, the back button) imports nothing more.
    response = client.post(reverse("warnlist_import"), {"batch": "12月第1批", "token": token})
    assert response.status_code == 400 and DissuasionTask.objects.count() == 3
    tasks = {t.name: t for t in DissuasionTask.objects.all()}
    assert set(tasks) == {"李大爷", "王阿姨", "孙某"}
    assert tasks["王阿姨"].unit == c.station2
    assert tasks["孙某"].unit == c.station  # a community's station takes the task
    assert tasks["李大爷"].phone_masked == "138****5678" and "13812345678" not in tasks["李大爷"].phone_enc
    assert (
        AuditRecord.objects.filter(action=AuditRecord.Action.IMPORT, object_type="warning_list").count() == 1
    )


def test_english_errors_and_xlsx(county_cast, client):
    c = county_cast
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["name", "phone", "reason", "station"])
    sheet.append(["Li", "13812345678", "investment", "PCS02"])
    sheet.append(["Wang", "abc", "x", "PCS02"])
    data = io.BytesIO()
    book.save(data)
    client.force_login(c.police_admin)
    response = client.post(
        reverse("warnlist_import"),
        {"batch": "B1", "file": SimpleUploadedFile("list.xlsx", data.getvalue())},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    checked = response.context["checked"]
    assert len(checked.good) == 1 and checked.good[0]["station"] == c.station2.pk
    assert checked.bad[0][0] == 3 and all(ord(ch) < 128 for ch in " ".join(checked.bad[0][1]))


def test_bad_file_and_tampered_token(county_cast, client):
    c = county_cast
    client.force_login(c.police_admin)
    response = upload(client, b"a,b\n1,2\n")
    assert response.status_code == 400 and "姓名" in response.content.decode()
    response = client.post(reverse("warnlist_import"), {"batch": "x", "token": "forged"})
    assert response.status_code == 400 and not DissuasionTask.objects.exists()


def test_only_the_centre_imports(county_cast, client):
    c = county_cast
    for user in (c.police_officer, c.school_admin):
        client.force_login(user)
        assert client.get(reverse("warnlist_import")).status_code == 404
    with pytest.raises(PermissionDenied):
        actions.import_warning_list(c.police, "x", [], c.police_officer)


def make_task(c, station=None) -> DissuasionTask:
    rows = [
        {"name": "李大爷", "phone": "13812345678", "reason": "理财", "station": (station or c.station).pk}
    ]
    actions.import_warning_list(c.police, "B", rows, c.police_admin)
    return DissuasionTask.objects.get()


def test_close_with_outcome(county_cast):
    c = county_cast
    task = make_task(c)
    with pytest.raises(ValidationError):
        actions.close_dissuasion(task, DissuasionOutcome.LOSS_AVOIDED, c.police_officer)  # no amount
    with pytest.raises(PermissionDenied):
        actions.close_dissuasion(task, DissuasionOutcome.REACHED, c.class_teacher)
    actions.close_dissuasion(task, DissuasionOutcome.LOSS_AVOIDED, c.police_officer, "50000", "已上门劝阻")
    task.refresh_from_db()
    assert task.amount == Decimal("50000.00") and task.closed_by == c.police_officer
    with pytest.raises(ValidationError):
        actions.close_dissuasion(task, DissuasionOutcome.REACHED, c.police_officer)


def test_phone_masked_revealed_by_role_and_audited(county_cast, client, caplog):
    c = county_cast
    task = make_task(c)
    client.force_login(c.police_officer)
    page = client.get(reverse("dissuasion_detail", args=[task.pk])).content.decode()
    assert "138****5678" in page and "13812345678" not in page and "李大爷" not in page
    response = client.post(reverse("dissuasion_reveal", args=[task.pk]))
    assert "13812345678" in response.content.decode()
    audit = AuditRecord.objects.get(action=AuditRecord.Action.REVEAL, object_type="dissuasion")
    assert audit.actor == c.police_officer and "13812345678" not in audit.detail
    assert "13812345678" not in caplog.text
    # Another station's officer and a school: 404, and no audit written.
    client.force_login(c.school_admin)
    assert client.post(reverse("dissuasion_reveal", args=[task.pk])).status_code == 404
    assert client.get(reverse("dissuasion_detail", args=[task.pk])).status_code == 404
    assert AuditRecord.objects.filter(action=AuditRecord.Action.REVEAL).count() == 1


def test_station_sees_only_its_tasks(county_cast, client):
    c = county_cast
    task = make_task(c, c.station2)
    client.force_login(c.police_officer)
    assert client.get(reverse("dissuasion_detail", args=[task.pk])).status_code == 404
    client.force_login(c.police_admin)
    assert client.get(reverse("dissuasion_detail", args=[task.pk])).status_code == 200
