// The node's API, with the admin token from the tab's sessionStorage.

const KEY = "mcpmesh.token";

export const token = {
  get: () => sessionStorage.getItem(KEY) || "",
  set: (t) => sessionStorage.setItem(KEY, t),
  clear: () => sessionStorage.removeItem(KEY),
};

// ApiError carries the server's own message ({"error": "..."}) and status.
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function errorOf(res) {
  let msg = res.statusText || "request failed";
  try {
    const body = await res.json();
    if (body && typeof body.error === "string") msg = body.error;
  } catch (_) { /* not JSON: keep the status text */ }
  return new ApiError(res.status, msg);
}

// call sends one JSON request and returns the decoded answer, or throws an
// ApiError with the server's message.
export async function call(method, path, body) {
  const headers = { Authorization: "Bearer " + token.get() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) throw await errorOf(res);
  return res.status === 204 ? null : res.json();
}

// stream reads GET /api/events (server-sent events, with the bearer header
// that EventSource cannot send) and calls onEvent(name, data) for each
// event. It resolves when the stream ends and throws an ApiError when the
// node refuses it.
export async function stream(onOpen, onEvent, signal) {
  const res = await fetch("/api/events", {
    headers: { Authorization: "Bearer " + token.get(), Accept: "text/event-stream" },
    cache: "no-store", signal,
  });
  if (!res.ok) throw await errorOf(res);
  onOpen();
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let i;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      dispatch(block, onEvent);
    }
  }
}

function dispatch(block, onEvent) {
  let name = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event: ")) name = line.slice(7);
    else if (line.startsWith("data: ")) data.push(line.slice(6));
  }
  if (data.length) onEvent(name, JSON.parse(data.join("\n")));
}
