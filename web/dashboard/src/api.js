// GraphQL over HTTP with the signed-in token, and the live totals over graphql-ws.
import { createClient } from "graphql-ws";

/** A request the dashboard cannot recover from by itself; `kind` picks the message. */
export class ApiError extends Error {
  constructor(kind, detail) {
    super(detail || kind);
    this.kind = kind; // "invalid" | "forbidden" | "insufficient" | "network" | "server"
    this.detail = detail || "";
  }
}

/** POSTs `query` to `endpoint` as the bearer of `token`; the `data`, or an ApiError. */
export async function graphql(endpoint, token, query, variables, language) {
  let response;
  try {
    response = await fetch(endpoint, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/graphql-response+json, application/json",
        "accept-language": language,
        authorization: `Bearer ${token}`,
      },
      body: JSON.stringify({ query, variables }),
      credentials: "omit",
      cache: "no-store",
    });
  } catch (error) {
    throw new ApiError("network", String(error));
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const errors = (body && body.errors) || [];
  const codes = errors.map((error) => error.extensions && error.extensions.code);
  const message = errors.map((error) => error.message).join(" ");
  if (response.status === 401 || codes.includes("UNAUTHENTICATED")) {
    throw new ApiError("invalid", message);
  }
  if (response.status === 403) throw new ApiError("forbidden", message);
  if (codes.includes("FORBIDDEN")) throw new ApiError("insufficient", message);
  if (!response.ok || errors.length || !body || !body.data) {
    throw new ApiError("server", message || `HTTP ${response.status}`);
  }
  return body.data;
}

/**
 * Subscribes to `totalsUpdated(campaign: year)` on the endpoint's websocket, calling
 * `onChange()` for each update and `onState(state, reason)` when the connection changes
 * ("connecting", "live", "reconnecting", "offline"). Returns a function that stops it.
 */
export function watchTotals(endpoint, token, year, onChange, onState) {
  const url = new URL(endpoint, window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  let everConnected = false;
  const client = createClient({
    url: url.href,
    connectionParams: { authorization: `Bearer ${token}` },
    lazy: false,
    retryAttempts: Infinity,
    shouldRetry: (event) => !(event && typeof event.code === "number" && event.code >= 4400 && event.code < 4500),
    retryWait: async (retries) => {
      await new Promise((resolve) => setTimeout(resolve, Math.min(30000, 1000 * 2 ** retries)));
    },
    on: {
      connecting: () => onState(everConnected ? "reconnecting" : "connecting"),
      connected: () => {
        everConnected = true;
        onState("live");
      },
      closed: (event) => {
        const code = event && typeof event.code === "number" ? event.code : 0;
        if (code >= 4400 && code < 4500) onState("offline", `${code} ${event.reason || ""}`.trim());
        else onState("reconnecting");
      },
    },
  });
  const unsubscribe = client.subscribe(
    {
      query: "subscription Live($year: Int!) { totalsUpdated(campaign: $year) { campaignYear } }",
      variables: { year },
    },
    {
      next: () => onChange(),
      error: (error) => onState("offline", Array.isArray(error) ? error.map((item) => item.message).join(" ") : String(error && (error.reason || error.message || error))),
      complete: () => {},
    },
  );
  return () => {
    unsubscribe();
    client.dispose();
  };
}
