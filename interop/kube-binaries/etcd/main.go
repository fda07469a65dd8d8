// etcd, the version Kubernetes v1.34.4 is tested against (go.etcd.io/etcd/server/v3 from its go.mod),
// built from the same module graph as the Kubernetes binaries so one go.sum pins all three.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
