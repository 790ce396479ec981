// Composes w4r's subgraph SDL (`w4r schema export`) with the urgent-actions subgraph
// (urgent-actions.mjs) into a supergraph, with Apollo's own composition.
//
//   node interop/federation/compose.mjs w4r.graphql [w4r-url] [urgent-actions-url]
//
// Prints one JSON document on stdout: {errors: [{code, message}], hints: [{code,
// message}], supergraphSdl}. Exits 1 when composition fails, 2 on a usage error.

import { readFileSync } from 'node:fs';
import { argv, exit, stdout } from 'node:process';
import { pathToFileURL } from 'node:url';

import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';

import { NAME, SDL } from './urgent-actions.mjs';

const PLACEHOLDER_URL = 'http://127.0.0.1:9/graphql';

/** The composition of w4r's SDL with the urgent-actions subgraph at the given URLs. */
export function composeWithW4r(w4rSdl, w4rUrl = PLACEHOLDER_URL, urgentActionsUrl = PLACEHOLDER_URL) {
  const result = composeServices([
    { name: 'w4r', typeDefs: parse(w4rSdl), url: w4rUrl },
    { name: NAME, typeDefs: parse(SDL), url: urgentActionsUrl },
  ]);
  const describe = (item) => ({
    code: item.extensions?.code ?? item.definition?.code ?? null,
    message: item.message,
  });
  return {
    errors: (result.errors ?? []).map(describe),
    hints: (result.hints ?? []).map(describe),
    supergraphSdl: result.errors ? null : result.supergraphSdl,
  };
}

if (import.meta.url === pathToFileURL(argv[1]).href) {
  if (argv.length < 3) {
    console.error('usage: node compose.mjs <w4r subgraph SDL file> [w4r url] [urgent-actions url]');
    exit(2);
  }
  const composed = composeWithW4r(readFileSync(argv[2], 'utf8'), argv[3], argv[4]);
  stdout.write(JSON.stringify(composed) + '\n');
  exit(composed.errors.length ? 1 : 0);
}
