"""The OpenID provider's claims: ``preferred_username`` is the user's username (a student or staff
number here); the e-mail address is given but marked unverified, as a provider does for an address
nobody confirmed."""


def userinfo(claims: dict, user) -> dict:  # type: ignore[no-untyped-def]
    claims["preferred_username"] = user.username
    claims["name"] = user.get_full_name() or user.username
    claims["email"] = user.email
    claims["email_verified"] = False
    return claims
