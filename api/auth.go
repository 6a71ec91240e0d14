package api

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/barrage/barrage/internal/service"
	"github.com/barrage/barrage/internal/store"
)

// Who may do what: a viewer reads; a runner also creates scenarios and
// runs, aborts and ramps; an admin also deletes, and manages tokens. A
// request proves its role with a bearer token (Authorization: Bearer …), or
// in the console with the cookie the login page sets.

// sessionCookie holds the console's token: HttpOnly (no script reads it),
// SameSite=Strict (no other site's page sends it).
const sessionCookie = "barrage_token"

// principal is who made a request.
type principal struct {
	Name string
	Role string
}

const principalKey = "barrage.principal"

// anonymous is every request of a server without authentication.
var anonymous = principal{Name: "anonymous", Role: store.RoleAdmin}

// need admits a request whose token has at least role.
func (s *Server) need(role string) gin.HandlerFunc {
	return func(c *gin.Context) {
		p, ok := s.authenticate(c)
		if !ok {
			return
		}
		if !service.RoleAllows(p.Role, role) {
			fail(c, http.StatusForbidden, "forbidden", "", "%s %s needs the %s role; token %s is a %s", c.Request.Method, c.FullPath(), role, p.Name, p.Role)
			return
		}
		c.Set(principalKey, p)
		c.Next()
	}
}

// authenticate finds the request's principal, or answers 401/403 itself.
func (s *Server) authenticate(c *gin.Context) (principal, bool) {
	if s.cfg.NoAuth {
		return anonymous, true
	}
	token, fromCookie := presented(c.Request)
	if token == "" {
		c.Header("WWW-Authenticate", `Bearer realm="barrage"`)
		fail(c, http.StatusUnauthorized, "unauthorized", "", "this server needs a token: send Authorization: Bearer <token> (barrage tokens create makes one; clients read $BARRAGE_TOKEN)")
		return principal{}, false
	}
	t, err := s.access.Verify(c, token)
	if errors.Is(err, service.ErrBadToken) {
		c.Header("WWW-Authenticate", `Bearer realm="barrage", error="invalid_token"`)
		fail(c, http.StatusUnauthorized, "unauthorized", "", "the token is unknown or revoked")
		return principal{}, false
	}
	if err != nil {
		fail(c, http.StatusServiceUnavailable, "store_unavailable", "", "check the token: %v", err)
		return principal{}, false
	}
	if fromCookie && !safeMethod(c.Request.Method) && !sameOrigin(c.Request) {
		// SameSite=Strict keeps other sites' requests from carrying the
		// cookie; this refuses the ones that would carry it anyway.
		fail(c, http.StatusForbidden, "cross_origin", "", "a request authenticated by the console's cookie must come from this server's own pages")
		return principal{}, false
	}
	return principal{Name: t.Name, Role: t.Role}, true
}

// presented returns the request's token: its bearer token, else the
// console's cookie.
func presented(r *http.Request) (token string, fromCookie bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, _ := strings.Cut(h, " ")
		if strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok), false
		}
		return "", false
	}
	if ck, err := r.Cookie(sessionCookie); err == nil {
		return ck.Value, true
	}
	return "", false
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// sameOrigin: the browser says the request comes from a page of this
// host. Sec-Fetch-Site says it directly where browsers send it; otherwise
// the Origin header must name this host. (A page with Referrer-Policy
// no-referrer makes Chromium send "Origin: null" on a form post, which
// Sec-Fetch-Site still calls same-origin.)
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin"
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}

// actor is the name the audit log and run events give the request's
// principal.
func actor(c *gin.Context) string {
	if v, ok := c.Get(principalKey); ok {
		return v.(principal).Name
	}
	return anonymous.Name
}

func (s *Server) audit(c *gin.Context, action, subject, detail string) {
	s.access.Audit(c, actor(c), action, subject, detail)
}

// --- tokens and the audit log over the API (admin) ---

type tokenJSON struct {
	Name      string     `json:"name"`
	Role      string     `json:"role"`
	CreatedAt time.Time  `json:"created_at"`
	CreatedBy string     `json:"created_by"`
	LastUsed  *time.Time `json:"last_used"`
	// Token is set only in the answer to its creation: it is never shown again.
	Token string `json:"token,omitempty"`
}

func toTokenJSON(t *store.Token) tokenJSON {
	out := tokenJSON{Name: t.Name, Role: t.Role, CreatedAt: t.CreatedAt, CreatedBy: t.CreatedBy}
	if !t.LastUsed.IsZero() {
		lu := t.LastUsed
		out.LastUsed = &lu
	}
	return out
}

func (s *Server) createToken(c *gin.Context) {
	var req struct {
		Name string `json:"name"`
		Role string `json:"role"`
	}
	if !bindJSON(c, &req) {
		return
	}
	token, t, err := s.access.CreateToken(c, req.Name, req.Role, actor(c))
	if err != nil {
		failService(c, err, "token")
		return
	}
	out := toTokenJSON(t)
	out.Token = token
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, out)
}

func (s *Server) listTokens(c *gin.Context) {
	ts, err := s.access.ListTokens(c)
	if err != nil {
		failErr(c, err, "tokens")
		return
	}
	out := make([]tokenJSON, len(ts))
	for i := range ts {
		out[i] = toTokenJSON(&ts[i])
	}
	c.JSON(http.StatusOK, gin.H{"tokens": out})
}

