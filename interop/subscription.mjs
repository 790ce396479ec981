// A `graphql-ws` client (graphql-transport-ws over `ws`) subscribed to w4r's live totals,
// while an anonymous supporter's action is recorded over HTTP.
//
//   node interop/subscription.mjs '<scenario as JSON>'
//
// The scenario: {"websocketUrl", "httpUrl", "campaign", "caseId", "authorization"?,
// "timeoutMs"?}. `authorization` goes into the connection_init payload as
// {"authorization": "Bearer …"} (graphql-ws `connectionParams`).
//
// Prints one JSON document on stdout and exits 0 when the run ended in one of two ways:
// - {"outcome": "updated", "initial": totals, "updated": totals, "action": id}: the first
//   totals arrived, one actionRecord was sent over HTTP, and an update counted it;
// - {"outcome": "closed", "code": n, "reason": "…"}: the server closed the connection.
// Exits 2, saying why on stderr, on anything else (a timeout, a GraphQL error).

import { randomUUID } from 'node:crypto';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const TOTALS_UPDATED = `
  subscription ($campaign: Int!, $case: UUID) {
    totalsUpdated(campaign: $campaign, case: $case) {
      campaignYear caseId totals { quantity verified selfReported }
    }
  }
`;
const ACTION_RECORD = `
  mutation ($input: ActionRecordInput!) {
    actionRecord(input: $input) { action { id } errors { field code message } }
  }
`;

/** One anonymous supporter's letter, recorded through the HTTP endpoint. */
async function recordAction(scenario) {
  const response = await fetch(scenario.httpUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
    },
    body: JSON.stringify({
      query: ACTION_RECORD,
      variables: {
        input: {
          campaign: scenario.campaign,
          caseId: scenario.caseId,
          actionType: 'LETTER',
          idempotencyKey: randomUUID(),
          clientId: `graphql-ws-${randomUUID()}`,
        },
      },
    }),
  });
  const body = await response.json();
  const payload = body.data?.actionRecord;
  if (response.status !== 200 || body.errors || payload.errors.length > 0) {
    throw new Error(`actionRecord failed (${response.status}): ${JSON.stringify(body)}`);
  }
  return payload.action.id;
}

/** Subscribe, record one action once the first totals arrive, wait for its update. */
function run(scenario) {
  const client = createClient({
    url: scenario.websocketUrl,
    webSocketImpl: WebSocket,
    connectionParams: scenario.authorization
      ? { authorization: scenario.authorization }
      : undefined,
    retryAttempts: 0, // a refusal must reach the caller, not be retried
  });
  return new Promise((resolve, reject) => {
    let initial = null;
    let action = null;
    const finish = (outcome) => {
      unsubscribe();
      client.dispose();
      resolve(outcome);
    };
    const fail = (error) => {
      unsubscribe();
      client.dispose();
      reject(error);
    };
    const unsubscribe = client.subscribe(
      { query: TOTALS_UPDATED, variables: { campaign: scenario.campaign, case: scenario.caseId } },
      {
        next: (result) => {
          if (result.errors) {
            fail(new Error(`the subscription failed: ${JSON.stringify(result.errors)}`));
            return;
          }
          const { totals } = result.data.totalsUpdated;
          if (initial === null) {
            initial = totals;
            recordAction(scenario).then((id) => {
              action = id;
            }, fail);
          } else if (totals.quantity > initial.quantity) {
            finish({ outcome: 'updated', initial, updated: totals, action });
          }
        },
        error: (error) => {
          // graphql-ws reports a closed socket as its close event
          if (error && typeof error.code === 'number') {
            finish({ outcome: 'closed', code: error.code, reason: error.reason });
          } else {
            fail(error instanceof Error ? error : new Error(JSON.stringify(error)));
          }
        },
        complete: () => fail(new Error('the subscription completed without an update')),
      },
    );
  });
}

async function main(argv) {
  if (!argv[2]) {
    process.stderr.write('usage: node subscription.mjs <scenario as JSON>\n');
    return 2;
  }
  const scenario = JSON.parse(argv[2]);
  const timeoutMs = scenario.timeoutMs ?? 15000;
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`nothing happened in ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const outcome = await Promise.race([run(scenario), timeout]);
    process.stdout.write(`${JSON.stringify(outcome)}\n`);
    return 0;
  } finally {
    clearTimeout(timer);
  }
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`${error?.stack ?? error}\n`);
    process.exit(2); // a client still connecting would keep the process alive
  },
);
