package h1

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Options tune a Client; the zero value gives the documented defaults.
type Options struct {
	DialTimeout     time.Duration // default 5s
	MaxBodyCapture  int           // body bytes kept when capturing, default 1 MiB; the rest is read, counted, dropped
	ReadBufferSize  int           // per connection, default 16 KiB; grows only for header lines longer than it
	WriteBufferSize int           // per connection, default 4 KiB; requests up to this size go out in one write
	MaxIdlePerAddr  int           // idle connections kept per Addr, default 1024; extra ones are closed
	UserAgent       string        // default "barrage"
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
	warm  int // how many Warm opened (0: none)
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
	clear(c.conns)
	clear(c.idle)
	c.mu.Unlock()

	c.cancel()
	for _, cn := range all {
		cn.nc.Close()
	}
}

// Stats reports how many connections were dialed and how many requests
// reused an idle one.
func (c *Client) Stats() (dials, reuses uint64) {
	return c.dials.Load(), c.reuses.Load()
}

func (c *Client) acquire(req *Request) (cn *conn, reused bool, err error) {
	waited := time.Duration(0)
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, false, ErrClosed
		}
		l := c.idle[req.Addr]
		if l != nil && len(l.conns) > 0 {
			cn = l.conns[len(l.conns)-1]
			l.conns[len(l.conns)-1] = nil
			l.conns = l.conns[:len(l.conns)-1]
		}
		busy := l != nil && l.open >= l.warm && l.warm > 0
		c.mu.Unlock()
		if cn != nil {
			c.reuses.Add(1)
			return cn, true, nil
		}
		// Past the warmed connections, a burst first waits a moment for one
		// to come back: dialing hundreds of connections at once costs both
		// sides more than the burst itself, and feeds the very delay that
		// caused it.
		if !busy || waited >= dialWait {
			break
		}
		time.Sleep(dialPoll)
		waited += dialPoll
	}
	cn, err = c.dial(req)
	return cn, false, err
}

// A request that finds every warmed connection busy waits up to dialWait
// for one before it dials another.
const (
	dialWait = 2 * time.Millisecond
	dialPoll = 100 * time.Microsecond
)

func (c *Client) dial(req *Request) (*conn, error) {
	d := c.dialer
	if !req.Deadline.IsZero() {
		d.Deadline = req.Deadline
	}
	nc, err := d.DialContext(c.ctx, "tcp", req.Addr)
	if err != nil {
		return nil, c.closedErr(fmt.Errorf("dial: %w", err))
	}
	c.dials.Add(1)
	cn := newConn(nc, req.Addr, &c.opts)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		nc.Close()
		return nil, ErrClosed
	}
	c.conns[cn] = struct{}{}
	c.list(req.Addr).open++
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

func (c *Client) release(cn *conn) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		cn.nc.Close()
		return
	}
	l := c.list(cn.addr)
	if len(l.conns) < c.opts.MaxIdlePerAddr {
		l.conns = append(l.conns, cn)
		c.mu.Unlock()
		return
	}
	delete(c.conns, cn)
	l.open--
	c.mu.Unlock()
	cn.nc.Close()
}

func (c *Client) discard(cn *conn) {
	c.mu.Lock()
	if _, ok := c.conns[cn]; ok {
		delete(c.conns, cn)
		c.list(cn.addr).open--
	}
	c.mu.Unlock()
	cn.nc.Close()
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
// run. It stops at the first dial error and returns it.
func (c *Client) Warm(addr string, n int, deadline time.Time) error {
	n = min(n, c.opts.MaxIdlePerAddr)
	c.mu.Lock()
	if l := c.list(addr); n > l.warm {
		l.warm = n
	}
	c.mu.Unlock()
	for {
		c.mu.Lock()
		idle := 0
		if l := c.idle[addr]; l != nil {
			idle = len(l.conns)
		}
		c.mu.Unlock()
		if idle >= n {
			return nil
		}
		cn, err := c.dial(&Request{Addr: addr, Deadline: deadline})
		if err != nil {
			return err
		}
		c.release(cn)
	}
}
