import type { Http2Server, ServerHttp2Session } from 'node:http2';
import type { Server } from '@grpc/grpc-js';

// grpc-js servers keep HTTP/2's 64 KiB flow-control windows, so a 600 KB request crosses in ten window
// round trips, and eight of them share one 64 KiB connection window. grpc-js 1.14 has no server option for
// it (clients have `grpc-node.flow_control_window`), so this reaches into two of its fields; the spec beside
// this file fails if a grpc-js upgrade moves them.

interface GrpcServerInternals {
  commonServerOptions?: { settings?: Record<string, unknown> };
  http2Servers?: Map<Http2Server, unknown>;
}

/** Call before `bindAsync`: streams may receive `bytes` before a window update (HTTP/2 SETTINGS_INITIAL_WINDOW_SIZE). */
export function raiseStreamWindow(server: Server, bytes: number): void {
  const internals = server as unknown as GrpcServerInternals;
  if (internals.commonServerOptions === undefined) throw new Error('grpc-js Server has no commonServerOptions: cannot raise HTTP/2 windows');
  internals.commonServerOptions.settings = { ...internals.commonServerOptions.settings, initialWindowSize: bytes };
}

/** Call after `bindAsync`: every new connection may receive `bytes` before a window update. */
export function raiseConnectionWindow(server: Server, bytes: number): void {
  const servers = (server as unknown as GrpcServerInternals).http2Servers;
  if (servers === undefined) throw new Error('grpc-js Server has no http2Servers: cannot raise HTTP/2 windows');
  for (const http2Server of servers.keys()) {
    http2Server.on('session', (session: ServerHttp2Session) => session.setLocalWindowSize(bytes));
  }
}
