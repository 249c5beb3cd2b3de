"""Who sent a callback: WeChat's signatures, a replay window, and safe-mode (AES) envelopes.

wechatpy does the cryptography (``check_signature``; ``WeChatCrypto`` for the Official Account,
``wechatpy.enterprise.WeChatCrypto`` for WeCom). What it leaves to its caller is done here:
a signed request older (or newer) than the allowed clock skew is refused as a replay, and every
way a forged or damaged envelope fails (bad padding, wrong AppID or CorpID, junk base64) comes
out as one exception, never a 500.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from bot.channels.wechat.messages import BadMessage, parse_xml


class Refused(Exception):
    """A callback that did not come from WeChat: bad signature, stale timestamp, foreign id."""


def check_fresh(timestamp: str, max_skew_s: int, now: Callable[[], float] = time.time) -> None:
    """Refuse a timestamp that is not a number or lies further than `max_skew_s` from now."""
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        raise Refused("timestamp is not a number") from None
    if abs(now() - sent) > max_skew_s:
        raise Refused("timestamp outside the allowed clock skew (a replay?)")


def check_plain(token: str, signature: str, timestamp: str, nonce: str) -> None:
    """The plain-mode signature: sha1 of the sorted token, timestamp and nonce."""
    from wechatpy.exceptions import InvalidSignatureException
    from wechatpy.utils import check_signature

    try:
        check_signature(token, signature or "", timestamp or "", nonce or "")
    except InvalidSignatureException:
        raise Refused("bad signature") from None


class Envelope:
    """Safe-mode envelopes for one account: `kind` "oa" (AppID) or "wecom" (CorpID)."""

    def __init__(self, kind: str, token: str, aes_key: str, receiver_id: str):
        if kind == "oa":
            from wechatpy.crypto import WeChatCrypto
        elif kind == "wecom":
            from wechatpy.enterprise.crypto import WeChatCrypto
        else:
            raise ValueError(f"kind must be 'oa' or 'wecom', not {kind!r}")
        self.kind = kind
        self._crypto = WeChatCrypto(token, aes_key, receiver_id)

    def open(self, body: bytes | Mapping, msg_signature: str, timestamp: str, nonce: str) -> str:
        """The plaintext XML inside an encrypted callback body (or its parsed outer dict)."""
        outer = parse_xml(body) if not isinstance(body, Mapping) else body
        if not isinstance(outer.get("Encrypt"), str) or not outer["Encrypt"]:
            raise BadMessage("no Encrypt element")
        return self._decrypt(
            lambda: self._crypto.decrypt_message(
                {"Encrypt": outer["Encrypt"]}, msg_signature or "", timestamp, nonce
            )
        )

    def echo(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """WeCom's URL verification: the decrypted echostr, once its signature checks."""
        if self.kind != "wecom":
            raise ValueError("only WeCom encrypts its echostr")
        # A proxy or client that did not percent-encode "+" hands it over as a space; base64
        # has no spaces, so the substitution never changes a well-formed value.
        echostr = (echostr or "").replace(" ", "+")
        return self._decrypt(
            lambda: self._crypto.check_signature(msg_signature or "", timestamp, nonce, echostr)
        )

    def seal(self, xml: str, nonce: str, timestamp: str) -> str:
        """A passive reply in its encrypted envelope."""
        return self._crypto.encrypt_message(xml, nonce, timestamp)

    @staticmethod
    def _decrypt(fn: Callable[[], str]) -> str:
        from wechatpy.exceptions import InvalidSignatureException

        try:
            return fn()
        except InvalidSignatureException:
            raise Refused("bad msg_signature") from None
        except Exception as e:  # wrong AppID/CorpID, bad padding, junk base64 or length
            name = type(e).__name__
            if name in ("InvalidAppIdException", "InvalidCorpIdException"):
                raise Refused("encrypted for another AppID or CorpID") from None
            raise BadMessage(f"cannot decrypt ({name})") from None
