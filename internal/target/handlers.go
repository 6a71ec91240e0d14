package target

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Limits on what a request may ask for.
const (
	MaxBytes     = 10 << 20 // /bytes/{n} and the /echo request body
	MaxRedirects = 100      // /redirect/{n}
)

// route dispatches every load endpoint except "/", which ServeHTTP answers
// directly. Methods are not checked: any method is answered like GET.
func (s *Server) route(w http.ResponseWriter, r *http.Request, st *state, path string) {
	switch {
	case path == "/delay":
		s.serveDelay(w, r)
	case path == "/latency":
		s.serveLatency(w, r)
	case strings.HasPrefix(path, "/status/"):
		s.serveStatus(w, r, st, path[len("/status/"):])
	case path == "/error":
		s.serveError(w, r, st)
	case strings.HasPrefix(path, "/bytes/"):
		s.serveBytes(w, r, st, path[len("/bytes/"):])
	case path == "/echo":
		s.serveEcho(w, r, st)
	case path == "/login":
		s.serveLogin(w, r, st)
	case path == "/me":
		s.serveMe(w, r, st)
	case path == "/items":
		s.serveItems(w, r, st)
	case strings.HasPrefix(path, "/items/"):
		s.serveItem(w, r, st, path[len("/items/"):])
	case path == "/cookie/set":
		s.serveCookieSet(w, r, st)
	case path == "/cookie/get":
		s.serveCookieGet(w, r, st)
	case strings.HasPrefix(path, "/once/"):
		s.serveOnce(w, r, st, path[len("/once/"):])
	case strings.HasPrefix(path, "/redirect/"):
		s.serveRedirect(w, r, st, path[len("/redirect/"):])
	default:
		s.serveRoot(w, r, st)
	}
}

// serveDelay answers /delay?ms=N after exactly N milliseconds.
func (s *Server) serveDelay(w http.ResponseWriter, r *http.Request) {
	d, err := durationParam(r.URL.Query(), "ms")
	if err != nil {
		s.replyError(w, r, 0, http.StatusBadRequest, err.Error())
		return
	}
	s.replyJSON(w, r, d, http.StatusOK, latencyBody{Dist: DistFixed, LatencyMS: millis(d)})
}

type latencyBody struct {
	Dist      string  `json:"dist"`
	LatencyMS float64 `json:"latency_ms"`
}

// serveLatency answers /latency?dist=... after a delay drawn from the
// distribution in the query (see the package documentation for parameters).
func (s *Server) serveLatency(w http.ResponseWriter, r *http.Request) {
	l, err := latencyFromQuery(r.URL.Query())
	if err != nil {
		s.replyError(w, r, 0, http.StatusBadRequest, err.Error())
		return
	}
	d := s.sample(l)
	s.replyJSON(w, r, d, http.StatusOK, latencyBody{Dist: l.Dist, LatencyMS: millis(d)})
}

func latencyFromQuery(q url.Values) (Latency, error) {
	var (
		l    = Latency{Dist: q.Get("dist")}
		errs []error
	)
	get := func(name string) time.Duration {
		d, err := durationParam(q, name)
		errs = append(errs, err)
		return d
	}
	switch l.Dist {
	case DistFixed:
		l.Fixed = get("ms")
	case DistUniform:
		l.Min, l.Max = get("min"), get("max")
	case DistLognormal:
		l.Median = get("median")
		sigma, err := strconv.ParseFloat(q.Get("sigma"), 64)
		if err != nil {
			err = errors.New("sigma must be a number, e.g. sigma=0.5")
		}
		l.Sigma = sigma
		errs = append(errs, err)
	default:
		return Latency{}, errors.New("dist must be fixed (ms), uniform (min, max) or lognormal (median, sigma)")
	}
	if err := errors.Join(errs...); err != nil {
		return Latency{}, err
	}
	return l, l.Validate()
}

// durationParam reads a delay in milliseconds (decimals allowed) or as a Go
// duration ("1.5ms"), between 0 and MaxLatency.
func durationParam(q url.Values, name string) (time.Duration, error) {
	v := q.Get(name)
	if v == "" {
		return 0, errors.New(name + " is required (milliseconds, e.g. " + name + "=5)")
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		ms, perr := strconv.ParseFloat(v, 64)
		if perr != nil || !finite(ms) {
			return 0, errors.New(name + " must be milliseconds or a duration, got " + strconv.Quote(v))
		}
		d = time.Duration(ms * float64(time.Millisecond))
	}
	if d < 0 || d > MaxLatency {
		return 0, errors.New(name + " must be between 0 and " + MaxLatency.String())
	}
	return d, nil
}

func millis(d time.Duration) float64 {
	return float64(d) / float64(time.Millisecond)
}

// serveStatus answers /status/{code} with that code. 1xx codes are refused:
// they are interim responses in HTTP and cannot end a request.
func (s *Server) serveStatus(w http.ResponseWriter, r *http.Request, st *state, arg string) {
	code, err := strconv.Atoi(arg)
	if err != nil || code < 200 || code > 599 {
		s.replyError(w, r, s.delay(st), http.StatusBadRequest,
			"status code must be an integer in 200..599 (1xx are interim responses), got "+strconv.Quote(arg))
		return
	}
	s.replyJSON(w, r, s.delay(st), code, statusBody{Status: code, Text: http.StatusText(code)})
}

type statusBody struct {
	Status int    `json:"status"`
	Text   string `json:"text"`
}

