// The campaign dashboard: a token paste sign-in, then the scoped totals read through the
// GraphQL API and refreshed live by the totalsUpdated subscription. Every number comes
// from the API as the signed-in caller: a section's page reads that section's endpoint,
// which answers with that section's numbers only.
import "./style.css";
import { ApiError, graphql, watchTotals } from "./api.js";
import { dailyChart, historyChart } from "./charts.js";
import { LABELS, fill, labelsFor } from "./i18n.js";

const TOKEN_KEY = "w4r.dashboard.token";
const REFRESH_DELAY_MS = 300;
const LANGUAGE_NAMES = { en: "English", fr: "Français", pl: "Polski", ar: "العربية" };

const root = document.documentElement;
const config = {
  scope: root.dataset.scope || "global", // "global" or a section code
  endpoint: root.dataset.endpoint || "/graphql",
  language: root.lang || "en",
};
const isGlobal = config.scope === "global";
const t = labelsFor(config.language);
const numbers = new Intl.NumberFormat(config.language);
const compact = new Intl.NumberFormat(config.language, { notation: "compact" });
const percent = new Intl.NumberFormat(config.language, { style: "percent", maximumFractionDigits: 1 });
const shortDay = new Intl.DateTimeFormat(config.language, { day: "numeric", month: "short", timeZone: "UTC" });
const longDay = new Intl.DateTimeFormat(config.language, { dateStyle: "long", timeZone: "UTC" });
const clock = new Intl.DateTimeFormat(config.language, { timeStyle: "medium" });
const regions = new Intl.DisplayNames([config.language], { type: "region", fallback: "code" });

const CAMPAIGNS = `query DashboardCampaigns($isGlobal: Boolean!) {
  viewer { role sectionCode }
  section { code name country }
  campaigns(first: 50) {
    nodes { year name status startsOn endsOn goalActions totals @include(if: $isGlobal) { quantity } }
  }
  historicTotals { year quantity qualifier }
}`;

const TOTALS = `query DashboardTotals($year: Int!, $previous: Int!, $hasPrevious: Boolean!, $isGlobal: Boolean!, $language: String!) {
  summary: totals(campaign: $year) {
    quantity verified selfReported goalActions progress sectionsCount countriesCount minimumCellSize
  }
  byCase: totals(campaign: $year, groupBy: [CASE]) {
    cells { caseId isSuppressed quantity verified selfReported case { slug subjectName text(language: $language) { title language } } }
  }
  byType: totals(campaign: $year, groupBy: [ACTION_TYPE]) { cells { actionType isSuppressed quantity } }
  byDay: totals(campaign: $year, groupBy: [DAY]) { cells { day isSuppressed quantity } }
  previousByDay: totals(campaign: $previous, groupBy: [DAY]) @include(if: $hasPrevious) {
    cells { day isSuppressed quantity }
  }
  bySection: totals(campaign: $year, groupBy: [SECTION]) @include(if: $isGlobal) {
    cells { sectionCode isSuppressed quantity verified selfReported }
  }
  sections(first: 100) @include(if: $isGlobal) { nodes { code name country } }
}`;

// ---- small DOM helpers -------------------------------------------------------------------

function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value == null) continue;
    if (name === "class") element.className = value;
    else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  element.append(...children.flat().filter((child) => child != null && child !== false));
  return element;
}

const SVG = "http://www.w3.org/2000/svg";
function s(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  element.append(...children);
  return element;
}

function amount(value) {
  return value == null ? t.withheld : numbers.format(value);
}

// ---- state -------------------------------------------------------------------------------

const state = {
  token: sessionStorage.getItem(TOKEN_KEY),
  viewer: null,
  section: null,
  campaigns: [],
  history: [],
  year: null,
  stopLive: null,
  disposers: [],
  refreshTimer: null,
  refreshing: null,
  refreshAgain: false,
  refreshes: 0,
};

// ---- the page skeleton -------------------------------------------------------------------

const liveState = h("p", { id: "live-state", class: "live-state", role: "status", "data-state": "idle" });
const updatedAt = h("p", { id: "updated-at", class: "updated-at", "aria-live": "off" });
const signOutButton = h("button", { type: "button", id: "sign-out", class: "secondary", hidden: true, onclick: signOut }, t.signOut);
const viewerLine = h("p", { id: "viewer", class: "viewer" });

