// Package api holds the REST API's wire types: the JSON bodies a node's
// /api/... routes answer and accept, as docs and the contract describe them.
// The gateway's handlers encode them, the federation engine builds the peer
// and node views with them, the mcpmesh CLI decodes them, and the tests read
// answers with them, so that each body is defined once.
//
// It is a leaf: it imports only the standard library, and anything may
// import it. Changing a JSON tag here changes the wire; wire_test.go pins
// every field name.
package api