// serveError answers /error?rate=R: 500 with probability R (default 1), else 200.
func (s *Server) serveError(w http.ResponseWriter, r *http.Request, st *state) {
	rate := 1.0
	if v := r.URL.Query().Get("rate"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f >= 0 && f <= 1) {
			s.replyError(w, r, s.delay(st), http.StatusBadRequest, "rate must be a number in 0..1, got "+strconv.Quote(v))
			return
		}
		rate = f
	}
	if rate >= 1 || (rate > 0 && s.samples.float64() < rate) {
		s.replyError(w, r, s.delay(st), http.StatusInternalServerError, "error drawn at rate "+strconv.FormatFloat(rate, 'g', -1, 64))
		return
	}
	s.replyJSON(w, r, s.delay(st), http.StatusOK, statusBody{Status: http.StatusOK, Text: "no error drawn"})
}

// serveBytes answers /bytes/{n} with n bytes of a repeating printable pattern.
func (s *Server) serveBytes(w http.ResponseWriter, r *http.Request, st *state, arg string) {
	n, err := strconv.Atoi(arg)
	if err != nil || n < 0 || n > MaxBytes {
		s.replyError(w, r, s.delay(st), http.StatusBadRequest,
			"byte count must be an integer in 0.."+strconv.Itoa(MaxBytes)+", got "+strconv.Quote(arg))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.Itoa(n))
	if !s.commit(w, r, s.delay(st), http.StatusOK) {
		return
	}
	for n > 0 {
		chunk := s.pattern[:min(n, len(s.pattern))]
		if _, err := w.Write(chunk); err != nil {
			return
		}
		n -= len(chunk)
	}
}

type echoBody struct {
	Method      string            `json:"method"`
	Path        string            `json:"path"`
	Host        string            `json:"host"`
	Query       map[string]string `json:"query"`
	Headers     map[string]string `json:"headers"`
	HeaderCount int               `json:"header_count"`
	Body        string            `json:"body"`
	BodyBytes   int               `json:"body_bytes"`
}

// serveEcho answers /echo with the request as JSON. Repeated query parameters
// are joined with "," and repeated headers with ", ", as HTTP allows.
func (s *Server) serveEcho(w http.ResponseWriter, r *http.Request, st *state) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBytes))
	if err != nil {
		code, msg := http.StatusBadRequest, "read body: "+err.Error()
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			code, msg = http.StatusRequestEntityTooLarge, "body exceeds "+strconv.Itoa(MaxBytes)+" bytes"
		}
		s.replyError(w, r, s.delay(st), code, msg)
		return
	}
	out := echoBody{
		Method:      r.Method,
		Path:        r.URL.Path,
		Host:        r.Host,
		Query:       map[string]string{},
		Headers:     map[string]string{},
		HeaderCount: len(r.Header),
		Body:        string(body),
		BodyBytes:   len(body),
	}
	for k, v := range r.URL.Query() {
		out.Query[k] = strings.Join(v, ",")
	}
	for k, v := range r.Header {
		out.Headers[k] = strings.Join(v, ", ")
	}
	s.replyJSON(w, r, s.delay(st), http.StatusOK, out)
}

// serveCookieSet answers /cookie/set?name=value&... by setting each parameter
// as a cookie (Path=/); the first value of a repeated name wins.
func (s *Server) serveCookieSet(w http.ResponseWriter, r *http.Request, st *state) {
	q := r.URL.Query()
	if len(q) == 0 {
		s.replyError(w, r, s.delay(st), http.StatusBadRequest, "give cookies as query parameters, e.g. /cookie/set?session=abc")
		return
	}
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	sort.Strings(names)
	set := make(map[string]string, len(q))
	for _, name := range names {
		// #nosec G124 -- test cookies for a client's cookie jar, as httpbin's /cookies/set; Secure would keep a jar from returning them over plain HTTP
		c := &http.Cookie{Name: name, Value: q.Get(name), Path: "/"}
		if err := c.Valid(); err != nil {
			w.Header().Del("Set-Cookie")
			s.replyError(w, r, s.delay(st), http.StatusBadRequest, "cookie "+strconv.Quote(name)+": "+err.Error())
			return
		}
		http.SetCookie(w, c)
		set[name] = c.Value
	}
	s.replyJSON(w, r, s.delay(st), http.StatusOK, map[string]map[string]string{"set": set})
}

// serveCookieGet answers /cookie/get with the cookies the request carried; the
// first of a repeated name wins.
func (s *Server) serveCookieGet(w http.ResponseWriter, r *http.Request, st *state) {
	got := map[string]string{}
	for _, c := range r.Cookies() {
		if _, seen := got[c.Name]; !seen {
			got[c.Name] = c.Value
		}
	}
	s.replyJSON(w, r, s.delay(st), http.StatusOK, map[string]map[string]string{"cookies": got})
}

// serveRedirect answers /redirect/{n}: a 302 to /redirect/{n-1}, the last one
// to /, so a client following them makes n redirects. /redirect/0 is /.
func (s *Server) serveRedirect(w http.ResponseWriter, r *http.Request, st *state, arg string) {
	n, err := strconv.Atoi(arg)
	if err != nil || n < 0 || n > MaxRedirects {
		s.replyError(w, r, s.delay(st), http.StatusBadRequest,
			"redirect count must be an integer in 0.."+strconv.Itoa(MaxRedirects)+", got "+strconv.Quote(arg))
		return
	}
	if n == 0 {
		s.serveRoot(w, r, st)
		return
	}
	next := "/"
	if n > 1 {
		next = "/redirect/" + strconv.Itoa(n-1)
	}
	w.Header().Set("Location", next)
	s.replyJSON(w, r, s.delay(st), http.StatusFound, map[string]string{"location": next})
}
