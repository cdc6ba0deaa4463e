"""Convert DRF's tokens (rest_framework.authtoken) into ours, so that no integration breaks silently.

Each old key becomes an ApiToken with the keyed hash of the same key (the client keeps sending it),
its first characters as prefix, created when it was, and expiring FANZHA_API_TOKEN_DAYS after that:
a key older than that answers 401 "expired" instead of working for ever. The old rows, which held
the keys in clear, are deleted. Going back cannot restore them (the keys are gone): a no-op.
"""

from datetime import timedelta

from django.conf import settings
from django.db import migrations

from fanzha.api.models import token_hash

PREFIX_LENGTH = 8


def convert(apps, schema_editor):
    Token = apps.get_model("authtoken", "Token")
    ApiToken = apps.get_model("api", "ApiToken")
    lifetime = timedelta(days=settings.FANZHA_API_TOKEN_DAYS)
    for old in Token.objects.all().iterator():
        ApiToken.objects.create(
            user_id=old.user_id,
            name="",
            key_hash=token_hash(old.key),
            prefix=old.key[:PREFIX_LENGTH],
            created_at=old.created,
            expires_at=old.created + lifetime,
        )
    Token.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0001_initial"),
        ("authtoken", "0004_alter_tokenproxy_options"),
    ]

    operations = [migrations.RunPython(convert, migrations.RunPython.noop)]
