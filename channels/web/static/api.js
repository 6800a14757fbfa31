// The chat JSON API as the page uses it: a streamed turn with a plain fallback, and the messages poll.

import { readServerSentEvents } from "./sse.js";

const TURN_TIMEOUT_MS = 90000;
const POLL_TIMEOUT_MS = 15000;

export class ChatError extends Error {
  // kind: "network" | "server" | "invalid" | "gone"
  constructor(kind, status) {
    super(`chat request failed: ${kind} ${status ?? ""}`.trim());
    this.kind = kind;
    this.status = status;
  }
}

// A new id for each message the citizen sends; a retry reuses it, so the server answers it once.
export function newMessageId() {
  if (window.crypto && typeof window.crypto.randomUUID === "function") {
    return `web-${window.crypto.randomUUID()}`;
  }
  const bytes = new Uint8Array(16);
  window.crypto.getRandomValues(bytes);
  return `web-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

// A conversation id for this tab, minted here so that even a retried first message is answered once.
export function newSessionId() {
  const bytes = new Uint8Array(24);
  window.crypto.getRandomValues(bytes);
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

// Sends one turn. onDelta(text) gets streamed pieces; resolves with {session_id, reply}.
// Streaming that fails for any reason but a rejected request falls back once to POST /v1/chat.
export async function sendTurn(request, { onDelta, signal }) {
  const body = JSON.stringify({ ...request, channel: "web" });
  try {
    const done = await streamTurn(body, onDelta, signal);
    if (done) {
      return done;
    }
  } catch (error) {
    if (isAbort(error) || (error instanceof ChatError && error.kind === "invalid")) {
      throw error;
    }
  }
  return plainTurn(body, signal);
}

async function streamTurn(body, onDelta, signal) {
  const response = await post("/v1/chat/stream", body, signal, "text/event-stream");
  const type = response.headers.get("content-type") || "";
  if (!response.body || !type.startsWith("text/event-stream")) {
    throw new ChatError("server", response.status);
  }
  for await (const { event, data } of readServerSentEvents(response.body)) {
    if (event === "delta") {
      onDelta(JSON.parse(data).text || "");
    } else if (event === "reply") {
      return JSON.parse(data);
    } else if (event === "error") {
      throw new ChatError("server", response.status);
    }
  }
  return null;
}

async function plainTurn(body, signal) {
  const response = await post("/v1/chat", body, signal, "application/json");
  return response.json();
}

async function post(url, body, signal, accept) {
  const timeout = AbortSignal.timeout ? AbortSignal.timeout(TURN_TIMEOUT_MS) : null;
  const signals = [signal, timeout].filter(Boolean);
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept },
      body,
      signal: signals.length > 1 && AbortSignal.any ? AbortSignal.any(signals) : signal,
      credentials: "same-origin",
    });
  } catch (error) {
    if (isAbort(error) && signal && signal.aborted) {
      throw error;
    }
    throw new ChatError("network");
  }
  if (!response.ok) {
    throw new ChatError(response.status === 422 || response.status === 400 ? "invalid" : "server", response.status);
  }
  return response;
}

// GET /v1/chat/{session}/messages?after=SEQ → {status, version, messages}; ChatError "gone" on 404.
export async function fetchMessages(sessionId, after) {
  const url = `/v1/chat/${encodeURIComponent(sessionId)}/messages?after=${after}`;
  const options = { headers: { accept: "application/json" }, cache: "no-store", credentials: "same-origin" };
  if (AbortSignal.timeout) {
    options.signal = AbortSignal.timeout(POLL_TIMEOUT_MS);
  }
  let response;
  try {
    response = await fetch(url, options);
  } catch (error) {
    throw new ChatError("network");
  }
  if (response.status === 404) {
    throw new ChatError("gone", 404);
  }
  if (!response.ok) {
    throw new ChatError("server", response.status);
  }
  return response.json();
}

export function isAbort(error) {
  return error instanceof DOMException && error.name === "AbortError";
}
