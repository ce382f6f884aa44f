// The jobs dashboard: live progress bars of Celery jobs, start and cancel.
// Everything from the server is inserted with textContent.
import { client, showState } from "../realtime/page.js";

const read = (id) => JSON.parse(document.getElementById(id).textContent);
const kinds = read("job-kinds");
const jobsTopic = read("jobs-topic");
const tbody = document.getElementById("jobs");
const statusBadge = document.getElementById("status");
const csrfToken = document.querySelector("[name=csrfmiddlewaretoken]").value;
const jobs = new Map(); // id -> latest data
const rows = new Map(); // id -> <tr>
const FINAL = new Set(["success", "failure", "cancelled"]);

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function seconds(s) {
  if (!Number.isFinite(s) || s < 0) return "";
  return s < 90 ? `${Math.round(s)} s` : `${Math.round(s / 60)} min`;
}

function timing(job) {
  if (!job.started_at) return "queued";
  const end = job.finished_at ? Date.parse(job.finished_at) : Date.now();
  const elapsed = (end - Date.parse(job.started_at)) / 1000;
  let text = `elapsed ${seconds(elapsed)}`;
  if (!FINAL.has(job.state) && job.total && job.current > 0) {
    text += ` · ETA ${seconds((elapsed / job.current) * (job.total - job.current))}`;
  }
  return text;
}

function render(job) {
  let row = rows.get(job.id);
  if (!row) {
    row = el("tr");
    row.dataset.id = job.id;
    rows.set(job.id, row);
    tbody.prepend(row);
  }
  row.className = job.state;
  const percent = job.percent ?? (job.state === "success" ? 100 : 0);
  const name = el("td");
  name.append(el("strong", "", job.kind), el("div", "stage", JSON.stringify(job.params)));
  const progress = el("td");
  const bar = el("div", "bar");
  const fill = el("div");
  fill.style.width = `${percent}%`;
  bar.append(fill);
  bar.setAttribute("role", "progressbar");
  bar.setAttribute("aria-valuenow", String(percent));
  const label = job.total ? `${percent}% (${job.current}/${job.total})` : `${percent}%`;
  progress.append(bar, el("div", "percent", label), el("div", "stage", [job.stage, job.message].filter(Boolean).join(" · ")));
  const state = el("td", "state", job.attempt > 1 && !FINAL.has(job.state) ? `${job.state} (attempt ${job.attempt} of ${job.max_attempts})` : job.state);
  if (job.error) state.append(el("div", "error", job.error.split("\n")[0]));
  const time = el("td", "time", timing(job));
  const actions = el("td");
  if (!FINAL.has(job.state) && !job.cancel_requested) {
    const cancel = el("button", "cancel", "Cancel");
    cancel.type = "button";
    cancel.addEventListener("click", () => post(`/api/jobs/${job.id}/cancel`));
    actions.append(cancel);
  }
  if (job.state === "success" && job.result && job.result.file) {
    const link = el("a", "result", "Download result");
    link.href = `/api/jobs/${job.id}/result`;
    actions.append(link);
  }
  row.replaceChildren(name, progress, state, time, actions);
}

// Within one attempt the bar never moves backwards, whatever order updates
// arrive in (history replay, live events, the page's own data).
function apply(job) {
  const known = jobs.get(job.id);
  if (known && !FINAL.has(job.state)) {
    if (FINAL.has(known.state)) return;
    if (job.attempt < known.attempt) return;
    if (job.attempt === known.attempt && job.current < known.current && job.stage === known.stage) return;
  }
  jobs.set(job.id, job);
  render(job);
}

async function post(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json();
  if (!response.ok) throw data.error || { message: `HTTP ${response.status}` };
  return data;
}

const kindSelect = document.getElementById("kind");
const paramsBox = document.getElementById("params");
function showParams() {
  const kind = kinds.find((k) => k.kind === kindSelect.value);
  paramsBox.replaceChildren(
    ...Object.entries(kind ? kind.params : {}).map(([name, spec]) => {
      const label = el("label", "", `${name} `);
      const input = el("input");
      if (spec.type === "bool") input.type = "checkbox";
      input.name = name;
      input.dataset.type = spec.type;
      input.placeholder = spec.help || spec.type;
      input.required = spec.required && spec.type !== "bool";
      label.append(input);
      return label;
    }),
  );
}
for (const kind of kinds) {
  const option = el("option", "", kind.title);
  option.value = kind.kind;
  kindSelect.append(option);
}
kindSelect.addEventListener("change", showParams);
showParams();

document.getElementById("start").addEventListener("submit", async (submit) => {
  submit.preventDefault();
  const errorLine = document.getElementById("start-error");
  const params = {};
  for (const input of paramsBox.querySelectorAll("input")) {
    if (input.dataset.type === "bool") {
      if (input.checked) params[input.name] = true;
      continue;
    }
    if (input.value === "") continue;
    params[input.name] = ["int", "float"].includes(input.dataset.type) ? Number(input.value) : input.value;
  }
  try {
    apply(await post("/api/jobs", { kind: kindSelect.value, params }));
    errorLine.textContent = "";
  } catch (error) {
    errorLine.textContent = error.message;
  }
});

for (const job of read("initial-jobs").reverse()) apply(job);
setInterval(() => {
  for (const job of jobs.values()) if (!FINAL.has(job.state)) render(job);
}, 1000);

showState(statusBadge, { connected: "live" });
// The replayed history brings every job to its latest state at once.
client.subscribe(jobsTopic, (event) => apply(event.data), { history: 100 });
