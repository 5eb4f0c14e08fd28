// The transport floor for bench.ts: a bare grpc-js server that answers every call with `x-response-size` zero
// bytes and does nothing else, so the cost of gRPC itself can be told from onnx-serving's. Prints its port.
const grpc = require('@grpc/grpc-js');

const identity = (b) => b;
const definition = {
  call: { path: '/bench.Floor/Call', requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
};
const WINDOW = 8 * 1024 * 1024;
const server = new grpc.Server({ 'grpc.max_receive_message_length': 100 * 1024 * 1024, 'grpc.max_send_message_length': 100 * 1024 * 1024 });
// the same HTTP/2 receive windows onnx-serving uses, so the floor is the same transport
server.commonServerOptions.settings = { initialWindowSize: WINDOW };
const responses = new Map();
server.addService(definition, {
  call(call, callback) {
    const size = Number(call.metadata.get('x-response-size')[0] ?? 0);
    let response = responses.get(size);
    if (response === undefined) responses.set(size, (response = Buffer.alloc(size)));
    callback(null, response);
  },
});
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  for (const http2Server of server.http2Servers.keys()) http2Server.on('session', (s) => s.setLocalWindowSize(WINDOW));
  process.stdout.write(`${port}\n`);
});
process.on('SIGTERM', () => server.forceShutdown());