const languageNav = h(
  "nav",
  { "aria-label": t.language, class: "languages" },
  h(
    "ul",
    {},
    Object.keys(LABELS).map((code) =>
      h(
        "li",
        {},
        h(
          "a",
          { href: `?lang=${code}`, lang: code, hreflang: code, "aria-current": code === config.language ? "true" : false },
          LANGUAGE_NAMES[code],
        ),
      ),
    ),
  ),
);

const tokenInput = h("input", {
  id: "token",
  name: "token",
  type: "password",
  autocomplete: "off",
  spellcheck: "false",
  required: true,
  "aria-describedby": "token-help",
});
const signInError = h("p", { id: "sign-in-error", class: "error", role: "alert" });
const signInForm = h(
  "form",
  { id: "sign-in", class: "card sign-in", "aria-labelledby": "sign-in-title", onsubmit: onSignIn },
  h("h2", { id: "sign-in-title" }, t.signInTitle),
  h("p", { id: "token-help" }, t.signInHelp),
  h("label", { for: "token" }, t.tokenLabel),
  tokenInput,
  h("button", { type: "submit" }, t.signIn),
  signInError,
);

const campaignSelect = h("select", { id: "campaign", onchange: () => selectCampaign(Number(campaignSelect.value)) });
const loadError = h("p", { id: "load-error", class: "error", role: "alert" });

function card(id, title, ...body) {
  return h("section", { id, class: "card", "aria-labelledby": `${id}-title` }, h("h2", { id: `${id}-title` }, title), ...body);
}

const progressBody = h("div", { class: "progress" });
const perCaseBody = h("div");
const perTypeBody = h("div");
const perDayFigure = h("div", { class: "chart", "aria-hidden": "true" });
const perDaySummary = h("p", { class: "chart-summary", id: "per-day-summary" });
const perDayTable = h("div", { class: "table-wrap", id: "per-day-data" });
const sectionsBody = h("div", { class: "table-wrap" });
const historyFigure = h("div", { class: "chart", "aria-hidden": "true" });
const historySummary = h("p", { class: "chart-summary", id: "history-summary" });
const historyTable = h("div", { class: "table-wrap", id: "history-data" });
const withheldNote = h("p", { id: "withheld-note", class: "note", hidden: true });

const dashboard = h(
  "div",
  { id: "dashboard", hidden: true },
  h("div", { class: "toolbar" }, h("label", { for: "campaign" }, t.campaign), campaignSelect, updatedAt),
  loadError,
  withheldNote,
  h(
    "div",
    { class: "grid" },
    card("progress", t.progressTitle, progressBody),
    card("per-case", t.perCaseTitle, perCaseBody),
    card("per-type", t.perTypeTitle, perTypeBody),
    card(
      "per-day",
      t.perDayTitle,
      h("figure", { "aria-describedby": "per-day-summary" }, perDayFigure, h("figcaption", {}, perDaySummary)),
      h("details", {}, h("summary", {}, t.showTable), perDayTable),
    ),
    isGlobal ? card("sections", t.sectionsTitle, sectionsBody) : null,
    card(
      "history",
      t.historyTitle,
      h("figure", { "aria-describedby": "history-summary" }, historyFigure, h("figcaption", {}, historySummary)),
      h("details", {}, h("summary", {}, t.showTable), historyTable),
    ),
  ),
);

document.title = t.title;
document.body.replaceChildren(
  h("a", { href: "#main", class: "skip" }, t.skip),
  h(
    "header",
    { class: "top" },
    h("div", { class: "brand" }, h("h1", {}, t.title), h("p", { id: "scope", class: "scope" }, isGlobal ? t.scopeGlobal : fill(t.scopeSection, { name: config.scope }))),
    h("div", { class: "session" }, liveState, viewerLine, signOutButton),
    languageNav,
  ),
  h("main", { id: "main", tabindex: "-1" }, signInForm, dashboard),
);

// ---- sign-in -----------------------------------------------------------------------------

function messageFor(error) {
  if (!(error instanceof ApiError)) return fill(t.serverError, { detail: String(error) });
  if (error.kind === "invalid") return t.invalidToken;
  if (error.kind === "forbidden") return t.forbiddenToken;
  if (error.kind === "insufficient") return t.insufficientToken;
  if (error.kind === "network") return t.networkError;
  return fill(t.serverError, { detail: error.detail });
}

