"""A gRPC xDS interop client on gRPC C-core through Python grpcio (grpc/grpc doc/xds-test-descriptions.md).

It sends UnaryCall and/or EmptyCall of grpc.testing.TestService at a fixed rate to an xds:/// target
and serves LoadBalancerStatsService, XdsUpdateClientConfigureService and CSDS on --stats_port. It
runs on the newest grpcio wheel and on Debian's python3-grpcio 1.51 alike, so it uses no generated
code: the grpc.testing messages are built at run time from the FileDescriptorSet the test driver
hands it (--descriptor_set), and CSDS answers with the C-core's own dump of its xDS config (what the
grpcio-csds package serves), wrapped into a ClientStatusResponse by hand.
"""

import argparse
import collections
import sys
import threading
import time
from concurrent import futures

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool

try:  # protobuf >= 4.21.x
    from google.protobuf.message_factory import GetMessageClass
except ImportError:  # Debian's 3.21
    from google.protobuf import message_factory

    GetMessageClass = message_factory.MessageFactory().GetPrototype

from grpc._cython import cygrpc

METHODS = {"UnaryCall": "UNARY_CALL", "EmptyCall": "EMPTY_CALL"}
ENUM_TO_METHOD = {0: "EmptyCall", 1: "UnaryCall"}


def load_messages(path):
    pool = descriptor_pool.DescriptorPool()
    with open(path, "rb") as f:
        for file in descriptor_pb2.FileDescriptorSet.FromString(f.read()).file:
            pool.Add(file)
    return lambda name: GetMessageClass(pool.FindMessageTypeByName("grpc.testing." + name))


class Watcher:
    """A GetClientStats request: the peers of the next num_rpcs RPCs sent."""

    def __init__(self, num_rpcs):
        self.remaining = num_rpcs
        self.pending = 0
        self.by_peer = collections.Counter()
        self.by_method = collections.defaultdict(collections.Counter)
        self.failures = 0
        self.done = threading.Event()


class Stats:
    def __init__(self, types, metadata, timeout):
        self.lock = threading.Lock()
        self.types = types
        self.metadata = metadata
        self.timeout = timeout
        self.watchers = set()
        self.started = collections.Counter()
        self.results = collections.defaultdict(collections.Counter)

    def begin(self, method):
        with self.lock:
            self.started[METHODS[method]] += 1
            mine = [w for w in self.watchers if w.remaining > 0]
            for w in mine:
                w.remaining -= 1
                w.pending += 1
            return mine

    def end(self, method, watchers, peer, code):
        with self.lock:
            self.results[METHODS[method]][code.value[0]] += 1
            for w in watchers:
                if code == grpc.StatusCode.OK and peer:
                    w.by_peer[peer] += 1
                    w.by_method[method][peer] += 1
                else:
                    w.failures += 1
                w.pending -= 1
                if w.remaining == 0 and w.pending == 0:
                    self.watchers.discard(w)
                    w.done.set()


