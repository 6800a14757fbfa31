// DOM rendering of the conversation. Text only ever goes in through textContent: nothing is parsed as HTML.

const WHO = { user: "내 질문", assistant: "상담 도우미", agent: "상담사" };
const CITATION = /\[(\d{1,2})\]/g;
let counter = 0;

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

// Light clean-up of Markdown emphasis the model may emit; the text stays plain text.
function plain(text) {
  return String(text ?? "").replace(/\*\*(.+?)\*\*/g, "$1");
}

// Only web links are followed; anything else (javascript:, data:) is shown without a link.
export function safeUrl(url) {
  if (!url) {
    return null;
  }
  try {
    const parsed = new URL(url, window.location.href);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch (error) {
    return null;
  }
}

export class ConversationView {
  constructor(log, scroller, reducedMotion) {
    this.log = log;
    this.scroller = scroller;
    this.reducedMotion = reducedMotion;
  }

  clear() {
    this.log.replaceChildren();
  }

  // A finished message: role "user" | "assistant" | "agent", with citations and quick replies (assistant).
  message(item, { onQuickReply } = {}) {
    const row = this.row(item.role);
    const bubble = row.querySelector(".bubble");
    this.fill(row, bubble, item, onQuickReply);
    this.scroll(true);
    return row;
  }

  // An assistant message being streamed: returns {append(text), finish(item), remove()}.
  pending() {
    const row = this.row("assistant");
    const bubble = row.querySelector(".bubble");
    bubble.setAttribute("aria-busy", "true");
    const typing = element("span", "typing");
    const dots = element("span", "dots");
    dots.setAttribute("aria-hidden", "true");
    dots.append(element("span"), element("span"), element("span"));
    typing.append(dots, element("span", "", "답변을 준비하고 있어요…"));
    bubble.append(typing);
    this.scroll(true);
    let text = "";
    return {
      append: (piece) => {
        text += piece;
        bubble.textContent = plain(text);
        this.scroll(false);
      },
      finish: (item, onQuickReply) => {
        bubble.removeAttribute("aria-busy");
        bubble.replaceChildren();
        this.fill(row, bubble, item, onQuickReply);
        this.scroll(true);
      },
      remove: () => row.remove(),
    };
  }

  error(message, onRetry) {
    const row = element("li", "msg assistant error");
    const bubble = element("p", "bubble", message);
    bubble.setAttribute("role", "alert");
    row.append(bubble);
    if (onRetry) {
      const retry = element("button", "retry", "다시 시도");
      retry.type = "button";
      retry.addEventListener("click", () => {
        row.remove();
        onRetry();
      });
      row.append(retry);
    }
    this.log.append(row);
    this.scroll(true);
    return row;
  }

  notice(text) {
    const row = element("li", "notice", text);
    this.log.append(row);
    this.scroll(true);
  }

  // Quick replies belong to the latest reply only.
  dropQuickReplies() {
    for (const group of this.log.querySelectorAll(".quick")) {
      group.remove();
    }
  }

  dropErrors() {
    for (const row of this.log.querySelectorAll(".msg.error")) {
      row.remove();
    }
  }

  row(role) {
    const row = element("li", `msg ${role}`);
    row.id = `m${++counter}`;
    const who = element("span", role === "user" ? "visually-hidden" : "who", WHO[role] ?? WHO.assistant);
    row.append(who, element("p", "bubble"));
    this.log.append(row);
    return row;
  }

  fill(row, bubble, item, onQuickReply) {
    const citations = item.role === "user" ? [] : item.citations || [];
    const byNumber = new Map(citations.map((c) => [Number(c.n), c]));
    const text = plain(item.text);
    let last = 0;
    for (const match of text.matchAll(CITATION)) {
      const cited = byNumber.get(Number(match[1]));
      if (!cited) {
        continue;
      }
      bubble.append(document.createTextNode(text.slice(last, match.index)));
      const ref = element("a", "cite-ref", match[0]);
      ref.href = `#${row.id}-source-${cited.n}`;
      ref.setAttribute("aria-label", `출처 ${cited.n}: ${cited.title}`);
      bubble.append(ref);
      last = match.index + match[0].length;
    }
    bubble.append(document.createTextNode(text.slice(last)));
    if (citations.length) {
      row.append(this.sources(row.id, citations));
    }
    const quick = item.quick_replies || [];
    if (quick.length && onQuickReply) {
      const group = element("div", "quick");
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", "빠른 답변");
      for (const label of quick) {
        const button = element("button", "quick-reply", label);
        button.type = "button";
        button.addEventListener("click", () => onQuickReply(label));
        group.append(button);
      }
      row.append(group);
    }
  }

  sources(rowId, citations) {
    const box = element("div", "sources");
    const heading = element("h3", "", "출처");
    heading.id = `${rowId}-sources`;
    const list = element("ol");
    list.setAttribute("aria-labelledby", heading.id);
    for (const cited of citations) {
      const item = element("li");
      item.id = `${rowId}-source-${cited.n}`;
      const label = `[${cited.n}] ${cited.title || cited.source || "출처"}`;
      const href = safeUrl(cited.url);
      if (href) {
        const link = element("a", "source-link", label);
        link.href = href;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        link.append(element("span", "visually-hidden", " (새 창에서 열림)"));
        item.append(link);
      } else {
        item.append(element("span", "", label));
      }
      if (href) {
        item.append(element("span", "source-name", new URL(href).hostname.replace(/^www\./, "")));
      }
      list.append(item);
    }
    box.append(heading, list);
    return box;
  }

  scroll(smooth) {
    const behavior = smooth && !this.reducedMotion.matches ? "smooth" : "auto";
    this.scroller.scrollTo({ top: this.scroller.scrollHeight, behavior });
  }
}

export function bannerText(status) {
  switch (status) {
    case "handoff":
      return "상담원에게 연결하고 있어요… 잠시만 기다려 주세요.";
    case "agent":
      return "상담원과 대화 중이에요.";
    case "closed":
      return "상담이 끝났어요. ‘새 대화’로 다시 시작할 수 있어요.";
    default:
      return "";
  }
}
