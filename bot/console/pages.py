"""The console's HTML: server-rendered pages with a little JS (live messages, actions).

Everything a customer wrote is escaped here; the scripts only ever set textContent.
"""

from __future__ import annotations

import datetime as dt
import json
from html import escape
from urllib.parse import urlencode

from bot.console.desk import TicketView
from bot.console.staff import Staff
from bot.tickets.priority import LEVELS
from bot.tickets.store import Ticket

STAGE_ZH = {
    "active": "全部未解决",
    "new": "新工单",
    "open": "处理中",
    "waiting": "等待顾客",
    "snoozed": "稍后处理",
    "resolved": "已解决",
}
CATEGORY_ZH = {
    "human": "顾客要求人工",
    "complaint": "投诉",
    "safety": "安全隐患",
    "billing": "费用争议",
    "low_confidence": "机器人没把握",
    "unresolved": "多轮未解决",
    "number_guard": "资料缺少数字",
}
ROLE_ZH = {"customer": "顾客", "bot": "机器人", "agent": "客服", "notice": "系统"}
ACTION_ZH = {
    "login": "登录",
    "take": "接手",
    "assign": "改派",
    "reply": "回复",
    "note": "备注",
    "stage": "改状态",
    "hand_back": "交还机器人",
    "save_faq": "存为知识",
    "staff_add": "新建账号",
    "wechat_undelivered": "微信消息未送达",
}

_CSS = """
*{box-sizing:border-box}body{margin:0;font:14px/1.5 system-ui,"PingFang SC","Microsoft YaHei",sans-serif;color:#1f2329;background:#f5f6f7}
header{display:flex;gap:16px;align-items:center;padding:10px 20px;background:#fff;border-bottom:1px solid #e5e6eb}
header h1{font-size:16px;margin:0}header .me{margin-left:auto;color:#646a73}
main{max-width:1180px;margin:16px auto;padding:0 16px}
a{color:#1664ff;text-decoration:none}table{width:100%;border-collapse:collapse;background:#fff}
th,td{padding:8px 10px;border-bottom:1px solid #eef0f3;text-align:left;vertical-align:top}
th{background:#fafbfc;font-weight:600;color:#646a73}
.tabs a{display:inline-block;padding:4px 10px;margin-right:4px;border-radius:14px;background:#fff;border:1px solid #e5e6eb}
.tabs a.on{background:#1664ff;color:#fff;border-color:#1664ff}
.bar{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin:10px 0}
input,select,textarea,button{font:inherit}input,select,textarea{padding:5px 8px;border:1px solid #d0d3d6;border-radius:6px;background:#fff}
button{padding:5px 12px;border:1px solid #1664ff;border-radius:6px;background:#1664ff;color:#fff;cursor:pointer}
button.ghost{background:#fff;color:#1664ff}button:disabled{opacity:.5;cursor:default}
.p1{color:#d83931;font-weight:600}.p2{color:#de7802}.muted{color:#8f959e}
.grid{display:grid;grid-template-columns:minmax(0,1fr) 340px;gap:16px}
.card{background:#fff;border:1px solid #e5e6eb;border-radius:8px;padding:12px 14px;margin-bottom:12px}
.card h2{font-size:14px;margin:0 0 8px}
.msgs{max-height:60vh;overflow:auto}.msg{margin:8px 0;padding:8px 10px;border-radius:8px;white-space:pre-wrap;word-break:break-word}
.msg .who{font-size:12px;color:#8f959e;display:block}
.m-customer{background:#f2f3f5}.m-bot{background:#eef5ff}.m-agent{background:#e8f7ee}.m-notice{background:#fff7e8;font-size:13px}
.cite{font-size:12px;color:#646a73;margin-top:4px}
textarea{width:100%;min-height:90px}.err{color:#d83931}.ok{color:#2ea121}
.login{max-width:340px;margin:12vh auto;background:#fff;padding:24px;border-radius:10px;border:1px solid #e5e6eb}
.login input{width:100%;margin:6px 0 12px}.pager{margin:10px 0}
@media (max-width:800px){.grid{grid-template-columns:1fr}}
"""


def _page(title: str, body: str, me: Staff | None = None, csrf: str = "") -> str:
    top = ""
    if me is not None:
        top = (
            f'<header><h1><a href="/console">客服工作台</a></h1>'
            f'<span class="me">{escape(me.username)}({"管理员" if me.admin else "客服"})</span>'
            f'<form method="post" action="/console/logout" style="margin:0">'
            f'<input type="hidden" name="csrf_token" value="{escape(csrf)}">'
            f'<button class="ghost" type="submit">退出</button></form></header>'
        )
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<meta name="csrf-token" content="{escape(csrf)}">'
        f"<title>{escape(title)} · 客服工作台</title><style>{_CSS}</style></head>"
        f"<body>{top}<main>{body}</main>{_TIMES}</body></html>"
    )


