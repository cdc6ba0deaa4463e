"""POST /api/v1/auth/token/: trade a login (username, student/staff number or phone) and password for a token.

Why our own view and not DRF's ``obtain_auth_token``: logins are numbers or phones resolved
by ``NumberOrPhoneBackend``, and ``authenticate`` must see the request so that django-axes
counts failures and locks the login out exactly as on the sign-in page.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(
        max_length=150, help_text=gettext_lazy("用户名、学号/工号或手机号"), trim_whitespace=True
    )
    password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True)


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(read_only=True)


class ObtainTokenView(APIView):
    """Answer a token for valid credentials; 400 for wrong ones; 429 while the login is locked out."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [AnonRateThrottle]
    serializer_class = TokenRequestSerializer

    @extend_schema(
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
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})
