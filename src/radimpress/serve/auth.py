"""Bearer-token authentication, on unless the server only listens on loopback.

Reports are patient data, so the default is closed: every /v1 call and every
review page needs a token. Each token names a reviewer, which is how an
accepted draft records who accepted it. Browsers log in once with the token
and get a SameSite=Strict cookie, so the review pages need no JavaScript.
"""

from __future__ import annotations

import hmac
import os
from pathlib import Path
from typing import Annotated

from fastapi import HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from radimpress.records import InputError

TOKENS_ENV = "RADIMPRESS_TOKENS"
COOKIE = "radimpress_token"
# Declares the scheme in /openapi.json; the token itself is read by token_from_request,
# which also accepts the review pages' cookie.
BEARER = HTTPBearer(
    auto_error=False,
    description="a reviewer's token (--tokens-file / RADIMPRESS_TOKENS); none with --insecure-local",
)


def parse_tokens(text: str, where: str) -> dict[str, str]:
    """Read ``name:token`` entries (or bare ``token``), one per line or comma-separated.

    Returns reviewer name -> token. Comments (#) and blank entries are skipped.
    """
    tokens: dict[str, str] = {}
    entries = [e.strip() for line in text.splitlines() for e in line.split("#", 1)[0].split(",")]
    for n, entry in enumerate(e for e in entries if e):
        name, sep, token = entry.partition(":")
        if not sep:
            name, token = f"token-{n + 1}", entry
        name, token = name.strip(), token.strip()
        if len(token) < 16:
            raise InputError(f"{where}: token for '{name}' is shorter than 16 characters")
        if name in tokens:
            raise InputError(f"{where}: reviewer '{name}' is listed twice")
        tokens[name] = token
    return tokens


def load_tokens(
    tokens_file: str | None = None, env: dict[str, str] | None = None
) -> dict[str, str]:
    """Tokens from a file and/or the RADIMPRESS_TOKENS environment variable."""
    env = os.environ if env is None else env
    tokens: dict[str, str] = {}
    if tokens_file:
        path = Path(tokens_file)
        if not path.exists():
            raise InputError(f"{path}: tokens file not found")
        tokens.update(parse_tokens(path.read_text(encoding="utf-8"), str(path)))
    if env.get(TOKENS_ENV):
        tokens.update(parse_tokens(env[TOKENS_ENV], TOKENS_ENV))
    return tokens


def reviewer_for(token: str | None, tokens: dict[str, str]) -> str | None:
    """The reviewer a token belongs to, comparing in constant time."""
    if not token:
        return None
    found = None
    for name, known in tokens.items():
        if hmac.compare_digest(token.encode(), known.encode()):
            found = name
    return found


def token_from_request(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(COOKIE)


def require_reviewer(
    request: Request,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)] = None,
) -> str:
    """FastAPI dependency: the caller's reviewer name, or 401."""
    settings = request.app.state.settings
    if settings.insecure_local:
        return settings.local_reviewer
    token = token_from_request(request)
    name = reviewer_for(token, settings.tokens)
    if name is None:
        reason = "missing bearer token" if not token else "invalid token"
        raise HTTPException(status_code=401, detail=reason, headers={"WWW-Authenticate": "Bearer"})
    return name
