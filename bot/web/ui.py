"""The Gradio chat UI: streamed answers with their sources and an outcome badge, handoff, feedback.

Gradio is imported at module level on purpose: it injects `gr.Request` / `gr.LikeData` by the
handlers' type hints, which it resolves against this module's globals. Only the web server
imports this module, when it builds the UI.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterator

import gradio as gr

from bot.errors import InputError
from bot.web.api import INTERNAL, LOADING, Runtime

log = logging.getLogger("kefu.web")

BADGES = {
    "answered": "✅ 已解答",
    "clarify": "❓ 需要更多信息",
    "refused": "🚫 超出服务范围",
    "escalated": "🙋 已转人工",
}
ALL = "全部"
EXAMPLES = ["售后电话是多少?", "怎么保修?", "维修要多久?", "怎么投诉?"]  # without a profile
PLACEHOLDER = "请输入您的售后问题…"
HANDOFF_LABEL = "转人工"

# The mount in bot/web/server.py passes no css, and mounting overwrites `Blocks.css`, so the
# header's gr.HTML carries these rules into <head>. They lean on Gradio 6's class names
# (`top-panel`, `bubble-wrap`, `message-buttons`); tests/test_gradio_ui.py checks the result.
CSS = """
/* The chat's toolbar (clear) gets a row of its own above the log instead of floating over
   the first visible line of a scrolled chat. */
#kefu-chat .top-panel { position: static; align-self: flex-end; margin: 2px 4px 0 0; }
#kefu-chat .bubble-wrap { flex: 1 1 0; min-height: 0; }
/* The greeting is no answer: nothing to rate. */
#kefu-chat .message-wrap > .bot-row:first-child + .message-buttons { display: none; }
#kefu-head > .html-container { padding: 0; }
#kefu-head h2 { margin: 0 0 2px; font-size: 1.3em; }
#kefu-head p { margin: 0; color: var(--body-text-color-subdued); }
#kefu-send-row { flex-wrap: nowrap; gap: 8px; }
#kefu-send-row button { white-space: nowrap; }
@media (max-width: 640px) {
  .gradio-container .main.fillable { padding: 8px 12px; }
  #kefu-head h2 { font-size: 1.1em; }
  #kefu-head p { font-size: 0.85em; }
  /* One row of example chips that scrolls sideways, not a column that pushes the input down. */
  #kefu-examples .gallery { flex-wrap: nowrap; overflow-x: auto; }
  #kefu-examples .gallery-item { flex: none; }
  #kefu-send-row button { padding: 8px 12px; }
}
"""


def _escape(text: str) -> str:
    return html.escape(text).replace("\n", "  \n")


def render(answer) -> str:
    """Markdown for one answer: text, badge, and the sources it cites (escaped, never HTML)."""
    parts = [_escape(answer.text), f"\n\n<sub>{BADGES.get(answer.outcome, answer.outcome)}</sub>"]
    if answer.citations:
        items = "".join(
            f"<li>[{i}] <b>{html.escape(c.title)}</b>"
            + (f"<blockquote>{html.escape(c.text)}</blockquote>" if c.text else "")
            + f"<small>来源:{html.escape(_where(c))}</small></li>"
            for i, c in enumerate(answer.citations, 1)
        )
        parts.append(
            f"\n\n<details><summary>来源({len(answer.citations)})</summary><ol>{items}</ol></details>"
        )
    return "".join(parts)


def _where(c) -> str:
    """Where a citation's text stands, as a person reads it: source title, page or row."""
    return " · ".join(x for x in (c.source_title or c.source, c.locator) if x)


def session_of(request: gr.Request | None) -> str:
    """One bot session per browser page load."""
    return f"ui:{getattr(request, 'session_hash', None) or 'anonymous'}"


