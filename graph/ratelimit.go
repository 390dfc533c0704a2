package graph

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/99designs/gqlgen/graphql"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/ratelimit"
)

// The allowances of the API, per signed-in person and per source address;
// docs/security.md says why each number. Every operation spends one unit
// of its person's and its address's allowance, and the costly fields one
// more of their own.
var (
	perPerson  = ratelimit.PerMinute(600, 120)
	perAddress = ratelimit.PerMinute(1200, 240)
	// costly fields per person (or per address, without a token).
	costly = map[string]ratelimit.Limit{
		"serviceStats": ratelimit.PerMinute(20, 10),
		"staffStats":   ratelimit.PerMinute(20, 10),
		// login is further limited per account and address (internal/auth).
		"login":        ratelimit.PerMinute(30, 30),
		"refreshToken": ratelimit.PerMinute(60, 60),
		// One-time codes are guessed no faster than passwords.
		"activateAccount": ratelimit.PerMinute(30, 30),
		"importUnits":     ratelimit.PerMinute(10, 5),
	}
)

// rateLimit refuses an operation whose person or address has spent its
// allowance, with RATE_LIMITED and extensions.retryAfter in seconds.
func rateLimit(l ratelimit.Limiter, log *slog.Logger) graphql.OperationMiddleware {
	return func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		oc := graphql.GetOperationContext(ctx)
		if oc.Operation == nil {
			return next(ctx)
		}
		address := "ip:" + ClientIP(ctx)
		who := address
		spend := []struct {
			key string
			lim ratelimit.Limit
		}{{address, perAddress}}
		if a := auth.ActorFrom(ctx); a != nil {
			who = "person:" + a.PersonID
			spend = append(spend, struct {
				key string
				lim ratelimit.Limit
			}{who, perPerson})
		}
		seen := map[string]bool{}
		for _, f := range graphql.CollectFields(oc, oc.Operation.SelectionSet, nil) {
			if lim, ok := costly[f.Name]; ok && !seen[f.Name] {
				seen[f.Name] = true
				spend = append(spend, struct {
					key string
					lim ratelimit.Limit
				}{who + ":" + f.Name, lim})
			}
		}
		for _, s := range spend {
			res, err := l.Allow(ctx, s.key, s.lim)
			if err != nil {
				return next(ctx) // the limiter falls back in process; an error here is a bug, not a reason to refuse
			}
			if !res.Allowed {
				log.WarnContext(ctx, "rate limited", "request_id", RequestID(ctx), "client_ip", ClientIP(ctx),
					"person", personID(ctx), "key", s.key, "retry_after", res.RetryAfter)
				return refuse(apperr.Limited(res.RetryAfter, "too many requests; try again in %d seconds", retrySeconds(res)))
			}
		}
		return next(ctx)
	}
}

func retrySeconds(r ratelimit.Result) int {
	s := int(r.RetryAfter.Seconds())
	if r.RetryAfter > 0 && float64(s) < r.RetryAfter.Seconds() {
		s++
	}
	return s
}

// personID is the caller's id for log lines, "" without a token.
func personID(ctx context.Context) string {
	if a := auth.ActorFrom(ctx); a != nil {
		return a.PersonID
	}
	return ""
}

type clientIPKey struct{}

// ClientIP is the address the call came from: the connection's peer, or,
// when that peer is a trusted proxy, the last address in X-Forwarded-For
// that is not one of the trusted proxies.
func ClientIP(ctx context.Context) string {
	ip, _ := ctx.Value(clientIPKey{}).(string)
	return ip
}

func withClientIP(trusted []netip.Prefix, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := clientIP(r, trusted)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientIPKey{}, ip)))
	})
}

func clientIP(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	peer = peer.Unmap()
	if !isTrusted(peer, trusted) {
		return peer.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		a = a.Unmap()
		if !isTrusted(a, trusted) {
			return a.String()
		}
	}
	return peer.String()
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
