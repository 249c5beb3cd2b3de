"""The WeChat API clients: wechatpy's, with one access token shared by every worker.

wechatpy's own token handling keeps the expiry in the client object and, on 40001/42001,
fetches again and retries without limit. Here the token lives in the tickets database
(store.WeChatStore): it is refreshed five minutes before it expires, and on 40001/40014/42001
once, by one worker, the others waiting for its result; a call retries at most once.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import re
import time
from collections.abc import Callable

from bot.channels.wechat.store import WeChatStore

log = logging.getLogger("kefu.wechat")

OA_API = "https://api.weixin.qq.com"
WECOM_API = "https://qyapi.weixin.qq.com"
# The token was refused: invalid credential, invalid token, expired token.
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
# Retrying cannot help: outside the 48-hour window, too many messages in it, the user is
# unknown or has unsubscribed, the API is not enabled for this account.
PERMANENT = {
    45015: "回复时间超过 48 小时客服消息窗口",
    45047: "客服消息条数超过上限",
    40003: "用户 OpenID 无效",
    43004: "用户未关注公众号",
    48001: "接口未授权",
    60111: "企业微信成员不存在",
    81013: "企业微信成员不在应用可见范围",
}
_SECRETS = re.compile(r"((?:secret|corpsecret|access_token)=)[^&\s'\"]+", re.IGNORECASE)


def redact(text: str) -> str:
    """`text` with the secret and access token taken out of any URL it quotes."""
    return _SECRETS.sub(r"\1***", text)


class DeliveryError(Exception):
    """A message could not be sent: `code` is WeChat's errcode (None: no answer from it)."""

    def __init__(self, code: int | None, message: str, *, permanent: bool = False):
        self.code = code
        self.permanent = permanent
        super().__init__(redact(f"{code if code is not None else 'network'}: {message}"))


class SharedToken:
    """An access token kept in the database for every worker; `fetch` gets a new one from
    WeChat as (token, seconds it lasts)."""

    def __init__(
        self,
        store: WeChatStore,
        key: str,
        fetch: Callable[[], tuple[str, int]],
        *,
        early_s: float = 300.0,
        lease_s: float = 15.0,
        wait_s: float = 10.0,
    ):
        self.store = store
        self.key = key
        self.fetch = fetch
        self.early = dt.timedelta(seconds=early_s)
        self.lease = dt.timedelta(seconds=lease_s)
        self.wait_s = wait_s
        self.fetches = 0  # how many tokens this process fetched (tests and logs read it)

    def get(self) -> str:
        token, expires = self.store.token(self.key)
        if token and expires is not None and expires - self.early > dt.datetime.now(dt.UTC):
            return token
        return self.refresh(stale=token)

    def refresh(self, stale: str) -> str:
        """A token other than `stale`: fetched here, or by the worker that holds the lease."""
        deadline = time.monotonic() + self.wait_s
        while True:
            now = dt.datetime.now(dt.UTC)
            if self.store.claim_refresh(self.key, stale, now, self.lease):
                try:
                    token, seconds = self.fetch()
                except BaseException:
                    self.store.put_token(self.key, None, None)
                    raise
                self.fetches += 1
                self.store.put_token(self.key, token, now + dt.timedelta(seconds=seconds))
                log.info("wechat: fetched a new access token for %s", self.key)
                return token
            token, expires = self.store.token(self.key)
            if token and token != stale and (expires is None or expires > now):
                return token  # another worker refreshed it
            if time.monotonic() > deadline:
                raise DeliveryError(None, "timed out waiting for another worker's token refresh")
            time.sleep(0.05)


