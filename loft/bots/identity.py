"""Loft as the Bot Framework channel's identity provider, for bots with a ``MicrosoftAppId``.

Azure's channel signs each Activity it posts with a JWT that the bot checks against login.botframework.com's
OpenID metadata, and the bot gets tokens for its replies from Azure AD with its app id and password. Loft plays
both parts, so that a bot with credentials trusts Loft by configuration alone (docs/bots.md):

- **Activities** carry ``Authorization: Bearer <JWT>``: RS256, signed with one of ``bot_signing_keys`` (made on
  first use, sealed at rest); claims ``iss`` (:func:`issuer`), ``aud`` the app id, ``serviceurl`` the Activity's,
  ``nbf``/``exp``. The bot finds the keys through :func:`openid_configuration`'s ``jwks_uri``; each key is
  endorsed for the ``sms`` channel, as botbuilder checks.
- **The bot's calls** carry a token from Loft's token endpoint (OAuth 2 client credentials: the app id and
  password of the bot connection): HS256 with a key derived from the installation's secret key, ``appid`` the
  app id, valid an hour. The connector takes a call for a bot with an app id only with one of its tokens.

botbuilder gets its tokens through MSAL, which accepts only an ``https`` authority and asks
login.microsoftonline.com about hosts it does not know, except B2C ones: Loft's authority,
``{origin}/loft/b2c_botframework``, has the shape of a B2C policy, so MSAL reads its discovery document
(:func:`authority_configuration`) and asks nobody else.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import select

from loft.context import Loft
from loft.db import upsert
from loft.db.tables import bot_signing_keys, bots
from loft.kit import crypto, dates

LIFETIME = 3600
CHANNEL = "sms"
_PATH = "/loft/botframework"
AUTHORITY_PATH = "/loft/b2c_botframework"
#: The key this process signs with, per database (read or made once).
_signing: dict[int, tuple[str, rsa.RSAPrivateKey]] = {}


def issuer(origin: str) -> str:
    """What the bot sets as ``TO_BOT_FROM_CHANNEL_TOKEN_ISSUER``."""
    return origin + _PATH


def origin_of(service_url: str) -> str:
    return service_url.split(_PATH + "/", 1)[0]


def openid_configuration(origin: str) -> dict[str, Any]:
    """``TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL``'s document."""
    return {"issuer": issuer(origin), "jwks_uri": f"{origin}{_PATH}/v1/.well-known/keys",
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post"]}


def authority_configuration(origin: str) -> dict[str, Any]:
    """The discovery document of ``TO_CHANNEL_FROM_BOT_LOGIN_URL`` (``{origin}/loft/b2c_botframework``)."""
    authority = origin + AUTHORITY_PATH
    return {"issuer": issuer(origin), "authorization_endpoint": f"{authority}/oauth2/v2.0/authorize",
            "token_endpoint": f"{authority}/oauth2/v2.0/token", "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_post"]}


async def _signing_key(loft: Loft) -> tuple[str, rsa.RSAPrivateKey]:
    found = _signing.get(id(loft.db))
    if found is not None:
        return found
    async with loft.db.write() as conn:
        await upsert.lock(conn, "bot-signing-keys")  # one key made, even by processes starting together
        row = (await conn.execute(select(bot_signing_keys).order_by(bot_signing_keys.c.date_created,
                                                                    bot_signing_keys.c.kid).limit(1))).first()
        if row is None:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode("ascii")
            kid = secrets.token_hex(16)
            await conn.execute(bot_signing_keys.insert().values(kid=kid, private_key_sealed=loft.box.seal(pem),
                                                                date_created=dates.real_now()))
        else:
            kid = row.kid
            loaded = serialization.load_pem_private_key(loft.box.open(row.private_key_sealed).encode(), None)
            assert isinstance(loaded, rsa.RSAPrivateKey)
            key = loaded
    _signing[id(loft.db)] = (kid, key)
    return kid, key


async def keys(loft: Loft) -> dict[str, Any]:
    """The JWKS: every signing key's public half, endorsed for the ``sms`` channel."""
    await _signing_key(loft)  # there is one
    async with loft.db.read() as conn:
        rows = (await conn.execute(select(bot_signing_keys))).all()
    found = []
    for row in rows:
        private = serialization.load_pem_private_key(loft.box.open(row.private_key_sealed).encode(), None)
        assert isinstance(private, rsa.RSAPrivateKey)
        public = RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
        found.append({**public, "use": "sig", "alg": "RS256", "kid": row.kid, "endorsements": [CHANNEL]})
    return {"keys": found}


async def activity_token(loft: Loft, *, app_id: str, service_url: str) -> str:
    """The bearer token of an Activity posted to the bot ``app_id``."""
    kid, key = await _signing_key(loft)
    moment = int(time.time())
    claims = {"iss": issuer(origin_of(service_url)), "aud": app_id, "serviceurl": service_url,
              "nbf": moment - 60, "iat": moment, "exp": moment + LIFETIME}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def _token_key(loft: Loft) -> bytes:
    """The HS256 key of the bots' connector tokens (derived from the installation's secret key)."""
    return loft.box.derive("bot-tokens")


async def issue(loft: Loft, form: Mapping[str, str], origin: str) -> dict[str, Any] | None:
    """A client-credentials token for a bot connection's app id and password; None if they are no bot's."""
    app_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    if form.get("grant_type") != "client_credentials" or not app_id or not secret:
        return None
    async with loft.db.read() as conn:
        rows = (await conn.execute(select(bots.c.microsoft_app_password_sealed)
                                   .where(bots.c.microsoft_app_id == app_id))).all()
    if not any(row.microsoft_app_password_sealed and crypto.same(loft.box.open(row.microsoft_app_password_sealed),
                                                                 secret) for row in rows):
        return None
    moment = int(time.time())
    claims = {"iss": issuer(origin), "appid": app_id, "aud": form.get("scope", ""), "iat": moment,
              "nbf": moment - 60, "exp": moment + LIFETIME}
    return {"token_type": "Bearer", "expires_in": LIFETIME, "ext_expires_in": LIFETIME,
            "access_token": jwt.encode(claims, _token_key(loft), algorithm="HS256")}


def app_id_of(loft: Loft, authorization: str | None) -> str | None:
    """The app id a bearer token from :func:`issue` was issued to, while it is valid; None otherwise."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    try:
        claims = jwt.decode(token, _token_key(loft), algorithms=["HS256"], options={"verify_aud": False,
                                                                                    "require": ["exp", "nbf"]})
    except jwt.InvalidTokenError:
        return None
    app_id = claims.get("appid")
    return app_id if isinstance(app_id, str) else None
