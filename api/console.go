package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/barrage/barrage/web"
)

// consoleCSP keeps the console to its own origin: its script and styles
// come from /ui/assets, and it talks only to this server's API.
const consoleCSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; " +
	"img-src 'self' data: blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// consoleRoutes serves the web console: every /ui/ page is the same shell,
// which routes on its path; / goes to the runs list.
func (s *Server) consoleRoutes(r *gin.Engine) {
	shell := web.Shell()
	script, style := web.Script(), web.Style()
	page := func(c *gin.Context) {
		c.Header("Content-Security-Policy", consoleCSP)
		c.Header("X-Content-Type-Options", "nosniff")
		c.Header("Referrer-Policy", "no-referrer")
		c.Header("Cache-Control", "no-cache")
		c.Data(http.StatusOK, "text/html; charset=utf-8", shell)
	}
	asset := func(body []byte, typ string) gin.HandlerFunc {
		return func(c *gin.Context) {
			c.Header("X-Content-Type-Options", "nosniff")
			// The shell names assets with their stamp: they never change.
			c.Header("Cache-Control", "public, max-age=31536000, immutable")
			c.Data(http.StatusOK, typ, body)
		}
	}
	r.GET("/", func(c *gin.Context) { c.Redirect(http.StatusFound, "/ui/") })
	r.GET("/ui", func(c *gin.Context) { c.Redirect(http.StatusMovedPermanently, "/ui/") })
	r.GET("/ui/assets/app.js", asset(script, "text/javascript; charset=utf-8"))
	r.GET("/ui/assets/app.css", asset(style, "text/css; charset=utf-8"))
	r.GET("/ui/login", s.loginForm)
	r.POST("/ui/login", s.login)
	r.POST("/ui/logout", s.logout)
	r.GET("/ui/", s.consoleAuth, page)
	r.GET("/ui/runs/:id", s.consoleAuth, page)
	r.GET("/ui/scenarios", s.consoleAuth, page)
	r.GET("/ui/scenarios/:id", s.consoleAuth, page)
	r.GET("/ui/compare", s.consoleAuth, page)
	r.GET("/ui/schedules", s.consoleAuth, page)
}
