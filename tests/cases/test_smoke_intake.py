from decimal import Decimal

from fanzha.cases import actions
from fanzha.cases.models import Case, CaseEvent, CaseState


def test_report_case_records_lines_and_raises_alert(cast, make_intake):
    case = actions.report_case(make_intake(cast.cs2301, cast.student), cast.counsellor, submit_token="t1")
    assert case.number.startswith("AJ")
    assert case.total_loss == Decimal("1700.00")
    assert case.state == CaseState.ALERTED
    assert case.indicators.count() == 4
    assert case.transfers.count() == 2
    assert list(case.events.values_list("kind", flat=True)) == [
        CaseEvent.Kind.REPORTED,
        CaseEvent.Kind.ALERT_SENT,
    ]
    again = actions.report_case(make_intake(cast.cs2301, cast.student), cast.counsellor, submit_token="t1")
    assert again.pk == case.pk and Case.objects.count() == 1
