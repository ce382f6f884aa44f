// On every page: announcements banner (topic `broadcast`) and, for signed-in
// users, the notification bell (topic `user.<id>`), with toasts.
import { client } from "./page.js";

const el = (tag, className, text) => {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
};
const csrf = () => document.cookie.split("; ").find((c) => c.startsWith("csrftoken="))?.split("=")[1] ?? "";

// --- announcements ---------------------------------------------------------
const banner = document.getElementById("announcement");
const RECENT_MS = 24 * 3600 * 1000;
client.subscribe("broadcast", (event) => {
  if (event.event !== "announcement") return;
  if (Date.now() - event.ts > RECENT_MS) return;
  if (localStorage.getItem("dismissed-announcement") === String(event.data.id)) return;
  const close = el("button", "dismiss", "×");
  close.type = "button";
  close.setAttribute("aria-label", "dismiss");
  close.addEventListener("click", () => {
    localStorage.setItem("dismissed-announcement", String(event.data.id));
    banner.hidden = true;
  });
  banner.className = `announcement ${event.data.level}`;
  banner.replaceChildren(el("span", "text", event.data.text), close);
  banner.hidden = false;
}, { history: 1 });

// --- the bell ----------------------------------------------------------------
const bell = document.getElementById("bell");
if (bell) {
  const userId = bell.dataset.user;
  const count = bell.querySelector(".count");
  const menu = document.getElementById("bell-menu");
  const list = menu.querySelector("ol");
  const items = new Map();

  const setUnread = (unread) => {
    count.textContent = String(unread);
    count.hidden = unread === 0;
    bell.dataset.unread = String(unread);
  };
  const render = (n) => {
    const item = items.get(n.id) ?? el("li");
    item.className = `${n.level}${n.read ? " read" : ""}`;
    const title = n.url ? el("a", "title", n.title) : el("strong", "title", n.title);
    if (n.url) title.href = n.url;
    const read = el("button", "mark-read", "mark read");
    read.type = "button";
    read.hidden = n.read;
    read.addEventListener("click", () => markRead({ ids: [n.id] }));
    item.replaceChildren(title, el("div", "body", n.body), read);
    if (!items.has(n.id)) {
      items.set(n.id, item);
      list.prepend(item);
    }
  };
  const toast = (n) => {
    const box = el("div", `toast ${n.level}`);
    box.append(el("strong", "", n.title), el("div", "", n.body));
    document.body.append(box);
    setTimeout(() => box.remove(), 6000);
  };
  async function markRead(body) {
    await fetch("/api/notifications/read", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify(body),
    });
  }
  async function reload() {
    const response = await fetch("/api/notifications");
    if (!response.ok) return;
    const data = await response.json();
    for (const n of data.notifications.reverse()) render(n);
    setUnread(data.unread);
  }

  bell.addEventListener("click", () => { menu.hidden = !menu.hidden; });
  menu.querySelector(".mark-all").addEventListener("click", () => markRead({ all: true }));
  client.subscribe(`user.${userId}`, {
    onSubscribed: () => reload(),
    onEvent: (event) => {
      if (event.event === "notification") {
        render(event.data.notification);
        setUnread(event.data.unread);
        toast(event.data.notification);
      } else if (event.event === "notification.read") {
        for (const id of event.data.ids) {
          const item = items.get(id);
          if (item) {
            item.classList.add("read");
            item.querySelector(".mark-read").hidden = true;
          }
        }
        setUnread(event.data.unread);
      }
    },
  });
}
