// The agent's access log service for Envoy (the `envoy_accesslog_service` cluster of its bootstrap, a
// pipe to the Unix socket `ALS` in the agent's directory): envoy.service.accesslog.v3.AccessLogService
// /StreamAccessLogs. Envoy opens a stream per logger (its log_name in the first message's identifier)
// and sends batches of HTTPAccessLogEntry for ever; each entry goes to `onEntry` with its log name.
// TCP entries are not counted (the Istio TCP metrics are not produced; docs/telemetry.md).
import * as grpc from '@grpc/grpc-js';
import { decodeMessage, encodeMessage } from '../xds/protos.js';
import type { HttpAccessLogEntry } from '../telemetry/access-log-entry.js';
import { serveOnUnixSocket } from './unix-socket-server.js';

const ALS_SERVICE = 'envoy.service.accesslog.v3.AccessLogService';
const MESSAGE = 'envoy.service.accesslog.v3.StreamAccessLogsMessage';
const RESPONSE = 'envoy.service.accesslog.v3.StreamAccessLogsResponse';

interface StreamAccessLogsMessage {
  identifier?: { node?: { id?: string }; log_name?: string };
  http_logs?: { log_entry?: HttpAccessLogEntry[] };
  tcp_logs?: { log_entry?: unknown[] };
}

function alsServiceDefinition(): grpc.ServiceDefinition {
  return {
    StreamAccessLogs: {
      path: `/${ALS_SERVICE}/StreamAccessLogs`,
      requestStream: true,
      responseStream: false,
      requestSerialize: (value: object) => encodeMessage(MESSAGE, value),
      requestDeserialize: (bytes: Buffer) => decodeMessage(MESSAGE, bytes) as StreamAccessLogsMessage,
      responseSerialize: (value: object) => encodeMessage(RESPONSE, value),
      responseDeserialize: (bytes: Buffer) => decodeMessage(RESPONSE, bytes),
      originalName: 'streamAccessLogs',
    } as grpc.MethodDefinition<StreamAccessLogsMessage, object>,
  };
}

export type AccessLogHandler = (logName: string, entry: HttpAccessLogEntry) => void;

export interface AccessLogServerOptions {
  /** The Unix socket to listen on (replaced if a stale one is there). */
  socketPath: string;
  onEntry: AccessLogHandler;
  log: (line: string) => void;
}

export interface RunningAccessLogServer {
  socketPath: string;
  /** Streams open now (one per logger Envoy runs). */
  openStreams(): number;
  /** HTTP entries received. */
  received(): number;
  close(): Promise<void>;
}

export async function startAccessLogServer(opts: AccessLogServerOptions): Promise<RunningAccessLogServer> {
  let open = 0;
  let received = 0;
  const handler = (call: grpc.ServerReadableStream<StreamAccessLogsMessage, object>, callback: grpc.sendUnaryData<object>): void => {
    open++;
    // The identifier comes with the first message of a stream only.
    let logName = '';
    call.on('data', (message: StreamAccessLogsMessage) => {
      if (message.identifier?.log_name) logName = message.identifier.log_name;
      for (const entry of message.http_logs?.log_entry ?? []) {
        received++;
        try {
          opts.onEntry(logName, entry);
        } catch (err) {
          opts.log(`access log service: an entry of ${logName || 'an unnamed logger'} was not counted: ${(err as Error).message}`);
        }
      }
    });
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      open--;
    };
    call.on('end', () => {
      finish();
      callback(null, {});
    });
    call.on('error', finish);
    call.on('cancelled', finish);
  };
  const server = new grpc.Server();
  server.addService(alsServiceDefinition(), { StreamAccessLogs: handler });
  const stop = await serveOnUnixSocket(server, opts.socketPath);
  return {
    socketPath: opts.socketPath,
    openStreams: () => open,
    received: () => received,
    close: async () => stop(),
  };
}
