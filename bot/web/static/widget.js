/*!
 * kefu chat widget. Embed it on any page with one tag:
 *
 *   <script src="https://HOST/widget.js" data-brand="PRODUCT_ID" data-title="售后助手"
 *           data-color="#07c160" data-position="right" async></script>
 *
 * Options, all optional, as data- attributes on that script tag:
 *   data-brand     A product id from the company profile (knowledge/kefu.yaml): sent with
 *                  every question so answers stay on that product. Anything else is ignored
 *                  (the bot then asks which product when it matters).
 *   data-title     Header title and the chat dialog's accessible name. Default: the profile's
 *                  assistant name.
 *   data-color     Accent colour of the launcher bubble, the header and your own messages:
 *                  any CSS colour ("#07c160", "rgb(0 120 255)", "teal"). Invalid values are
 *                  ignored. Default WeChat green #07c160. Text on it is dark or white,
 *                  whichever reads better.
 *   data-position  "right" (default) or "left": the bottom corner the bubble sits in.
 *   data-offset    How far to lift the bubble and the desktop panel from the bottom, in pixels
 *                  ("80" or "80px", at most 500), to clear a sticky bottom bar of the page.
 *                  Default 0. Under 480px wide the open panel is full screen either way.
 *   data-open      "true" to start with the chat panel open.
 *   data-greeting  The first message the bot shows. Default: the profile's greeting.
 *   data-chips     Quick-reply questions separated by "|". Default with data-brand: that
 *                  product's suggestions (its `suggestions` in the profile, else its FAQ
 *                  questions); without: the profile's suggestions; else
 *                  "售后电话是多少?|怎么保修?|维修要多久?|怎么投诉?". data-chips="" for none.
 *   data-api       Base URL of the kefu API. Default: the origin this script was loaded from.
 *
 * The page's origin must be in the server's KEFU_CORS_ORIGINS (unless the page is on the API's
 * own origin). When it is not, customers are told the chat is not available on this page and
 * the browser console says which origin to add.
 *
 * From page scripts: window.KefuWidget.open(), .close(), .version.
 * The session id and the last 50 messages are kept in localStorage, per API origin and brand.
 */
