"""Console logins: a signed, expiring cookie naming the staff member, and CSRF tokens.

The cookie holds {username, epoch, csrf} signed with itsdangerous (HMAC-SHA1 over a key
derived from the secret, with a timestamp checked against the login's lifetime). A cookie
is honoured only while the account's epoch is the one it was signed with, so logging out
or changing the password ends every other login too. State-changing requests must carry
the login's CSRF token (form field `csrf_token` or header `X-CSRF-Token`); the cookie is
HttpOnly and SameSite=Strict besides.
"""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from bot.console.staff import Staff, StaffStore

COOKIE = "kefu_console"
LOGIN_COOKIE = "kefu_console_login"  # the login form's own CSRF token (double submit)
_SALT = "kefu-console-login"


def console_secret(settings) -> str:
    """KEFU_CONSOLE_SECRET, else a random key created once in DATA_DIR/console.secret (0600)
    and shared by every process on this machine."""
    if settings.console_secret is not None and settings.console_secret.get_secret_value():
        return settings.console_secret.get_secret_value()
    path = Path(settings.data_dir) / "console.secret"
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker wrote it first: use theirs
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key)
    return key


@dataclass(frozen=True)
class Login:
    staff: Staff
    csrf: str


class Signer:
    def __init__(self, secret: str, max_age_s: float):
        from itsdangerous import URLSafeTimedSerializer

        self._s = URLSafeTimedSerializer(secret, salt=_SALT)
        self.max_age_s = max_age_s

    def cookie_for(self, staff: Staff) -> tuple[str, str]:
        """(cookie value, CSRF token) for a fresh login."""
        csrf = secrets.token_urlsafe(24)
        return self._s.dumps({"u": staff.username, "e": staff.epoch, "c": csrf}), csrf

    def login(self, value: str | None, staff: StaffStore) -> Login | None:
        """The login the cookie proves, or None (absent, forged, expired, or logged out)."""
        from itsdangerous import BadSignature

        if not value:
            return None
        try:
            data = self._s.loads(value, max_age=self.max_age_s)
        except BadSignature:  # SignatureExpired is one too
            return None
        if not isinstance(data, dict) or not all(k in data for k in ("u", "e", "c")):
            return None
        account = staff.get(str(data["u"]))
        if account is None or account.epoch != data["e"]:
            return None
        return Login(account, str(data["c"]))


def same_token(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))
