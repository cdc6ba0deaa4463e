"""Fill the IdP's database: users, the OpenID signing key and client, the CAS service pattern.

Run in the IdP's environment as ``python -m tests.sso.idp.prepare '<json>'`` with ``{"users":
[[username, password, last_name], …], "client_id", "client_secret", "redirect_uri", "service"}``.
"""

import json
import sys

import django


def main() -> None:
    spec = json.loads(sys.argv[1])
    django.setup()
    from cas_server.models import ReplaceAttributName, ServicePattern
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from oidc_provider.models import Client, ResponseType

    for username, password, last_name in spec["users"]:
        User.objects.create_user(
            username, password=password, last_name=last_name, email=f"{username}@idp.test"
        )
    call_command("creatersakey")
    client = Client.objects.create(
        name="fanzha",
        client_type="confidential",
        client_id=spec["client_id"],
        client_secret=spec["client_secret"],
        jwt_alg="RS256",
        require_consent=False,
        reuse_consent=True,
        _redirect_uris=spec["redirect_uri"],
        _scope="openid profile email",
    )
    client.response_types.add(ResponseType.objects.get(value="code"))
    pattern = ServicePattern.objects.create(
        pos=1, name="fanzha", pattern=spec["service"], single_log_out=True
    )
    # What the CAS server tells the service: the username, and last_name as "employeeNumber" (a number
    # attribute whose holder signs in with another username, as an LDAP-backed CAS does).
    ReplaceAttributName.objects.create(name="username", replace="", service_pattern=pattern)
    ReplaceAttributName.objects.create(name="last_name", replace="employeeNumber", service_pattern=pattern)


if __name__ == "__main__":
    main()
