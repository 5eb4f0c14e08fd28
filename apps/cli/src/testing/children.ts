import type { ChildSpec } from '../supervisor';

// Small real node programs for supervision tests: each is `node -e <script>`.

/** A child that runs `script` (plain JavaScript) in a fresh node process. */
export function nodeChild(name: string, script: string, extra: Partial<ChildSpec> = {}): ChildSpec {
  return { name, command: process.execPath, args: ['-e', script], ...extra };
}

/** Prints `started`, says `bye` on SIGTERM and exits 0, like a service with graceful shutdown. */
// the handler goes in before `started`: a SIGTERM sent on seeing that line must not meet the default action
export const GRACEFUL = `
process.on('SIGTERM', () => { console.log('bye'); process.exit(0); });
console.log('started');
setInterval(() => {}, 1000);
`;

/** Ignores SIGTERM: only SIGKILL ends it. */
export const STUBBORN = `
process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
console.log('started');
setInterval(() => {}, 1000);
`;

/**
 * An HTTP server on 127.0.0.1:<port> answering `path` with 503 until `readyAfterMs` passed, then 200;
 * every other path 404. Exits 0 on SIGTERM.
 */
export function httpService(port: number, path: string, readyAfterMs: number): string {
  return `
const http = require('node:http');
const start = Date.now();
const server = http.createServer((req, res) => {
  if (req.url !== ${JSON.stringify(path)}) { res.statusCode = 404; return res.end(); }
  res.statusCode = Date.now() - start >= ${readyAfterMs} ? 200 : 503;
  res.end();
});
server.listen(${port}, '127.0.0.1', () => console.log('listening on ${port}'));
process.on('SIGTERM', () => { console.log('bye'); server.close(); process.exit(0); });
`;
}
