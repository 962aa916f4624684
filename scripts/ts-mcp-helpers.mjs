// ts-mcp-helpers.mjs: what the TypeScript client scripts (ts-client.mjs,
// ts-session-client.mjs) share: reading the command line, the text of a
// result, every page of tools/list, and a call cancelled while it runs.

// args is MCP_URL and BEARER_TOKEN from the command line of script, or the
// usage and exit 2.
export function args(script) {
  const [url, token] = process.argv.slice(2);
  if (!url || !token) {
    console.error(`usage: node ${script} MCP_URL BEARER_TOKEN`);
    process.exit(2);
  }
  return { url, token };
}

// text is a result's text contents, joined by newlines.
export const text = (result) => (result.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');

// listAll lists every page of tools (at most 100 pages) and says how many pages it took.
export async function listAll(client) {
  const tools = [];
  let cursor;
  let pages = 0;
  do {
    const page = await client.listTools(cursor ? { cursor } : {});
    tools.push(...page.tools);
    cursor = page.nextCursor;
    pages++;
  } while (cursor && pages < 100);
  return { tools, pages };
}

// cancel calls sleep for five minutes and aborts it after 300 ms, as a
// user would: the call must end at once, cancelled.
export async function cancel(client, by) {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(`cancelled by ${by}`), 300);
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
