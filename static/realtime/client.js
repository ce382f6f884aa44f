// Browser client for the /ws/ push protocol (docs/protocol.md).
// Plain ES module, no build step: import { RealtimeClient } from "/static/realtime/client.js".
//
// One connection per page, any number of topics. Reconnects by itself with
// exponential backoff and full jitter, resubscribes every topic with `since`
// (its last offset and epoch) so missed events are replayed, and drops
// duplicates by offset. When the server cannot recover a topic, the topic's
// onReset callback runs so the page can reload its state over HTTP.

export const States = Object.freeze({
  CONNECTING: "connecting",
  CONNECTED: "connected",
  RECONNECTING: "reconnecting",
  CLOSED: "closed",
});

function defaultUrl() {
  const loc = globalThis.location;
  const scheme = loc.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${loc.host}/ws/`;
}

// Full jitter: a random delay between 0 and min(max, base * 2^attempt).
export function backoffDelay(attempt, { base = 500, max = 15000, random = Math.random } = {}) {
  return Math.floor(random() * Math.min(max, base * 2 ** attempt));
}

export class RealtimeClient {
  constructor({
    url,
    WebSocketImpl = globalThis.WebSocket,
    onStateChange = () => {},
    onError = () => {},
    backoff = {},
    pingInterval = 25000,
  } = {}) {
    this.url = url || defaultUrl();
    this.WebSocketImpl = WebSocketImpl;
    this.onStateChange = onStateChange;
    this.onError = onError;
    this.backoff = backoff;
    this.pingInterval = pingInterval;
    this.state = States.CLOSED;
    this.stateListeners = new Set();
    this.topics = new Map(); // topic -> {handlers, offset, epoch, options, subscribed}
    this.pending = new Map(); // ref -> {resolve, reject}
    this.nextRef = 1;
    this.attempt = 0;
    this.socket = null;
    this.wanted = false;
    this.user = null;
    this.token = null;
  }

  connect() {
    if (this.wanted) return this;
    this.wanted = true;
    this._open();
    return this;
  }

  close() {
    this.wanted = false;
    clearTimeout(this._retryTimer);
    clearInterval(this._pingTimer);
    if (this.socket) this.socket.close(1000);
    this._setState(States.CLOSED);
  }

  // handlers: a function (event frame) or {onEvent, onSubscribed, onReset, onPresence}.
  // options.history: how many recent events to replay on the first subscribe.
  subscribe(topic, handlers, options = {}) {
    if (typeof handlers === "function") handlers = { onEvent: handlers };
    const entry = this.topics.get(topic) || {
      handlers: [],
      offset: null,
      epoch: null,
      options,
      subscribed: false,
    };
    entry.handlers.push(handlers);
    this.topics.set(topic, entry);
    if (this.state === States.CONNECTED && entry.handlers.length === 1) this._sendSubscribe(topic);
    return () => this.unsubscribe(topic, handlers);
  }

  unsubscribe(topic, handlers) {
    const entry = this.topics.get(topic);
    if (!entry) return;
    entry.handlers = handlers ? entry.handlers.filter((h) => h !== handlers) : [];
    if (entry.handlers.length) return;
    this.topics.delete(topic);
    if (this.state === States.CONNECTED) this._send({ type: "unsubscribe", topic });
  }

  // Resolves with the ack frame; rejects with the error frame.
  publish(topic, event, data) {
    return this._request({ type: "publish", topic, event, data });
  }

  presence(topic) {
    return this._request({ type: "presence", topic }).then((frame) => frame.members);
  }

  ping() {
    return this._request({ type: "ping" });
  }

  // --- internals -----------------------------------------------------------

  // Adds a connection-state listener (called now with the current state);
  // returns a function that removes it.
  onState(listener) {
    this.stateListeners.add(listener);
    listener(this.state);
    return () => this.stateListeners.delete(listener);
  }

  _setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.onStateChange(state);
    for (const listener of this.stateListeners) listener(state);
  }

  _open() {
    this._setState(this.attempt === 0 ? States.CONNECTING : States.RECONNECTING);
    let socket;
    try {
      socket = new this.WebSocketImpl(this._urlWithToken());
    } catch (error) {
      this.onError(error);
      this._scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onmessage = (message) => this._onMessage(message.data);
    socket.onclose = (close) => {
      if (this.socket !== socket) return;
      this.socket = null;
      clearInterval(this._pingTimer);
      for (const { reject } of this.pending.values()) reject({ code: "disconnected" });
      this.pending.clear();
      for (const entry of this.topics.values()) entry.subscribed = false;
      this.lastClose = close.code;
      // 4001: the login session ended; its token is void, the cookie decides.
      if (close.code === 4001) this.token = null;
      if (this.wanted) this._scheduleReconnect();
      else this._setState(States.CLOSED);
    };
  }

  // Reconnects present the token of the last welcome: the server then skips
  // the session lookup (a storm of reconnects after a deploy stays cheap).
  _urlWithToken() {
    if (!this.token) return this.url;
    const separator = this.url.includes("?") ? "&" : "?";
    return `${this.url}${separator}token=${encodeURIComponent(this.token)}`;
  }

  _scheduleReconnect() {
    this._setState(States.RECONNECTING);
    const delay = backoffDelay(this.attempt, this.backoff);
    this.attempt += 1;
    this._retryTimer = setTimeout(() => this._open(), delay);
  }

  _onWelcome(frame) {
    this.attempt = 0;
    this.user = frame.user;
    this.connectionId = frame.connection;
    this.token = frame.token || null;
    this._setState(States.CONNECTED);
    for (const topic of this.topics.keys()) this._sendSubscribe(topic);
    clearInterval(this._pingTimer);
    if (this.pingInterval) {
      this._pingTimer = setInterval(() => this.ping().catch(() => {}), this.pingInterval);
    }
  }

  _sendSubscribe(topic) {
    const entry = this.topics.get(topic);
    const frame = { type: "subscribe", topic };
    if (entry.offset !== null) {
      frame.since = { offset: entry.offset, epoch: entry.epoch };
      if (entry.options.history) frame.history = entry.options.history;
    } else if (entry.options.history) {
      frame.history = entry.options.history;
    }
    this._request(frame).catch((error) => {
      // The server could not reach Redis for a moment: try again shortly.
      if (error && error.code === "unavailable" && this.topics.has(topic)) {
        const delay = backoffDelay(Math.min(entry.retries = (entry.retries || 0) + 1, 6), this.backoff);
        setTimeout(() => { if (this.state === States.CONNECTED) this._sendSubscribe(topic); }, delay);
        return;
      }
      this._emit(topic, "onError", error);
    });
  }

  _request(frame) {
    const ref = this.nextRef++;
    return new Promise((resolve, reject) => {
      if (!this._send({ ...frame, ref })) {
        reject({ code: "disconnected" });
        return;
      }
      this.pending.set(ref, { resolve, reject });
    });
  }

  _send(frame) {
    if (!this.socket || this.socket.readyState !== 1) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  _emit(topic, name, value) {
    const entry = this.topics.get(topic);
    if (!entry) return;
    for (const handlers of entry.handlers) {
      if (typeof handlers[name] === "function") handlers[name](value);
    }
  }

  _onMessage(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch (error) {
      this.onError(error);
      return;
    }
    if (frame.type === "welcome") return this._onWelcome(frame);
    if (frame.type === "pong" && frame.token) this.token = frame.token; // renewed
    if (frame.type === "event") return this._onEvent(frame);
    if (frame.type === "subscribed") this._onSubscribed(frame);
    if (frame.type === "error" && frame.code === "lagged" && frame.topic) {
      return this._resubscribe(frame.topic);
    }
    const waiter = frame.ref !== undefined ? this.pending.get(frame.ref) : undefined;
    if (waiter) {
      this.pending.delete(frame.ref);
      if (frame.type === "error") waiter.reject(frame);
      else waiter.resolve(frame);
    } else if (frame.type === "error") {
      this.onError(frame);
    }
  }

  _onSubscribed(frame) {
    const entry = this.topics.get(frame.topic);
    if (!entry) return;
    entry.subscribed = true;
    // Recovered: the replay continues from our own offset, so keep it.
    // Otherwise accept the snapshot the server sends (if we asked for one),
    // or start from the topic's current offset.
    if (frame.recovered !== true) entry.offset = entry.options.history ? 0 : frame.offset;
    entry.epoch = frame.epoch;
    this._emit(frame.topic, "onSubscribed", frame);
    if (frame.recovered === false) this._emit(frame.topic, "onReset", frame);
  }

  _onEvent(frame) {
    const entry = this.topics.get(frame.topic);
    if (!entry) return;
    if (typeof frame.offset === "number" && frame.offset > 0 && !this._accept(entry, frame)) {
      return;
    }
    this._emit(frame.topic, "onEvent", frame);
  }

  // Each offset is handled once: anything at or below the last one seen in
  // this epoch is a duplicate. A new epoch means the history was reset.
  _accept(entry, frame) {
    if (frame.epoch !== entry.epoch) {
      entry.epoch = frame.epoch;
      entry.offset = frame.offset;
      return true;
    }
    if (frame.offset <= entry.offset) return false;
    entry.offset = frame.offset;
    return true;
  }

  _resubscribe(topic) {
    const entry = this.topics.get(topic);
    if (!entry || this.state !== States.CONNECTED) return;
    this._request({ type: "unsubscribe", topic })
      .catch(() => {})
      .then(() => this._sendSubscribe(topic));
  }
}
