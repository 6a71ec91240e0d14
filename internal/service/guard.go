package service

import (
	"context"
	"fmt"
	"time"

	"github.com/barrage/barrage/internal/netpolicy"
	"github.com/barrage/barrage/internal/profile"
	"github.com/barrage/barrage/internal/scenario"
)

// Guard is what a server lets a run do: where its load may go (Policy; nil
// allows everything, as the embedded `barrage run` does) and how big it may
// be (caps; 0: none).
type Guard struct {
	Policy   *netpolicy.Policy
	Resolver netpolicy.Resolver // nil: the system's
	// MaxVUs caps a run's VUs (the closed model's peak, the open model's
	// pool); MaxRPS the open model's peak rate; MaxDuration its profile
	// plus graceful stop.
	MaxVUs      int
	MaxRPS      float64
	MaxDuration time.Duration
}

// checkTargets refuses a run whose base URL or any step URL that names a
// host is outside the policy; hosts made by templates are checked by the
// worker when it connects.
func (g *Guard) checkTargets(ctx context.Context, base string, plan *scenario.Plan) error {
	if g == nil || g.Policy == nil {
		return nil
	}
	r := g.Resolver
	if r == nil {
		r = netpolicy.DefaultResolver
	}
	urls := []struct{ field, url string }{{"target_base_url", base}}
	for i, st := range plan.Steps {
		urls = append(urls, struct{ field, url string }{fmt.Sprintf("steps[%d].url", i), st.URL.Source()})
	}
	for _, u := range urls {
		if u.url == "" {
			continue
		}
		if err := g.Policy.CheckURL(ctx, r, u.url); err != nil {
			return refuse(Invalid, "target_not_allowed", u.field,
				"%v; this server sends load only where barrage server --allow-target allows (CIDR or HOST[:PORT])", err)
		}
	}
	return nil
}

// checkCaps refuses a run bigger than the server's caps, naming the cap.
func (g *Guard) checkCaps(plan *scenario.Plan) error {
	if g == nil {
		return nil
	}
	p := plan.Profile
	if g.MaxVUs > 0 {
		vus := int(p.Peak() + 0.5)
		what := "peak virtual users"
		if p.Model == profile.Open {
			vus, what = max(plan.MaxVUs, plan.PreAllocatedVUs), "max_vus (the open model's pool)"
			if vus == 0 {
				return refuse(Invalid, "cap_exceeded", "max_vus", "this server caps runs at %d VUs (--max-vus): an open-model run must set max_vus", g.MaxVUs)
			}
		}
		if vus > g.MaxVUs {
			return refuse(Invalid, "cap_exceeded", "max_vus", "the run's %s are %d, over this server's cap of %d (--max-vus)", what, vus, g.MaxVUs)
		}
	}
	if g.MaxRPS > 0 && p.Model == profile.Open && p.Peak() > g.MaxRPS {
		return refuse(Invalid, "cap_exceeded", "max_rps", "the run's peak rate is %g iterations/s, over this server's cap of %g (--max-rps)", p.Peak(), g.MaxRPS)
	}
	if d := p.Duration() + plan.GracefulStop; g.MaxDuration > 0 && d > g.MaxDuration {
		return refuse(Invalid, "cap_exceeded", "max_duration", "the run lasts %s with its graceful stop, over this server's cap of %s (--max-duration)", d, g.MaxDuration)
	}
	return nil
}

// checkRamp refuses a ramp past the caps.
func (g *Guard) checkRamp(model profile.Model, target float64) error {
	switch {
	case g == nil:
	case model == profile.Closed && g.MaxVUs > 0 && target > float64(g.MaxVUs):
		return refuse(Invalid, "cap_exceeded", "target", "target %g VUs is over this server's cap of %d (--max-vus)", target, g.MaxVUs)
	case model == profile.Open && g.MaxRPS > 0 && target > g.MaxRPS:
		return refuse(Invalid, "cap_exceeded", "target", "target %g iterations/s is over this server's cap of %g (--max-rps)", target, g.MaxRPS)
	}
	return nil
}

// AllowEntries is the policy as workers receive it (nil: no policy).
func (g *Guard) AllowEntries() []string {
	if g == nil || g.Policy == nil {
		return nil
	}
	return append([]string{}, g.Policy.Entries()...)
}
