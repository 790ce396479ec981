// A second subgraph, written for the federation test: it references w4r's `Case` by its
// `id` key and adds a field of its own (`Case.urgentActionUrl`), and it hands out bare
// references to cases and events, which a gateway can only complete through w4r's
// `_entities`.
//
// Imported by compose.mjs and gateway.mjs; it is never run on its own.

import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';

export const NAME = 'urgent-actions';

export const SDL = `
extend schema @link(url: "https://specs.apollo.dev/federation/v2.0", import: ["@key"])

scalar UUID

type Case @key(fields: "id") {
  id: UUID!
  "This subgraph's own data: where the case's urgent action is published."
  urgentActionUrl: String
}

type Event @key(fields: "id", resolvable: false) {
  id: UUID!
}

type Query {
  "A reference to a w4r case: every field but urgentActionUrl comes from w4r."
  urgentActionCase(id: UUID!): Case
  "A reference to a w4r event: all its fields come from w4r."
  urgentActionEvent(id: UUID!): Event
}
`;

export function urgentActionUrl(caseId) {
  return `https://urgent-actions.example/cases/${caseId}`;
}

const resolvers = {
  Query: {
    urgentActionCase: (_source, { id }) => ({ id }),
    urgentActionEvent: (_source, { id }) => ({ id }),
  },
  Case: {
    __resolveReference: ({ id }) => ({ id }),
    urgentActionUrl: ({ id }) => urgentActionUrl(id),
  },
};

/** Serves the subgraph on 127.0.0.1 (a free port); returns the server and its URL. */
export async function startUrgentActions() {
  const server = new ApolloServer({
    schema: buildSubgraphSchema([{ typeDefs: parse(SDL), resolvers }]),
    // Traces are for Apollo's hosted reporting, which this test does not use (and the
    // notice it prints would be mixed into gateway.mjs's standard output).
    plugins: [ApolloServerPluginInlineTraceDisabled()],
  });
  const { url } = await startStandaloneServer(server, { listen: { host: '127.0.0.1', port: 0 } });
  return { server, url };
}