async function onSignIn(event) {
  event.preventDefault();
  const token = tokenInput.value.trim().replace(/^Bearer\s+/i, "");
  if (!token) {
    signInError.textContent = t.missingToken;
    tokenInput.focus();
    return;
  }
  signInError.textContent = t.loading;
  try {
    await start(token);
    sessionStorage.setItem(TOKEN_KEY, token);
    tokenInput.value = "";
    // The form is gone: keyboard and screen reader users continue at the dashboard.
    document.getElementById("main").focus();
  } catch (error) {
    signInError.textContent = messageFor(error);
    tokenInput.focus();
  }
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  stopLive();
  state.token = null;
  state.viewer = null;
  dashboard.hidden = true;
  signInForm.hidden = false;
  signOutButton.hidden = true;
  viewerLine.textContent = "";
  setLiveState("idle");
  signInError.textContent = "";
  tokenInput.focus();
}

/** Signs in with `token`: reads the campaigns and the current one's totals (which checks
 * that the token may read them), and only then shows the dashboard and goes live. */
async function start(token) {
  const data = await graphql(config.endpoint, token, CAMPAIGNS, { isGlobal }, config.language);
  state.token = token;
  state.viewer = data.viewer;
  state.section = data.section;
  state.campaigns = data.campaigns.nodes;
  state.history = data.historicTotals;
  campaignSelect.replaceChildren(...state.campaigns.map((campaign) => h("option", { value: campaign.year }, campaign.name)));
  const current = state.campaigns.find((campaign) => campaign.status === "OPEN") || state.campaigns.find((campaign) => campaign.status !== "DRAFT") || state.campaigns[0];
  if (current) {
    campaignSelect.value = String(current.year);
    state.year = current.year;
    try {
      await refresh();
    } catch (error) {
      state.token = null;
      throw error;
    }
  }
  const role = t.roles[data.viewer.role] || data.viewer.role;
  viewerLine.textContent = fill(t.signedInAs, { role: data.viewer.sectionCode ? `${role} (${data.viewer.sectionCode})` : role });
  if (data.section) document.getElementById("scope").textContent = fill(t.scopeSection, { name: data.section.name });
  signInForm.hidden = true;
  signOutButton.hidden = false;
  dashboard.hidden = false;
  signInError.textContent = "";
  loadError.textContent = current ? "" : t.noCampaign;
  renderHistory();
  if (current) goLive(current.year);
}

// ---- loading and live updates ------------------------------------------------------------

function setLiveState(name, reason) {
  liveState.dataset.state = name;
  liveState.textContent =
    name === "live" ? t.live : name === "connecting" ? t.connecting : name === "reconnecting" ? t.reconnecting : name === "offline" ? fill(t.offline, { reason: reason || "" }) : "";
}

function stopLive() {
  if (state.stopLive) state.stopLive();
  state.stopLive = null;
  clearTimeout(state.refreshTimer);
}

async function selectCampaign(year) {
  stopLive();
  state.year = year;
  await refresh().catch(() => {}); // the message is on the page already
  goLive(year);
}

function goLive(year) {
  setLiveState("connecting");
  state.stopLive = watchTotals(config.endpoint, state.token, year, scheduleRefresh, setLiveState);
}

/** A change was announced: read the scoped totals again, once per burst of changes. */
function scheduleRefresh() {
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(() => {
    refresh().catch(() => {});
  }, REFRESH_DELAY_MS);
}

async function refresh() {
  if (state.refreshing) {
    state.refreshAgain = true;
    return state.refreshing;
  }
  state.refreshing = (async () => {
    do {
      state.refreshAgain = false;
      await load(state.year);
    } while (state.refreshAgain);
  })();
  try {
    await state.refreshing;
  } finally {
    state.refreshing = null;
  }
}

