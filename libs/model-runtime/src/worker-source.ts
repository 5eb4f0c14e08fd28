// The code each inference worker thread runs, as CommonJS source: a worker needs a file or a string, and a
// string survives bundling (esbuild) and jest alike. It loads one session and serves run requests one at a time.
export const WORKER_SOURCE = String.raw`
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
const message = (e) => (e && e.message) || String(e);
let session;
const loading = ort.InferenceSession.create(workerData.file, workerData.sessionOptions).then(
  (s) => {
    session = s;
    parentPort.postMessage({ type: 'ready', inputs: s.inputMetadata, outputs: s.outputMetadata });
  },
  (e) => parentPort.postMessage({ type: 'failed', message: message(e) }),
);
parentPort.on('message', (msg) => {
  if (msg.type === 'close') {
    loading.then(() => (session ? session.release() : undefined)).catch(() => undefined).then(() => parentPort.close());
    return;
  }
  const started = performance.now();
  // a feed onnxruntime refuses fails this run only, not the thread
  new Promise((resolve) => {
    const feeds = {};
    for (const v of msg.feeds) feeds[v.name] = new ort.Tensor(v.type, v.data, v.dims);
    resolve(session.run(feeds, msg.fetches));
  }).then(
    (results) => {
      const ms = performance.now() - started;
      const outputs = [];
      const transfer = [];
      for (const name of msg.fetches) {
        const t = results[name];
        if (t === undefined) throw new Error('onnxruntime returned no output "' + name + '"');
        outputs.push({ name, type: t.type, dims: t.dims, data: t.data });
        const d = t.data;
        if (ArrayBuffer.isView(d) && d.byteOffset === 0 && d.byteLength === d.buffer.byteLength) transfer.push(d.buffer);
      }
      try {
        parentPort.postMessage({ type: 'result', id: msg.id, outputs, ms }, transfer);
      } catch {
        parentPort.postMessage({ type: 'result', id: msg.id, outputs, ms });
      }
    },
  ).catch((e) => parentPort.postMessage({ type: 'error', id: msg.id, message: message(e) }));
});
`;
