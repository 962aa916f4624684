package gateway

import (
	"context"
	"net/http"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// bearer adds a token to every request of an http.Client.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// A session opened with the official go-sdk client through the gateway
// hears tools/list_changed when the catalog changes.
func TestListChangedReachesSessions(t *testing.T) {
	n := startNode(t, nodeOptions{})
	changed := make(chan struct{}, 4)
	client := sdk.NewClient(&sdk.Implementation{Name: "test", Version: "1"}, &sdk.ClientOptions{
		ToolListChangedHandler: func(context.Context, *sdk.ToolListChangedRequest) { changed <- struct{}{} },
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	transport := &sdk.StreamableClientTransport{Endpoint: n.srv.URL + "/mcp",
		HTTPClient: &http.Client{Transport: bearer{n.admin, http.DefaultTransport}}}
	cs, err := client.Connect(ctx, transport, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	res, err := cs.ListTools(ctx, nil)
	if err != nil || len(res.Tools) != 4 {
		t.Fatalf("tools/list through the gateway: %v, %d tools, want the 4 demo tools", err, len(res.Tools))
	}
	n.cat.Remove("demo")
	select {
	case <-changed:
	case <-ctx.Done():
		t.Fatal("no notifications/tools/list_changed after the catalog changed")
	}
	if res, err := cs.ListTools(ctx, nil); err != nil || len(res.Tools) != 0 {
		t.Fatalf("tools/list after removal: %v, %v", err, res)
	}
}