# Times are rendered in the agent's own time zone.
_TIMES = """<script>
for (const t of document.querySelectorAll("time[datetime]")) {
  const d = new Date(t.getAttribute("datetime"));
  if (!isNaN(d)) t.textContent = d.toLocaleString("zh-CN", {hour12: false});
}
</script>"""


def _time(iso: str) -> str:
    return f'<time datetime="{escape(iso)}">{escape(iso[:16].replace("T", " "))} UTC</time>'


def _age(iso: str, now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.UTC)
    minutes = int((now - dt.datetime.fromisoformat(iso)).total_seconds() // 60)
    if minutes < 60:
        return f"{max(minutes, 0)} 分钟"
    if minutes < 48 * 60:
        return f"{minutes // 60} 小时"
    return f"{minutes // 1440} 天"


def login_page(csrf: str, error: str = "", username: str = "") -> str:
    err = f'<p class="err" role="alert">{escape(error)}</p>' if error else ""
    return _page(
        "登录",
        '<form class="login" method="post" action="/console/login">'
        "<h1 style='font-size:18px;margin-top:0'>客服工作台登录</h1>"
        f"{err}"
        '<label>用户名<input name="username" autocomplete="username" required '
        f'value="{escape(username)}"></label>'
        '<label>密码<input name="password" type="password" autocomplete="current-password" '
        "required></label>"
        f'<input type="hidden" name="csrf_token" value="{escape(csrf)}">'
        '<button type="submit" style="width:100%">登录</button></form>',
    )


def _priority(t: Ticket) -> str:
    return f'<span class="p{t.priority}">{escape(t.priority_label)}</span>'


def inbox_page(
    me: Staff, csrf: str, total: int, tickets: list[Ticket], filters: dict, per_page: int
) -> str:
    stage = filters.get("stage") or "active"
    tabs = "".join(
        f'<a class="{"on" if key == stage else ""}" '
        f'href="/console?{urlencode({**_keep(filters), "stage": key, "page": 1})}">{label}</a>'
        for key, label in STAGE_ZH.items()
    )
    levels = "".join(
        f'<option value="{p}"{" selected" if str(p) == str(filters.get("priority") or "") else ""}>'
        f"{escape(level.label_zh)}</option>"
        for p, level in sorted(LEVELS.items())
    )
    search = (
        '<form class="bar" method="get" action="/console">'
        f'<input type="hidden" name="stage" value="{escape(stage)}">'
        f'<input name="q" placeholder="搜索工单号或内容" value="{escape(filters.get("q") or "")}">'
        f'<select name="priority"><option value="">全部优先级</option>{levels}</select>'
        f'<label><input type="checkbox" name="mine" value="1"{" checked" if filters.get("mine") else ""}> 只看我的</label>'
        '<button type="submit">筛选</button></form>'
    )
    rows = (
        "".join(
            "<tr>"
            f'<td><a href="/console/t/{escape(t.ticket_id)}">{escape(t.ticket_id)}</a></td>'
            f"<td>{_priority(t)}</td>"
            f"<td>{escape(STAGE_ZH.get(t.stage, t.stage))}</td>"
            f"<td>{escape(t.summary[:80])}</td>"
            f"<td>{escape(t.held_by or t.assignee or '—')}</td>"
            f"<td>{_age(t.created_at)}</td>"
            f"<td>{_time(t.updated_at or t.created_at)}</td>"
            "</tr>"
            for t in tickets
        )
        or '<tr><td colspan="7" class="muted">没有符合条件的工单。</td></tr>'
    )
    page = int(filters.get("page") or 1)
    pages = max(1, -(-total // per_page))
    pager = f'<div class="pager">共 {total} 张工单,第 {page}/{pages} 页 '
    if page > 1:
        pager += f'<a href="/console?{urlencode({**_keep(filters), "page": page - 1})}">上一页</a> '
    if page < pages:
        pager += f'<a href="/console?{urlencode({**_keep(filters), "page": page + 1})}">下一页</a>'
    pager += "</div>"
    table = (
        "<table><thead><tr><th>工单号</th><th>优先级</th><th>状态</th><th>问题</th>"
        f"<th>处理人</th><th>已等待</th><th>更新于</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    return _page("工单", f'<div class="tabs">{tabs}</div>{search}{pager}{table}', me, csrf)


def _keep(filters: dict) -> dict:
    return {k: v for k, v in filters.items() if v not in (None, "")}


def _message(m) -> str:
    cites = ""
    if m.citations:
        names = "、".join(
            escape(c.get("source_title") or c.get("title") or c.get("doc_id", ""))
            for c in m.citations
        )
        cites = f'<div class="cite">出处:{names}</div>'
    who = ROLE_ZH.get(m.role, m.role) + (f" · {escape(m.author)}" if m.author else "")
    return (
        f'<div class="msg m-{escape(m.role)}" data-id="{m.id}"><span class="who">{who} · '
        f"{_time(m.created_at)}</span>{escape(m.text)}{cites}</div>"
    )


def state_line(t: Ticket) -> str:
    """The ticket page's status line: its stage and who holds the conversation (plain text)."""
    if t.held_by:
        holder = f"{t.held_by} 正在接待(机器人暂停回答)"
    else:
        holder = "机器人接待中" if t.status == "open" else "已解决"
    return f"{STAGE_ZH.get(t.stage, t.stage)} · {holder}"


def ticket_page(me: Staff, csrf: str, view: TicketView, staff_names: list[str]) -> str:
    t = view.ticket
    is_open = t.status == "open"
    last_id = view.messages[-1].id if view.messages else 0
    msgs = "".join(_message(m) for m in view.messages) or '<p class="muted">还没有消息。</p>'
    contact = escape(t.contact) if t.contact else '<span class="muted">顾客未留联系方式</span>'
    notes = (
        "".join(
            f"<li><b>{escape(e.actor)}</b> {_time(e.created_at)}<br>{escape(e.detail)}</li>"
            for e in view.notes
        )
        or '<li class="muted">暂无备注</li>'
    )
    audit = (
        "".join(
            f"<li>{_time(e.created_at)} <b>{escape(e.actor)}</b> "
            f"{escape(ACTION_ZH.get(e.action, e.action))} "
            f'<span class="muted">{escape(e.detail[:120] if e.action != "note" else "")}</span></li>'
            for e in view.events
        )
        or '<li class="muted">暂无记录</li>'
    )
    stages = "".join(
        f'<option value="{k}"{" selected" if k == t.stage else ""}>{STAGE_ZH[k]}</option>'
        for k in ("open", "waiting", "snoozed", "resolved")
    )
    assign = ""
    if me.admin and is_open:
        people = "".join(f'<option value="{escape(n)}">{escape(n)}</option>' for n in staff_names)
        assign = (
            f'<div class="bar"><select id="assign-to">{people}</select>'
            '<button class="ghost" data-act="assign">改派</button></div>'
        )
    actions = ""
    if is_open:
        actions = (
            '<div class="card"><h2>回复顾客</h2>'
            '<p class="muted" id="draft-note">正在生成机器人草稿…(草稿不会自动发送)</p>'
            '<textarea id="reply" aria-label="回复内容" placeholder="输入回复,发送后顾客立即可见"></textarea>'
            '<div class="cite" id="draft-cites"></div>'
            '<div class="bar"><button id="send" data-act="reply">发送给顾客</button>'
            '<button class="ghost" data-act="faq">存为知识库问答</button>'
            + (
                '<button class="ghost" data-act="handback">交还机器人</button>'
                if t.held_by
                else '<button class="ghost" data-act="take">接手会话</button>'
            )
            + '</div><p id="status" role="status"></p></div>'
            '<div class="card"><h2>状态</h2><div class="bar">'
            f'<select id="stage">{stages}</select>'
            '<input id="reason" placeholder="原因(必填)" maxlength="200">'
            f'<button class="ghost" data-act="stage">更改</button></div>{assign}</div>'
        )
    body = (
        f'<p><a href="/console">← 返回工单列表</a></p>'
        f"<h1 style='font-size:18px'>{escape(t.ticket_id)} {_priority(t)} "
        f'<span class="muted" id="state">{escape(state_line(t))}</span></h1>'
        '<div class="grid"><div>'
        f'<div class="card"><h2>对话记录</h2><div class="msgs" id="msgs" data-last="{last_id}">{msgs}</div></div>'
        f"{actions}</div><div>"
        f'<div class="card"><h2>工单信息</h2>问题:{escape(t.summary)}<br>类别:{escape(CATEGORY_ZH.get(t.category, t.category))}'
        f"<br>产品:{escape(t.brand or '—')}<br>联系方式:{contact}<br>创建:{_time(t.created_at)}"
        f"<br>处理人:{escape(t.assignee or '—')}</div>"
        f'<div class="card"><h2>内部备注</h2><ul id="notes">{notes}</ul>'
        '<textarea id="note" aria-label="备注" style="min-height:60px" placeholder="仅客服可见"></textarea>'
        '<div class="bar"><button class="ghost" data-act="note">添加备注</button></div></div>'
        f'<div class="card"><h2>操作记录</h2><ul>{audit}</ul></div>'
        "</div></div>"
    )
    script = _TICKET_JS.replace("__TICKET__", json.dumps(t.ticket_id)).replace(
        "__OPEN__", "true" if is_open else "false"
    )
    return _page(t.ticket_id, body + script, me, csrf)


_TICKET_JS = """<script>
(function () {
  const ticket = __TICKET__, open = __OPEN__;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const base = "/console/api/t/" + encodeURIComponent(ticket);
  const box = document.getElementById("msgs");
  const status = document.getElementById("status");
  const ROLE = {customer: "顾客", bot: "机器人", agent: "客服", notice: "系统"};
  let last = Number(box.dataset.last || 0), question = "";

  function say(text, bad) {
    if (!status) return;
    status.textContent = text;
    status.className = bad ? "err" : "ok";
  }
  function show(m) {
    if (box.querySelector('[data-id="' + m.id + '"]')) return;
    const div = document.createElement("div");
    div.className = "msg m-" + m.role;
    div.dataset.id = m.id;
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = (ROLE[m.role] || m.role) + (m.author ? " · " + m.author : "") + " · " +
      new Date(m.created_at).toLocaleString("zh-CN", {hour12: false});
    div.appendChild(who);
    div.appendChild(document.createTextNode(m.text));
    const empty = box.querySelector("p.muted");
    if (empty) empty.remove();
    box.appendChild(div);
    box.scrollTop = box.scrollHeight;
    if (m.role === "customer") { question = m.text; loadDraft(); }
  }
  async function poll() {
    for (;;) {
      try {
        const res = await fetch(base + "/messages?after=" + last + "&wait=25", {cache: "no-store"});
        if (res.status === 401) { location.href = "/console/login"; return; }
        if (!res.ok) throw new Error(res.status);
        const data = await res.json();
        for (const m of data.messages) { show(m); last = Math.max(last, m.id); }
        if (data.state) document.getElementById("state").textContent = data.state;
      } catch (e) {
        await new Promise((r) => setTimeout(r, 3000));  // dropped: resume from `last`
      }
    }
  }
  async function post(path, body) {
    const res = await fetch(base + path, {
      method: "POST",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify(body || {}),
    });
    let data = {};
    try { data = await res.json(); } catch (e) {}
    if (res.status === 401) location.href = "/console/login";
    return {ok: res.ok, data};
  }
  const reply = document.getElementById("reply");
  let drafted = "";
  async function loadDraft() {
    if (!reply || (reply.value && reply.value !== drafted)) return;  // never overwrite the agent
    const note = document.getElementById("draft-note");
    const res = await fetch(base + "/draft", {cache: "no-store"});
    if (!res.ok) { note.textContent = "草稿暂不可用。"; return; }
    const d = await res.json();
    question = d.question || question;
    if (reply.value && reply.value !== drafted) return;
    if (!d.text && drafted) return;  // "在吗?" has no draft: keep the one the agent may use
    drafted = d.text || "";
    reply.value = drafted;
    note.textContent = drafted ? "以下是机器人草稿,请核对、修改后再发送:" : "知识库里没有可用的草稿,请直接回复。";
    document.getElementById("draft-cites").textContent = (d.citations || []).length
      ? "草稿出处:" + d.citations.map((c) => c.source_title || c.title).join("、") : "";
  }
  const acts = {
    async reply() {
      const text = reply.value.trim();
      if (!text) return say("请输入回复内容。", true);
      const r = await post("/reply", {text});
      if (r.ok) { reply.value = ""; drafted = ""; say("已发送。"); if (r.data.message) show(r.data.message); }
      else say(r.data.error || "发送失败。", true);
      return r.ok && r.data.took;
    },
    async take() { const r = await post("/take"); if (!r.ok) say(r.data.error, true); return r.ok; },
    async handback() { const r = await post("/handback"); if (!r.ok) say(r.data.error, true); return r.ok; },
    async stage() {
      const r = await post("/stage", {stage: document.getElementById("stage").value,
        reason: document.getElementById("reason").value});
      if (!r.ok) say(r.data.error, true);
      return r.ok;
    },
    async assign() {
      const r = await post("/assign", {to: document.getElementById("assign-to").value});
      if (!r.ok) say(r.data.error, true);
      return r.ok;
    },
    async note() {
      const r = await post("/note", {text: document.getElementById("note").value});
      if (!r.ok) { alert(r.data.error || "备注失败"); return false; }
      return true;
    },
    async faq() {
      const q = prompt("顾客的问题(存入知识库,复核后下次导入生效):", question);
      if (q === null) return;
      const r = await post("/faq", {question: q, answer: reply.value});
      if (r.ok) say("已保存为 " + r.data.file + ",复核后运行导入即可生效。");
      else say(r.data.error || "保存失败。", true);
    },
  };
  document.addEventListener("click", async (e) => {
    const b = e.target.closest("button[data-act]");
    if (!b) return;
    b.disabled = true;
    try { if (await acts[b.dataset.act]()) location.reload(); } finally { b.disabled = false; }
  });
  box.scrollTop = box.scrollHeight;
  if (open) { loadDraft(); }
  poll();
})();
</script>"""
