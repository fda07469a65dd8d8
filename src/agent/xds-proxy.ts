// Istio's agent XDS proxy: Envoy's ADS (`xds-grpc` in its bootstrap) goes to a Unix socket of the agent,
// and the agent relays each stream, message by message and byte for byte, to the control plane over
// TLS with the pod's token (Envoy has no token and no route to it otherwise). State of the world and
// delta streams alike; when either side ends or fails, the other is ended with the same status.
import * as grpc from '@grpc/grpc-js';
import { adsServiceDefinition } from '../xds/protos.js';
import { serveOnUnixSocket } from './unix-socket-server.js';

const identity = (bytes: Buffer): Buffer => bytes;

/** The ADS methods with the messages left as bytes: the proxy never decodes them. */
function passthroughDefinition(): grpc.ServiceDefinition {
  const ads = adsServiceDefinition();
  const raw = (m: { path: string; originalName?: string }): grpc.MethodDefinition<Buffer, Buffer> => ({
    path: m.path,
    requestStream: true,
    responseStream: true,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
    ...(m.originalName ? { originalName: m.originalName } : {}),
  });
  return { StreamAggregatedResources: raw(ads.StreamAggregatedResources), DeltaAggregatedResources: raw(ads.DeltaAggregatedResources) };
}

export interface XdsProxyOptions {
  socketPath: string;
  /** host:port of the control plane. */
  upstream: string;
  credentials: grpc.ChannelCredentials;
  log: (line: string) => void;
}

export interface RunningXdsProxy {
  socketPath: string;
  /** Streams relayed now. */
  openStreams(): number;
  close(): Promise<void>;
}

export async function startXdsProxy(opts: XdsProxyOptions): Promise<RunningXdsProxy> {
  const client = new grpc.Client(opts.upstream, opts.credentials, {
    'grpc.max_receive_message_length': -1,
    'grpc.max_send_message_length': -1,
    'grpc.initial_reconnect_backoff_ms': 100,
    'grpc.max_reconnect_backoff_ms': 1000,
  });
  const definition = passthroughDefinition();
  let open = 0;

  const relay = (path: string) => (down: grpc.ServerDuplexStream<Buffer, Buffer>): void => {
    open++;
    const up = client.makeBidiStreamRequest(path, identity, identity);
    let done = false;
    const finish = (): boolean => {
      if (done) return false;
      done = true;
      open--;
      return true;
    };
    down.on('data', (bytes: Buffer) => up.write(bytes));
    // Envoy half-closed or went away: so does the upstream stream.
    down.on('end', () => up.end());
    down.on('cancelled', () => {
      if (finish()) up.cancel();
    });
    down.on('error', () => {
      if (finish()) up.cancel();
    });
    up.on('data', (bytes: Buffer) => down.write(bytes));
    up.on('error', (err: grpc.ServiceError) => {
      if (!finish()) return;
      // Not our own cancel (Envoy's end finishes the relay first): the control plane ended it.
      opts.log(`xds proxy: ${opts.upstream} ended the stream: ${grpc.status[err.code] ?? err.code}: ${err.details || err.message}`);
      down.emit('error', { code: err.code, details: err.details || err.message, metadata: err.metadata });
    });
    up.on('status', (status: grpc.StatusObject) => {
      if (status.code === grpc.status.OK && finish()) down.end();
    });
  };

  const server = new grpc.Server({ 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 });
  server.addService(definition, {
    StreamAggregatedResources: relay(definition.StreamAggregatedResources!.path),
    DeltaAggregatedResources: relay(definition.DeltaAggregatedResources!.path),
  });
  const stop = await serveOnUnixSocket(server, opts.socketPath);
  return {
    socketPath: opts.socketPath,
    openStreams: () => open,
    close: () =>
      new Promise<void>((resolve) => {
        stop();
        client.close();
        resolve();
      }),
  };
}
