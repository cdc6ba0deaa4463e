"""Helpers of the bank publicity month's tests: the built-in bank template started on the cast's bank."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import fanzha.campaigns
from fanzha.campaigns import actions
from fanzha.campaigns.models import Campaign, CampaignTemplate
from fanzha.campaigns.plan_templates.actions import sync_builtin_templates
from tests.conftest import Cast

BANK_FILE = Path(fanzha.campaigns.__file__).parent / "templates_builtin" / "06-bank-publicity-month.toml"
START, END = date(2026, 5, 1), date(2026, 6, 30)


def bank_template() -> CampaignTemplate:
    sync_builtin_templates()
    return CampaignTemplate.objects.get(code="bank-publicity-month")


def start_bank(cast: Cast, starts_on: date = START, ends_on: date = END) -> Campaign:
    """The head office's month, with an obligation per branch."""
    assert cast.bank is not None
    return actions.start_campaign(bank_template(), cast.bank, starts_on, ends_on, {"leader": "李行长"})
