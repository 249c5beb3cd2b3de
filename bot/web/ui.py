"""The Gradio chat UI: answers with their sources and an outcome badge."""

from __future__ import annotations

import html

from bot.errors import InputError

BADGES = {
    "answered": "✅ 已解答",
    "clarify": "❓ 需要更多信息",
    "refused": "🚫 超出服务范围",
    "escalated": "🙋 已转人工",
}
EXAMPLES = [
    "OPPO 售后电话是多少?",
    "手机屏幕碎了多久内要报修?",
    "奥普浴霸怎么预约安装?",
    "维修后换的配件保修多久?",
]


def render(answer) -> str:
    """Markdown for one answer: text, badge, and the sources it cites (escaped, never HTML)."""
    parts = [
        html.escape(answer.text).replace("\n", "  \n"),
        f"\n\n<sub>{BADGES.get(answer.outcome, answer.outcome)}</sub>",
    ]
    if answer.citations:
        items = "".join(
            f"<li>[{i}] {html.escape(c.title)} <code>{html.escape(c.doc_id)}</code> · {html.escape(c.source)}"
            f"<blockquote>{html.escape(c.text)}</blockquote></li>"
            for i, c in enumerate(answer.citations, 1)
        )
        parts.append(
            f"\n\n<details><summary>来源({len(answer.citations)})</summary><ul>{items}</ul></details>"
        )
    return "".join(parts)


def build_ui(holder):
    import gradio as gr

    def respond(message: str, history: list, request: gr.Request):
        if holder.bot is None:
            return holder.error or "服务正在启动,请稍后再试。"
        try:
            answer = holder.bot.ask(message, session_id=f"ui:{request.session_hash}")
        except InputError as e:
            return str(e)
        return render(answer)

    return gr.ChatInterface(
        respond,
        title="kefu 售后助手",
        description="OPPO 手机与奥普浴霸售后问答:每条回答都注明出处,没把握时转人工。",
        examples=EXAMPLES,
        run_examples_on_click=True,
        cache_examples=False,
        flagging_mode="never",
    )
