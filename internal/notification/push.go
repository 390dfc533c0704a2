package notification

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/kproperty/onestop/internal/clock"
)

// Sender delivers a notification to the person's phone: a push gateway, an
// SMS service. It returns an error when delivery should be retried.
type Sender interface {
	Send(ctx context.Context, n Notification) error
}

// LogSender only logs; it is the default where no push gateway is set up.
type LogSender struct{ Log *slog.Logger }

// Send logs the notification.
func (l LogSender) Send(ctx context.Context, n Notification) error {
	l.Log.InfoContext(ctx, "push", "person", n.PersonID, "kind", n.Kind, "title", n.Title)
	return nil
}

// WebhookSender POSTs each notification as JSON to a push gateway.
type WebhookSender struct {
	URL    string
	Client *http.Client
}

// Send posts the notification; any answer but 2xx is a failure to retry.
func (w WebhookSender) Send(ctx context.Context, n Notification) error {
	body, err := json.Marshal(n)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", fmt.Sprintf("notification-%d", n.ID))
	c := w.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("push gateway answered %s", resp.Status)
	}
	return nil
}

// Outbox is the storage the pusher works through. No call holds a
// transaction open beyond itself: pushes go out between them, so a slow
// push gateway never holds a database connection or a row lock.
type Outbox interface {
	// ClaimDue leases up to limit notifications whose push is due at now:
	// until leaseUntil no other instance claims them. The lease is
	// committed before ClaimDue returns.
	ClaimDue(ctx context.Context, now time.Time, limit int, leaseUntil time.Time) ([]Due, error)
	// MarkPushed records a claimed notification as delivered at the given
	// time. A lease that ran out and was taken by another instance is
	// left to that instance.
	MarkPushed(ctx context.Context, id int64, leaseUntil, at time.Time) error
	// MarkPushFailed records a failed attempt: next is when to try again,
	// nil to give up.
	MarkPushFailed(ctx context.Context, id int64, leaseUntil time.Time, attempts int, next *time.Time, reason string) error
}

// Due is a notification claimed for pushing, with the attempts made so far.
type Due struct {
	Notification
	Attempts int `db:"push_attempts"`
}

// Pusher sends pending notifications to phones with retries and backoff.
type Pusher struct {
	Outbox Outbox
	Sender Sender
	Clock  clock.Clock
	// MaxAttempts bounds retries; the last failure is kept on the row.
	MaxAttempts int
	Log         *slog.Logger
}

const (
	// pushBatch is how many notifications one tick claims.
	pushBatch = 50
	// sendTimeout bounds one push.
	sendTimeout = 10 * time.Second
	// pushLease is how long a claim keeps other instances off a batch: the
	// batch is sent one by one, so it covers every push timing out, and a
	// batch still unsent when it ends (this instance died) is retried by
	// whichever instance claims it next.
	pushLease = pushBatch*sendTimeout + time.Minute
)

// Tick sends what is due now and reports how many it handled.
func (p *Pusher) Tick(ctx context.Context) (int, error) {
	now := p.Clock.Now()
	// Microseconds, as PostgreSQL keeps it: the lease is matched again when
	// the outcome is recorded.
	lease := now.Add(pushLease).Truncate(time.Microsecond)
	due, err := p.Outbox.ClaimDue(ctx, now, pushBatch, lease)
	if err != nil {
		return 0, err
	}
	// The batch must be done before its lease ends, or another instance
	// could send the same notification again; what is not sent by then
	// stays claimed and is retried after the lease.
	bctx, cancel := context.WithTimeout(ctx, pushBatch*sendTimeout)
	defer cancel()
	for _, d := range due {
		if bctx.Err() != nil {
			break
		}
		sctx, cancelSend := context.WithTimeout(bctx, sendTimeout)
		err := p.Sender.Send(sctx, d.Notification)
		cancelSend()
		if err == nil {
			err = p.Outbox.MarkPushed(ctx, d.ID, lease, now)
		} else {
			p.Log.WarnContext(ctx, "push failed", "notification", d.ID, "err", err)
			attempts := d.Attempts + 1
			var next *time.Time
			if attempts < p.MaxAttempts {
				t := now.Add(Backoff(attempts))
				next = &t
			}
			err = p.Outbox.MarkPushFailed(ctx, d.ID, lease, attempts, next, err.Error())
		}
		if err != nil {
			return len(due), err
		}
	}
	return len(due), nil
}

// Backoff is the wait before retry number attempt (1-based): 30 s doubling,
// at most an hour.
func Backoff(attempt int) time.Duration {
	d := 30 * time.Second
	for i := 1; i < attempt && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}
