// Tests of static/realtime/client.js in Node against a real server process.
// Run by tests/realtime/test_js_client.py with SERVER_HTTP and API_TOKEN set.
import assert from "node:assert/strict";
import { test } from "node:test";

import { RealtimeClient, backoffDelay } from "../../static/realtime/client.js";

const HTTP = process.env.SERVER_HTTP;
const TOKEN = process.env.API_TOKEN;
const WS_URL = HTTP.replace("http", "ws") + "/ws/";

// Node's WebSocket sends no Origin; a browser always does, and the server requires it.
class BrowserLikeWebSocket extends WebSocket {
  constructor(url) {
    super(url, { headers: { Origin: HTTP } });
  }
}

async function publish(topic, data) {
  const response = await fetch(`${HTTP}/api/publish`, {
    method: "POST",
    headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify({ topic, event: "n", data }),
  });
  assert.equal(response.status, 202);
}

function waitFor(predicate, timeout = 10000) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const timer = setInterval(() => {
      if (predicate()) {
        clearInterval(timer);
        resolve();
      } else if (Date.now() - started > timeout) {
        clearInterval(timer);
        reject(new Error("timed out"));
      }
    }, 10);
  });
}

test("backoff uses full jitter below an exponential cap", () => {
  assert.equal(backoffDelay(0, { base: 100, random: () => 0.999 }), 99);
  assert.equal(backoffDelay(3, { base: 100, random: () => 0.5 }), 400);
  assert.equal(backoffDelay(20, { base: 100, max: 1000, random: () => 0.5 }), 500);
  assert.equal(backoffDelay(5, { random: () => 0 }), 0);
});

test("reconnects by itself and recovers missed events with no gap or duplicate", async () => {
  const topic = `public.js${Date.now()}`;
  const states = [];
  const received = [];
  const subscribedReplies = [];
  const client = new RealtimeClient({
    url: WS_URL,
    WebSocketImpl: BrowserLikeWebSocket,
    backoff: { base: 400, max: 800, random: () => 1 },
    onStateChange: (state) => states.push(state),
  });
  client.subscribe(topic, {
    onEvent: (frame) => frame.event === "n" && received.push(frame),
    onSubscribed: (frame) => subscribedReplies.push(frame),
  });
  client.connect();
  await waitFor(() => subscribedReplies.length === 1);
  for (let i = 0; i < 5; i++) await publish(topic, { i });
  await waitFor(() => received.length === 5);

  client.socket.close(); // the network drops; the client was not asked to close
  for (let i = 5; i < 25; i++) await publish(topic, { i });
  await waitFor(() => received.length >= 25);
  for (let i = 25; i < 30; i++) await publish(topic, { i });
  await waitFor(() => received.length >= 30);
  await new Promise((resolve) => setTimeout(resolve, 200));
  client.close();

  assert.deepEqual(received.map((f) => f.data.i), [...Array(30).keys()]);
  assert.deepEqual(received.map((f) => f.offset), [...Array(30).keys()].map((i) => i + 1));
  assert.equal(subscribedReplies.length, 2);
  assert.equal(subscribedReplies[1].recovered, true);
  assert.ok(states.includes("reconnecting"));
  assert.equal(states.at(-1), "closed");
});

test("reconnects with the last welcome's token and keeps its identity", async () => {
  const urls = [];
  class RecordingWebSocket extends BrowserLikeWebSocket {
    constructor(url) {
      super(url);
      urls.push(url);
    }
  }
  const client = new RealtimeClient({
    url: WS_URL,
    WebSocketImpl: RecordingWebSocket,
    backoff: { base: 50, max: 100, random: () => 1 },
  });
  client.connect();
  await waitFor(() => client.connectionId);
  const first = { id: client.connectionId, name: client.user.name, token: client.token };
  assert.ok(first.token);
  client.socket.close();
  await waitFor(() => client.connectionId && client.connectionId !== first.id);
  client.close();

  assert.equal(urls[0], WS_URL);
  assert.equal(urls[1], `${WS_URL}?token=${encodeURIComponent(first.token)}`);
  // A guest without a cookie keeps its name only because the server took the token.
  assert.equal(client.user.name, first.name);
});

test("drops a duplicate delivered twice by offset", () => {
  const client = new RealtimeClient({ url: WS_URL, WebSocketImpl: BrowserLikeWebSocket });
  const seen = [];
  client.subscribe("public.dup", (frame) => seen.push(frame.offset));
  client._onSubscribed({ type: "subscribed", topic: "public.dup", offset: 3, epoch: "e1" });
  const frame = (offset, epoch = "e1") =>
    JSON.stringify({ type: "event", topic: "public.dup", event: "x", data: {}, offset, epoch });
  for (const offset of [4, 4, 5, 3, 6]) client._onMessage(frame(offset));
  client._onMessage(frame(1, "e2")); // a new epoch starts over
  assert.deepEqual(seen, [4, 5, 6, 1]);
});

test("calls onReset when the server cannot recover", () => {
  const client = new RealtimeClient({ url: WS_URL, WebSocketImpl: BrowserLikeWebSocket });
  let resets = 0;
  client.subscribe("public.reset", { onReset: () => resets++ });
  client._onSubscribed({ type: "subscribed", topic: "public.reset", offset: 9, epoch: "e", recovered: false });
  assert.equal(resets, 1);
});
