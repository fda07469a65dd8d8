// A gRPC xDS interop client on grpc-go's xds resolver (grpc/grpc doc/xds-test-descriptions.md): it
// sends UnaryCall and/or EmptyCall of grpc.testing.TestService at a fixed rate to an xds:/// target and
// serves LoadBalancerStatsService, XdsUpdateClientConfigureService and the admin services (CSDS,
// channelz) on --stats_port. grpc-go's own interop client sits in a nested module that `go install`
// refuses, so this is a small one of ours with the same flags and the same stats semantics.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/admin"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	_ "google.golang.org/grpc/xds" // registers the xds:/// resolver and the xDS balancers
)

var (
	server     = flag.String("server", "", "target, e.g. xds:///service:port")
	statsPort  = flag.Int("stats_port", 0, "port of the stats, configure and admin services")
	qps        = flag.Int("qps", 100, "RPCs per second of each type")
	rpcFlag    = flag.String("rpc", "UnaryCall", "comma-separated: UnaryCall, EmptyCall")
	metaFlag   = flag.String("metadata", "", "comma-separated Type:key:value")
	timeoutSec = flag.Int("rpc_timeout_sec", 20, "deadline of every RPC")
)

// The RPC type names: as in rpcs_by_method (method) and stats_per_method (enum).
var methodName = map[testpb.ClientConfigureRequest_RpcType]string{
	testpb.ClientConfigureRequest_UNARY_CALL: "UnaryCall",
	testpb.ClientConfigureRequest_EMPTY_CALL: "EmptyCall",
}

type config struct {
	types    []testpb.ClientConfigureRequest_RpcType
	metadata map[testpb.ClientConfigureRequest_RpcType][]string
	timeout  time.Duration
}

// A GetClientStats request: the peers of the next n RPCs sent.
type watcher struct {
	remaining int
	pending   int
	byPeer    map[string]int32
	byMethod  map[string]map[string]int32
	failures  int32
	done      chan struct{}
}

type stats struct {
	mu       sync.Mutex
	cfg      config
	watchers map[*watcher]bool
	started  map[string]int32
	results  map[string]map[int32]int32
}

func parseType(name string) (testpb.ClientConfigureRequest_RpcType, error) {
	for t, n := range methodName {
		if n == name {
			return t, nil
		}
	}
	return 0, fmt.Errorf("unknown RPC type %q (UnaryCall or EmptyCall)", name)
}

func (s *stats) begin(t testpb.ClientConfigureRequest_RpcType) []*watcher {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.started[t.String()]++
	var mine []*watcher
	for w := range s.watchers {
		if w.remaining > 0 {
			w.remaining--
			w.pending++
			mine = append(mine, w)
		}
	}
	return mine
}

func (s *stats) end(t testpb.ClientConfigureRequest_RpcType, ws []*watcher, peer string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	code := int32(status.Code(err))
	if s.results[t.String()] == nil {
		s.results[t.String()] = map[int32]int32{}
	}
	s.results[t.String()][code]++
	for _, w := range ws {
		if err == nil && peer != "" {
			w.byPeer[peer]++
			m := methodName[t]
			if w.byMethod[m] == nil {
				w.byMethod[m] = map[string]int32{}
			}
			w.byMethod[m][peer]++
		} else {
			w.failures++
		}
		w.pending--
		if w.remaining == 0 && w.pending == 0 {
			delete(s.watchers, w)
			close(w.done)
		}
	}
}

type statsService struct {
	testgrpc.UnimplementedLoadBalancerStatsServiceServer
	s *stats
}

func (svc *statsService) GetClientStats(ctx context.Context, req *testpb.LoadBalancerStatsRequest) (*testpb.LoadBalancerStatsResponse, error) {
	w := &watcher{remaining: int(req.GetNumRpcs()), byPeer: map[string]int32{}, byMethod: map[string]map[string]int32{}, done: make(chan struct{})}
	svc.s.mu.Lock()
	svc.s.watchers[w] = true
	svc.s.mu.Unlock()
	select {
	case <-w.done:
	case <-time.After(time.Duration(req.GetTimeoutSec()) * time.Second):
	case <-ctx.Done():
	}
	svc.s.mu.Lock()
	defer svc.s.mu.Unlock()
	delete(svc.s.watchers, w)
	resp := &testpb.LoadBalancerStatsResponse{RpcsByPeer: map[string]int32{}, NumFailures: w.failures + int32(w.remaining), RpcsByMethod: map[string]*testpb.LoadBalancerStatsResponse_RpcsByPeer{}}
	for p, n := range w.byPeer {
		resp.RpcsByPeer[p] = n
	}
	for m, peers := range w.byMethod {
		copied := map[string]int32{}
		for p, n := range peers {
			copied[p] = n
		}
		resp.RpcsByMethod[m] = &testpb.LoadBalancerStatsResponse_RpcsByPeer{RpcsByPeer: copied}
	}
	return resp, nil
}