(() => {
  "use strict";
  if (window.KefuWidget) return; // the tag was included twice

  const VERSION = "1.0.0";
  const MAX_MESSAGES = 50;
  const GAP_MS = 5 * 60 * 1000; // a time separator after five quiet minutes

  // document.currentScript is only set while this file first runs, so read it now.
  const script =
    document.currentScript ||
    [...document.getElementsByTagName("script")]
      .reverse()
      .find((s) => /widget\.js([?#]|$)/.test(s.src));
  const ds = (script && script.dataset) || {};

  const toUrl = (v) => {
    try {
      const u = new URL(v, location.href);
      return /^https?:$/.test(u.protocol) ? u : null;
    } catch (e) {
      return null;
    }
  };
  const apiUrl = ds.api && toUrl(ds.api);
  const srcUrl = script && toUrl(script.src);
  const API = apiUrl
    ? apiUrl.origin + apiUrl.pathname.replace(/\/+$/, "")
    : (srcUrl || location).origin;

  // The company profile's defaults, written in by the server that serves this file.
  const DEFAULTS = /*kefu:defaults*/ {};
  const PRODUCTS = Array.isArray(DEFAULTS.products) ? DEFAULTS.products : [];
  const brand = (ds.brand || "").trim().toLowerCase();
  const BRAND = PRODUCTS.includes(brand) ? brand : null;
  const TITLE = (ds.title || "").trim() || DEFAULTS.title || "售后助手";
  const LEFT = (ds.position || "").trim().toLowerCase() === "left";
  const OFFSET = (() => {
    const m = /^\s*(\d{1,4}(?:\.\d+)?)\s*(?:px)?\s*$/i.exec(ds.offset || "");
    return m ? Math.min(Number(m[1]), 500) : 0;
  })();
  const GREETING =
    (ds.greeting || "").trim() ||
    DEFAULTS.greeting ||
    `您好,我是${TITLE},保修、维修费用、服务网点、投诉渠道都可以问我。`;
  const GENERIC_CHIPS = ["售后电话是多少?", "怎么保修?", "维修要多久?", "怎么投诉?"];
  const brandChips = BRAND && DEFAULTS.product_chips ? DEFAULTS.product_chips[BRAND] : null;
  // With a product, only its own questions: another product's would be asked under this
  // brand and open junk tickets.
  const defaultChips = Array.isArray(brandChips)
    ? brandChips.length
      ? brandChips
      : GENERIC_CHIPS
    : DEFAULTS.chips || GENERIC_CHIPS;
  const CHIPS = (ds.chips === undefined ? defaultChips.join("|") : ds.chips)
    .split("|")
    .map((s) => s.trim())
    .filter(Boolean)
    .slice(0, 8);

  // The colour goes through the canvas parser: junk is rejected, and what comes back
  // ("#rrggbb" or "rgba(r, g, b, a)") is safe to use and to measure for contrast.
  function parseColor(v) {
    const ctx = document.createElement("canvas").getContext("2d");
    if (!v || !ctx || !window.CSS || !CSS.supports("color", v) || /var\(|currentcolor/i.test(v))
      return null;
    ctx.fillStyle = "#010203";
    ctx.fillStyle = v;
    const out = ctx.fillStyle;
    if (out === "#010203" && !/^#010203$/i.test(v.trim())) return null;
    const m = /^#(..)(..)(..)$/.exec(out);
    const nums = m ? m.slice(1).map((x) => parseInt(x, 16)) : (out.match(/[\d.]+/g) || []).map(Number);
    // A fully transparent accent would leave white text on the page: treat it as junk.
    return nums.length === 3 || (nums.length === 4 && nums[3] > 0)
      ? { css: out, rgb: nums.slice(0, 3) }
      : null;
  }
  const luminance = (rgb) => {
    const [r, g, b] = rgb.map((c) => {
      c /= 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const accent = parseColor((ds.color || "").trim()) || { css: "#07c160", rgb: [7, 193, 96] };
  // White text when it contrasts better than near-black (#111, luminance ~0.0056).
  const L = luminance(accent.rgb);
  const onAccent = 1.05 / (L + 0.05) >= (L + 0.05) / 0.0556 ? "#fff" : "#111";

  // -- persistence ----------------------------------------------------------------------
  const KEY = `kefu:${API}:${BRAND || "any"}`;
  const newId = () => {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = new Uint8Array(16);
    (window.crypto || { getRandomValues: (a) => a.map(() => (Math.random() * 256) | 0) })
      .getRandomValues(b);
    return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  };
  function load() {
    try {
      const s = JSON.parse(localStorage.getItem(KEY));
      if (s && typeof s.sid === "string" && /^[\w.:-]{1,200}$/.test(s.sid) && Array.isArray(s.msgs))
        return {
          sid: s.sid,
          msgs: s.msgs.filter((m) => m && typeof m.t === "string"),
          // The newest server message id seen, and whether a person may write here.
          last: Number.isSafeInteger(s.last) && s.last > 0 ? s.last : 0,
          handed: s.handed === true,
        };
    } catch (e) {
      /* unreadable or blocked storage: start afresh */
    }
    return { sid: newId(), msgs: [], last: 0, handed: false };
  }
  const state = load();
  function save() {
    state.msgs = state.msgs.slice(-MAX_MESSAGES);
    try {
      localStorage.setItem(KEY, JSON.stringify(state));
    } catch (e) {
      /* storage full or blocked: the chat still works, it just won't survive a reload */
    }
  }

  // -- HTTP -----------------------------------------------------------------------------
  const withBrand = (body) => (BRAND ? { ...body, brand: BRAND } : body);
  const jsonHeaders = { "Content-Type": "application/json" };

  const REFUSED = -1; // a status of our own: the server is up but refuses this page's origin
  const REFUSED_TEXT = "抱歉,本页面暂时无法使用在线客服,请通过其他方式(如客服电话)联系我们。";
  let refusal = null; // the probe below, kept once it has found a refusal

  // fetch() rejects alike when the network is down and when CORS refuses the page's origin.
  // Tell them apart with two GETs of /healthz: an opaque no-cors one succeeds whenever the
  // server answers; a CORS one fails only if this origin is refused (or the network is down,
  // but then the opaque one fails too).
  function refusedOrigin() {
    if (refusal) return refusal;
    const reaches = (mode) =>
      fetch(`${API}/healthz`, { mode, cache: "no-store", credentials: "omit" }).then(
        () => true,
        () => false,
      );
    refusal = Promise.all([reaches("cors"), reaches("no-cors")]).then(([cors, opaque]) => {
      const refused = opaque && !cors;
      if (refused) {
        const origin = location.origin;
        console.warn(
          `[kefu widget] The chat server ${API} refuses requests from this page's origin ` +
            `${origin}, so the widget cannot answer here. Add "${origin}" to ` +
            `KEFU_CORS_ORIGINS on that server (a JSON list, e.g. ` +
            `KEFU_CORS_ORIGINS='["${origin}"]') and restart it.`,
        );
      } else {
        refusal = null; // a network failure: look again next time
      }
      return refused;
    });
    return refusal;
  }

  async function post(path, body) {
    try {
      const res = await fetch(API + path, {
        method: "POST",
        headers: jsonHeaders,
        body: JSON.stringify(body),
      });
      const data = await res.json().catch(() => null);
      return { ok: res.ok, status: res.status, data };
    } catch (e) {
      return { ok: false, status: (await refusedOrigin()) ? REFUSED : 0, data: null };
    }
  }
  function errorText(status, data) {
    if (status === REFUSED) return REFUSED_TEXT;
    if (data && typeof data.error === "string" && data.error) return data.error;
    if (status === 0) return "网络连接失败,请检查网络后重试。";
    if (status === 429) return "请求太频繁,请稍后再试。";
    return `服务暂时不可用(${status}),请稍后再试。`;
  }

  const FALLBACK = { fallback: true };

  // POST /api/chat/stream and read the server-sent events. Resolves to {reply}, {error},
  // {broken} (the stream died after some text) or FALLBACK (nothing streamed; use /api/chat).
  async function stream(body, onDelta) {
    let res;
    try {
      res = await fetch(`${API}/api/chat/stream`, {
        method: "POST",
        headers: { ...jsonHeaders, Accept: "text/event-stream" },
        body: JSON.stringify(body),
      });
    } catch (e) {
      // Refused here means refused at /api/chat too: say so now rather than ask twice.
      return (await refusedOrigin()) ? { error: REFUSED_TEXT } : FALLBACK;
    }
    const type = res.headers.get("content-type") || "";
    if (!res.ok) {
      const data = await res.json().catch(() => null);
      // 404/405: no streaming endpoint here. Other statuses with a message (429, 413, 503...)
      // are real answers: asking /api/chat too would only fail the same way.
      if (res.status === 404 || res.status === 405 || !(data && data.error)) return FALLBACK;
      return { error: errorText(res.status, data) };
    }
    if (/json/.test(type)) {
      const data = await res.json().catch(() => null);
      return data && typeof data.answer === "string" ? { reply: data } : FALLBACK;
    }
    if (!/event-stream/.test(type) || !res.body) return FALLBACK;

    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buf = "";
    let event = "message";
    let data = [];
    let got = false;
    const done = (v) => {
      reader.cancel().catch(() => {});
      return v;
    };
    for (;;) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch (e) {
        return got ? { broken: true } : FALLBACK;
      }
      if (chunk.done) break;
      buf += decoder.decode(chunk.value, { stream: true });
      // A trailing "\r" may be half of "\r\n": keep it for the next chunk.
      const hold = buf.endsWith("\r") ? "\r" : "";
      const lines = (hold ? buf.slice(0, -1) : buf).split(/\r\n|\r|\n/);
      buf = lines.pop() + hold;
      for (const line of lines) {
        if (line === "") {
          if (data.length) {
            let payload = null;
            try {
              payload = JSON.parse(data.join("\n"));
            } catch (e) {
              /* not JSON: ignored */
            }
            if (payload && event === "delta" && typeof payload.text === "string") {
              got = true;
              onDelta(payload.text);
            } else if (payload && event === "final") {
              return done({ reply: payload });
            } else if (event === "error") {
              return done({ error: errorText((payload && payload.status) || 500, payload) });
            }
          }
          event = "message";
          data = [];
        } else if (line[0] !== ":") {
          const i = line.indexOf(":");
          const field = i < 0 ? line : line.slice(0, i);
          const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
          if (field === "event") event = value;
          else if (field === "data") data.push(value);
        }
      }
    }
    return got ? { broken: true } : FALLBACK;
  }

  // -- DOM ------------------------------------------------------------------------------
  // Everything is built with createElement and textContent: no markup from data, ever.
  function el(tag, cls, text, attrs) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    return e;
  }
  function icon(d) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", d);
    svg.appendChild(path);
    return svg;
  }
  const CHAT_ICON =
    "M12 3C6.5 3 2 6.6 2 11c0 2.5 1.4 4.7 3.6 6.2L5 21l4.1-2.3c.9.2 1.9.3 2.9.3 5.5 0 10-3.6 10-8s-4.5-8-10-8zm-4 9.3a1.3 1.3 0 1 1 0-2.6 1.3 1.3 0 0 1 0 2.6zm4 0a1.3 1.3 0 1 1 0-2.6 1.3 1.3 0 0 1 0 2.6zm4 0a1.3 1.3 0 1 1 0-2.6 1.3 1.3 0 0 1 0 2.6z";
  const THUMB_ICON =
    "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z";
  const CLOSE_ICON =
    "M18.3 5.7a1 1 0 0 0-1.4 0L12 10.6 7.1 5.7a1 1 0 0 0-1.4 1.4l4.9 4.9-4.9 4.9a1 1 0 1 0 1.4 1.4l4.9-4.9 4.9 4.9a1 1 0 0 0 1.4-1.4L13.4 12l4.9-4.9a1 1 0 0 0 0-1.4z";

  const CSS_TEXT = `
:host{all:initial}
.kf{all:initial;display:block;color:#111;font:14px/1.5 -apple-system,BlinkMacSystemFont,"PingFang SC","Hiragino Sans GB","Microsoft YaHei","Noto Sans CJK SC","Source Han Sans SC","WenQuanYi Micro Hei",sans-serif;-webkit-font-smoothing:antialiased}
.kf *{box-sizing:border-box;margin:0;font:inherit;color:inherit;letter-spacing:normal;text-transform:none}
.kf [hidden]{display:none!important}
button{display:inline-flex;align-items:center;justify-content:center;border:0;background:none;padding:0;cursor:pointer;-webkit-tap-highlight-color:transparent}
button:disabled{cursor:default;opacity:.5}
button:focus-visible,textarea:focus-visible,summary:focus-visible{outline:2px solid #1485ee;outline-offset:2px}
svg{display:block;width:100%;height:100%;fill:currentColor}
.bubble{position:fixed;bottom:calc(20px + var(--off,0px));right:20px;width:56px;height:56px;border-radius:50%;background:var(--a);color:var(--at);box-shadow:0 4px 14px rgba(0,0,0,.25);transition:transform .15s}
.bubble:hover{transform:scale(1.06)}
.bubble svg{width:28px;height:28px}
.left .bubble{right:auto;left:20px}
.dot{display:block;position:absolute;top:2px;right:2px;width:14px;height:14px;border-radius:50%;background:#fa5151;border:2px solid #fff}
.panel{position:fixed;bottom:calc(88px + var(--off,0px));right:20px;width:370px;height:600px;max-width:calc(100vw - 40px);max-height:calc(100vh - 108px - var(--off,0px));display:flex;flex-direction:column;background:#ededed;border-radius:12px;overflow:hidden;box-shadow:0 10px 36px rgba(0,0,0,.28)}
.left .panel{right:auto;left:20px}
.head{display:flex;flex:none;align-items:center;gap:8px;height:52px;padding:0 8px 0 16px;background:var(--a);color:var(--at)}
.title{display:block;flex:1;min-width:0;font-size:16px;font-weight:600;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.handoff{flex:none;height:28px;padding:0 12px;border:1px solid currentColor;border-radius:14px;font-size:13px}
.close{flex:none;width:36px;height:36px;padding:8px;border-radius:50%}
.handoff:hover,.close:hover{background:rgba(127,127,127,.18)}
.log{display:block;flex:1;min-height:0;overflow-y:auto;overscroll-behavior:contain;padding:4px 12px 12px}
.time{display:block;margin:14px 0 6px;text-align:center;font-size:12px;color:#7a7a7a}
.sys{display:block;width:fit-content;max-width:88%;margin:10px auto;padding:4px 10px;border-radius:4px;background:#dcdcdc;color:#444;font-size:12px;text-align:center;white-space:pre-wrap;overflow-wrap:anywhere}
.sys.ticket{background:#fff3e0;color:#7a4a00}
.row{display:flex;align-items:flex-start;gap:8px;margin:10px 0}
.me{flex-direction:row-reverse}
.av{display:flex;flex:none;align-items:center;justify-content:center;width:34px;height:34px;border-radius:6px;font-size:14px;font-weight:600;background:var(--a);color:var(--at);user-select:none}
.me .av{background:#576b95;color:#fff}
.agent .av{background:#fa9d3b;color:#fff}
.agent .msg{background:#fff8ec}
.col{display:flex;flex-direction:column;align-items:flex-start;min-width:0;max-width:calc(100% - 84px)}
.me .col{align-items:flex-end}
.msg{display:block;position:relative;padding:8px 12px;border-radius:6px;background:#fff;color:#111;white-space:pre-wrap;overflow-wrap:anywhere;word-break:break-word}
.msg::before{content:"";position:absolute;top:12px;left:-5px;border:5px solid transparent;border-left:0;border-right-color:#fff}
.me .msg{background:var(--a);color:var(--at)}
.me .msg::before{left:auto;right:-5px;border:5px solid transparent;border-right:0;border-left-color:var(--a)}
.typing .msg{display:flex;gap:4px;align-items:center;height:37px}
.typing i{display:block;width:6px;height:6px;border-radius:50%;background:#a8a8a8;animation:kfdot 1.2s infinite}
.typing i:nth-child(2){animation-delay:.2s}.typing i:nth-child(3){animation-delay:.4s}
@keyframes kfdot{0%,60%,100%{opacity:.35;transform:none}30%{opacity:1;transform:translateY(-3px)}}
.note{display:block;margin-top:4px;font-size:12px;color:#7a7a7a}
.who{display:block;margin-bottom:2px;font-size:12px;color:#7a7a7a}
.note.escalated{color:#b35c00}
.src{display:block;width:100%;margin-top:4px;padding:4px 8px;border-radius:4px;background:rgba(255,255,255,.65);font-size:12px;color:#3d4f7a}
.src summary{display:list-item;cursor:pointer}
.src ol{display:block;list-style:none;padding:0;margin:2px 0 0}
.src li{display:block;margin:2px 0}
.src li summary{overflow-wrap:anywhere}
.src blockquote{display:block;margin:4px 0 6px;padding:6px 8px;border-left:3px solid #c8c8c8;background:#f7f7f7;color:#444;white-space:pre-wrap;overflow-wrap:anywhere}
.fb{display:flex;gap:6px;margin-top:4px}
.fb button{width:32px;height:24px;padding:5px 0;border:1px solid #d6d6d6;border-radius:12px;background:#f7f7f7;color:#7a7a7a}
.fb button:hover{color:#333}
.fb .down svg{transform:rotate(180deg)}
.fb button[aria-pressed=true]{border-color:var(--a);background:var(--a);color:var(--at);opacity:1}
.foot{display:block;flex:none;background:#f7f7f7;border-top:1px solid #dedede}
.chips{display:flex;flex-wrap:wrap;gap:6px;max-height:116px;overflow-y:auto;overscroll-behavior:contain;padding:8px 12px 0;scrollbar-width:thin}
.chip{display:block;flex:none;max-width:100%;height:28px;padding:0 10px;border:1px solid #d6d6d6;border-radius:14px;background:#fff;color:#333;font-size:13px;line-height:26px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.chip:hover{border-color:var(--a)}
.bar{display:flex;align-items:flex-end;gap:8px;padding:8px 12px 10px}
textarea{display:block;flex:1;min-width:0;height:38px;max-height:100px;padding:8px 10px;border:0;border-radius:6px;background:#fff;color:#111;font-size:15px;line-height:22px;resize:none;outline:none}
textarea::placeholder{color:#999}
.send{flex:none;height:38px;padding:0 16px;border-radius:6px;background:var(--a);color:var(--at);font-weight:600}
@media (max-width:479px){
.panel,.left .panel{top:var(--vt,0px);right:0;bottom:auto;left:0;width:auto;height:var(--vh,100%);max-width:none;max-height:none;border-radius:0}
.open .bubble{display:none}
textarea{font-size:16px}
}
@media (prefers-reduced-motion:reduce){.typing i{animation:none}.bubble{transition:none}}
`;

  // Properties a hostile page rule could set on the host, which lives in the light DOM.
  // Inline !important beats any author !important rule, so these always hold.
  const HOST_STYLE = {
    display: "block",
    position: "fixed",
    top: "0",
    left: "0",
    width: "0",
    height: "0",
    margin: "0",
    padding: "0",
    border: "0",
    overflow: "visible",
    "z-index": "2147483000",
    opacity: "1",
    visibility: "visible",
    transform: "none",
    filter: "none",
    contain: "none",
    "clip-path": "none",
    "pointer-events": "auto",
    "container-type": "normal",
    "content-visibility": "visible",
    color: "#111",
  };

  const BADGES = { clarify: "需要您补充信息", refused: "超出服务范围", escalated: "已转人工" };
  const pad = (n) => String(n).padStart(2, "0");
  function fmtTime(ts) {
    const d = new Date(ts);
    const now = new Date();
    const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
    if (d.toDateString() === now.toDateString()) return hm;
    const y = new Date(now);
    y.setDate(now.getDate() - 1);
    if (d.toDateString() === y.toDateString()) return `昨天 ${hm}`;
    const year = d.getFullYear() === now.getFullYear() ? "" : `${d.getFullYear()}年`;
    return `${year}${d.getMonth() + 1}月${d.getDate()}日 ${hm}`;
  }

  let ui = null; // the mounted elements
  let isOpen = false;
  let wantOpen = false; // open() called before the page body existed
  let busy = false;
  let lastTs = 0;
  let pinned = true; // the log is scrolled to its newest message

  function mount() {
    const host = el("div", null, null, { id: "kefu-widget", "data-version": VERSION });
    for (const k in HOST_STYLE) host.style.setProperty(k, HOST_STYLE[k], "important");
    const root = host.attachShadow({ mode: "open" });
    root.appendChild(el("style", null, CSS_TEXT));

    const wrap = el("div", `kf ${LEFT ? "left" : "right"}`);
    wrap.style.setProperty("--a", accent.css);
    wrap.style.setProperty("--at", onAccent);
    if (OFFSET) wrap.style.setProperty("--off", `${OFFSET}px`);

    const bubble = el("button", "bubble", null, {
      type: "button",
      "aria-label": `打开${TITLE}`,
      "aria-expanded": "false",
      "aria-controls": "kf-panel",
    });
    bubble.appendChild(icon(CHAT_ICON));
    const dot = el("span", "dot", null, { hidden: "" });
    bubble.appendChild(dot);

    const panel = el("div", "panel", null, {
      id: "kf-panel",
      role: "dialog",
      "aria-label": TITLE,
      hidden: "",
    });
    const head = el("div", "head");
    const handoff = el("button", "handoff", "转人工", {
      type: "button",
      "aria-label": "转人工客服",
    });
    const close = el("button", "close", null, { type: "button", "aria-label": "关闭" });
    close.appendChild(icon(CLOSE_ICON));
    head.append(el("span", "title", TITLE, { title: TITLE }), handoff, close);

    const log = el("div", "log", null, {
      role: "log",
      "aria-live": "polite",
      "aria-label": "聊天记录",
      tabindex: "0",
    });

    const foot = el("div", "foot");
    const chips = el("div", "chips", null, { role: "group", "aria-label": "常见问题" });
    for (const q of CHIPS) {
      const c = el("button", "chip", q, { type: "button", title: q }); // title: if cut short
      c.addEventListener("click", () => ask(q));
      chips.appendChild(c);
    }
    if (!CHIPS.length) chips.hidden = true;
    const bar = el("div", "bar");
    const input = el("textarea", null, null, {
      rows: "1",
      "aria-label": "输入您的问题",
      placeholder: "请输入您的问题…",
      maxlength: "1000",
      enterkeyhint: "send",
    });
    const send = el("button", "send", "发送", { type: "button", "aria-label": "发送" });
    bar.append(input, send);
    foot.append(chips, bar);
    panel.append(head, log, foot);
    wrap.append(bubble, panel);
    root.appendChild(wrap);
    document.body.appendChild(host);

    ui = { host, root, wrap, bubble, dot, panel, log, input, send, chips, handoff };

    bubble.addEventListener("click", () => (isOpen ? closePanel() : openPanel(true)));
    close.addEventListener("click", () => closePanel());
    handoff.addEventListener("click", requestHandoff);
    send.addEventListener("click", () => ask(input.value, true));
    input.addEventListener("keydown", (e) => {
      // Enter while an IME is composing picks a candidate; it must not send.
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
        e.preventDefault();
        ask(input.value, true);
      }
    });
    input.addEventListener("input", fitInput);
    log.addEventListener("scroll", () => (pinned = atBottom()), { passive: true });
    // The log shrinks when a phone keyboard opens, the window is resized or the input grows:
    // one that showed the newest message keeps showing it.
    if (window.ResizeObserver) new ResizeObserver(() => pinned && scrollDown()).observe(log);
    const vv = window.visualViewport;
    for (const target of vv ? [window, vv] : [window]) target.addEventListener("resize", onResize);
    if (vv) vv.addEventListener("scroll", fitViewport);
    fitViewport();
    wrap.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && isOpen && !e.isComposing) {
        e.stopPropagation();
        closePanel();
      }
    });

    const first = state.msgs[0];
    addGreeting(first ? first.ts : Date.now());
    for (const m of state.msgs) render(m);
    if (ds.open === "true" || wantOpen) openPanel(wantOpen);
    if (state.handed) listen();
  }

  function fitInput() {
    const t = ui.input;
    t.style.height = "auto";
    t.style.height = `${Math.min(t.scrollHeight, 100)}px`;
  }

  function openPanel(focus) {
    if (!ui) return void (wantOpen = true);
    isOpen = true;
    ui.panel.hidden = false;
    ui.wrap.classList.add("open");
    ui.bubble.setAttribute("aria-expanded", "true");
    ui.bubble.setAttribute("aria-label", `关闭${TITLE}`);
    ui.dot.hidden = true;
    scrollDown();
    if (focus) ui.input.focus();
  }

  function closePanel() {
    if (!ui) return void (wantOpen = false);
    const hadFocus = !!ui.root.activeElement;
    isOpen = false;
    ui.panel.hidden = true;
    ui.wrap.classList.remove("open");
    ui.bubble.setAttribute("aria-expanded", "false");
    ui.bubble.setAttribute("aria-label", `打开${TITLE}`);
    if (hadFocus) ui.bubble.focus();
  }

  function scrollDown() {
    ui.log.scrollTop = ui.log.scrollHeight;
    pinned = true;
  }

  const atBottom = () => {
    const l = ui.log;
    return l.scrollHeight - l.scrollTop - l.clientHeight < 24;
  };

  // Phone keyboards shrink only the visual viewport in most browsers, leaving the lower part
  // of a full-screen panel (the input) under the keyboard: fit the panel to what is visible.
  // Not while pinch-zoomed, when the visible part is a magnified piece of the page.
  const FULL_SCREEN = window.matchMedia && matchMedia("(max-width:479px)");
  function fitViewport() {
    const vv = window.visualViewport;
    const s = ui.wrap.style;
    if (vv && FULL_SCREEN && FULL_SCREEN.matches && Math.abs(vv.scale - 1) < 0.01) {
      s.setProperty("--vh", `${vv.height}px`);
      s.setProperty("--vt", `${vv.offsetTop}px`);
    } else {
      s.removeProperty("--vh");
      s.removeProperty("--vt");
    }
  }

  function onResize() {
    const keep = pinned;
    fitViewport();
    if (keep && isOpen) scrollDown(); // without ResizeObserver, or before it runs
  }

  function timeMark(ts) {
    if (!lastTs || ts - lastTs > GAP_MS) ui.log.appendChild(el("div", "time", fmtTime(ts)));
    lastTs = ts;
  }

  function row(who) {
    const r = el("div", `row ${who}`);
    const col = el("div", "col");
    const face = { me: "我", agent: "人" }[who] || "客";
    r.append(el("div", "av", face, { "aria-hidden": "true" }), col);
    ui.log.appendChild(r);
    return { r, col };
  }

  function addGreeting(ts) {
    timeMark(ts);
    row("bot").col.appendChild(el("div", "msg", GREETING));
  }

  // One persisted message -> DOM. Kinds: me (question), bot (answer), sys (system note).
  function render(m) {
    const ts = Number(m.ts) || Date.now();
    if (m.r === "sys") {
      ui.log.appendChild(el("div", m.k ? "sys ticket" : "sys", m.t, { role: "status" }));
      return scrollDown();
    }
    timeMark(ts);
    const { col } = row(m.r === "me" || m.r === "agent" ? m.r : "bot");
    if (m.r === "agent") col.appendChild(el("div", "who", "人工客服"));
    const msg = el("div", "msg", m.t);
    col.appendChild(msg);
    if (m.r === "bot") decorate(m, col);
    scrollDown();
    return msg;
  }

  // Sources, outcome note and feedback under an answer.
  function decorate(m, col) {
    const cites = Array.isArray(m.c) ? m.c : [];
    if (cites.length) {
      const box = el("details", "src");
      box.appendChild(el("summary", null, `参考来源(${cites.length})`));
      const ol = el("ol");
      cites.forEach((c, i) => {
        const item = el("details");
        // The articles' titles when the server names them, else the comma-joined seed files.
        const source =
          String(c.source_title || "") ||
          String(c.source || "").split(",").filter(Boolean).join("、");
        const label = [String(c.title || ""), source].filter(Boolean).join(" · ");
        item.appendChild(el("summary", null, `[${i + 1}] ${label}`));
        item.appendChild(el("blockquote", null, String(c.text || "(无摘录)")));
        ol.appendChild(el("li")).appendChild(item);
      });
      box.appendChild(ol);
      col.appendChild(box);
    }
    const badge = BADGES[m.o];
    if (badge) {
      const text = m.k ? `${badge} · 工单号 ${m.k}` : badge;
      col.appendChild(el("div", `note ${m.o}`, text));
    }
    if (m.id) {
      const fb = el("div", "fb", null, { role: "group", "aria-label": "这条回答有帮助吗?" });
      const buttons = [
        ["up", "有帮助"],
        ["down", "没帮助"],
      ].map(([rating, label]) => {
        // Icons, not emoji: not every system has an emoji font.
        const b = el("button", rating, null, {
          type: "button",
          "aria-label": label,
          "aria-pressed": String(m.f === rating),
        });
        b.appendChild(icon(THUMB_ICON));
        b.addEventListener("click", () => rate(m, rating, buttons));
        return b;
      });
      fb.append(...buttons);
      col.appendChild(fb);
    }
  }

  async function rate(m, rating, buttons) {
    if (m.f === rating) return;
    buttons.forEach((b) => (b.disabled = true));
    const res = await post("/api/feedback", { session_id: state.sid, turn_id: m.id, rating });
    buttons.forEach((b) => (b.disabled = false));
    if (res.ok) {
      m.f = rating;
      save();
      buttons[0].setAttribute("aria-pressed", String(rating === "up"));
      buttons[1].setAttribute("aria-pressed", String(rating === "down"));
      note("感谢您的反馈!");
    } else {
      note(errorText(res.status, res.data));
    }
  }

  // A system note; kept in the history only when it matters later (a ticket id).
  function note(text, ticket) {
    const m = { r: "sys", t: text, ts: Date.now() };
    if (ticket) {
      m.k = ticket;
      state.msgs.push(m);
      save();
    }
    render(m);
  }

  function add(m) {
    state.msgs.push(m);
    save();
    if ((m.r === "bot" || m.r === "agent") && !isOpen) ui.dot.hidden = false;
    return render(m);
  }

  function setBusy(on) {
    busy = on;
    ui.send.disabled = on;
    ui.log.setAttribute("aria-busy", String(on));
    for (const c of ui.chips.children) c.disabled = on;
  }

  function showTyping() {
    const { r, col } = row("bot");
    r.classList.add("typing");
    const msg = el("div", "msg", null, { role: "img", "aria-label": "正在输入" });
    msg.append(el("i"), el("i"), el("i"));
    col.appendChild(msg);
    scrollDown();
    return r;
  }

  function fromReply(reply) {
    const cites = Array.isArray(reply.citations) ? reply.citations : [];
    const m = {
      r: "bot",
      t: String(reply.answer || ""),
      ts: Date.now(),
      o: String(reply.outcome || ""),
      c: cites.map((c) => ({
        title: String((c && c.title) || ""),
        source: String((c && c.source) || ""),
        source_title: String((c && c.source_title) || ""),
        text: String((c && c.text) || ""),
      })),
    };
    if (reply.turn_id) m.id = String(reply.turn_id);
    if (reply.ticket_id) m.k = String(reply.ticket_id);
    return m;
  }

  async function ask(text, fromInput) {
    const q = String(text || "").trim();
    if (!q || busy || !ui) return;
    if (!isOpen) openPanel(false);
    if (fromInput) {
      ui.input.value = "";
      fitInput();
    }
    setBusy(true);
    add({ r: "me", t: q, ts: Date.now() });
    const body = withBrand({ question: q, session_id: state.sid });
    let typing = showTyping();
    let live = null; // the streamed answer's bubble
    let streamed = "";
    let out = await stream(body, (delta) => {
      if (!live) {
        typing.remove();
        typing = null;
        timeMark(Date.now());
        live = row("bot");
        live.msg = live.col.appendChild(el("div", "msg"));
      }
      streamed += delta;
      live.msg.textContent = streamed;
      scrollDown();
    });
    if (out === FALLBACK) {
      const res = await post("/api/chat", body);
      out =
        res.ok && res.data && typeof res.data.answer === "string"
          ? { reply: res.data }
          : { error: errorText(res.status, res.data) };
    }
    if (typing) typing.remove();
    if (out.reply) {
      const m = fromReply(out.reply);
      if (m.k) listen();
      if (!m.t && !live) {
        // A person holds the conversation and has been told: the message reached them.
      } else if (live) {
        // Swap the streamed text for the final answer, which may have been edited by guards.
        state.msgs.push(m);
        save();
        live.msg.textContent = m.t;
        decorate(m, live.col);
        if (!isOpen) ui.dot.hidden = false;
        scrollDown();
      } else {
        add(m);
      }
    } else {
      if (live && streamed) {
        state.msgs.push({ r: "bot", t: streamed, ts: Date.now() });
        save();
      }
      note(out.error || "连接中断,回答可能不完整,请重试。");
    }
    setBusy(false);
  }

  async function requestHandoff() {
    if (!ui || ui.handoff.disabled) return;
    ui.handoff.disabled = true;
    const res = await post("/api/tickets", withBrand({ session_id: state.sid }));
    ui.handoff.disabled = false;
    const d = res.data || {};
    if (res.ok && d.ticket_id) {
      const id = String(d.ticket_id);
      const msg = String(d.message || "已为您转接人工客服,客服人员会尽快联系您。");
      note(msg.includes(id) ? msg : `${msg} 工单号:${id}`, id);
      listen();
    } else {
      note(errorText(res.status, res.data));
    }
  }

  // -- a person's replies ------------------------------------------------------------------
  // Once the conversation has a ticket, long-poll /api/messages for what an agent writes (and
  // "客服已接入" notices). The customer's own messages and the bot's replies are already on
  // screen, so only agent and notice messages are shown; `state.last` survives reloads, so
  // nothing is shown twice and nothing written while the page was closed is missed.
  const QUIET_MS = 30 * 60 * 1000; // stop listening after this long with no person around
  let listening = false;
  async function listen() {
    if (!state.handed) {
      state.handed = true;
      save();
    }
    if (listening) return;
    listening = true;
    let quietSince = Date.now();
    while (state.handed) {
      let res = null;
      let data = null;
      try {
        const q = `session_id=${encodeURIComponent(state.sid)}&after=${state.last}&wait=25`;
        res = await fetch(`${API}/api/messages?${q}`, { cache: "no-store", credentials: "omit" });
        data = await res.json().catch(() => null);
      } catch (e) {
        res = null; // dropped (network, sleep): try again shortly, from the same id
      }
      if (!res || !res.ok || !data || !Array.isArray(data.messages)) {
        if (res && res.status === 404) break; // no such endpoint on this server
        const wait = Number(res && res.headers.get("Retry-After")) * 1000 || 3000;
        await new Promise((r) => setTimeout(r, Math.min(wait, 60000)));
        continue;
      }
      for (const m of data.messages) {
        const id = Number(m.id) || 0;
        if (id <= state.last) continue;
        state.last = id;
        const ts = Date.parse(m.created_at) || Date.now();
        if (m.role === "agent") add({ r: "agent", t: String(m.text || ""), ts });
        else if (m.role === "notice") {
          state.msgs.push({ r: "sys", t: String(m.text || ""), ts });
          render(state.msgs[state.msgs.length - 1]);
        }
      }
      save();
      if (data.held || data.messages.some((m) => m.role === "agent")) quietSince = Date.now();
      else if (Date.now() - quietSince > QUIET_MS) {
        state.handed = false; // the ticket is in the queue; the next escalation listens again
        save();
      }
    }
    listening = false;
  }

  window.KefuWidget = Object.freeze({
    version: VERSION,
    open: () => openPanel(true),
    close: () => closePanel(),
  });

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount, { once: true });
})();
