package gateway

import (
	"embed"
	"io/fs"
	"net/http"

	"github.com/gin-gonic/gin"
)

// The dashboard (docs/ui.md): plain HTML, CSS and JavaScript modules in
// gateway/ui, embedded in the binary and served at /ui/ with no token (the
// data comes from the token-checked API, /api/events first).

//go:embed ui
var uiFiles embed.FS

// uiCSP is the pages' Content-Security-Policy: scripts, styles and
// everything else only from this node, nothing inline, no framing.
const uiCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// uiRoutes adds GET / (a redirect) and GET /ui/*.
func (g *Gateway) uiRoutes(r *gin.Engine) {
	sub, err := fs.Sub(uiFiles, "ui")
	if err != nil {
		panic(err) // the embedded directory is part of the binary
	}
	files := http.StripPrefix("/ui", http.FileServer(http.FS(sub)))
	r.GET("/", redirectToUI)
	r.GET("/ui", redirectToUI)
	r.GET("/ui/*file", func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("Content-Security-Policy", uiCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		files.ServeHTTP(c.Writer, c.Request)
	})
}

func redirectToUI(c *gin.Context) { c.Redirect(http.StatusFound, "/ui/") }