func (s *Server) revokeToken(c *gin.Context) {
	if err := s.access.RevokeToken(c, c.Param("name"), actor(c)); err != nil {
		failService(c, err, "token")
		return
	}
	c.Status(http.StatusNoContent)
}

type auditJSON struct {
	ID      int64     `json:"id"`
	At      time.Time `json:"at"`
	Actor   string    `json:"actor"`
	Action  string    `json:"action"`
	Subject string    `json:"subject"`
	Detail  string    `json:"detail"`
}

// getAudit lists the audit log oldest first, from after ?after=ID, at most
// ?limit= lines (default 50, at most 1000); next is the ID to continue from.
func (s *Server) getAudit(c *gin.Context) {
	after, err1 := strconv.ParseInt(c.DefaultQuery("after", "0"), 10, 64)
	limit, err2 := strconv.Atoi(c.DefaultQuery("limit", "0"))
	if err1 != nil || err2 != nil || after < 0 || limit < 0 {
		fail(c, http.StatusBadRequest, "invalid_query", "", "after and limit must be non-negative integers")
		return
	}
	es, err := s.cfg.Store.ListAudit(c, after, limit)
	if err != nil {
		failErr(c, err, "audit log")
		return
	}
	out := make([]auditJSON, len(es))
	next := after
	for i, e := range es {
		out[i] = auditJSON(e)
		next = e.ID
	}
	c.JSON(http.StatusOK, gin.H{"entries": out, "next": next})
}

// --- the console's login ---

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Barrage — sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:16px system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}
input,button{font:inherit;padding:.4rem;width:100%;box-sizing:border-box;margin:.3rem 0}
.err{color:#b00020}</style></head>
<body><h1>Barrage</h1>
<p>This server needs an API token (<code>barrage tokens create --name NAME --role viewer</code>).</p>
{{if .Error}}<p class="err" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="/ui/login">
<label for="token">Token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<input type="hidden" name="next" value="{{.Next}}">
<button type="submit">Sign in</button>
</form></body></html>
`))

// loginCSP: the login page's own policy — an inline style, a form posted
// to this server, nothing else.
const loginCSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

func (s *Server) showLogin(c *gin.Context, status int, msg, next string) {
	c.Header("Content-Security-Policy", loginCSP)
	c.Header("X-Content-Type-Options", "nosniff")
	c.Header("X-Frame-Options", "DENY")
	c.Header("Referrer-Policy", "no-referrer")
	c.Header("Cache-Control", "no-store")
	c.Status(status)
	c.Header("Content-Type", "text/html; charset=utf-8")
	_ = loginPage.Execute(c.Writer, struct{ Error, Next string }{msg, consolePath(next)})
}

func (s *Server) loginForm(c *gin.Context) { s.showLogin(c, http.StatusOK, "", c.Query("next")) }

// login checks the posted token and keeps it in the console's cookie: the
// token goes in a POST body, never a URL.
func (s *Server) login(c *gin.Context) {
	if s.cfg.NoAuth {
		c.Redirect(http.StatusSeeOther, "/ui/")
		return
	}
	if !sameOrigin(c.Request) && (c.Request.Header.Get("Origin") != "" || c.Request.Header.Get("Sec-Fetch-Site") != "") {
		// A client that is not a browser (no Origin, no Sec-Fetch-Site)
		// may post the form; a browser must post it from this server.
		fail(c, http.StatusForbidden, "cross_origin", "", "sign in from this server's login page")
		return
	}
	token := c.PostForm("token")
	t, err := s.access.Verify(c, token)
	if err != nil {
		s.showLogin(c, http.StatusUnauthorized, "That token is unknown or revoked.", c.PostForm("next"))
		return
	}
	// #nosec G124 -- HttpOnly and SameSite=Strict always; Secure whenever the request came over TLS (a plain-HTTP console on loopback could not log in with it)
	http.SetCookie(c.Writer, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true,
		Secure: c.Request.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: 12 * 3600})
	s.access.Audit(c, t.Name, "console.login", t.Name, "")
	c.Redirect(http.StatusSeeOther, consolePath(c.PostForm("next")))
}

func (s *Server) logout(c *gin.Context) {
	// #nosec G124 -- clears the session cookie, with the attributes login set
	http.SetCookie(c.Writer, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true,
		Secure: c.Request.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	c.Redirect(http.StatusSeeOther, "/ui/login")
}

// consolePath keeps a post-login redirect on this server's console.
func consolePath(p string) string {
	if !strings.HasPrefix(p, "/ui/") || strings.HasPrefix(p, "/ui/login") || strings.ContainsAny(p, "\\\r\n") || strings.HasPrefix(p, "//") {
		return "/ui/"
	}
	return p
}

// consoleAuth sends a browser without a valid cookie to the login page.
func (s *Server) consoleAuth(c *gin.Context) {
	if s.cfg.NoAuth {
		c.Next()
		return
	}
	token, _ := presented(c.Request)
	if token != "" {
		if _, err := s.access.Verify(c, token); err == nil {
			c.Next()
			return
		}
	}
	c.Redirect(http.StatusSeeOther, "/ui/login?next="+url.QueryEscape(c.Request.URL.Path))
	c.Abort()
}
