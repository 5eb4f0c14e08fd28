/* global process, setTimeout */
// Runs s3rver on 127.0.0.1 in its own process (started with --openssl-legacy-provider by the harness, or
// ListObjectsV2 pagination answers 500). Prints `BG_EMULATOR_PORT=<port>`; stops on SIGTERM or when stdin closes.
'use strict';
const S3rver = require('s3rver');

async function main() {
  const directory = process.env.S3RVER_DIRECTORY;
  if (!directory) throw new Error('S3RVER_DIRECTORY is not set');
  const buckets = (process.env.S3RVER_BUCKETS || '').split(',').filter(Boolean);
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const { port } = await server.run();
  process.stdout.write(`BG_EMULATOR_PORT=${port}\n`);
  const stop = () => {
    server.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.resume();
}

main().catch((err) => {
  process.stderr.write(`s3rver failed: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
