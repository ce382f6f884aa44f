// The chat room page: live messages, history, presence, typing.
// Everything user-supplied is inserted with textContent, never as HTML.
import { client, showState } from "../realtime/page.js";

const read = (id) => JSON.parse(document.getElementById(id).textContent);
const slug = read("room-slug");
const canModerate = read("can-moderate");
const myName = read("my-name");
const topic = `chat.${slug}`;
const historyUrl = `/chat/${encodeURIComponent(slug)}/messages`;

const list = document.getElementById("messages");
const statusBadge = document.getElementById("status");
const typingLine = document.getElementById("typing");
const errorLine = document.getElementById("error");
const onlineList = document.getElementById("online");
const input = document.getElementById("text");
const olderButton = document.getElementById("older");

const rendered = new Map(); // message id -> <li>
let newestId = 0;
let oldestId = null;

function timeOf(ts) {
  return new Date(ts).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function messageItem(message) {
  const item = document.createElement("li");
  item.dataset.id = String(message.id);
  const time = document.createElement("span");
  time.className = "time";
  time.textContent = timeOf(message.ts);
  const name = document.createElement("span");
  name.className = "name";
  name.textContent = message.user.name;
  const text = document.createElement("span");
  text.className = "text";
  text.textContent = message.text;
  item.append(time, name, text);
  if (canModerate) {
    const remove = document.createElement("button");
    remove.className = "delete";
    remove.type = "button";
    remove.textContent = "delete";
    remove.addEventListener("click", () => {
      client.publish(topic, "delete", { id: message.id }).catch(showError);
    });
    item.append(remove);
  }
  return item;
}

function atBottom() {
  return list.scrollHeight - list.scrollTop - list.clientHeight < 40;
}

// Messages arrive from the page, live events, gap fills and older pages; each
// id is shown once, in id order.
function addMessages(messages) {
  const stick = atBottom();
  for (const message of messages) {
    if (rendered.has(message.id)) continue;
    const item = messageItem(message);
    rendered.set(message.id, item);
    const next = [...rendered.keys()].filter((id) => id > message.id).sort((a, b) => a - b)[0];
    if (next !== undefined) list.insertBefore(item, rendered.get(next));
    else list.append(item);
    newestId = Math.max(newestId, message.id);
    oldestId = oldestId === null ? message.id : Math.min(oldestId, message.id);
  }
  if (stick) list.scrollTop = list.scrollHeight;
}

function addNotice(text) {
  const item = document.createElement("li");
  item.className = "notice";
  item.textContent = text;
  list.append(item);
  if (atBottom()) list.scrollTop = list.scrollHeight;
}

function showError(frame) {
  errorLine.textContent = frame && frame.message ? `${frame.code}: ${frame.message}` : "";
}

async function fetchMessages(params) {
  const response = await fetch(`${historyUrl}?${new URLSearchParams(params)}`);
  if (!response.ok) throw new Error(`history: HTTP ${response.status}`);
  return (await response.json()).messages;
}

// Fills whatever arrived between the page render (or a lost connection) and now.
async function fillGap() {
  let page;
  do {
    page = await fetchMessages({ after: newestId });
    addMessages(page);
  } while (page.length === 50);
}

async function loadOlder() {
  if (oldestId === null) return;
  const before = list.scrollHeight;
  const page = await fetchMessages({ before: oldestId });
  addMessages(page);
  list.scrollTop += list.scrollHeight - before;
  if (page.length < 50) olderButton.hidden = true;
}

async function refreshOnline() {
  const members = await client.presence(topic);
  onlineList.replaceChildren(
    ...members.map((member) => {
      const item = document.createElement("li");
      item.textContent = member.name + (member.connections > 1 ? ` (${member.connections} tabs)` : "");
      return item;
    }),
  );
}

const typers = new Map(); // name -> timeout
function showTyping(name) {
  if (name === myName) return;
  clearTimeout(typers.get(name));
  typers.set(name, setTimeout(() => { typers.delete(name); renderTyping(); }, 3000));
  renderTyping();
}
function renderTyping() {
  const names = [...typers.keys()];
  typingLine.textContent = names.length ? `${names.join(", ")} ${names.length > 1 ? "are" : "is"} typing…` : "";
}

showState(statusBadge);

client.subscribe(topic, {
  onSubscribed: () => {
    fillGap().catch(showError);
    refreshOnline().catch(() => {});
  },
  onEvent: (event) => {
    if (event.event === "message") addMessages([event.data]);
    else if (event.event === "message.deleted") {
      rendered.get(event.data.id)?.remove();
      rendered.delete(event.data.id);
    } else if (event.event === "typing") showTyping(event.data.user.name);
    else if (event.event === "presence.join" || event.event === "presence.leave") {
      if (event.data.name !== myName) {
        addNotice(`${event.data.name} ${event.event === "presence.join" ? "joined" : "left"}`);
      }
      refreshOnline().catch(() => {});
    }
  },
  onError: showError,
});

document.getElementById("composer").addEventListener("submit", (submit) => {
  submit.preventDefault();
  const text = input.value;
  if (!text.trim()) return;
  client.publish(topic, "message", { text }).then(() => {
    input.value = "";
    showError(null);
  }, showError);
});

let lastTyping = 0;
input.addEventListener("input", () => {
  if (Date.now() - lastTyping < 2000 || !input.value) return;
  lastTyping = Date.now();
  client.publish(topic, "typing", {}).catch(() => {});
});

olderButton.addEventListener("click", () => loadOlder().catch(showError));
list.addEventListener("scroll", () => {
  if (list.scrollTop === 0 && !olderButton.hidden) loadOlder().catch(showError);
});

addMessages(read("initial-messages"));
if (rendered.size < 50) olderButton.hidden = true;
