"""WeChat XML in and out, and the bot's answers as WeChat-friendly text.

Incoming XML is read by wechatpy (``parse_message``) on xmltodict and Python's expat. xmltodict
(>= 0.12) refuses entity declarations, so an entity-expansion bomb fails to parse; a DTD of any
kind is refused here before that, so the guarantee does not hang on one library's default.
WeChat never sends a DTD.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

# WeChat's ids: an OpenID is 28 characters of [A-Za-z0-9_-]; a WeCom UserID at most 64 of
# letters, digits and _-.@; the account ids (gh_..., a CorpID) are alike. Anything else did not
# come from WeChat, and it would end up in a reply's XML and in a session id.
_ID = re.compile(r"[A-Za-z0-9_.@\-]{1,64}")
_DTD = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.IGNORECASE)
MAX_REPLY_BYTES = 2000  # WeChat cuts a text message at 2048 bytes
MAX_TITLES = 3
TITLE_CHARS = 16
_CJK = re.compile(r"[\u4e00-\u9fff]")

TEXT_ONLY = "目前只能处理文字消息,请用文字描述您的问题,我们马上为您解答。"
TEXT_ONLY_EN = "I can only read text for now: please type your question."


class BadMessage(Exception):
    """A callback body that is not a WeChat message we can read (malformed, a DTD, no id)."""


def parse_xml(body: bytes | str) -> dict[str, Any]:
    """The <xml> element of a callback body as a dict; BadMessage for anything else."""
    from xml.parsers.expat import ExpatError

    import xmltodict

    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    if _DTD.search(raw):
        raise BadMessage("DTDs and entity declarations are refused")
    try:
        doc = xmltodict.parse(raw.decode("utf-8"))
    except (ExpatError, ValueError, UnicodeDecodeError) as e:  # ValueError: an entity
        raise BadMessage(f"malformed XML ({type(e).__name__})") from None
    root = doc.get("xml") if isinstance(doc, dict) else None
    if not isinstance(root, dict):
        raise BadMessage("no <xml> root element")
    return root


@dataclass(frozen=True)
class Inbound:
    """One message or event from a WeChat user, as the routes need it."""

    channel: Literal["oa", "wecom"]
    kind: Literal["text", "event", "other"]
    msg_type: str  # text, image, voice, event, ...
    user: str  # FromUserName: the OpenID or the WeCom UserID
    account: str  # ToUserName: the account's own id
    create_time: str
    msg_id: str = ""
    content: str = ""
    event: str = ""  # subscribe, unsubscribe, click, enter_agent, ...
    agent_id: str = ""  # WeCom's AgentID
    message: Any = None  # wechatpy's message object, which its replies are made from

    @property
    def key(self) -> str:
        """What de-duplicates WeChat's retries: MsgId; an event by sender and CreateTime."""
        if self.kind != "event" and self.msg_id:
            return f"{self.channel}:msg:{self.msg_id}"
        return f"{self.channel}:event:{self.user}:{self.create_time}"

    @property
    def session_id(self) -> str:
        return f"wechat:{self.channel}:{self.user}"


