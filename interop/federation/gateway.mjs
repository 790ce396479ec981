// A real Apollo Gateway over two subgraphs: w4r (a running server) and urgent-actions
// (urgent-actions.mjs, started here), from the supergraph that compose.mjs composes.
//
//   node interop/federation/gateway.mjs w4r.graphql http://127.0.0.1:8000/graphql
//
// Once both listen on 127.0.0.1 (free ports), prints one JSON line on stdout:
// {"gateway": url, "urgentActions": url, "hints": [...]}. It serves until its stdin closes
// (or SIGTERM), then stops both servers. Exits 1 when composition fails, 2 on a usage error.
//
// What it forwards to w4r is what any gateway in front of w4r must forward: the caller's
// Authorization, W4R-Section and Accept-Language headers, and the section of a request made
// to the gateway's /s/<code>/graphql, which goes to w4r's /s/<code>/graphql.

import { readFileSync } from 'node:fs';
import { argv, exit, stdin, stdout } from 'node:process';

import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';

import { composeWithW4r } from './compose.mjs';
import { startUrgentActions } from './urgent-actions.mjs';

const FORWARDED_HEADERS = ['authorization', 'w4r-section', 'accept-language'];
const SECTION_PATH = /^\/s\/([^/?#]+)\/graphql(?:[?#]|$)/;

/** What the gateway passes on from one incoming request. */
function forwardedFrom(request) {
  const headers = {};
  for (const name of FORWARDED_HEADERS) {
    const value = request.headers[name];
    if (typeof value === 'string') {
      headers[name] = value;
    }
  }
  const match = SECTION_PATH.exec(request.url ?? '');
  return { headers, sectionCode: match ? decodeURIComponent(match[1]) : null };
}

/** w4r's data source: the caller's headers, and the section's path when one was used. */
class W4rDataSource extends RemoteGraphQLDataSource {
  willSendRequest({ request, context }) {
    const forwarded = context?.forwarded;
    if (!forwarded) {
      return; // the gateway's own requests (none with a static supergraph)
    }
    for (const [name, value] of Object.entries(forwarded.headers)) {
      request.http.headers.set(name, value);
    }
    if (forwarded.sectionCode !== null) {
      const url = new URL(this.url);
      url.pathname = `/s/${encodeURIComponent(forwarded.sectionCode)}/graphql`;
      request.http.url = url.href;
    }
  }
}

async function main() {
  if (argv.length < 4) {
    console.error('usage: node gateway.mjs <w4r subgraph SDL file> <w4r graphql url>');
    exit(2);
  }
  const [w4rSdlFile, w4rUrl] = argv.slice(2);
  const urgentActions = await startUrgentActions();
  const composed = composeWithW4r(readFileSync(w4rSdlFile, 'utf8'), w4rUrl, urgentActions.url);
  if (composed.errors.length) {
    console.error(JSON.stringify(composed.errors));
    await urgentActions.server.stop();
    exit(1);
  }
  const gateway = new ApolloGateway({
    supergraphSdl: composed.supergraphSdl,
    buildService: ({ name, url }) =>
      name === 'w4r' ? new W4rDataSource({ url }) : new RemoteGraphQLDataSource({ url }),
  });
  const server = new ApolloServer({ gateway });
  const { url } = await startStandaloneServer(server, {
    listen: { host: '127.0.0.1', port: 0 },
    context: async ({ req }) => ({ forwarded: forwardedFrom(req) }),
  });
  stdout.write(
    JSON.stringify({ gateway: url, urgentActions: urgentActions.url, hints: composed.hints }) + '\n',
  );

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await server.stop();
    await urgentActions.server.stop();
    exit(0);
  };
  stdin.on('end', stop);
  stdin.on('close', stop);
  stdin.resume();
  process.on('SIGTERM', stop);
}

await main();
