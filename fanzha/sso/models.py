"""Who signed in through which provider, and the CAS tickets that single sign-out names."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fanzha.org.models import Person


class Provider(models.TextChoices):
    CAS = "cas", _("统一身份认证（CAS）")
    OIDC = "oidc", _("OpenID Connect")
    WECOM = "wecom", _("企业微信")
    DINGTALK = "dingtalk", _("钉钉")


class ExternalIdentity(models.Model):
    """A provider's identity that signed in as a person's account: when first and last, and whether the
    sign-in opened the account. Kept for the record (which outside identity uses which account); the
    match itself is made by number every time, so a corrected roster takes effect at once."""

    provider = models.CharField(_("登录方式"), max_length=16, choices=Provider.choices)
    subject = models.CharField(_("外部标识"), max_length=255)
    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="external_identities", verbose_name=_("人员")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="external_identities",
        verbose_name=_("账号"),
    )
    opened_account = models.BooleanField(_("首次登录时开通账号"), default=False)
    first_at = models.DateTimeField(_("首次登录"), auto_now_add=True)
    last_at = models.DateTimeField(_("最近登录"))

    class Meta:
        verbose_name = _("外部身份")
        verbose_name_plural = _("外部身份")
        constraints = [
            models.UniqueConstraint(fields=["provider", "subject"], name="sso_identity_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.subject}"


class CasTicket(models.Model):
    """The CAS service ticket a session was begun with, so that the CAS server's single sign-out
    (a ``logoutRequest`` naming the ticket) can end that session. Rows older than a session can live
    are deleted as new ones come."""

    ticket = models.CharField(max_length=255, db_index=True)
    session_key = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("CAS 票据")
        verbose_name_plural = _("CAS 票据")

    def __str__(self) -> str:
        return self.ticket[:12]
