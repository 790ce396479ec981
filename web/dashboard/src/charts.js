// The two time charts, drawn with uPlot on a canvas. The canvas is hidden from assistive
// technology: each chart's figure carries a text summary and a table of the same numbers.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

const DAY_SECONDS = 86400;
const INK = "#1a1a1a";
const ACCENT = "#b8860b";
const MUTED = "#7a7a7a";

function seconds(isoDay) {
  return Date.parse(`${isoDay}T00:00:00Z`) / 1000;
}

function width(container) {
  return Math.max(280, Math.floor(container.getBoundingClientRect().width || 600));
}

/** Keeps `chart` as wide as `container` (phones turn, windows resize). */
function followWidth(chart, container, height) {
  const observer = new ResizeObserver(() => chart.setSize({ width: width(container), height }));
  observer.observe(container);
  return () => {
    observer.disconnect();
    chart.destroy();
  };
}

/** A vertical line and label at each of `marks` ({at: seconds, label}). */
function markers(marks) {
  return {
    hooks: {
      draw: [
        (chart) => {
          const context = chart.ctx;
          const { top, height } = chart.bbox;
          context.save();
          context.strokeStyle = "#c0392b";
          context.fillStyle = "#c0392b";
          context.lineWidth = 2 * devicePixelRatio;
          context.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
          context.font = `${12 * devicePixelRatio}px system-ui, sans-serif`;
          context.textAlign = "left";
          context.textBaseline = "alphabetic";
          for (const mark of marks) {
            const x = Math.round(chart.valToPos(mark.at, "x", true));
            context.beginPath();
            context.moveTo(x, top);
            context.lineTo(x, top + height);
            context.stroke();
            // The label sits on a light box: the busiest days draw their line right there.
            const labelX = x + 4 * devicePixelRatio;
            const labelY = top + 14 * devicePixelRatio;
            const textWidth = context.measureText(mark.label).width;
            context.fillStyle = "rgba(255, 255, 255, 0.9)";
            context.fillRect(labelX - 2 * devicePixelRatio, labelY - 12 * devicePixelRatio, textWidth + 4 * devicePixelRatio, 16 * devicePixelRatio);
            context.fillStyle = "#c0392b";
            context.fillText(mark.label, labelX, labelY);
          }
          context.restore();
        },
      ],
    },
  };
}

/**
 * Actions per day: `days` (ISO dates of this campaign's window), `current` and `previous`
 * (numbers or null per day, last year's aligned on the same calendar days), with
 * Human Rights Day marked. Returns a function that removes the chart.
 */
export function dailyChart(container, { days, current, previous, labels, formatDay, formatNumber, humanRightsDay }) {
  const height = 260;
  const series = [
    { label: labels.day, value: (_, v) => (v == null ? "–" : formatDay(new Date(v * 1000))) },
    { label: labels.current, stroke: INK, width: 2, fill: "rgba(255, 214, 0, 0.35)", value: (_, v) => (v == null ? "–" : formatNumber(v)) },
  ];
  const data = [days.map(seconds), current];
  if (previous) {
    series.push({ label: labels.previous, stroke: MUTED, width: 2, dash: [4, 4], value: (_, v) => (v == null ? "–" : formatNumber(v)) });
    data.push(previous);
  }
  const chart = new uPlot(
    {
      width: width(container),
      height,
      series,
      scales: { x: { time: true } },
      axes: [
        { values: (_, ticks) => ticks.map((tick) => formatDay(new Date(tick * 1000))) },
        { values: (_, ticks) => ticks.map((tick) => formatNumber(tick)), size: 60 },
      ],
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      plugins: humanRightsDay ? [markers([{ at: seconds(humanRightsDay.day), label: humanRightsDay.label }])] : [],
    },
    data,
    container,
  );
  return followWidth(chart, container, height);
}

/** Actions per campaign year as bars; `counted` marks years counted on this platform. */
export function historyChart(container, { years, quantities, label, yearLabel, formatNumber }) {
  const height = 240;
  const bars = uPlot.paths.bars({ size: [0.7, 40] });
  const chart = new uPlot(
    {
      width: width(container),
      height,
      series: [
        { label: yearLabel, value: (_, v) => (v == null ? "–" : String(v)) },
        { label, stroke: INK, fill: ACCENT, paths: bars, points: { show: false }, value: (_, v) => (v == null ? "–" : formatNumber(v)) },
      ],
      scales: { x: { time: false, range: (_, min, max) => [min - 1, max + 1] } },
      axes: [
        { values: (_, ticks) => ticks.map((tick) => (Number.isInteger(tick) ? String(tick) : "")) },
        { values: (_, ticks) => ticks.map((tick) => formatNumber(tick)), size: 70 },
      ],
      cursor: { drag: { x: false, y: false } },
    },
    [years, quantities],
    container,
  );
  return followWidth(chart, container, height);
}

export { DAY_SECONDS };
