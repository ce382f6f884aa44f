// Live charts: each chart fills from its topic's history at once, then streams.
// uPlot is vendored from the npm registry (static/vendor/uplot), loaded globally.
import { client, showState } from "../realtime/page.js";

const WINDOW_SECONDS = 10 * 60;
const COLORS = ["#3b7ddd", "#e8590c", "#2f9e44", "#ae3ec9"];
const definitions = JSON.parse(document.getElementById("chart-definitions").textContent);
const container = document.getElementById("charts");
showState(document.getElementById("status"), { connected: "live" });

function format(number) {
  return Math.abs(number) >= 100 ? number.toFixed(0) : Number(number.toFixed(2)).toString();
}

for (const def of definitions) {
  const card = document.createElement("section");
  card.className = "chart";
  card.dataset.chart = def.name;
  const head = document.createElement("header");
  const title = document.createElement("h2");
  title.textContent = def.title;
  const current = document.createElement("span");
  current.className = "current";
  current.textContent = "–";
  head.append(title, current);
  const plotBox = document.createElement("div");
  card.append(head, plotBox);
  container.append(card);

  const data = [[], ...def.series.map(() => [])];
  const plot = new uPlot(
    {
      width: Math.max(240, plotBox.clientWidth),
      height: 180,
      legend: { show: def.series.length > 1 },
      scales: { x: { time: true } },
      series: [
        {},
        ...def.series.map((name, i) => ({ label: name, stroke: COLORS[i % COLORS.length], width: 2 })),
      ],
      axes: [{}, { label: def.unit, size: 60 }],
    },
    data,
    plotBox,
  );

  new ResizeObserver(() => plot.setSize({ width: Math.max(240, plotBox.clientWidth), height: 180 })).observe(plotBox);

  let pending = false;
  const redraw = () => {
    pending = false;
    plot.setData(data);
  };
  client.subscribe(
    `chart.${def.name}`,
    (event) => {
      if (event.event !== "point") return;
      const { ts, values } = event.data;
      data[0].push(ts);
      def.series.forEach((name, i) => data[i + 1].push(values[name] ?? null));
      const cutoff = ts - WINDOW_SECONDS;
      while (data[0].length && data[0][0] < cutoff) data.forEach((column) => column.shift());
      const parts = def.series.map((name) => values[name] === undefined ? null : (def.series.length > 1 ? `${name} ${format(values[name])}` : format(values[name])));
      current.textContent = `${parts.filter(Boolean).join(" · ")} ${def.unit}`;
      card.dataset.points = String(data[0].length);
      // Coalesce redraws; a background tab catches up when it is shown again.
      if (!pending && !document.hidden) {
        pending = true;
        requestAnimationFrame(redraw);
      }
    },
    { history: 300 },
  );
  document.addEventListener("visibilitychange", () => { if (!document.hidden) redraw(); });
}