class ChatUI:
    """The UI's behaviour, apart from the widgets: plain lists and dicts in, the same out."""

    def __init__(
        self, rt: Runtime, brands: dict[str, str | None] | None = None, greeting: str = ""
    ):
        self.rt = rt
        self.brands = brands or {ALL: None}  # radio label -> product id
        self.greeting = greeting

    def start(self) -> tuple[list, dict]:
        """A fresh chat: the greeting alone, shown but never sent to the bot, and no turns."""
        history = (
            [{"role": "assistant", "content": _escape(self.greeting)}] if self.greeting else []
        )
        return history, {}

    def respond(
        self, message: str, history: list, turns: dict, brand: str, request: gr.Request
    ) -> Iterator[tuple[str, list, dict]]:
        """Stream one answer into the chat; remember which message holds which turn."""
        history, turns = list(history or []), dict(turns or {})
        if not (message or "").strip():
            yield "", history, turns
            return
        history.append({"role": "user", "content": _escape(message)})
        bot = self.rt.bot
        if bot is None:
            history.append({"role": "assistant", "content": self.rt.error or LOADING})
            yield "", history, turns
            return
        history.append({"role": "assistant", "content": "…"})
        yield "", history, turns
        text = ""
        try:
            for event in bot.stream(
                message, session_id=session_of(request), brand=self.brands.get(brand)
            ):
                if event["event"] == "delta":
                    text += event["text"]
                    history[-1] = {"role": "assistant", "content": _escape(text)}
                elif event["event"] == "final":
                    answer = event["answer"]
                    if not answer.text and answer.reason == "held":
                        history.pop()  # a person has the message and is answering: no bubble
                        yield "", history, turns
                        continue
                    history[-1] = {"role": "assistant", "content": render(answer)}
                    if answer.turn_id:
                        turns[len(history) - 1] = answer.turn_id
                yield "", history, turns
        except InputError as e:
            history[-1] = {"role": "assistant", "content": _escape(str(e))}
            yield "", history, turns
        except Exception:
            log.exception("ui: answer failed")
            history[-1] = {"role": "assistant", "content": INTERNAL}
            yield "", history, turns

    def example(
        self, sample: list, history: list, turns: dict, brand: str, request: gr.Request
    ) -> Iterator[tuple[list, dict]]:
        """A click on an example question asks it; whatever is typed in the box stays there."""
        for _, shown, now in self.respond(sample[0], history, turns, brand, request):
            yield shown, now

    def handoff(
        self, history: list, turns: dict, brand: str, request: gr.Request
    ) -> tuple[list, dict]:
        """The 转人工 button: open (or reuse) this session's ticket and show its id."""
        history, turns = list(history or []), dict(turns or {})
        history.append({"role": "user", "content": HANDOFF_LABEL})
        bot = self.rt.bot
        if bot is None:
            history.append({"role": "assistant", "content": self.rt.error or LOADING})
            return history, turns
        try:
            answer = bot.handoff(session_of(request), brand=self.brands.get(brand), lang="zh")
        except Exception:
            log.exception("ui: handoff failed")
            history.append({"role": "assistant", "content": INTERNAL})
            return history, turns
        # Not mapped in `turns`: the handoff is no answer of its own to rate.
        history.append({"role": "assistant", "content": render(answer)})
        return history, turns

    def listening(self, request: gr.Request):
        """Poll for a person's replies only while the conversation has an open ticket."""
        bot = self.rt.bot
        on = bool(bot and bot.tickets and bot.tickets.open_for(session_of(request)))
        return gr.Timer(active=on)

    def poll(self, history: list, seen: int, request: gr.Request) -> tuple:
        """An agent's replies and notices ("人工客服已接入") since message `seen`; the customer's
        own messages and the bot's replies are on screen already."""
        bot = self.rt.bot
        if bot is None or bot.conversations is None:
            return gr.skip(), seen
        found = bot.conversations.since(session_of(request), seen or 0)
        shown = [m for m in found if m.role in ("agent", "notice")]
        if not found:
            return gr.skip(), seen
        if not shown:
            return gr.skip(), found[-1].id
        history = list(history or [])
        for m in shown:
            text = _escape(m.text)
            content = f"**人工客服**:{text}" if m.role == "agent" else f"*{text}*"
            history.append({"role": "assistant", "content": content})
        return history, found[-1].id

    def like(self, turns: dict, data: gr.LikeData, request: gr.Request) -> None:
        """Thumbs up/down on an answer; clicking the same thumb again withdraws the vote."""
        store = self.rt.feedback
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        turn_id = (turns or {}).get(index)
        if store is None or not turn_id:
            return  # not an answer (an error message, say): nothing to rate
        session_id = session_of(request)
        if data.liked is True or data.liked is False:
            store.record(session_id, turn_id, "up" if data.liked else "down")
        else:
            store.clear(session_id, turn_id)