class _SharedTokenMixin:
    """Put before a wechatpy client class: the shared token, and one retry after 40001."""

    def _use(self, tokens: SharedToken, api_base: str) -> None:
        self._tokens = tokens
        self._api_base = api_base
        self.API_BASE_URL = f"{api_base}/cgi-bin/"

    @property
    def access_token(self) -> str:
        return self._tokens.get()

    def fetch_access_token(self):  # wechatpy's hook; auto_retry is off, so only a caller's
        return self._tokens.refresh(stale=self._tokens.store.token(self._tokens.key)[0])

    def _request(self, method, url_or_endpoint, **kwargs):
        from wechatpy.exceptions import WeChatClientException

        for attempt in (0, 1):
            token = self._tokens.get()
            call = copy.deepcopy(kwargs)  # wechatpy encodes `data` in place
            call["params"] = {**(call.get("params") or {}), "access_token": token}
            try:
                return super()._request(method, url_or_endpoint, **call)
            except WeChatClientException as e:
                if attempt == 0 and e.errcode in TOKEN_ERRORS:
                    log.info("wechat: token refused (%s), refreshing it once", e.errcode)
                    self._tokens.refresh(stale=token)
                    continue
                raise
        raise AssertionError("unreachable")


def _fetch(http, url: str, params: dict, timeout: float) -> tuple[str, int]:
    import requests

    try:
        r = http.get(url, params=params, timeout=timeout)
        data = r.json()
    except (requests.RequestException, ValueError) as e:
        raise DeliveryError(None, f"token request failed ({type(e).__name__}: {e})") from None
    code = int(data.get("errcode") or 0)
    if code or not data.get("access_token"):
        raise DeliveryError(code or None, f"token refused: {data.get('errmsg', '')}")
    return str(data["access_token"]), int(data.get("expires_in") or 7200)


def _delivered(send: Callable[[], dict]) -> None:
    """Run one API call, turning every failure into DeliveryError."""
    import requests
    from wechatpy.exceptions import WeChatClientException

    try:
        result = send()
    except WeChatClientException as e:
        code = e.errcode
        raise DeliveryError(
            code, PERMANENT.get(code, str(e.errmsg or "HTTP error")), permanent=code in PERMANENT
        ) from None
    except requests.RequestException as e:
        raise DeliveryError(None, f"{type(e).__name__}: {e}") from None
    if isinstance(result, dict) and result.get("invaliduser"):
        raise DeliveryError(81013, PERMANENT[81013], permanent=True)


class OfficialAccountSender:
    """Customer-service messages (message/custom/send) from an Official Account."""

    channel = "oa"

    def __init__(self, store: WeChatStore, app_id: str, secret: str, api_base: str | None = None):
        from wechatpy import WeChatClient

        class Client(_SharedTokenMixin, WeChatClient):
            pass

        base = (api_base or OA_API).rstrip("/")
        self.client = Client(app_id, secret, timeout=5, auto_retry=False)
        self.tokens = SharedToken(
            store,
            f"oa:{app_id}",
            lambda: _fetch(
                self.client._http,
                f"{base}/cgi-bin/token",
                {"grant_type": "client_credential", "appid": app_id, "secret": secret},
                5,
            ),
        )
        self.client._use(self.tokens, base)

    def send(self, user: str, text: str) -> None:
        _delivered(lambda: self.client.message.send_text(user, text))


class WeComSender:
    """Application messages (message/send) from a WeCom self-built app."""

    channel = "wecom"

    def __init__(
        self,
        store: WeChatStore,
        corp_id: str,
        agent_id: int,
        secret: str,
        api_base: str | None = None,
    ):
        from wechatpy.enterprise import WeChatClient

        class Client(_SharedTokenMixin, WeChatClient):
            pass

        base = (api_base or WECOM_API).rstrip("/")
        self.agent_id = agent_id
        self.client = Client(corp_id, secret, timeout=5, auto_retry=False)
        self.tokens = SharedToken(
            store,
            f"wecom:{corp_id}:{agent_id}",
            lambda: _fetch(
                self.client._http,
                f"{base}/cgi-bin/gettoken",
                {"corpid": corp_id, "corpsecret": secret},
                5,
            ),
        )
        self.client._use(self.tokens, base)

    def send(self, user: str, text: str) -> None:
        _delivered(lambda: self.client.message.send_text(self.agent_id, [user], text))
