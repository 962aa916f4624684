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

const [url, token] = process.argv.slice(2);
if (!url || !token) {
  console.error('usage: node ts-session-client.mjs MCP_URL BEARER_TOKEN');
  process.exit(2);
}

const text = (result) => (result.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');

async function listAll(client) {
  const names = [];
  let cursor;
  let pages = 0;
  do {
    const page = await client.listTools(cursor ? { cursor } : {});
    names.push(...page.tools.map((t) => t.name));
    cursor = page.nextCursor;
    pages++;
  } while (cursor && pages < 100);
  return names;
}

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

async function cancel(client) {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort('cancelled by ts-session-client'), 300);
  const start = Date.now();
  try {
    await client.callTool({ name: 'sleep', arguments: { ms: 300000 } }, undefined, { signal: ac.signal, timeout: 120000 });
    return { cancelled: false, elapsedMs: Date.now() - start };
  } catch (err) {
    return { cancelled: ac.signal.aborted, elapsedMs: Date.now() - start, error: String(err?.message ?? err) };
  } finally {
    clearTimeout(timer);
  }
}

async function main() {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: 'mcpmesh-ts-session-e2e', version: '0.0.0' });
  await client.connect(transport);
  const summary = { protocolVersion: transport.protocolVersion ?? null, sessionId: transport.sessionId ?? null };
  summary.tools = await listAll(client);
  summary.calls = await calls(client, 30);
  summary.progress = await progress(client);
  summary.cancel = await cancel(client);
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