async function load(year) {
  const previous = state.campaigns.find((campaign) => campaign.year === year - 1);
  let data;
  try {
    data = await graphql(
      config.endpoint,
      state.token,
      TOTALS,
      { year, previous: year - 1, hasPrevious: Boolean(previous), isGlobal, language: config.language },
      config.language,
    );
  } catch (error) {
    loadError.textContent = messageFor(error);
    if (error instanceof ApiError && error.kind === "invalid") {
      signOut();
      signInError.textContent = t.invalidToken;
    }
    throw error;
  }
  if (year !== state.year) return; // another campaign was chosen meanwhile
  loadError.textContent = "";
  render(state.campaigns.find((campaign) => campaign.year === year), data);
  state.refreshes += 1;
  document.body.dataset.refreshes = String(state.refreshes);
  document.body.dataset.state = "ready";
  updatedAt.textContent = fill(t.updatedAt, { time: clock.format(new Date()) });
}

// ---- rendering ---------------------------------------------------------------------------

function render(campaign, data) {
  for (const dispose of state.disposers) dispose();
  state.disposers = [];
  const summary = data.summary;
  const hasWithheld = [data.byCase, data.byType, data.byDay, data.bySection].some((report) => report && report.cells.some((cell) => cell.isSuppressed));
  withheldNote.hidden = !(summary.minimumCellSize > 0 && hasWithheld);
  withheldNote.textContent = fill(t.withheldNote, { minimum: numbers.format(summary.minimumCellSize) });
  renderProgress(summary);
  renderBars(
    perCaseBody,
    data.byCase.cells.map((cell) => ({
      key: cell.caseId,
      attribute: "data-case-id",
      name: cell.case ? cell.case.subjectName : cell.caseId,
      detail: cell.case && cell.case.text ? withoutName(cell.case.text.title, cell.case.subjectName) : "",
      detailLanguage: cell.case && cell.case.text ? cell.case.text.language : null,
      quantity: cell.quantity,
    })),
  );
  renderBars(
    perTypeBody,
    data.byType.cells.map((cell) => ({
      key: cell.actionType,
      attribute: "data-action-type",
      name: t.actionTypes[cell.actionType] || cell.actionType,
      quantity: cell.quantity,
    })),
  );
  renderDaily(campaign, data.byDay.cells, data.previousByDay ? data.previousByDay.cells : null);
  if (isGlobal) renderSections(data.bySection.cells, data.sections.nodes);
}

/** A case's title without the name shown above it ("Name: what happened" -> "what happened"). */
function withoutName(title, name) {
  const prefix = `${name}:`;
  return title.startsWith(prefix) ? title.slice(prefix.length).trim() : title;
}

function renderProgress(summary) {
  const goal = summary.goalActions;
  const scale = goal || Math.max(summary.quantity, 1);
  const verifiedShare = Math.min(1, summary.verified / scale);
  const totalShare = Math.min(1, summary.quantity / scale);
  const top = 12;
  const tube = 220;
  const verifiedHeight = tube * verifiedShare;
  const selfReportedHeight = tube * totalShare - verifiedHeight;
  const thermometer = s(
    "svg",
    {
      viewBox: "0 0 90 300",
      class: "thermometer",
      role: "img",
      "aria-label": goal
        ? fill(t.thermometerLabel, { quantity: numbers.format(summary.quantity), goal: numbers.format(goal), verified: numbers.format(summary.verified), selfReported: numbers.format(summary.selfReported) })
        : fill(t.progressNoGoal, { quantity: numbers.format(summary.quantity) }),
    },
    s("rect", { x: 30, y: top - 6, width: 30, height: tube + 40, rx: 15, class: "tube" }),
    s("circle", { cx: 45, cy: top + tube + 36, r: 26, class: "tube" }),
    s("circle", { cx: 45, cy: top + tube + 36, r: 20, class: "verified" }),
    s("rect", { x: 36, y: top + tube - verifiedHeight, width: 18, height: verifiedHeight + 30, class: "verified" }),
    s("rect", { x: 36, y: top + tube - verifiedHeight - selfReportedHeight, width: 18, height: selfReportedHeight, class: "self-reported" }),
    s("line", { x1: 22, x2: 68, y1: top, y2: top, class: "goal-line" }),
  );
  const headline = goal
    ? fill(t.progressOf, { quantity: numbers.format(summary.quantity), goal: numbers.format(goal), percent: percent.format(summary.progress || 0) })
    : fill(t.progressNoGoal, { quantity: numbers.format(summary.quantity) });
  progressBody.replaceChildren(
    thermometer,
    h(
      "div",
      { class: "figures" },
      h("p", { class: "headline", id: "total-headline" }, headline),
      h(
        "dl",
        {},
        h("div", {}, h("dt", {}, t.total), h("dd", { id: "total-quantity", "data-value": summary.quantity }, numbers.format(summary.quantity))),
        h("div", { class: "key-verified" }, h("dt", {}, t.verified), h("dd", { id: "total-verified", "data-value": summary.verified }, numbers.format(summary.verified))),
        h("div", { class: "key-self-reported" }, h("dt", {}, t.selfReported), h("dd", { id: "total-self-reported", "data-value": summary.selfReported }, numbers.format(summary.selfReported))),
        goal ? h("div", {}, h("dt", {}, t.goal), h("dd", { id: "total-goal", "data-value": goal }, numbers.format(goal))) : null,
      ),
    ),
  );
}

