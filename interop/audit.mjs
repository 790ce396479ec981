// The GraphQL-over-HTTP conformance audit of the `graphql-http` package, run against a
// live w4r endpoint.
//
//   node interop/audit.mjs http://127.0.0.1:8000/graphql
//
// Prints one JSON document on stdout: every audit's id, name and status ("ok", or "notice"
// for a failed MAY, "warn" for a failed SHOULD, "error" for a failed MUST), and for a
// failure the reason and the response's status, content type and body. Exits 1 when any
// audit ends in "warn" or "error", 2 on a usage error or when an audit cannot run at all.

import { serverAudits } from 'graphql-http';

const FAILING = new Set(['warn', 'error']);

/** The response of a failed audit, as far as it can still be read. */
async function describeResponse(response) {
  if (response === undefined || response === null) {
    return null;
  }
  let body = null;
  try {
    body = await response.clone().text();
  } catch {
    // the audit consumed the body and kept no copy of it
  }
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    body,
  };
}

async function runAudit(audit) {
  const result = await audit.fn();
  const report = { id: result.id, name: result.name, status: result.status };
  if (result.status !== 'ok') {
    report.reason = result.reason;
    report.response = await describeResponse(result.response);
  }
  return report;
}

async function main(argv) {
  const url = argv[2];
  if (!url) {
    process.stderr.write('usage: node audit.mjs <GraphQL endpoint URL>\n');
    return 2;
  }
  // One audit at a time: the report is reproducible and a small server is not flooded.
  const results = [];
  for (const audit of serverAudits({ url, fetchFn: fetch })) {
    results.push(await runAudit(audit));
  }
  const counts = {};
  for (const { status } of results) {
    counts[status] = (counts[status] ?? 0) + 1;
  }
  process.stdout.write(`${JSON.stringify({ url, counts, results }, null, 2)}\n`);
  return results.some(({ status }) => FAILING.has(status)) ? 1 : 0;
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`the audit could not run: ${error?.stack ?? error}\n`);
    process.exitCode = 2;
  },
);
