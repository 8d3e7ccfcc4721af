// etcd server binary. go.etcd.io/etcd/server/v3 has no main package at its
// root (upstream's main lives in the go.etcd.io/etcd/v3 root module, which
// would pin a second, unrelated dependency set), so call etcdmain directly.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
