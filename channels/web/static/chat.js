// The citizen chat page: sends turns (streamed, with a plain fallback), polls for agents' messages,
// keeps the conversation for this tab, and handles the large-text and new-conversation controls.

import { ChatError, fetchMessages, isAbort, newMessageId, newSessionId, sendTurn } from "./api.js";
import { clearState, emptyState, loadState, saveState } from "./store.js";
import { ConversationView, bannerText } from "./view.js";

const ERRORS = {
  network: "인터넷 연결이 불안정해 메시지를 보내지 못했어요. 연결을 확인한 뒤 다시 시도해 주세요.",
  server: "죄송해요. 지금은 답변을 드리지 못했어요. 잠시 후 다시 시도해 주세요.",
  invalid: "메시지를 보낼 수 없었어요. 내용을 조금 줄이거나 고쳐서 다시 보내 주세요.",
};
const LARGE_TEXT_KEY = "dasan.largeText";
const HIDDEN_SLOWDOWN = 5;

class ChatPage {
  constructor() {
    const app = document.getElementById("app");
    this.pollMs = Number(app.dataset.pollMs) || 2000;
    this.fastPollMs = Number(app.dataset.fastPollMs) || 1000;
    this.chat = document.getElementById("chat");
    this.form = document.getElementById("composer");
    this.input = document.getElementById("message-input");
    this.sendButton = document.getElementById("send");
    this.banner = document.getElementById("status-banner");
    this.largeText = document.getElementById("large-text");
    this.newChat = document.getElementById("new-chat");
    const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");
    this.view = new ConversationView(document.getElementById("log"), this.chat, reducedMotion);
    this.state = loadState();
    this.pending = new Set();
    this.busy = false;
    this.controller = null;
    this.timer = null;
    this.polling = false;
    this.lost = false;
    this.generation = 0;
  }

