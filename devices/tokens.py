"""Device tokens: minted once, shown once, stored only as a hash.

A token carries 256 random bits, so a single SHA-256 is enough to make the
stored hash useless to whoever reads the database (there is nothing to
guess); a slow password hash would only slow every device connection.
"""

import hashlib
import hmac
import secrets

# The mark lets secret scanners and people recognise a device token.
TOKEN_MARK = "ced_"  # noqa: S105
PREFIX_LENGTH = len(TOKEN_MARK) + 6


def mint_token() -> str:
    return TOKEN_MARK + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def visible_prefix(token: str) -> str:
    return token[:PREFIX_LENGTH]


def token_matches(token: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_token(token), stored_hash)
