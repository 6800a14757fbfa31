// Server-Sent Events read from a fetch() body (EventSource cannot POST): yields {event, data} per event.

export async function* readServerSentEvents(body) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        break;
      }
      buffer = normalise(buffer + decoder.decode(value, { stream: true }));
      let end = buffer.indexOf("\n\n");
      while (end >= 0) {
        const event = parseBlock(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (event) {
          yield event;
        }
        end = buffer.indexOf("\n\n");
      }
    }
    const rest = parseBlock(normalise(buffer + decoder.decode()));
    if (rest) {
      yield rest;
    }
  } finally {
    reader.releaseLock();
  }
}

// CRLF and CR line ends become LF; a CR at the very end waits for the next chunk (it may start a CRLF).
function normalise(text) {
  const held = text.endsWith("\r") ? "\r" : "";
  const body = held ? text.slice(0, -1) : text;
  return body.replace(/\r\n?/g, "\n") + held;
}

function parseBlock(block) {
  let name = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line === "" || line.startsWith(":")) {
      continue;
    }
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) {
      value = value.slice(1);
    }
    if (field === "event") {
      name = value;
    } else if (field === "data") {
      data.push(value);
    }
  }
  return data.length ? { event: name, data: data.join("\n") } : null;
}
