package h1

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/barrage/barrage/internal/netpolicy"
)

// Options tune a Client; the zero value gives the documented defaults.
type Options struct {
	DialTimeout     time.Duration // default 5s
	MaxBodyCapture  int           // body bytes kept when capturing, default 1 MiB; the rest is read, counted, dropped
	ReadBufferSize  int           // per connection, default 16 KiB; grows only for header lines longer than it
	WriteBufferSize int           // per connection, default 4 KiB; requests up to this size go out in one write
	MaxIdlePerAddr  int           // idle connections kept per Addr, default 1024; extra ones are closed
	UserAgent       string        // default "barrage"
	// Policy, when set, checks every connection's resolved address before
	// it connects (a refusal wraps *netpolicy.BlockedError); nil: none.
	Policy *netpolicy.Policy
}

func (o Options) withDefaults() Options {
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.MaxBodyCapture <= 0 {
		o.MaxBodyCapture = 1 << 20
	}
	if o.ReadBufferSize <= 0 {
		o.ReadBufferSize = 16 << 10
	}
	if o.WriteBufferSize <= 0 {
		o.WriteBufferSize = 4 << 10
	}
	if o.MaxIdlePerAddr <= 0 {
		o.MaxIdlePerAddr = 1024
	}
	if o.UserAgent == "" {
		o.UserAgent = "barrage"
	}
	return o
}

// Client sends requests over pooled keep-alive connections. It is safe for
// concurrent use; each connection serves one Do at a time.
type Client struct {
	opts   Options
	dialer net.Dialer
	ctx    context.Context // cancelled by Close to abort dials in progress
	cancel context.CancelFunc

	warmMu sync.Mutex // one Warm at a time, so that two cannot both dial what is missing

	mu     sync.Mutex
	idle   map[string]*idleList
	conns  map[*conn]struct{} // every open connection, idle or in use, so Close reaches all
	closed bool

	dials, reuses atomic.Uint64
}

// idleList is a stack: the most recently used connection is the least
// likely to have been closed by the server's idle timeout.
type idleList struct {
	conns []*conn
	open  int // connections to this address, idle or in use
	warm  int // how many Warm opened (0: none; then nobody waits, everyone dials)

	dialing int       // dials in progress
	waiters []*waiter // requests queued for a connection, oldest first
}

// New returns a Client with opts' zero fields set to their defaults.
func New(opts Options) *Client {
	opts = opts.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &Client{
		opts:   opts,
		dialer: net.Dialer{Timeout: opts.DialTimeout},
		ctx:    ctx,
		cancel: cancel,
		idle:   make(map[string]*idleList),
		conns:  make(map[*conn]struct{}),
	}
}

// Do sends req and reads the complete response into resp, reusing an idle
// connection to req.Addr when there is one. See the package documentation
// for the single retry on a stale idle connection.
func (c *Client) Do(req *Request, resp *Response) error {
	resp.reset()
	cn, reused, err := c.acquire(req)
	if err != nil {
		return err
	}
	keep, retryable, err := cn.exchange(req, resp, &c.opts)
	if err != nil && reused && retryable && !c.isClosed() {
		c.discard(cn)
		resp.reset()
		if cn, err = c.dial(req); err != nil {
			return err
		}
		keep, _, err = cn.exchange(req, resp, &c.opts)
	}
	resp.publishHeaders()
	if err != nil {
		c.discard(cn)
		return c.closedErr(err)
	}
	if keep {
		c.release(cn)
	} else {
		c.discard(cn)
	}
	return nil
}

// Close closes every connection, idle and in use, so blocked Do calls fail
// at once; later Do calls fail with ErrClosed.
func (c *Client) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	all := make([]*conn, 0, len(c.conns))
	for cn := range c.conns {
		all = append(all, cn)
	}
	for _, l := range c.idle {
		for _, w := range l.waiters {
			w.hand(nil)
		}
	}
	clear(c.conns)
	clear(c.idle)
	c.mu.Unlock()

	c.cancel()
	for _, cn := range all {
		_ = cn.nc.Close()
	}
}