  start() {
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (this.submit(this.input.value)) {
        this.input.value = "";
        this.fitInput();
      }
    });
    this.input.addEventListener("keydown", (event) => {
      const composing = event.isComposing || event.keyCode === 229;
      if (event.key === "Enter" && !event.shiftKey && !composing) {
        event.preventDefault();
        this.form.requestSubmit();
      }
    });
    this.input.addEventListener("input", () => this.fitInput());
    for (const example of document.querySelectorAll(".example")) {
      example.addEventListener("click", () => this.ask(example.dataset.question || example.textContent));
    }
    this.largeText.addEventListener("click", () => this.toggleLargeText());
    this.newChat.addEventListener("click", () => this.reset());
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden) {
        this.schedulePoll(0);
      }
    });
    this.largeText.setAttribute("aria-pressed", String(document.documentElement.classList.contains("large-text")));
    this.restore();
    this.schedulePoll(0);
  }

  restore() {
    const items = this.state.items;
    items.forEach((item, index) => {
      const latest = index === items.length - 1 && item.role === "assistant";
      this.view.message(item, { onQuickReply: latest ? (label) => this.ask(label) : undefined });
    });
    this.showStatus(this.state.status);
  }

  // A question from a button (example or quick reply): sent as typed, focus back on the input.
  ask(text) {
    this.submit(text);
    this.input.focus();
  }

  submit(text) {
    const clean = String(text || "").trim();
    if (!clean || this.busy) {
      return false;
    }
    if (!this.state.sessionId) {
      this.state.sessionId = newSessionId();
    }
    this.view.dropQuickReplies();
    this.view.dropErrors();
    const item = { role: "user", text: clean };
    this.view.message(item);
    this.record(item);
    this.deliver(clean, newMessageId());
    return true;
  }

  async deliver(text, messageId) {
    const generation = this.generation;
    const sessionId = this.state.sessionId;
    this.setBusy(true);
    this.pending.add(messageId);
    this.controller = new AbortController();
    const bubble = this.view.pending();
    try {
      const result = await sendTurn(
        { session_id: sessionId, text, message_id: messageId },
        { onDelta: (piece) => bubble.append(piece), signal: this.controller.signal },
      );
      if (generation !== this.generation) {
        return;
      }
      const reply = result.reply;
      const item = {
        role: "assistant",
        text: reply.text,
        citations: reply.citations || [],
        quick_replies: reply.quick_replies || [],
      };
      this.state.answered.push(messageId);
      bubble.finish(item, (label) => this.ask(label));
      this.record(item);
      if (reply.action === "handoff" && this.state.status === "bot") {
        this.setStatus("handoff");
      }
      this.lost = false;
      this.schedulePoll(0);
    } catch (error) {
      if (generation !== this.generation) {
        return;
      }
      bubble.remove();
      if (!isAbort(error)) {
        const kind = error instanceof ChatError ? error.kind : "server";
        this.view.error(ERRORS[kind] || ERRORS.server, () => this.retry(text, messageId));
      }
    } finally {
      this.pending.delete(messageId);
      if (generation === this.generation) {
        this.controller = null;
        this.setBusy(false);
      }
    }
  }

  retry(text, messageId) {
    if (!this.busy) {
      this.deliver(text, messageId);
    }
    this.input.focus();
  }

  schedulePoll(delay) {
    window.clearTimeout(this.timer);
    if (!this.state.sessionId || (this.state.answered.length === 0 && this.state.cursor === 0)) {
      return;
    }
    const fast = this.state.status === "handoff" || this.state.status === "agent";
    let wait = delay ?? (fast ? this.fastPollMs : this.pollMs);
    if (delay === undefined && (document.hidden || this.lost)) {
      wait *= HIDDEN_SLOWDOWN;
    }
    this.timer = window.setTimeout(() => this.poll(), wait);
  }

  async poll() {
    if (this.polling || !this.state.sessionId) {
      return;
    }
    this.polling = true;
    const generation = this.generation;
    try {
      const body = await fetchMessages(this.state.sessionId, this.state.cursor);
      if (generation === this.generation) {
        this.lost = false;
        this.apply(body);
      }
    } catch (error) {
      // A missed poll is retried on the next tick; an unknown session is polled slowly.
      this.lost = error instanceof ChatError && error.kind === "gone";
    } finally {
      this.polling = false;
      if (generation === this.generation) {
        this.schedulePoll();
      }
    }
  }

  // New messages from the server: an agent's, or a reply this tab has not shown (e.g. a dropped stream).
  apply(body) {
    for (const message of body.messages || []) {
      if (message.seq <= this.state.cursor) {
        continue;
      }
      this.state.cursor = message.seq;
      const mine = this.pending.has(message.in_reply_to) || this.state.answered.includes(message.in_reply_to);
      if (message.role === "assistant" && mine) {
        continue;
      }
      const item = {
        role: message.role === "agent" ? "agent" : "assistant",
        text: message.text,
        citations: message.citations || [],
        quick_replies: message.role === "agent" ? [] : message.quick_replies || [],
      };
      this.view.dropQuickReplies();
      this.view.message(item, { onQuickReply: (label) => this.ask(label) });
      this.state.items.push(item);
    }
    if (body.status && body.status !== this.state.status) {
      this.setStatus(body.status);
    }
    saveState(this.state);
  }

  setStatus(status) {
    this.state.status = status;
    saveState(this.state);
    this.showStatus(status);
  }

  showStatus(status) {
    const text = bannerText(status);
    this.banner.className = `banner ${status}`;
    this.banner.replaceChildren();
    if (text) {
      if (status === "handoff") {
        const pulse = document.createElement("span");
        pulse.className = "pulse";
        pulse.setAttribute("aria-hidden", "true");
        this.banner.append(pulse);
      }
      this.banner.append(document.createTextNode(text));
    }
  }

  record(item) {
    this.state.items.push(item);
    saveState(this.state);
  }

  setBusy(busy) {
    this.busy = busy;
    this.sendButton.setAttribute("aria-disabled", String(busy));
    this.chat.setAttribute("aria-busy", String(busy));
  }

  toggleLargeText() {
    const on = document.documentElement.classList.toggle("large-text");
    this.largeText.setAttribute("aria-pressed", String(on));
    try {
      window.localStorage.setItem(LARGE_TEXT_KEY, on ? "1" : "0");
    } catch (error) {
      // Not remembered when storage is disabled; the toggle still works on this page.
    }
    this.fitInput();
  }

  reset() {
    this.generation += 1;
    if (this.controller) {
      this.controller.abort();
      this.controller = null;
    }
    window.clearTimeout(this.timer);
    this.pending.clear();
    this.state = emptyState();
    clearState();
    this.view.clear();
    this.showStatus("bot");
    this.setBusy(false);
    this.lost = false;
    this.chat.scrollTo({ top: 0 });
    this.input.value = "";
    this.fitInput();
    this.input.focus();
  }

  fitInput() {
    const input = this.input;
    input.style.height = "auto";
    const borders = input.offsetHeight - input.clientHeight;
    input.style.height = `${input.scrollHeight + borders}px`;
  }
}

new ChatPage().start();
