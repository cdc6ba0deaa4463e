"""The signing form of a responsibility letter: the signer's name and the drawn signature."""

from __future__ import annotations

import base64
import binascii

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from fanzha.org.forms import Form

from ..activities.files import SIGNATURE_MAX_BYTES


class SignForm(Form):
    """A signature: the signer's name and the pad's drawing as a PNG data URL."""

    signer_name = forms.CharField(label=_("签署人姓名"), max_length=60)
    signature = forms.CharField(widget=forms.HiddenInput, required=False, max_length=SIGNATURE_MAX_BYTES * 2)

    def clean_signature(self) -> bytes:
        value = self.cleaned_data.get("signature") or ""
        prefix = "data:image/png;base64,"
        if not value:
            raise ValidationError(_("请先在签名框内签名。"))
        if not value.startswith(prefix):
            raise ValidationError(_("签名图片无效，请重新签名。"))
        try:
            return base64.b64decode(value[len(prefix) :], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValidationError(_("签名图片无效，请重新签名。")) from exc