// Stats reports how many connections were dialed and how many requests
// reused an idle one.
func (c *Client) Stats() (dials, reuses uint64) {
	return c.dials.Load(), c.reuses.Load()
}

func (c *Client) acquire(req *Request) (cn *conn, reused bool, err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, false, ErrClosed
	}
	l := c.list(req.Addr)
	if n := len(l.conns); n > 0 {
		cn = l.conns[n-1]
		l.conns[n-1] = nil
		l.conns = l.conns[:n-1]
		c.mu.Unlock()
		c.reuses.Add(1)
		return cn, true, nil
	}
	if l.warm == 0 || l.open+l.dialing < l.warm {
		c.mu.Unlock()
		cn, err = c.dial(req)
		return cn, false, err
	}
	// Every warmed connection is busy: queue for one, for a moment.
	w := &waiter{ch: make(chan *conn, 1)}
	l.waiters = append(l.waiters, w)
	c.mu.Unlock()
	return c.wait(req, l, w)
}

// waiter is a request queued for a connection of one address; release
// hands connections to waiters first, oldest first. A nil connection means
// the client was closed, dialNow that the waiter should dial at once.
type waiter struct {
	ch     chan *conn
	served bool // something was sent on ch; guarded by Client.mu
}

// dialNow, handed to a waiter, tells it to dial its own connection.
var dialNow = new(conn)

// hand gives w its answer; c.mu must be held and w out of the queue. ch is
// buffered and sent to once, so this never blocks.
func (w *waiter) hand(cn *conn) {
	w.ch <- cn
	w.served = true
}

// pop takes the oldest waiter out of the queue; c.mu must be held.
func (l *idleList) pop() *waiter {
	w := l.waiters[0]
	l.waiters[0] = nil
	l.waiters = l.waiters[1:]
	return w
}

// A request that finds every warmed connection busy waits up to dialWait
// for one to come back before it dials another: a burst then reuses the
// connections that free up within it instead of dialing hundreds at once.
// The wait is short so that a target that merely got slower gets the
// connections it needs at once: an open model's arrivals must not wait for
// each other's responses, or the tool would add latency of its own.
var dialWait = 2 * time.Millisecond // a variable only so that tests can lengthen it

func (c *Client) wait(req *Request, l *idleList, w *waiter) (*conn, bool, error) {
	timer := time.NewTimer(dialWait)
	defer timer.Stop()
	for {
		select {
		case cn := <-w.ch:
			switch cn {
			case nil:
				return nil, false, ErrClosed
			case dialNow:
				cn, err := c.dial(req)
				return cn, false, err
			}
			c.reuses.Add(1)
			return cn, true, nil
		case <-timer.C:
		}
		c.mu.Lock()
		if w.served {
			c.mu.Unlock()
			continue // release or Close handed it something just now
		}
		l.dequeue(w)
		closed := c.closed
		c.mu.Unlock()
		if closed {
			return nil, false, ErrClosed
		}
		cn, err := c.dial(req)
		return cn, false, err
	}
}

// dequeue removes w, which is queued, from the queue. Waiters mostly give
// up oldest first, so the front is the cheap case.
func (l *idleList) dequeue(w *waiter) {
	if l.waiters[0] == w {
		l.pop()
		return
	}
	for i, x := range l.waiters {
		if x == w {
			copy(l.waiters[i:], l.waiters[i+1:])
			l.waiters[len(l.waiters)-1] = nil
			l.waiters = l.waiters[:len(l.waiters)-1]
			return
		}
	}
}

