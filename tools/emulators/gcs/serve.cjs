/* global process, setTimeout */
// Runs the Cloud Storage API of the Firebase Storage emulator on 127.0.0.1 without Java or downloads:
// the rules runtime (a Java jar) is replaced by an allow-all rules manager, which the gcloud API never consults anyway.
// Prints `BG_EMULATOR_PORT=<port>` once listening; stops on SIGTERM/SIGINT or when stdin closes.
'use strict';
const { StorageEmulator } = require('firebase-tools/lib/emulator/storage');
const { createApp } = require('firebase-tools/lib/emulator/storage/server');
const { StorageRulesIssues } = require('firebase-tools/lib/emulator/storage/rules/runtime');
const { EmulatorRegistry } = require('firebase-tools/lib/emulator/registry');
const { Emulators } = require('firebase-tools/lib/emulator/types');

const host = '127.0.0.1';
const projectId = process.env.GCS_EMULATOR_PROJECT || 'bundlegate-test';

async function main() {
  const emulator = new StorageEmulator({ projectId, host, port: 1, rules: { name: 'storage.rules', content: '' }, auto_download: false });
  emulator._rulesRuntime.start = async () => undefined;
  emulator._rulesRuntime.stop = async () => undefined;
  const allowAll = {
    verify: async () => ({ permitted: true, issues: new StorageRulesIssues() }),
  };
  emulator._rulesManager = {
    start: async () => new StorageRulesIssues(),
    stop: async () => undefined,
    getRuleset: () => allowAll,
  };
  // listen ourselves so port 0 works (StorageEmulator.start() treats 0 as "use the default 9199")
  const app = await createApp(projectId, emulator);
  const server = await new Promise((resolve, reject) => {
    const s = app.listen(0, host, () => resolve(s));
    s.once('error', reject);
  });
  const { port } = server.address();
  emulator.args.port = port;
  emulator._app = app;
  EmulatorRegistry.set(Emulators.STORAGE, emulator);
  process.stdout.write(`BG_EMULATOR_PORT=${port}\n`);

  const stop = () => {
    server.closeAllConnections?.();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.resume();
}

main().catch((err) => {
  process.stderr.write(`gcs emulator failed: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
