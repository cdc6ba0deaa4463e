"""POST /api/v1/auth/token/: trade a login (username, student/staff number or phone) and password for a token.

Why our own view and not DRF's ``obtain_auth_token``: logins are numbers or phones resolved
by ``NumberOrPhoneBackend``, and ``authenticate`` must see the request so that django-axes
counts failures and locks the login out exactly as on the sign-in page. Every call issues a new
token (only its hash is kept, so an old key cannot be handed out again), valid
``FANZHA_API_TOKEN_DAYS`` days; its owner lists and revokes tokens on the page ``/account/tokens/``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from .tokens import actions


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(
        max_length=150, help_text=gettext_lazy("用户名、学号/工号或手机号"), trim_whitespace=True
    )
    password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})
    name = serializers.CharField(
        max_length=60,
        required=False,
        allow_blank=True,
        default="",
        help_text=gettext_lazy("令牌的用途，便于日后在“接口令牌”页面辨认和撤销，如“区教育局数据同步”"),
    )


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(
        read_only=True,
        help_text=gettext_lazy("令牌，只在此时给出一次；请求时放在 Authorization: Token <令牌> 中"),
    )
    name = serializers.CharField(read_only=True)
    prefix = serializers.CharField(read_only=True, help_text=gettext_lazy("令牌开头，用于在令牌页面辨认"))
    created_at = serializers.DateTimeField(read_only=True)
    expires_at = serializers.DateTimeField(
        read_only=True, help_text=gettext_lazy("到期时间；到期或撤销后使用该令牌的请求得到 401")
    )


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(read_only=True)


class ObtainTokenView(APIView):
    """Issue a new token for valid credentials; 400 for wrong ones; 429 while the login is locked out."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [AnonRateThrottle]
    serializer_class = TokenRequestSerializer

    @extend_schema(
        summary="Issue an API token",
        description=(
            "Trade a login (username, student/staff number or phone) and password for a new token. "
            "Every call issues a new token; the key is in this answer only (the server keeps a hash). "
            "It is valid until `expires_at` (FANZHA_API_TOKEN_DAYS days, 90 by default); its owner "
            "lists and revokes tokens on the page /account/tokens/. Send it as `Authorization: Token <key>`; "
            "an expired or revoked token answers 401 with the reason."
        ),
        request=TokenRequestSerializer,
        responses={
            200: TokenSerializer,
            400: OpenApiResponse(ErrorSerializer, description="wrong login or password"),
            429: OpenApiResponse(ErrorSerializer, description="too many failures: locked out for a while"),
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # The DRF request (not request._request) is passed on purpose: axes marks it when the
        # login is locked, and AxesMiddleware, which only sees the Django request, then leaves
        # our JSON answer alone instead of swapping in the HTML lockout page.
        user = authenticate(
            request,  # type: ignore[arg-type]
            username=serializer.validated_data["username"],
            password=serializer.validated_data["password"],
        )
        if user is None:
            if getattr(request, "axes_locked_out", False):
                return Response(
                    {"detail": _("登录失败次数过多，已暂时锁定，请稍后再试")},
                    status=status.HTTP_429_TOO_MANY_REQUESTS,
                )
            return Response({"detail": _("账号或密码不正确")}, status=status.HTTP_400_BAD_REQUEST)
        issued = actions.issue_token(user, serializer.validated_data["name"])
        token = issued.token
        return Response(
            TokenSerializer(
                {
                    "token": issued.key,
                    "name": token.name,
                    "prefix": token.prefix,
                    "created_at": token.created_at,
                    "expires_at": token.expires_at,
                }
            ).data
        )