def parse_inbound(xml: str, channel: Literal["oa", "wecom"]) -> Inbound:
    """A decrypted callback's XML as an Inbound (wechatpy's parse_message does the reading)."""
    if channel == "oa":
        from wechatpy import parse_message
    else:
        from wechatpy.enterprise import parse_message
    fields = parse_xml(xml)  # refuses DTDs and malformed XML before wechatpy reads it
    msg_type = str(fields.get("MsgType") or "").lower()
    user, account = fields.get("FromUserName"), fields.get("ToUserName")
    if not msg_type or not isinstance(user, str) or not _ID.fullmatch(user):
        raise BadMessage("no MsgType or no valid FromUserName")
    if not isinstance(account, str) or not _ID.fullmatch(account):
        raise BadMessage("no valid ToUserName")
    try:
        message = parse_message(xml)
    except (KeyError, ValueError, AttributeError, TypeError) as e:
        raise BadMessage(f"unreadable message ({type(e).__name__})") from None
    create_time = str(fields.get("CreateTime") or "")
    if not create_time.isdigit():
        raise BadMessage("no CreateTime")
    msg_id = str(fields.get("MsgId") or "")
    if msg_id and not msg_id.isdigit():
        raise BadMessage("MsgId is not a number")
    content, kind = "", "other"
    if msg_type == "text":
        kind, content = "text", _text(fields.get("Content"))
    elif msg_type == "voice" and _text(fields.get("Recognition")):
        # With speech recognition switched on, WeChat sends what was said: a question too.
        kind, content = "text", _text(fields.get("Recognition"))
    elif msg_type == "event":
        kind = "event"
    return Inbound(
        channel=channel,
        kind=kind,
        msg_type=msg_type,
        user=user,
        account=account,
        create_time=create_time,
        msg_id=msg_id,
        content=content,
        event=str(fields.get("Event") or "").lower(),
        agent_id=str(fields.get("AgentID") or ""),
        message=message,
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def render_reply(text: str, inbound: Inbound) -> str:
    """A passive text reply to `inbound` (To and From swapped; WeCom's carries the AgentID)."""
    if inbound.channel == "oa":
        from wechatpy import create_reply
    else:
        from wechatpy.enterprise import create_reply
    # The content goes into a CDATA section, which "]]>" would end early.
    return create_reply(text.replace("]]>", "]] >"), inbound.message).render()


# -- answers as WeChat text ------------------------------------------------------------------
_MD = [
    (re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)"), r"\1 \2"),  # [label](url)
    (re.compile(r"(\*\*|__|`)"), ""),  # bold and code marks
    (re.compile(r"^\s{0,3}#{1,6}\s*", re.MULTILINE), ""),  # headings
    (re.compile(r"^\s*[-*]\s+", re.MULTILINE), "· "),  # bullets
    (re.compile(r"\[\d{1,2}\]"), ""),  # citation marks: the sources line has no numbers
    (re.compile(r"\n{3,}"), "\n\n"),
]


def plain(text: str) -> str:
    """Markdown marks taken out: WeChat shows text as it is."""
    for pattern, repl in _MD:
        text = pattern.sub(repl, text)
    return text.strip()


def short_title(title: str, limit: int = TITLE_CHARS) -> str:
    """A title WeChat shows on one line, without the 《》 it is put in."""
    title = re.sub(r"\s+", " ", title).strip().strip("《》").strip()
    return title if len(title) <= limit else title[: limit - 1] + "…"


def citation_line(citations, english: bool = False) -> str:
    """The sources as one short line: 来源:《标题》、《标题》."""
    titles: list[str] = []
    for c in citations:
        title = short_title(c.source_title or c.title or "")
        if title and title not in titles:
            titles.append(title)
    if not titles:
        return ""
    titles = titles[:MAX_TITLES]
    if english:
        return "Sources: " + "; ".join(titles)
    return "来源:" + "、".join(f"《{t}》" for t in titles)


def fit_bytes(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-8 bytes, at a sentence end where there is one."""
    if len(text.encode("utf-8")) <= limit:
        return text
    cut = text.encode("utf-8")[: limit - len("…".encode())].decode("utf-8", "ignore")
    end = max(cut.rfind(p) for p in "。!?!?\n")
    if end >= len(cut) // 2:
        cut = cut[: end + 1]
    return cut.rstrip() + "…"


def answer_text(answer) -> str:
    """The bot's Answer as one WeChat text: plain text, its sources, the ticket id if any."""
    body = plain(answer.text or "")
    english = bool(body) and not _CJK.search(body)
    tail = []
    if answer.ticket_id and answer.ticket_id not in body:
        tail.append(f"Ticket: {answer.ticket_id}" if english else f"工单号:{answer.ticket_id}")
    sources = citation_line(answer.citations, english)
    if sources:
        tail.append(sources)
    tail_text = ("\n\n" + "\n".join(tail)) if tail else ""
    room = MAX_REPLY_BYTES - len(tail_text.encode("utf-8"))
    return (fit_bytes(body, room) + tail_text).strip()
