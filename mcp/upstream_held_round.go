package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// wait serves one request of the caller on the held call: it returns the
// call's outcome, or an input_required result once server requests are
// pending (gathered for heldGather after the first). A caller that goes
// away, or a wait over CallTimeout, ends the upstream call.
func (hc *heldCall) wait(ctx context.Context) (json.RawMessage, error) {
	var gather <-chan time.Time
	if hc.hasUnasked() {
		gather = time.After(heldGather)
	}
	var timeout <-chan time.Time
	if d := hc.up.opts.CallTimeout; d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	for {
		select {
		case <-hc.done:
			return hc.res, hc.err
		case <-hc.wake:
			if gather == nil {
				gather = time.After(heldGather)
			}
		case <-gather:
			gather = nil
			if res, err, ok := hc.hold(); ok {
				return res, err
			}
		case <-ctx.Done():
			hc.end(fmt.Errorf("the client's request ended: %w", ctx.Err()))
			return nil, fmt.Errorf("upstream %q: %w", hc.up.cfg.Name, ctx.Err())
		case <-timeout:
			hc.end(fmt.Errorf("upstream %q ran over the upstream timeout", hc.up.cfg.Name))
			return hc.up.timedOut(hc.method)
		}
	}
}

// end cancels the upstream call and answers its pending server requests
// with why.
func (hc *heldCall) end(why error) {
	hc.failPending(why)
	hc.cancel()
}

func (hc *heldCall) hasUnasked() bool {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	for _, r := range hc.pending {
		if !r.asked {
			return true
		}
	}
	return false
}

// hold answers the caller with the pending server requests as an
// input_required result, and keeps the call until the retry or the input
// timeout. With the node's table full nothing is held: the pending
// requests fail, the call ends and the caller is told why. False when no
// request is pending (a stale wake).
func (hc *heldCall) hold() (json.RawMessage, error, bool) {
	if !hc.hasUnasked() {
		return nil, nil, false
	}
	hc.up.order.await(context.Background(), hc.up.order.mark()) // what the upstream sent first goes first
	holds := hc.up.holds
	id, ok := holds.add(hc)
	if !ok {
		msg := fmt.Sprintf("this node holds too many calls waiting for their clients' input (--max-held-requests %d): "+
			"upstream %q asked for input, try again later", holds.max, hc.up.cfg.Name)
		hc.end(fmt.Errorf("%s", msg))
		res, err := hc.up.failureLocal(hc.method, msg)
		return res, err, true
	}
	res := hc.roundLocked(id)
	return res, nil, true
}

// roundLocked marks the pending requests asked, arms the expiry and builds
// the input_required result naming them.
func (hc *heldCall) roundLocked(id string) json.RawMessage {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	type inputRequest struct {
		Method string          `json:"method"`
		Params json.RawMessage `json:"params,omitempty"`
	}
	reqs := map[string]inputRequest{}
	for key, r := range hc.pending {
		r.asked = true
		reqs[key] = inputRequest{Method: r.method, Params: r.params}
	}
	hc.id, hc.peer, hc.token = id, noClient{}, nil
	hc.expiry = time.AfterFunc(hc.up.holds.timeout, func() { hc.expire(id) })
	out, _ := json.Marshal(map[string]any{
		"resultType": "input_required", "inputRequests": reqs, "requestState": HeldStatePrefix + id,
	})
	return out
}

// expire drops a hold whose retry did not come within the input timeout.
func (hc *heldCall) expire(id string) {
	if !hc.up.holds.drop(id, hc) {
		return // resumed meanwhile
	}
	hc.up.log.Info("a held call's client did not answer in time: the call is cancelled",
		"method", hc.method, "name", hc.name, "input_timeout", hc.up.holds.timeout)
	hc.end(fmt.Errorf("the client did not answer within the input timeout of %s", hc.up.holds.timeout))
}

// resume takes the retry: its request becomes the current one, each asked
// server request gets its answer from inputResponses (keys the retry left
// out are asked again in the next round; keys it added are ignored), and
// the retry waits as the first try did.
func (hc *heldCall) resume(ctx context.Context, peer Client, token json.RawMessage, responses map[string]json.RawMessage) (json.RawMessage, error) {
	hc.mu.Lock()
	hc.expiry.Stop()
	hc.id, hc.peer, hc.token = "", peer, token
	for key, r := range hc.pending {
		raw, ok := responses[key]
		if !ok {
			r.asked = false
			continue
		}
		r.answer <- heldAnswer{raw: raw}
		delete(hc.pending, key)
	}
	hc.mu.Unlock()
	return hc.wait(ctx)
}

// retryInput is what a retry of a held call brings.
func retryInput(params json.RawMessage) (map[string]json.RawMessage, error) {
	var p struct {
		InputResponses map[string]json.RawMessage `json:"inputResponses"`
	}
	if err := json.Unmarshal(params, &p); err != nil {
		return nil, Errorf(CodeInvalidParams, "invalid params: inputResponses: %v", err)
	}
	return p.InputResponses, nil
}