def parse_metadata(text):
    metadata = collections.defaultdict(list)
    for item in filter(None, text.split(",")):
        parts = item.split(":", 2)
        if len(parts) != 3 or parts[0] not in METHODS:
            sys.exit(f"--metadata: {item!r} is not Type:key:value with Type UnaryCall or EmptyCall")
        metadata[parts[0]].append((parts[1], parts[2]))
    return metadata


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--stats_port", type=int, required=True)
    parser.add_argument("--qps", type=int, default=100)
    parser.add_argument("--rpc", default="UnaryCall")
    parser.add_argument("--metadata", default="")
    parser.add_argument("--rpc_timeout_sec", type=int, default=20)
    parser.add_argument("--descriptor_set", required=True)
    args = parser.parse_args()

    message = load_messages(args.descriptor_set)
    SimpleRequest, SimpleResponse, Empty = message("SimpleRequest"), message("SimpleResponse"), message("Empty")
    StatsRequest, StatsResponse = message("LoadBalancerStatsRequest"), message("LoadBalancerStatsResponse")
    AccRequest, AccResponse = message("LoadBalancerAccumulatedStatsRequest"), message("LoadBalancerAccumulatedStatsResponse")
    ConfigureRequest, ConfigureResponse = message("ClientConfigureRequest"), message("ClientConfigureResponse")

    types = [t.strip() for t in args.rpc.split(",")]
    for t in types:
        if t not in METHODS:
            sys.exit(f"--rpc: unknown RPC type {t!r} (UnaryCall or EmptyCall)")
    stats = Stats(types, parse_metadata(args.metadata), args.rpc_timeout_sec)

    def get_client_stats(request, context):
        w = Watcher(request.num_rpcs)
        with stats.lock:
            stats.watchers.add(w)
        w.done.wait(request.timeout_sec)
        with stats.lock:
            stats.watchers.discard(w)
            response = StatsResponse(num_failures=w.failures + w.remaining)
            for peer, n in w.by_peer.items():
                response.rpcs_by_peer[peer] = n
            for method, peers in w.by_method.items():
                for peer, n in peers.items():
                    response.rpcs_by_method[method].rpcs_by_peer[peer] = n
        return response

    def get_accumulated_stats(request, context):
        response = AccResponse()
        with stats.lock:
            for method, n in stats.started.items():
                response.stats_per_method[method].rpcs_started = n
                for code, k in stats.results[method].items():
                    response.stats_per_method[method].result[code] = k
        return response

    def configure(request, context):
        metadata = collections.defaultdict(list)
        for m in request.metadata:
            metadata[ENUM_TO_METHOD[m.type]].append((m.key, m.value))
        with stats.lock:
            stats.types = [ENUM_TO_METHOD[t] for t in request.types]
            stats.metadata = metadata
            stats.timeout = request.timeout_sec or args.rpc_timeout_sec
        return ConfigureResponse()

    def fetch_client_status(request, context):
        # Older C-cores dump one ClientConfig, newer ones (a client per target) a whole
        # ClientStatusResponse { repeated ClientConfig config = 1; }, whose only field is 1.
        dump = cygrpc.dump_xds_configs()
        if set(top_level_fields(dump)) <= {1}:
            return dump
        return b"\x0a" + varint(len(dump)) + dump

    def handler(service, methods):
        return grpc.method_handlers_generic_handler(service, {
            name: grpc.unary_unary_rpc_method_handler(fn, request_deserializer=req, response_serializer=ser)
            for name, (fn, req, ser) in methods.items()
        })

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    server.add_generic_rpc_handlers((
        handler("grpc.testing.LoadBalancerStatsService", {
            "GetClientStats": (get_client_stats, StatsRequest.FromString, StatsResponse.SerializeToString),
            "GetClientAccumulatedStats": (get_accumulated_stats, AccRequest.FromString, AccResponse.SerializeToString),
        }),
        handler("grpc.testing.XdsUpdateClientConfigureService", {
            "Configure": (configure, ConfigureRequest.FromString, ConfigureResponse.SerializeToString),
        }),
        handler("envoy.service.status.v3.ClientStatusDiscoveryService", {
            "FetchClientStatus": (fetch_client_status, bytes, bytes),
        }),
    ))
    if server.add_insecure_port(f"127.0.0.1:{args.stats_port}") == 0:
        sys.exit(f"cannot listen on 127.0.0.1:{args.stats_port}")
    server.start()

    channel = grpc.insecure_channel(args.server)
    calls = {
        "UnaryCall": (channel.unary_unary("/grpc.testing.TestService/UnaryCall", request_serializer=SimpleRequest.SerializeToString,
                                          response_deserializer=SimpleResponse.FromString), lambda: SimpleRequest(fill_server_id=True)),
        "EmptyCall": (channel.unary_unary("/grpc.testing.TestService/EmptyCall", request_serializer=Empty.SerializeToString,
                                          response_deserializer=Empty.FromString), Empty),
    }

    reported = set()

    def send(method, metadata, timeout):
        watchers = stats.begin(method)
        callable_, request = calls[method]
        future = callable_.future(request(), timeout=timeout, metadata=metadata or None)

        def done(f):
            peer = ""
            try:
                peer = dict(f.initial_metadata() or ()).get("hostname", "")
            except Exception:  # no headers: the RPC failed before the server answered
                pass
            code = f.code()
            if code != grpc.StatusCode.OK and (method, code) not in reported:
                # The first failure of each kind, for the driver's report.
                reported.add((method, code))
                print(f"{method}: {code.name}: {f.details()}", file=sys.stderr, flush=True)
            stats.end(method, watchers, peer, code)

        future.add_done_callback(done)

    interval = 1.0 / args.qps
    next_at = time.monotonic()
    while True:
        with stats.lock:
            types, metadata, timeout = list(stats.types), dict(stats.metadata), stats.timeout
        for method in types:
            send(method, metadata.get(method, []), timeout)
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))


def top_level_fields(data):
    """The field numbers of a serialized message's top-level fields."""
    at = 0
    while at < len(data):
        tag, at = read_varint(data, at)
        wire = tag & 7
        if wire == 0:
            _, at = read_varint(data, at)
        elif wire == 1:
            at += 8
        elif wire == 2:
            length, at = read_varint(data, at)
            at += length
        elif wire == 5:
            at += 4
        else:
            raise ValueError(f"unexpected wire type {wire} in the xDS config dump")
        yield tag >> 3


def read_varint(data, at):
    value, shift = 0, 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


if __name__ == "__main__":
    main()
