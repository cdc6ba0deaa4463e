"""The OpenID provider's claims: ``preferred_username`` is the user's username (a student or staff
number here), ``email`` and ``email_verified`` from the user."""


def userinfo(claims: dict, user) -> dict:  # type: ignore[no-untyped-def]
    claims["preferred_username"] = user.username
    claims["name"] = user.get_full_name() or user.username
    claims["email"] = user.email
    claims["email_verified"] = bool(user.last_name == "verified")
    return claims
