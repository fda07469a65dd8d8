// A client-go client as Prometheus' Kubernetes discovery builds one (discovery/kubernetes/kubernetes.go):
// rest.Config with ContentType protobuf (so it sends Accept: application/vnd.kubernetes.protobuf), a
// shared informer listing and watching pods, endpoints or services cluster-wide. Prints one JSON line
// per informer event: {"event":"add","kind":"Pod","namespace":"..","name":"..","resourceVersion":"..","podIP":".."}.
//
//	k8s-watch-client -server https://127.0.0.1:6443 -ca ca.crt -token-file token -resource pods [-seconds 20]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

func main() {
	server := flag.String("server", "", "API server URL")
	ca := flag.String("ca", "", "CA file")
	tokenFile := flag.String("token-file", "", "bearer token file")
	resource := flag.String("resource", "pods", "pods, endpoints or services")
	seconds := flag.Int("seconds", 20, "how long to run")
	flag.Parse()

	cfg := &rest.Config{Host: *server, BearerTokenFile: *tokenFile, TLSClientConfig: rest.TLSClientConfig{CAFile: *ca}}
	cfg.UserAgent = "Prometheus/2.42.0"
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var object runtime.Object
	var getter cache.Getter
	switch *resource {
	case "pods":
		object, getter = &corev1.Pod{}, client.CoreV1().RESTClient()
	case "endpoints":
		object, getter = &corev1.Endpoints{}, client.CoreV1().RESTClient()
	case "services":
		object, getter = &corev1.Service{}, client.CoreV1().RESTClient()
	default:
		fmt.Fprintf(os.Stderr, "unknown resource %q: pods, endpoints or services\n", *resource)
		os.Exit(2)
	}
	lw := cache.NewListWatchFromClient(getter, *resource, "", fields.Everything())
	informer := cache.NewSharedInformer(lw, object, 0)
	out := json.NewEncoder(os.Stdout)
	emit := func(event string, obj interface{}) {
		line := map[string]string{"event": event}
		switch o := obj.(type) {
		case *corev1.Pod:
			line["kind"], line["namespace"], line["name"], line["resourceVersion"], line["podIP"] = "Pod", o.Namespace, o.Name, o.ResourceVersion, o.Status.PodIP
			if len(o.Spec.Containers) > 0 {
				line["image"] = o.Spec.Containers[0].Image
			}
			line["created"] = o.CreationTimestamp.UTC().Format(time.RFC3339)
		case *corev1.Endpoints:
			line["kind"], line["namespace"], line["name"], line["resourceVersion"] = "Endpoints", o.Namespace, o.Name, o.ResourceVersion
		case *corev1.Service:
			line["kind"], line["namespace"], line["name"], line["resourceVersion"] = "Service", o.Namespace, o.Name, o.ResourceVersion
			if len(o.Spec.Ports) > 0 {
				line["targetPort"] = o.Spec.Ports[0].TargetPort.String()
			}
		case cache.DeletedFinalStateUnknown:
			line["name"] = o.Key
		}
		_ = out.Encode(line)
	}
	_, _ = informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { emit("add", obj) },
		UpdateFunc: func(_, obj interface{}) { emit("update", obj) },
		DeleteFunc: func(obj interface{}) { emit("delete", obj) },
	})
	_ = informer.SetWatchErrorHandler(func(_ *cache.Reflector, err error) {
		_ = out.Encode(map[string]string{"event": "error", "error": err.Error()})
	})
	stop := make(chan struct{})
	go informer.Run(stop)
	if cache.WaitForCacheSync(stop, informer.HasSynced) {
		_ = out.Encode(map[string]string{"event": "synced"})
	}
	time.Sleep(time.Duration(*seconds) * time.Second)
	close(stop)
}
