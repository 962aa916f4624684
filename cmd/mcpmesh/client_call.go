package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

var callSpec = verbSpec{name: "call", args: "TOOL ['JSON arguments']",
	summary: "Call a tool through this node (a peer's tool is PEER__tool) and print its text content.\n" +
		"Arguments are a JSON object (default {}). A result with isError prints its text on stderr and exits 1;\n" +
		"-o json prints the raw result.",
	example: `mcpmesh call echo '{"text":"hello"}'`}

// errToolFailed is a result with isError, already printed: exit 1 with
// nothing more said.
var errToolFailed = errors.New("the tool reported an error")

type callReply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

type contentBlock struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	MIMEType string `json:"mimeType"`
	Data     string `json:"data"`
	URI      string `json:"uri"`
	Resource *struct {
		URI      string `json:"uri"`
		MIMEType string `json:"mimeType"`
		Text     string `json:"text"`
		Blob     string `json:"blob"`
	} `json:"resource"`
}

type callResultJSON struct {
	Content []contentBlock `json:"content"`
	IsError bool           `json:"isError"`
}

func runCall(c *client, pos []string) error {
	args := json.RawMessage("{}")
	if len(pos) == 2 {
		var err error
		if args, err = callArgs(pos[1]); err != nil {
			return err
		}
	}
	if strings.TrimSpace(pos[0]) == "" {
		return usagef("the tool name is empty")
	}
	req := map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call",
		"params": map[string]any{"name": pos[0], "arguments": args}}
	raw, err := c.do(http.MethodPost, "/mcp", req)
	if err != nil {
		return err
	}
	var rep callReply
	if err := json.Unmarshal(raw, &rep); err != nil {
		return fmt.Errorf("answer of the MCP endpoint is not JSON-RPC: %w", err)
	}
	if rep.Error != nil {
		return errors.New(rep.Error.Message)
	}
	return c.printResult(rep.Result)
}

// callArgs checks that s is one JSON object.
func callArgs(s string) (json.RawMessage, error) {
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(strings.NewReader(s))
	err := dec.Decode(&obj)
	if err == nil && obj == nil {
		err = errors.New("null is not an object")
	}
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	if err != nil {
		return nil, usagef("arguments %q must be a JSON object such as '{\"text\":\"hi\"}': %v", s, err)
	}
	return json.RawMessage(strings.TrimSpace(s)), nil
}

// printResult prints the text content on stdout (stderr when isError), or
// the raw result for -o json.
func (c *client) printResult(raw json.RawMessage) error {
	var res callResultJSON
	if err := json.Unmarshal(raw, &res); err != nil {
		return fmt.Errorf("result is not a tool result: %w", err)
	}
	out, errOut := c.stdout, c.stderr
	switch {
	case c.output == "json":
		if err := c.printJSON(raw); err != nil {
			return err
		}
	case res.IsError:
		writeContent(errOut, res.Content)
	default:
		writeContent(out, res.Content)
	}
	if res.IsError {
		return errToolFailed
	}
	return nil
}

// writeContent prints each text block on its own line and a summary of
// every other block.
func writeContent(w io.Writer, blocks []contentBlock) {
	var buf bytes.Buffer
	for _, b := range blocks {
		buf.WriteString(blockText(b))
		buf.WriteByte('\n')
	}
	w.Write(buf.Bytes())
}

func blockText(b contentBlock) string {
	switch b.Type {
	case "text":
		return b.Text
	case "image", "audio":
		return fmt.Sprintf("[%s %s, %s]", b.Type, b.MIMEType, byteCount(b.Data))
	case "resource_link":
		return fmt.Sprintf("[resource_link %s]", b.URI)
	case "resource":
		if b.Resource == nil {
			return "[resource]"
		}
		data := byteCount(b.Resource.Blob)
		if b.Resource.Blob == "" {
			data = fmt.Sprintf("%d bytes", len(b.Resource.Text))
		}
		return fmt.Sprintf("[resource %s %s, %s]", b.Resource.URI, b.Resource.MIMEType, data)
	}
	return fmt.Sprintf("[%s]", b.Type)
}

// byteCount is the size of base64 data, decoded.
func byteCount(data string) string {
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return fmt.Sprintf("%d base64 characters", len(data))
	}
	return fmt.Sprintf("%d bytes", len(raw))
}