// dial opens a connection to req.Addr. Every connection the client makes
// comes from here (Do, its retry, a waiter told to dial, Warm), so the
// policy's check covers them all.
func (c *Client) dial(req *Request) (*conn, error) {
	d := c.dialer
	if !req.Deadline.IsZero() {
		d.Deadline = req.Deadline
	}
	if c.opts.Policy != nil {
		host, _, err := net.SplitHostPort(req.Addr)
		if err != nil {
			host = req.Addr // DialContext fails on it below
		}
		d.Control = c.opts.Policy.Control(host)
	}
	c.mu.Lock()
	c.list(req.Addr).dialing++
	c.mu.Unlock()
	nc, err := d.DialContext(c.ctx, "tcp", req.Addr)
	c.mu.Lock()
	if c.closed { // Close dropped the lists: nothing to count in
		c.mu.Unlock()
		if err != nil {
			return nil, c.closedErr(fmt.Errorf("dial: %w", err))
		}
		_ = nc.Close()
		return nil, ErrClosed
	}
	l := c.list(req.Addr)
	l.dialing--
	if err != nil {
		c.mu.Unlock()
		return nil, c.closedErr(fmt.Errorf("dial: %w", err))
	}
	c.dials.Add(1)
	cn := newConn(nc, req.Addr, &c.opts)
	c.conns[cn] = struct{}{}
	l.open++
	c.mu.Unlock()
	return cn, nil
}

// list returns the idle list of addr, creating it; c.mu must be held.
func (c *Client) list(addr string) *idleList {
	l := c.idle[addr]
	if l == nil {
		l = &idleList{}
		c.idle[addr] = l
	}
	return l
}

// release returns cn to the oldest request waiting for a connection, or
// to the pool.
func (c *Client) release(cn *conn) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		_ = cn.nc.Close()
		return
	}
	l := c.list(cn.addr)
	if len(l.waiters) > 0 {
		l.pop().hand(cn)
		c.mu.Unlock()
		return
	}
	if len(l.conns) < c.opts.MaxIdlePerAddr {
		l.conns = append(l.conns, cn)
		c.mu.Unlock()
		return
	}
	delete(c.conns, cn)
	l.open--
	c.mu.Unlock()
	_ = cn.nc.Close()
}

// discard closes cn. If that leaves the warm pool short while requests
// queue for it, the oldest of them is told to dial now rather than wait
// out dialWait for a connection that will not come back.
func (c *Client) discard(cn *conn) {
	c.mu.Lock()
	if _, ok := c.conns[cn]; ok {
		delete(c.conns, cn)
		l := c.list(cn.addr)
		l.open--
		if len(l.waiters) > 0 && l.open+l.dialing < l.warm {
			l.pop().hand(dialNow)
		}
	}
	c.mu.Unlock()
	_ = cn.nc.Close()
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// closedErr marks errors caused by Close so callers can tell an aborted
// run from a failing target.
func (c *Client) closedErr(err error) error {
	if c.isClosed() && !errors.Is(err, ErrClosed) {
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return err
}

// Warm dials connections to addr until n are idle there, so that a burst of
// requests finds them ready instead of dialing in the middle of a measured
// run. Up to warmParallel dials run at once: a pool of thousands over a
// real network would otherwise take thousands of round trips. It returns
// the first dial error, after the dials in progress have ended.
func (c *Client) Warm(addr string, n int, deadline time.Time) error {
	c.warmMu.Lock()
	defer c.warmMu.Unlock()
	n = min(n, c.opts.MaxIdlePerAddr)
	c.mu.Lock()
	l := c.list(addr)
	if n > l.warm {
		l.warm = n
	}
	missing := n - len(l.conns)
	c.mu.Unlock()
	if missing <= 0 {
		return nil
	}
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		first atomic.Pointer[error]
	)
	for range min(missing, warmParallel) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(missing) && first.Load() == nil {
				cn, err := c.dial(&Request{Addr: addr, Deadline: deadline})
				if err != nil {
					first.CompareAndSwap(nil, &err)
					return
				}
				c.release(cn)
			}
		}()
	}
	wg.Wait()
	if err := first.Load(); err != nil {
		return *err
	}
	return nil
}

// warmParallel bounds the dials Warm runs at once.
const warmParallel = 32

// idleCount reports how many idle connections to addr the pool holds.
func (c *Client) idleCount(addr string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l := c.idle[addr]; l != nil {
		return len(l.conns)
	}
	return 0
}
