// The benchmark's backend: a grpc-js server answering KServe ModelInfer with a small fixed response,
// messages kept as raw bytes. It counts the calls it answered OK; the bench reads the count from stdout.
import { Buffer } from 'node:buffer';
import * as grpc from '@grpc/grpc-js';

const identity = (b) => b;
const response = Buffer.alloc(64, 7);
let ok = 0;

const service = {
  ModelInfer: {
    path: '/inference.GRPCInferenceService/ModelInfer',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

const server = new grpc.Server({ 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 });
server.addService(service, {
  ModelInfer(call, callback) {
    ok++;
    callback(null, response);
  },
});
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  process.stdout.write(`PORT ${port}\n`);
});
// "count" on stdin → "OK <n>" on stdout: how the bench checks grpc-status beside h2load's HTTP 200s
process.stdin.setEncoding('utf8');
process.stdin.on('data', (text) => {
  if (text.includes('count')) process.stdout.write(`OK ${ok}\n`);
});
process.stdin.on('end', () => process.exit(0));
