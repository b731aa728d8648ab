// etcd for the pod firewall's Kubernetes tests, built from go.etcd.io/etcd in
// its own module (etcd and Kubernetes would otherwise pull each other's
// dependency versions).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