function renderBars(container, rows) {
  if (!rows.length) {
    container.replaceChildren(h("p", { class: "empty" }, t.noData));
    return;
  }
  rows.sort((a, b) => (b.quantity ?? -1) - (a.quantity ?? -1) || String(a.name).localeCompare(String(b.name), config.language));
  const largest = Math.max(1, ...rows.map((row) => row.quantity || 0));
  container.replaceChildren(
    h(
      "ol",
      { class: "bars" },
      rows.map((row) => {
        const fillBar = h("span", { class: "bar-fill" });
        fillBar.style.inlineSize = row.quantity == null ? "0" : `${(100 * row.quantity) / largest}%`;
        return h(
          "li",
          { [row.attribute]: row.key, "data-value": row.quantity == null ? "withheld" : row.quantity, class: row.quantity == null ? "withheld" : null },
          h("span", { class: "bar-label" }, h("span", { class: "bar-name" }, row.name), row.detail ? h("span", { class: "bar-detail", lang: row.detailLanguage }, row.detail) : null),
          h("span", { class: "bar-track", "aria-hidden": "true" }, fillBar),
          h("span", { class: "bar-value" }, amount(row.quantity)),
        );
      }),
    ),
  );
}

function addDays(isoDay, count) {
  const date = new Date(`${isoDay}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + count);
  return date.toISOString().slice(0, 10);
}

function sameDayLastYear(isoDay) {
  return `${Number(isoDay.slice(0, 4)) - 1}${isoDay.slice(4)}`;
}

function table(caption, headers, rows) {
  return h(
    "table",
    {},
    h("caption", { class: "visually-hidden" }, caption),
    h("thead", {}, h("tr", {}, headers.map((header) => h("th", { scope: "col" }, header)))),
    h("tbody", {}, rows.map((row) => h("tr", {}, row.map((value, index) => (index === 0 ? h("th", { scope: "row" }, value) : h("td", {}, value)))))),
  );
}

function renderDaily(campaign, cells, previousCells) {
  const byDay = new Map(cells.map((cell) => [cell.day, cell]));
  const previousByDay = previousCells ? new Map(previousCells.map((cell) => [cell.day, cell])) : null;
  const known = cells.map((cell) => cell.day).sort();
  let first = campaign.startsOn || known[0];
  let last = campaign.endsOn || known[known.length - 1];
  if (known.length) {
    if (known[0] < first) first = known[0];
    if (known[known.length - 1] > last) last = known[known.length - 1];
  }
  perDayFigure.replaceChildren();
  if (!first || !last) {
    perDaySummary.textContent = t.noData;
    perDayTable.replaceChildren();
    return;
  }
  const days = [];
  for (let day = first; day <= last && days.length < 800; day = addDays(day, 1)) days.push(day);
  const value = (cell) => (cell ? cell.quantity : 0);
  const current = days.map((day) => value(byDay.get(day)));
  const previous = previousByDay ? days.map((day) => value(previousByDay.get(sameDayLastYear(day)))) : null;
  const humanRightsDay = `${campaign.year}-12-10`;
  const labels = { day: t.day, current: fill(t.thisYear, { year: campaign.year }), previous: fill(t.lastYear, { year: campaign.year - 1 }) };
  let peakIndex = 0;
  current.forEach((quantity, index) => {
    if ((quantity || 0) > (current[peakIndex] || 0)) peakIndex = index;
  });
  const dayOf = (isoDay) => shortDay.format(new Date(`${isoDay}T00:00:00Z`));
  perDaySummary.textContent = fill(t.perDaySummary, {
    start: longDay.format(new Date(`${first}T00:00:00Z`)),
    end: longDay.format(new Date(`${last}T00:00:00Z`)),
    peak: numbers.format(current[peakIndex] || 0),
    peakDay: dayOf(days[peakIndex]),
  });
  state.disposers.push(
    dailyChart(perDayFigure, {
      days,
      current,
      previous,
      labels,
      formatDay: (date) => shortDay.format(date),
      formatNumber: (number) => compact.format(number),
      humanRightsDay: humanRightsDay >= first && humanRightsDay <= last ? { day: humanRightsDay, label: t.humanRightsDay } : null,
    }),
  );
  const headers = [t.day, labels.current, previous ? labels.previous : null].filter(Boolean);
  const rows = days.map((day, index) => {
    const label = day === humanRightsDay ? `${dayOf(day)} — ${t.humanRightsDay}` : dayOf(day);
    const row = [label, amount(current[index])];
    if (previous) row.push(amount(previous[index]));
    return row;
  });
  perDayTable.replaceChildren(table(t.perDayTitle, headers, rows));
}

function renderSections(cells, sections) {
  const byCode = new Map(sections.map((section) => [section.code, section]));
  const ranked = cells
    .slice()
    .sort((a, b) => (b.quantity ?? -1) - (a.quantity ?? -1) || a.sectionCode.localeCompare(b.sectionCode));
  if (!ranked.length) {
    sectionsBody.replaceChildren(h("p", { class: "empty" }, t.noData));
    return;
  }
  sectionsBody.replaceChildren(
    h(
      "table",
      { id: "sections-table" },
      h("caption", { class: "visually-hidden" }, t.sectionsTitle),
      h("thead", {}, h("tr", {}, [t.rank, t.section, t.country, t.actions, t.verified, t.selfReported].map((header) => h("th", { scope: "col" }, header)))),
      h(
        "tbody",
        {},
        ranked.map((cell, index) => {
          const section = byCode.get(cell.sectionCode);
          return h(
            "tr",
            { "data-section-code": cell.sectionCode, "data-value": cell.quantity == null ? "withheld" : cell.quantity, class: cell.quantity == null ? "withheld" : null },
            h("td", {}, cell.quantity == null ? "–" : numbers.format(index + 1)),
            h("th", { scope: "row" }, section ? section.name : cell.sectionCode),
            h("td", {}, section ? regions.of(section.country) : ""),
            h("td", { class: "number" }, amount(cell.quantity)),
            h("td", { class: "number" }, amount(cell.verified)),
            h("td", { class: "number" }, amount(cell.selfReported)),
          );
        }),
      ),
    ),
  );
}

function renderHistory() {
  const byYear = new Map(state.history.map((row) => [row.year, { quantity: row.quantity, counted: false }]));
  for (const campaign of state.campaigns) {
    if (!byYear.has(campaign.year) && campaign.totals && campaign.totals.quantity > 0) {
      byYear.set(campaign.year, { quantity: campaign.totals.quantity, counted: true });
    }
  }
  const years = [...byYear.keys()].sort((a, b) => a - b);
  historyFigure.replaceChildren();
  if (!years.length) {
    historySummary.textContent = t.noData;
    return;
  }
  const quantities = years.map((year) => byYear.get(year).quantity);
  const best = years[quantities.indexOf(Math.max(...quantities))];
  historySummary.textContent = `${fill(t.historySummary, {
    first: years[0],
    last: years[years.length - 1],
    best,
    bestQuantity: numbers.format(byYear.get(best).quantity),
  })} ${t.historyPublished}`;
  historyChart(historyFigure, { years, quantities, label: t.actions, yearLabel: t.year, formatNumber: (number) => compact.format(number) });
  historyTable.replaceChildren(
    table(
      t.historyTitle,
      [t.year, t.actions],
      years.map((year) => [String(year), `${numbers.format(byYear.get(year).quantity)}${byYear.get(year).counted ? ` (${t.countedHere})` : ""}`]),
    ),
  );
}

// ---- start -------------------------------------------------------------------------------

if (state.token) {
  start(state.token).catch((error) => {
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = null;
    signInError.textContent = messageFor(error);
  });
}
