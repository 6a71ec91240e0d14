package target

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// DemoPassword is the only password /login accepts, for any user name.
const DemoPassword = "secret"

// maxLoginBody bounds a /login body; credentials are a few dozen bytes.
const maxLoginBody = 64 << 10

// tokenStore is a bounded token → user map. When full, issuing a token forgets
// the oldest one, so a long login-heavy run keeps working with bounded memory
// and only very old sessions get 401s.
type tokenStore struct {
	mu    sync.RWMutex
	users map[string]string
	order []string // ring of issued tokens; next is the oldest once full
	next  int
	limit int
}

func newTokenStore(limit int) *tokenStore {
	return &tokenStore{users: map[string]string{}, limit: limit}
}

func (t *tokenStore) issue(user string) string {
	var b [16]byte
	// crypto/rand.Read never returns an error since Go 1.24.
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.order) < t.limit {
		t.order = append(t.order, token)
	} else {
		delete(t.users, t.order[t.next])
		t.order[t.next] = token
		t.next = (t.next + 1) % t.limit
	}
	t.users[token] = user
	return token
}

func (t *tokenStore) user(token string) (string, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	u, ok := t.users[token]
	return u, ok
}

type credentials struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

type session struct {
	Token string `json:"token,omitempty"`
	User  string `json:"user"`
}

// serveLogin answers /login: a JSON {"user","password"} body with the demo
// password gets a fresh token.
func (s *Server) serveLogin(w http.ResponseWriter, r *http.Request, st *state) {
	var c credentials
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxLoginBody))
	if err := dec.Decode(&c); err != nil {
		s.replyError(w, r, s.delay(st), http.StatusBadRequest,
			`body must be JSON {"user":"...","password":"..."}: `+err.Error())
		return
	}
	if c.User == "" || c.Password == "" {
		s.replyError(w, r, s.delay(st), http.StatusBadRequest, "user and password are both required")
		return
	}
	if c.Password != DemoPassword {
		s.replyError(w, r, s.delay(st), http.StatusUnauthorized, "wrong password (the demo password is \""+DemoPassword+"\")")
		return
	}
	s.replyJSON(w, r, s.delay(st), http.StatusOK, session{Token: s.tokens.issue(c.User), User: c.User})
}

// serveMe answers /me for a bearer token this server issued.
func (s *Server) serveMe(w http.ResponseWriter, r *http.Request, st *state) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		w.Header().Set("WWW-Authenticate", "Bearer")
		s.replyError(w, r, s.delay(st), http.StatusUnauthorized, "missing Authorization: Bearer <token> (get one from POST /login)")
		return
	}
	user, ok := s.tokens.user(strings.TrimSpace(token))
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		s.replyError(w, r, s.delay(st), http.StatusUnauthorized, "unknown or expired token")
		return
	}
	s.replyJSON(w, r, s.delay(st), http.StatusOK, session{User: user})
}

// Item is one entry of the fixed /items catalogue.
type Item struct {
	ID      int      `json:"id"`
	Name    string   `json:"name"`
	Price   float64  `json:"price"`
	InStock bool     `json:"in_stock"`
	Tags    []string `json:"tags"`
}

// catalogue holds the /items responses, encoded once.
type catalogue struct {
	list  []byte
	items map[int][]byte
}

func newCatalogue() catalogue {
	names := []string{"anvil", "rocket skates", "giant magnet", "bird seed", "tornado kit",
		"spring boots", "jet bike", "earthquake pills", "dehydrated boulders", "invisible paint"}
	items := make([]Item, len(names))
	c := catalogue{items: make(map[int][]byte, len(names))}
	for i, name := range names {
		items[i] = Item{
			ID:      i + 1,
			Name:    name,
			Price:   float64(10*(i+1)) - 0.01,
			InStock: i%3 != 2,
			Tags:    []string{"acme", []string{"tools", "travel", "traps"}[i%3]},
		}
		c.items[i+1] = marshal(items[i])
	}
	c.list = marshal(struct {
		Items []Item `json:"items"`
		Count int    `json:"count"`
	}{items, len(items)})
	return c
}

// serveItems answers /items with the whole catalogue.
func (s *Server) serveItems(w http.ResponseWriter, r *http.Request, st *state) {
	s.reply(w, r, s.delay(st), http.StatusOK, "application/json", s.catalogue.list)
}

// serveItem answers /items/{id}.
func (s *Server) serveItem(w http.ResponseWriter, r *http.Request, st *state, arg string) {
	id, err := strconv.Atoi(arg)
	if err != nil {
		s.replyError(w, r, s.delay(st), http.StatusBadRequest, "item id must be an integer, got "+strconv.Quote(arg))
		return
	}
	body, ok := s.catalogue.items[id]
	if !ok {
		s.replyError(w, r, s.delay(st), http.StatusNotFound, "item "+strconv.Itoa(id)+" not found (ids are 1.."+strconv.Itoa(len(s.catalogue.items))+")")
		return
	}
	s.reply(w, r, s.delay(st), http.StatusOK, "application/json", body)
}
