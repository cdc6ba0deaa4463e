"""Robots: webhook URLs and signing secrets sealed at rest (existing rows sealed here), a channel's
keyword, its last error and pace; an outbox row's priority (alerts first), expiry and the "unsent"
status."""

import fanzha.notify.models
from django.db import migrations, models

from fanzha.core import crypto


def seal_existing(apps, schema_editor):
    """Seal every stored URL and secret that is still in clear text (a value that already opens with
    the key is left alone, so running this twice changes nothing). Raw SQL: the model field would try
    to open the clear text and read it as empty."""
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, url, secret FROM notify_channel")
        rows = cursor.fetchall()
        for pk, url, secret in rows:
            sealed = [v if not v or crypto.decrypt(v) else crypto.encrypt(v) for v in (url, secret)]
            if sealed != [url, secret]:
                cursor.execute(
                    "UPDATE notify_channel SET url = %s, secret = %s WHERE id = %s", [*sealed, pk]
                )


def open_existing(apps, schema_editor):
    """The way back: clear text again."""
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, url, secret FROM notify_channel")
        for pk, url, secret in cursor.fetchall():
            opened = [crypto.decrypt(v) if v and crypto.decrypt(v) else v for v in (url, secret)]
            cursor.execute("UPDATE notify_channel SET url = %s, secret = %s WHERE id = %s", [*opened, pk])


class Migration(migrations.Migration):

    dependencies = [
        ("notify", "0002_channel_audience"),
    ]

    operations = [
        # Wide enough for the sealed values first (a plain text column), then seal, then the field.
        migrations.AlterField(
            model_name="channel",
            name="url",
            field=models.TextField(blank=True, verbose_name="Webhook 地址"),
        ),
        migrations.AlterField(
            model_name="channel",
            name="secret",
            field=models.TextField(blank=True, verbose_name="签名密钥"),
        ),
        migrations.RunPython(seal_existing, open_existing),
        migrations.AlterField(
            model_name="channel",
            name="secret",
            field=fanzha.notify.models.SealedTextField(blank=True, verbose_name="签名密钥"),
        ),
        migrations.AlterField(
            model_name="channel",
            name="url",
            field=fanzha.notify.models.SealedTextField(blank=True, verbose_name="Webhook 地址"),
        ),
        migrations.AddField(
            model_name="channel",
            name="keyword",
            field=models.CharField(blank=True, max_length=30, verbose_name="关键词"),
        ),
        migrations.AddField(
            model_name="channel",
            name="last_error",
            field=models.CharField(blank=True, max_length=40),
        ),
        migrations.AddField(
            model_name="channel",
            name="last_error_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="channel",
            name="last_ok_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="channel",
            name="recent_sends",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="channel",
            name="blocked_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="outbox",
            name="expires_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="outbox",
            name="priority",
            field=models.PositiveSmallIntegerField(choices=[(0, "普通"), (10, "紧急预警")], default=0),
        ),
        migrations.AlterField(
            model_name="outbox",
            name="status",
            field=models.CharField(
                choices=[("pending", "待发送"), ("sent", "已发送"), ("failed", "发送失败"), ("unsent", "未发送")],
                db_index=True,
                default="pending",
                max_length=8,
            ),
        ),
        migrations.AddIndex(
            model_name="outbox",
            index=models.Index(fields=["status", "-priority", "created_at"], name="notify_outbox_claim_idx"),
        ),
    ]
