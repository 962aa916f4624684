// ts-session-client.mjs drives one legacy MCP session (protocol 2025-11-25,
// what @modelcontextprotocol/sdk 1.32 negotiates) with the official
// TypeScript client, through whatever sits at MCP_URL (cmd/mcpmesh's
// e2e_lbsession_test.go puts a round-robin balancer over three nodes
// there), and prints one JSON summary line that the test asserts on:
// initialize, tools/list, 30 calls, a call with progress, a cancelled call,
// ping, DELETE.
//
// Usage: node scripts/ts-session-client.mjs MCP_URL BEARER_TOKEN
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { args, cancel, listAll, text } from './ts-mcp-helpers.mjs';

const { url, token } = args('ts-session-client.mjs');

async function calls(client, n) {
  const answers = {};
  let errors = 0;
  for (let i = 0; i < n; i++) {
    const result = await client.callTool({ name: 'whoami', arguments: {} });
    if (result.isError) errors++;
    const who = text(result);
    answers[who] = (answers[who] ?? 0) + 1;
  }
  return { answers, errors };
}

async function progress(client) {
  const seen = [];
  const result = await client.callTool({ name: 'sleep', arguments: { ms: 450 } }, undefined, {
    onprogress: (p) => seen.push(p.progress),
  });
  return { values: seen, isError: Boolean(result.isError), text: text(result) };
}

async function main() {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: 'mcpmesh-ts-session-e2e', version: '0.0.0' });
  await client.connect(transport);
  const summary = { protocolVersion: transport.protocolVersion ?? null, sessionId: transport.sessionId ?? null };
  summary.tools = (await listAll(client)).tools.map((t) => t.name);
  summary.calls = await calls(client, 30);
  summary.progress = await progress(client);
  summary.cancel = await cancel(client, 'ts-session-client');
  summary.pingAfterCancel = (await client.ping()) !== undefined;
  await transport.terminateSession();
  summary.terminated = transport.sessionId === undefined;
  await client.close();
  console.log(JSON.stringify(summary));
}

main().catch((err) => {
  console.log(JSON.stringify({ fatal: String(err?.stack ?? err) }));
  process.exit(1);
});