func (svc *statsService) GetClientAccumulatedStats(context.Context, *testpb.LoadBalancerAccumulatedStatsRequest) (*testpb.LoadBalancerAccumulatedStatsResponse, error) {
	svc.s.mu.Lock()
	defer svc.s.mu.Unlock()
	resp := &testpb.LoadBalancerAccumulatedStatsResponse{StatsPerMethod: map[string]*testpb.LoadBalancerAccumulatedStatsResponse_MethodStats{}}
	for t, n := range svc.s.started {
		result := map[int32]int32{}
		for c, k := range svc.s.results[t] {
			result[c] = k
		}
		resp.StatsPerMethod[t] = &testpb.LoadBalancerAccumulatedStatsResponse_MethodStats{RpcsStarted: n, Result: result}
	}
	return resp, nil
}

type configureService struct {
	testgrpc.UnimplementedXdsUpdateClientConfigureServiceServer
	s *stats
}

func (svc *configureService) Configure(_ context.Context, req *testpb.ClientConfigureRequest) (*testpb.ClientConfigureResponse, error) {
	cfg := config{types: req.GetTypes(), metadata: map[testpb.ClientConfigureRequest_RpcType][]string{}, timeout: time.Duration(*timeoutSec) * time.Second}
	for _, m := range req.GetMetadata() {
		cfg.metadata[m.GetType()] = append(cfg.metadata[m.GetType()], m.GetKey(), m.GetValue())
	}
	if req.GetTimeoutSec() > 0 {
		cfg.timeout = time.Duration(req.GetTimeoutSec()) * time.Second
	}
	svc.s.mu.Lock()
	svc.s.cfg = cfg
	svc.s.mu.Unlock()
	return &testpb.ClientConfigureResponse{}, nil
}

func send(client testgrpc.TestServiceClient, s *stats, t testpb.ClientConfigureRequest_RpcType, cfg config) {
	ws := s.begin(t)
	ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
	defer cancel()
	if md := cfg.metadata[t]; len(md) > 0 {
		ctx = metadata.AppendToOutgoingContext(ctx, md...)
	}
	var header metadata.MD
	var err error
	if t == testpb.ClientConfigureRequest_UNARY_CALL {
		_, err = client.UnaryCall(ctx, &testpb.SimpleRequest{FillServerId: true}, grpc.Header(&header))
	} else {
		_, err = client.EmptyCall(ctx, &testpb.Empty{}, grpc.Header(&header))
	}
	peer := ""
	if v := header.Get("hostname"); len(v) > 0 {
		peer = v[0]
	}
	s.end(t, ws, peer, err)
}

func main() {
	flag.Parse()
	s := &stats{watchers: map[*watcher]bool{}, started: map[string]int32{}, results: map[string]map[int32]int32{}}
	s.cfg = config{metadata: map[testpb.ClientConfigureRequest_RpcType][]string{}, timeout: time.Duration(*timeoutSec) * time.Second}
	for _, name := range strings.Split(*rpcFlag, ",") {
		t, err := parseType(strings.TrimSpace(name))
		if err != nil {
			log.Fatalf("--rpc: %v", err)
		}
		s.cfg.types = append(s.cfg.types, t)
	}
	if *metaFlag != "" {
		for _, item := range strings.Split(*metaFlag, ",") {
			parts := strings.SplitN(item, ":", 3)
			if len(parts) != 3 {
				log.Fatalf("--metadata: %q is not Type:key:value", item)
			}
			t, err := parseType(parts[0])
			if err != nil {
				log.Fatalf("--metadata: %v", err)
			}
			s.cfg.metadata[t] = append(s.cfg.metadata[t], parts[1], parts[2])
		}
	}

	lis, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *statsPort))
	if err != nil {
		log.Fatalf("stats port: %v", err)
	}
	srv := grpc.NewServer()
	testgrpc.RegisterLoadBalancerStatsServiceServer(srv, &statsService{s: s})
	testgrpc.RegisterXdsUpdateClientConfigureServiceServer(srv, &configureService{s: s})
	cleanup, err := admin.Register(srv)
	if err != nil {
		log.Fatalf("admin services: %v", err)
	}
	defer cleanup()
	go func() { log.Fatal(srv.Serve(lis)) }()

	conn, err := grpc.NewClient(*server, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatalf("channel to %s: %v", *server, err)
	}
	client := testgrpc.NewTestServiceClient(conn)
	ticker := time.NewTicker(time.Second / time.Duration(*qps))
	for range ticker.C {
		s.mu.Lock()
		cfg := s.cfg
		s.mu.Unlock()
		for _, t := range cfg.types {
			go send(client, s, t, cfg)
		}
	}
}
