// ts-client.mjs drives an mcpmesh node with the official TypeScript MCP
// client (@modelcontextprotocol/sdk) and prints one JSON summary line that
// cmd/mcpmesh's e2e_ts_test.go asserts on.
//
// Usage: node scripts/ts-client.mjs MCP_URL BEARER_TOKEN
// Run it with Node 22 from scripts/node_modules (make scripts/node_modules).
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { args, cancel, listAll, text } from './ts-mcp-helpers.mjs';

const { url, token } = args('ts-client.mjs');

async function listing(client) {
  const { tools, pages } = await listAll(client);
  return {
    pages,
    count: tools.length,
    names: tools.map((t) => t.name),
    withoutMetaSource: tools.filter((t) => !t._meta?.['mcpmesh/source']).map((t) => t.name),
  };
}

async function progress(client) {
  const seen = [];
  const result = await client.callTool({ name: 'ev__test_tool_with_progress', arguments: {} }, undefined, {
    onprogress: (p) => seen.push(p.progress),
  });
  return { values: seen, isError: Boolean(result.isError) };
}

async function unknownTool(client) {
  try {
    const result = await client.callTool({ name: 'no_such_tool', arguments: {} });
    return { threw: false, isError: Boolean(result.isError), text: text(result) };
  } catch (err) {
    return { threw: true, code: err?.code ?? null, message: String(err?.message ?? err) };
  }
}

async function main() {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: 'mcpmesh-ts-e2e', version: '0.0.0' });
  await client.connect(transport);
  const summary = {
    server: client.getServerVersion(),
    protocolVersion: transport.protocolVersion ?? null,
    sessionId: transport.sessionId ?? null,
  };
  summary.list = await listing(client);
  summary.echo = text(await client.callTool({ name: 'echo', arguments: { text: 'hello from typescript' } }));
  summary.progress = await progress(client);
  summary.cancel = await cancel(client, 'ts-client');
  summary.pingAfterCancel = (await client.ping()) !== undefined;
  summary.unknownTool = await unknownTool(client);
  await transport.terminateSession();
  await client.close();
  console.log(JSON.stringify(summary));
}

main().catch((err) => {
  console.log(JSON.stringify({ fatal: String(err?.stack ?? err) }));
  process.exit(1);
});
