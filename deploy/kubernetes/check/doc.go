// Package check decodes the Kubernetes manifests of deploy/kubernetes
// strictly with the Kubernetes API types and checks their cross-references
// (selectors, ports, the Service names the join flag and the advertise URL
// use, the Secret). It is a module of its own so that the product's go.mod
// does not carry k8s.io/api; `make test` runs it.
package check
