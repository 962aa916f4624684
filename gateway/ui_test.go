package gateway

import (
	"io/fs"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestUIRoutes: / redirects to /ui/, whose page and assets are served
// without a token, each with a Content-Security-Policy that allows
// scripts and styles from the node only.
func TestUIRoutes(t *testing.T) {
	n := startFedNode(t, "ui-routes")
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, path := range []string{"/", "/ui"} {
		resp, err := noFollow.Get(n.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/ui/" {
			t.Fatalf("GET %s: %d Location %q, want 302 to /ui/", path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	for _, tc := range []struct{ path, ctype string }{
		{"/ui/", "text/html"}, {"/ui/app.js", "javascript"}, {"/ui/views/ring.js", "javascript"},
		{"/ui/style.css", "text/css"}, {"/ui/icon.svg", "image/svg+xml"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			r := n.do(t, http.MethodGet, tc.path, "", "")
			csp := r.header.Get("Content-Security-Policy")
			if r.code != http.StatusOK || !strings.Contains(r.header.Get("Content-Type"), tc.ctype) {
				t.Fatalf("GET %s without a token: %d %q, want 200 %s", tc.path, r.code, r.header.Get("Content-Type"), tc.ctype)
			}
			for _, want := range []string{"default-src 'none'", "script-src 'self';", "style-src 'self';", "frame-ancestors 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("GET %s: CSP %q lacks %q", tc.path, csp, want)
				}
			}
			if strings.Contains(csp, "unsafe") {
				t.Errorf("GET %s: CSP %q allows something unsafe", tc.path, csp)
			}
		})
	}
	if r := n.do(t, http.MethodGet, "/ui/nothing.js", "", ""); r.code != http.StatusNotFound {
		t.Fatalf("GET /ui/nothing.js: %d, want 404", r.code)
	}
}

// TestUIFilesHaveNothingInline: the embedded pages carry no inline script,
// event handler attribute or style (the CSP would block them), and every
// file they name is embedded.
func TestUIFilesHaveNothingInline(t *testing.T) {
	script := regexp.MustCompile(`(?is)<script([^>]*)>(.*?)</script>`)
	inline := regexp.MustCompile(`(?i)\son[a-z]+=|\sstyle=|<style`)
	ref := regexp.MustCompile(`(?:src|href)="([^"#:]+)"|from "\.{1,2}/([^"]+)"|from "\./([^"]+)"`)
	err := fs.WalkDir(uiFiles, "ui", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(uiFiles, path)
		if strings.HasSuffix(path, ".html") {
			if m := inline.FindString(string(b)); m != "" {
				t.Errorf("%s has something inline the CSP forbids: %q", path, m)
			}
			for _, m := range script.FindAllStringSubmatch(string(b), -1) {
				if !strings.Contains(m[1], "src=") || strings.TrimSpace(m[2]) != "" {
					t.Errorf("%s has an inline script: %q", path, m[0])
				}
			}
		}
		for _, m := range ref.FindAllStringSubmatch(string(b), -1) {
			name := m[1] + m[2] + m[3]
			if _, err := fs.Stat(uiFiles, resolveUI(path, m[0], name)); err != nil {
				t.Errorf("%s names %q, which is not embedded", path, name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// resolveUI is the embedded path a reference in file names.
func resolveUI(file, match, name string) string {
	dir := file[:strings.LastIndex(file, "/")]
	if strings.Contains(match, `"../`) {
		dir = dir[:strings.LastIndex(dir, "/")]
	}
	return dir + "/" + name
}
