package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// A Backend may answer tools/call, prompts/get or resources/read with an
// input_required result (a 2026-07-28 multi round-trip request: a peer
// node, or an upstream, needs the caller to answer elicitation, sampling
// or roots requests first). A 2026-07-28 caller gets it as it is (its
// requestState sealed, see requeststate.go). For a legacy caller the node
// translates it here:
//   - a session caller gets each input request as a server-to-client
//     request on its session (in parallel), and the node retries the same
//     request with their answers (params.inputResponses) and the result's
//     requestState, at most maxInputRounds times;
//   - a sessionless caller (a plain POST) cannot be asked anything: it gets
//     an isError result (a JSON-RPC error for prompts/get and
//     resources/read) saying what the tool asked for, with
//     _meta["mcpmesh/error"] "input_required".

// maxInputRounds bounds the rounds of one legacy caller's request.
const maxInputRounds = 10

// ErrKindInputRequired is _meta["mcpmesh/error"] of the answer to a
// sessionless caller whose request needed input.
const ErrKindInputRequired = "input_required"

// inputRequired is an input_required result.
type inputRequired struct {
	Requests map[string]inputRequest `json:"inputRequests"`
	State    string                  `json:"requestState"`
}

type inputRequest struct {
	Method string          `json:"method"`
	Params json.RawMessage `json:"params,omitempty"`
}

// inputRequiredOf decodes res when it is an input_required result.
func inputRequiredOf(res json.RawMessage) (*inputRequired, bool) {
	if !bytes.Contains(res, []byte(`"input_required"`)) {
		return nil, false
	}
	var r struct {
		ResultType string `json:"resultType"`
		inputRequired
	}
	if json.Unmarshal(res, &r) != nil || r.ResultType != "input_required" {
		return nil, false
	}
	return &r.inputRequired, true
}

// answerInputRequired turns a legacy caller's input_required result into
// its final result (see the top of this file).
func (s *Server) answerInputRequired(ctx context.Context, sess *session, peer Client, m *Message, res json.RawMessage) (json.RawMessage, error) {
	for round := 0; ; round++ {
		ir, ok := inputRequiredOf(res)
		switch {
		case !ok:
			return res, nil
		case peer.SessionID() == "":
			return inputRequiredFailure(m.Method, ir)
		case len(ir.Requests) == 0:
			return nil, Errorf(CodeInternalError, "the server is busy (input_required with no input requests): retry later")
		case round == maxInputRounds:
			return nil, Errorf(CodeInternalError, "the request still needed input after %d rounds: given up", maxInputRounds)
		}
		answers, err := fulfil(ctx, peer, ir.Requests)
		if err != nil {
			return nil, err
		}
		params, err := retryParams(m.Params, answers, ir.State)
		if err != nil {
			return nil, err
		}
		if res, err = s.serve(ctx, sess, peer, &Message{Method: m.Method, Params: params}); err != nil {
			return nil, err
		}
	}
}

// capabilityOf is the client capability an input request needs.
var capabilityOf = map[string]string{
	"elicitation/create": "elicitation", "sampling/createMessage": "sampling", "roots/list": "roots",
}

// fulfil sends each input request to the caller, in parallel, and returns
// their answers by key; the first that fails (or that the caller did not
// declare the capability for) fails the request.
func fulfil(ctx context.Context, peer Client, reqs map[string]inputRequest) (map[string]json.RawMessage, error) {
	if err := checkCapabilities(peer.Capabilities(), reqs); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	var firstErr error
	answers := make(map[string]json.RawMessage, len(reqs))
	for key, ir := range reqs {
		wg.Go(func() {
			res, err := peer.Request(ctx, ir.Method, ir.Params)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = fmt.Errorf("input request %q (%s): %w", key, ir.Method, err)
				cancel()
			}
			answers[key] = res
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, Errorf(CodeInternalError, "the client did not answer: %v", firstErr)
	}
	return answers, nil
}

// checkCapabilities refuses input requests of an unknown method or one
// the caller did not declare in initialize, naming them.
func checkCapabilities(caps json.RawMessage, reqs map[string]inputRequest) error {
	var declared map[string]json.RawMessage
	_ = json.Unmarshal(caps, &declared)
	var missing []string
	for key, ir := range reqs {
		c, known := capabilityOf[ir.Method]
		switch {
		case !known:
			return Errorf(CodeInternalError, "input request %q has an unknown method %q", key, ir.Method)
		case declared[c] == nil:
			missing = append(missing, fmt.Sprintf("%s (for %s)", c, ir.Method))
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return Errorf(CodeMissingRequiredCapability, "the request needs input the client did not declare the capability for: %s",
			strings.Join(missing, ", "))
	}
	return nil
}

// retryParams are params with inputResponses and requestState (dropped
// when state is "") set for the next round.
func retryParams(params json.RawMessage, answers map[string]json.RawMessage, state string) (json.RawMessage, error) {
	p := map[string]json.RawMessage{}
	if err := json.Unmarshal(params, &p); err != nil {
		return nil, Errorf(CodeInvalidParams, "invalid params: %v", err)
	}
	p["inputResponses"], _ = json.Marshal(answers)
	delete(p, "requestState")
	if state != "" {
		p["requestState"], _ = json.Marshal(state)
	}
	return json.Marshal(p)
}

// inputRequiredFailure is the answer to a sessionless caller whose request
// needed input: an isError result for tools/call, else a JSON-RPC error.
func inputRequiredFailure(method string, ir *inputRequired) (json.RawMessage, error) {
	msg := "this request needs input from the client, which a request without a session cannot give (" +
		describeInputs(ir.Requests) + "): call it in a session (initialize) or with protocol version " + StatelessVersion
	meta := map[string]any{"mcpmesh/error": ErrKindInputRequired}
	if method != "tools/call" {
		return nil, &Error{Code: CodeInternalError, Message: msg, Data: meta}
	}
	return json.Marshal(map[string]any{
		"content": []map[string]string{{"type": "text", "text": msg}}, "isError": true, "_meta": meta,
	})
}

// describeInputs says what each input request asks for, in key order.
func describeInputs(reqs map[string]inputRequest) string {
	keys := make([]string, 0, len(reqs))
	for k := range reqs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, describeInput(reqs[k]))
	}
	if len(parts) == 0 {
		return "none named"
	}
	return strings.Join(parts, "; ")
}

func describeInput(ir inputRequest) string {
	switch ir.Method {
	case "elicitation/create":
		var p struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(ir.Params, &p)
		return fmt.Sprintf("%s: the user was to be asked %q", ir.Method, p.Message)
	case "sampling/createMessage":
		return ir.Method + ": an LLM completion"
	case "roots/list":
		return ir.Method + ": the client's roots"
	}
	return ir.Method
}
