"""Pre-aggregated KPI counts behind the dashboards.

Two tables, both derived from other apps' rows and rebuilt from them at any time by
``kpis.rebuild`` (so nothing here is the record of anything):

``PersonHome``
    the one unit each person counts in. A student is a member of a class *and* a dormitory room
    (and maybe a volunteer team); counting them in every unit would count them twice in the
    school above. The rule is in ``kpis`` (a class first, dormitories last).

``KpiCount``
    counts per (campaign, unit, metric, week) for the unit's whole subtree, people attributed by
    their home unit. Rolled up by path prefix when written (every ancestor of a home unit, up to
    the campaign's unit, gets its row), so a dashboard reads its children's rows directly: at the
    province root that is 9 cities × metrics × weeks, not 40,000 units.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from fanzha.campaigns.models import Campaign
from fanzha.org.models import Person, Unit


class PersonHome(models.Model):
    """The unit a person is counted in for roll-ups (their class, else their first unit by priority)."""

    person = models.OneToOneField(Person, primary_key=True, on_delete=models.CASCADE, related_name="+")
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16)  # the person's kind, copied so roll-ups need not read people

    class Meta:
        verbose_name = _("统计归属单位")
        verbose_name_plural = _("统计归属单位")

    def __str__(self) -> str:
        return f"{self.person_id}@{self.unit_id}"


class KpiCount(models.Model):
    """One pre-aggregated count: (campaign, unit, metric, day) → value, for the unit's subtree.

    ``day`` is the first day of a campaign week (``kpis.week_start``): every chart is weekly, and a
    row per calendar day would triple what a province-wide rebuild writes. Metrics and what
    ``value`` means (see ``kpis``):

    * ``<item>:<person kind>`` — change during the week of the number of people of that kind whose
      attestation of ``item`` counts (declared or verified). The figure at a week's end is the sum
      of the rows up to that week; the current figure is the sum of all rows.
    * ``people:<person kind>`` — people of that kind (the denominators): a rebuild with history
      books them on the campaign's first day, later corrections go to the week they are found.
    * ``activity:done``, ``activity:due``, ``activity:overdue`` and ``activity:obligations`` — the
      activity-compliance tally (periods done, due, overdue; obligations) as of ``day``, the day
      of the last refresh; only that day's rows exist.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+", db_index=False)
    # No index of its own: every read names the campaign first (the unique index); a rebuild writes
    # hundreds of thousands of rows and each index costs it time.
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="+", db_index=False)
    metric = models.CharField(max_length=40)
    day = models.DateField()
    value = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("指标计数")
        verbose_name_plural = _("指标计数")
        constraints = [
            # Also the index of every read: a campaign's rows of a few units.
            models.UniqueConstraint(fields=["campaign", "unit", "metric", "day"], name="kpi_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.unit_id}:{self.metric}@{self.day}={self.value}"


class StaleCampaign(models.Model):
    """A campaign whose activities changed since its compliance counts were computed.

    Why a row and not a recomputation on the spot: a school recording ten activities would recompute
    a province's compliance ten times in its requests. ``kpis.refresh_stale`` (every minute) does it
    once per campaign and takes the row away.
    """

    campaign = models.OneToOneField(Campaign, primary_key=True, on_delete=models.CASCADE, related_name="+")
    marked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("待刷新的活动")
        verbose_name_plural = _("待刷新的活动")

    def __str__(self) -> str:
        return str(self.campaign_id)
