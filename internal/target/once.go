package target

import (
	"net/http"
	"sync"
)

// once counts the ids /once/{id} was called with, for data that must be
// used once per run (one-time coupons, sign-ups): a test checks that none
// came twice.
type once struct {
	mu       sync.Mutex
	seen     map[string]struct{}
	repeated uint64 // requests whose id had come before
}

func (o *once) note(id string) (first bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.seen == nil {
		o.seen = map[string]struct{}{}
	}
	if _, ok := o.seen[id]; ok {
		o.repeated++
		return false
	}
	o.seen[id] = struct{}{}
	return true
}

func (o *once) stats() (ids int, repeated uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.seen), o.repeated
}

func (o *once) reset() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seen, o.repeated = nil, 0
}

// serveOnce answers /once/{id}: 200 the first time an id comes (since the
// start or the last reset), 409 every time after.
func (s *Server) serveOnce(w http.ResponseWriter, r *http.Request, st *state, id string) {
	code := http.StatusOK
	if !s.once.note(id) {
		code = http.StatusConflict
	}
	s.reply(w, r, s.delay(st), code, "text/plain; charset=utf-8", nil)
}
