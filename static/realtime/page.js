// The page's one connection: every script on a page imports this client, so a
// page opens a single WebSocket however many features it shows.
import { RealtimeClient } from "./client.js";

export const client = new RealtimeClient();
// Connect once the page's modules have registered their subscriptions.
queueMicrotask(() => client.connect());

// Shows the connection state in an element (e.g. a status badge).
export function showState(element, labels = {}) {
  client.onState((state) => {
    element.textContent = labels[state] ?? (state === "connected" ? "connected" : `${state}…`);
    element.className = `status ${state}`;
  });
}
