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

// Outbox is the storage the pusher works through.
type Outbox interface {
	// ClaimDue hands send the notifications whose push is due, locked so
	// no other instance sends them at the same time, and records each
	// result: nil is delivered; after an error, retry says how long to wait
	// given the attempts made so far, or false to give up.
	ClaimDue(ctx context.Context, now time.Time, limit int, send func(Notification) error, retry func(attempts int) (time.Duration, bool)) (int, error)
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

// Tick sends what is due now and reports how many it handled.
func (p *Pusher) Tick(ctx context.Context) (int, error) {
	now := p.Clock.Now()
	return p.Outbox.ClaimDue(ctx, now, 50, func(n Notification) error {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		err := p.Sender.Send(sctx, n)
		if err != nil {
			p.Log.WarnContext(ctx, "push failed", "notification", n.ID, "err", err)
		}
		return err
	}, func(attempts int) (time.Duration, bool) {
		return Backoff(attempts), attempts < p.MaxAttempts
	})
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
