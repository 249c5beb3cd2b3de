"""WeChat: the bot on an Official Account (公众号) and in a WeCom (企业微信) self-built app.

One adapter around the same chain as the web: a callback turns WeChat's XML into a question and
a session id (``wechat:oa:<openid>``, ``wechat:wecom:<userid>``), and the answer back into a
passive reply, or, when it is not ready well inside WeChat's 5 s, into a message sent later
through the API. The seams:

- ``crypto``: signatures, the replay window and safe-mode (AES) envelopes, over wechatpy;
- ``messages``: WeChat XML in (refusing DTDs), replies out, answers as WeChat-friendly text;
- ``client``: wechatpy's API clients with one access token shared by every worker;
- ``store``: de-duplication, the outbox and the token cache, in the tickets database;
- ``relay``: the outbox's sender, which also carries agents' console replies to WeChat;
- ``routes``: the FastAPI routes ``/wechat/oa`` and ``/wechat/wecom``.
"""

from __future__ import annotations

from bot.channels.wechat.routes import wechat_router

__all__ = ["wechat_router"]