def build_ui(rt: Runtime) -> gr.Blocks:
    """The Blocks app mounted at /."""
    from bot.web.server import page_defaults

    d = page_defaults(rt.settings)
    brands = {ALL: None, **dict(zip(d["product_names"], d["products"], strict=True))}
    ui = ChatUI(rt, brands, greeting=d["greeting"])
    title = " ".join(x for x in (d["company"], d["title"]) if x)
    scope = "、".join(d["product_names"]) or d["company"]
    greeting, _ = ui.start()
    # fill_height: the chat takes whatever height the window leaves, so the input row stays on
    # screen on a phone as on a desktop.
    with gr.Blocks(title=title, fill_height=True) as demo:
        gr.HTML(
            f"<h2>{html.escape(title)}</h2>"
            f"<p>{html.escape(scope)}售后问答:每条回答都注明出处,没把握时转人工。</p>",
            elem_id="kefu-head",
            head=f"<style>{CSS}</style>",
            js_on_load=None,
        )
        turns = gr.State({})  # chat message index -> turn_id, for feedback
        # With one product line (or none) there is nothing to choose.
        brand = gr.Radio(
            list(brands),
            value=ALL,
            label="产品",
            show_label=False,
            container=False,
            visible=len(brands) > 2,
        )
        chatbot = gr.Chatbot(
            greeting,  # a static value: every page load starts from it
            elem_id="kefu-chat",
            show_label=False,
            height=None,
            min_height=200,
            scale=1,
            buttons=[],  # no share / copy-all: only the clear button stays in the toolbar
            group_consecutive_messages=False,  # keep the like event's index = message index
            feedback_options=("Like", "Dislike"),
        )
        examples = gr.Dataset(
            components=["textbox"],
            samples=[[q] for q in d["chips"] or EXAMPLES],
            label="示例问题",
            elem_id="kefu-examples",
            container=False,
        )
        with gr.Row(elem_id="kefu-send-row", equal_height=True):
            box = gr.Textbox(
                placeholder=PLACEHOLDER,
                show_label=False,
                container=False,
                scale=1,
                min_width=100,
                max_lines=4,
                autofocus=True,
            )
            send = gr.Button("发送", variant="primary", scale=0, min_width=64)
            human = gr.Button(HANDOFF_LABEL, scale=0, min_width=72)

        ask = {
            "fn": ui.respond,
            "inputs": [box, chatbot, turns, brand],
            "outputs": [box, chatbot, turns],
        }
        # A person's replies: polled while the conversation has an open ticket.
        seen = gr.State(0)
        timer = gr.Timer(2.0, active=False)
        timer.tick(ui.poll, [chatbot, seen], [chatbot, seen], show_progress="hidden")
        box.submit(**ask).then(ui.listening, None, timer)
        send.click(**ask).then(ui.listening, None, timer)
        examples.click(ui.example, [examples, chatbot, turns, brand], [chatbot, turns]).then(
            ui.listening, None, timer
        )
        human.click(ui.handoff, [chatbot, turns, brand], [chatbot, turns]).then(
            ui.listening, None, timer
        )
        chatbot.like(ui.like, [turns], None)
        # A cleared chat starts afresh: the greeting back, message indices from zero.
        chatbot.clear(ui.start, None, [chatbot, turns])
    demo.queue(default_concurrency_limit=rt.settings.ui_concurrency)
    return demo
