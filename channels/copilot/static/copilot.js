// The 120 agent copilot page: the live list, a transcript, suggestions with sources, feedback and
// takeover messages. Vanilla JS, no inline script (CSP default-src 'self'); text goes in with
// textContent only, never as HTML.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const pollMs = Number(document.body.dataset.pollMs) || 2000;

  const SVG = "http://www.w3.org/2000/svg";
  // Outline icons (24×24, stroked): emoji are not on every agent's PC, and fonts fall back to boxes.
  const CHANNEL_ICONS = {
    web: ["M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18zM3 12h18M12 3c3 3.4 3 14.6 0 18M12 3c-3 3.4-3 14.6 0 18"],
    api: ["M8 7l-5 5 5 5M16 7l5 5-5 5"],
    rasa: ["M8 7l-5 5 5 5M16 7l5 5-5 5"],
    kakao: ["M12 4c-5 0-9 3.1-9 7 0 2.5 1.7 4.7 4.2 5.9L6.5 20l4-2.2c.5.1 1 .1 1.5.1 5 0 9-3.1 9-7s-4-7-9-7z"],
    phone: [
      "M6 3h3l2 5-2.3 1.4a11 11 0 0 0 5.9 5.9L16 13l5 2v3a2 2 0 0 1-2 2A16 16 0 0 1 4 5a2 2 0 0 1 2-2z",
    ],
    checkin: ["M12 20s-7.5-4.4-7.5-10A4 4 0 0 1 12 7.4 4 4 0 0 1 19.5 10c0 5.6-7.5 10-7.5 10z"],
  };
  const ERRORS = {
    conversation_closed: "대화가 이미 끝나서 보낼 수 없어요.",
    not_deliverable: "전화 상담에는 글을 보낼 수 없어요. 통화를 상담 전화로 연결해 주세요.",
    not_found: "대화를 찾을 수 없어요. 목록을 확인해 주세요.",
    conflict: "대화가 방금 바뀌었어요. 다시 시도해 주세요.",
    cross_origin: "요청이 거부됐어요. 페이지를 새로 고쳐 주세요.",
    upstream_unavailable: "지금은 처리할 수 없어요. 잠시 후 다시 시도해 주세요.",
    storage_unavailable: "대화 저장소에 연결할 수 없어요. 잠시 후 다시 시도해 주세요.",
    invalid_request: "요청 내용을 확인해 주세요.",
    network: "서버에 연결할 수 없어요. 네트워크를 확인해 주세요.",
  };
  const FALLBACK_ERROR = "문제가 생겼어요. 다시 시도해 주세요.";

  const state = {
    conversations: [],
    selected: null, // conversation id
    version: -1, // transcript version shown
    suggestion: null, // {assist_seq, text, citations}
    messageId: null, // id of the message being sent (kept until it succeeds, so a retry is idempotent)
    listTimer: 0,
    detailTimer: 0,
  };

  class ApiError extends Error {
    constructor(code, status) {
      super(code);
      this.code = code;
      this.status = status;
    }
  }

  function messageFor(error) {
    return (error && ERRORS[error.code]) || FALLBACK_ERROR;
  }

  function newId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  async function api(path, body) {
    const init = { method: "GET", credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      init.method = "POST";
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (_) {
      throw new ApiError("network", 0);
    }
    if (response.status === 401) {
      window.location.assign("/login?next=%2Fcopilot");
      throw new ApiError("unauthorized", 401);
    }
    let data = null;
    try {
      data = await response.json();
    } catch (_) {
      data = null;
    }
    if (!response.ok) {
      const code = data && data.error && data.error.code ? data.error.code : String(response.status);
      throw new ApiError(code, response.status);
    }
    return data;
  }

  function conversationPath(id, suffix) {
    return "/v1/agent/conversations/" + encodeURIComponent(id) + (suffix || "");
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function clock(iso) {
    const when = new Date(iso);
    if (Number.isNaN(when.getTime())) return "";
    return when.toLocaleTimeString("ko-KR", { hour: "2-digit", minute: "2-digit" });
  }

  function safeUrl(url) {
    try {
      const parsed = new URL(url, window.location.href);
      return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
    } catch (_) {
      return null;
    }
  }

  function channelIcon(channel) {
    const chip = el("span", "channel-icon channel-" + channel);
    chip.setAttribute("aria-hidden", "true");
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "16");
    svg.setAttribute("height", "16");
    svg.setAttribute("focusable", "false");
    for (const d of CHANNEL_ICONS[channel] || CHANNEL_ICONS.web) {
      const path = document.createElementNS(SVG, "path");
      path.setAttribute("d", d);
      path.setAttribute("fill", "none");
      path.setAttribute("stroke", "currentColor");
      path.setAttribute("stroke-width", "1.8");
      path.setAttribute("stroke-linejoin", "round");
      path.setAttribute("stroke-linecap", "round");
      svg.append(path);
    }
    chip.append(svg);
    return chip;
  }

  // -- the live list -----------------------------------------------------------------------------

  function sortedConversations() {
    return [...state.conversations].sort(
      (a, b) => Number(b.needs_human) - Number(a.needs_human) || Date.parse(b.updated_at) - Date.parse(a.updated_at),
    );
  }

  function listItem(item) {
    const li = el("li");
    const button = el("button", "conversation" + (item.needs_human ? " needs-human" : ""));
    button.type = "button";
    button.dataset.id = item.id;
    if (item.id === state.selected) button.setAttribute("aria-current", "true");
    const top = el("span", "conversation-top");
    const icon = channelIcon(item.channel);
    top.append(icon, el("span", "conversation-label", item.label));
    top.append(el("span", "badge status-" + item.status, item.status_label));
    const time = el("time", "conversation-time", clock(item.updated_at));
    time.dateTime = item.updated_at;
    top.append(time);
    button.append(top, el("span", "preview", item.last_text || "(메시지 없음)"));
    button.addEventListener("click", () => select(item.id));
    li.append(button);
    return li;
  }

  function renderList() {
    const list = $("conversation-list");
    const focused = document.activeElement && document.activeElement.dataset
      ? document.activeElement.dataset.id
      : undefined;
    const items = sortedConversations();
    list.replaceChildren(...items.map(listItem));
    if (focused) {
      const again = list.querySelector(`button[data-id="${CSS.escape(focused)}"]`);
      if (again) again.focus();
    }
    const waiting = items.filter((c) => c.needs_human).length;
    $("list-count").textContent = waiting ? `${items.length}건 · 연결 대기 ${waiting}` : `${items.length}건`;
    $("list-status").textContent = items.length ? "" : "진행 중인 대화가 없어요.";
    document.title = (waiting ? `(${waiting}) ` : "") + "상담 도우미 · 다산 120";
  }

  async function pollList() {
    window.clearTimeout(state.listTimer);
    try {
      const data = await api("/v1/agent/conversations");
      state.conversations = data.conversations;
      renderList();
    } catch (error) {
      if (error.status === 401) return;
      $("list-status").textContent = messageFor(error);
    }
    state.listTimer = window.setTimeout(pollList, pollMs);
  }

  $("conversation-list").addEventListener("keydown", (event) => {
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    const buttons = Array.from($("conversation-list").querySelectorAll("button.conversation"));
    const at = buttons.indexOf(document.activeElement);
    if (at < 0) return;
    event.preventDefault();
    const next = buttons[Math.min(buttons.length - 1, Math.max(0, at + (event.key === "ArrowDown" ? 1 : -1)))];
    next.focus();
  });

  // -- the transcript ----------------------------------------------------------------------------

  function sources(citations, className) {
    const list = el("ol", className);
    for (const citation of citations || []) {
      const li = el("li");
      li.append(el("span", "source-n", `[${citation.n}]`));
      const href = citation.url ? safeUrl(citation.url) : null;
      if (href) {
        const link = el("a", "source-link", citation.title || citation.source);
        link.href = href;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        li.append(link);
      } else {
        li.append(el("span", "source-title", citation.title || citation.source));
      }
      const where = href ? new URL(href).hostname : citation.source;
      if (where) li.append(el("span", "source-name", where));
      list.append(li);
    }
    return list;
  }

  function bubble(kind, who, event) {
    const li = el("li", "message " + kind);
    const meta = el("div", "meta");
    meta.append(el("span", "who", who));
    const time = el("time", "at", clock(event.at));
    time.dateTime = event.at;
    meta.append(time);
    li.append(meta, el("p", "text", event.payload.text || ""));
    return li;
  }

  function note(kind, title, body) {
    const li = el("li", "note " + kind);
    li.append(el("strong", "note-title", title));
    if (body) li.append(el("p", "note-body", body));
    return li;
  }

  function transcriptItem(event) {
    const p = event.payload || {};
    switch (event.kind) {
      case "user_turn":
        return bubble("citizen", "시민", event);
      case "bot_reply": {
        const li = bubble("bot", "챗봇", event);
        if (p.citations && p.citations.length) li.append(sources(p.citations, "message-sources"));
        return li;
      }
      case "agent_message":
        return bubble("agent", p.agent_id ? `상담원 ${p.agent_id}` : "상담원", event);
      case "handoff":
        return note("handoff", "상담원 연결 요청", p.summary || "");
      case "flag":
        return note("flag", `⚠ 안전 알림: ${p.label || "확인 필요"}`, p.matched ? `감지된 말: ${p.matched}` : "");
      case "resume":
        return note("system", "시민이 챗봇 응대로 돌아갔어요.");
      case "call_started":
        return note("system", p.direction === "outbound" ? "발신 통화 시작" : "통화 시작");
      case "call_ended":
        return note("system", "통화 종료");
      case "flow":
        return note("system", `신청 진행: ${p.flow_id || ""} (${p.status || ""})`);
      default:
        return null; // assist requests and replies show in the suggestion panel; feedback nowhere
    }
  }

  function latestSuggestion(events) {
    let lastUser = 0;
    for (const e of events) if (e.kind === "user_turn") lastUser = e.seq;
    for (let i = events.length - 1; i >= 0; i -= 1) {
      const reply = events[i];
      if (reply.kind !== "assist_reply" || reply.seq < lastUser) continue;
      const request = events.find((e) => e.kind === "assist_request" && e.message_id === reply.payload.in_reply_to);
      if (request) {
        return { assist_seq: request.seq, text: reply.payload.text || "", citations: reply.payload.citations || [] };
      }
    }
    return null;
  }

  function renderTranscript(data) {
    const list = $("transcript");
    const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    list.replaceChildren(...data.events.map(transcriptItem).filter(Boolean));
    if (nearBottom || state.version < 0) list.scrollTop = list.scrollHeight;
    $("detail-title").textContent = data.label;
    const badge = $("detail-status");
    badge.textContent = data.status_label;
    badge.className = "badge status-" + data.status;
    badge.hidden = false;
    const closed = data.status === "closed";
    $("compose-text").disabled = closed;
    $("compose-send").disabled = closed;
    if (closed) $("compose-status").textContent = "끝난 대화예요. 메시지를 보낼 수 없어요.";
    if (state.suggestion === null) {
      const earlier = latestSuggestion(data.events);
      if (earlier) showSuggestion(earlier);
    }
  }

  async function pollDetail() {
    window.clearTimeout(state.detailTimer);
    const id = state.selected;
    if (!id) return;
    try {
      const data = await api(conversationPath(id));
      if (id !== state.selected) return;
      if (data.version !== state.version) {
        renderTranscript(data);
        state.version = data.version;
      }
    } catch (error) {
      if (error.status === 401 || id !== state.selected) return;
      $("assist-status").textContent = messageFor(error);
    }
    state.detailTimer = window.setTimeout(pollDetail, pollMs);
  }

  function select(id) {
    if (id !== state.selected) {
      state.selected = id;
      state.version = -1;
      state.messageId = null;
      clearSuggestion();
      $("transcript").replaceChildren();
      $("compose-status").textContent = "";
      $("compose-text").value = "";
    }
    $("detail-empty").hidden = true;
    $("detail-body").hidden = false;
    document.body.classList.add("show-detail");
    for (const button of $("conversation-list").querySelectorAll("button.conversation")) {
      if (button.dataset.id === id) button.setAttribute("aria-current", "true");
      else button.removeAttribute("aria-current");
    }
    pollDetail();
  }

  $("back").addEventListener("click", () => {
    document.body.classList.remove("show-detail");
    const current = $("conversation-list").querySelector('button[aria-current="true"]');
    if (current) current.focus();
  });

  // -- suggestions and feedback ------------------------------------------------------------------

  function clearSuggestion() {
    state.suggestion = null;
    $("assist-result").hidden = true;
    $("assist-hint").hidden = false;
    $("assist-status").textContent = "";
    $("feedback-comment").value = "";
    setPressed(null);
  }

  function showSuggestion(suggestion) {
    state.suggestion = suggestion;
    $("assist-text").textContent = suggestion.text;
    const list = sources(suggestion.citations, "sources");
    list.id = "assist-sources";
    list.setAttribute("aria-labelledby", "sources-title");
    $("assist-sources").replaceWith(list);
    $("sources-title").hidden = !suggestion.citations.length;
    $("assist-result").hidden = false;
    $("assist-hint").hidden = true;
    setPressed(null);
  }

  function setPressed(rating) {
    $("feedback-up").setAttribute("aria-pressed", String(rating === "up"));
    $("feedback-down").setAttribute("aria-pressed", String(rating === "down"));
  }

  $("assist-request").addEventListener("click", async () => {
    const id = state.selected;
    if (!id) return;
    const button = $("assist-request");
    button.disabled = true;
    $("assist-status").textContent = "추천 답변을 찾고 있어요…";
    try {
      const data = await api(conversationPath(id, "/assist"), { message_id: newId() });
      if (id !== state.selected) return;
      showSuggestion(data);
      $("assist-status").textContent = data.citations.length
        ? "추천 답변이 준비됐어요."
        : "근거 자료를 찾지 못했어요. 직접 확인해 주세요.";
    } catch (error) {
      if (id === state.selected) $("assist-status").textContent = messageFor(error);
    } finally {
      button.disabled = false;
    }
  });

  $("assist-insert").addEventListener("click", () => {
    if (!state.suggestion) return;
    const box = $("compose-text");
    box.value = state.suggestion.text.replace(/\s?\[\d+\]/g, "").trim();
    box.focus();
    box.setSelectionRange(box.value.length, box.value.length);
    $("compose-status").textContent = "추천 답변을 입력창에 넣었어요. 확인하고 보내 주세요.";
  });

  async function sendFeedback(rating) {
    const id = state.selected;
    const suggestion = state.suggestion;
    if (!id || !suggestion) return;
    const comment = $("feedback-comment").value.trim();
    const body = { assist_seq: suggestion.assist_seq, rating };
    if (comment) body.comment = comment;
    try {
      await api(conversationPath(id, "/feedback"), body);
      setPressed(rating);
      $("assist-status").textContent = "평가를 보냈어요. 고마워요.";
    } catch (error) {
      $("assist-status").textContent = messageFor(error);
    }
  }

  $("feedback-up").addEventListener("click", () => sendFeedback("up"));
  $("feedback-down").addEventListener("click", () => sendFeedback("down"));

  // -- takeover messages -------------------------------------------------------------------------

  async function send() {
    const id = state.selected;
    const box = $("compose-text");
    const text = box.value.trim();
    if (!id) return;
    if (!text) {
      $("compose-status").textContent = "보낼 메시지를 입력해 주세요.";
      box.focus();
      return;
    }
    state.messageId = state.messageId || newId();
    $("compose-send").disabled = true;
    $("compose-status").textContent = "보내는 중…";
    try {
      await api(conversationPath(id, "/messages"), { text, message_id: state.messageId });
      state.messageId = null;
      if (id === state.selected) {
        box.value = "";
        $("compose-status").textContent = "보냈어요. 이 대화는 상담원이 응대하고 있어요.";
        pollDetail();
      }
    } catch (error) {
      $("compose-status").textContent = messageFor(error);
    } finally {
      $("compose-send").disabled = false;
    }
  }

  $("compose").addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  $("compose-text").addEventListener("input", () => {
    state.messageId = null; // edited text is a new message
  });
  $("compose-text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      send();
    }
  });

  pollList();
})();
