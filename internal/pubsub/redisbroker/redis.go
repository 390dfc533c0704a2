// Package redisbroker is the pubsub.Broker that several instances share:
// one Redis pub/sub channel. It is the only package that speaks to Redis
// for events.
package redisbroker

import (
	"context"

	"github.com/redis/go-redis/v9"

	"github.com/kproperty/onestop/internal/pubsub"
)

var _ pubsub.Broker = (*Redis)(nil)

// Redis is the broker shared by several instances: one Redis pub/sub
// channel, and one subscription to it per process however many websockets
// the process serves.
type Redis struct {
	client  *redis.Client
	channel string
}

// NewRedis returns a broker on the given Redis channel.
func New(client *redis.Client, channel string) *Redis {
	return &Redis{client: client, channel: channel}
}

// Publish sends the payloads to every instance, several in one pipeline:
// a burst of commits is one round trip to Redis rather than one each.
func (r *Redis) Publish(ctx context.Context, payloads ...[]byte) error {
	if len(payloads) == 1 {
		return r.client.Publish(ctx, r.channel, payloads[0]).Err()
	}
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, b := range payloads {
			p.Publish(ctx, r.channel, b)
		}
		return nil
	})
	return err
}

// Listen delivers the channel's messages until ctx ends. go-redis reconnects
// and resubscribes by itself; every (re)subscription is reported as a nil
// message, because whatever was published while the connection was down is
// lost to pub/sub and must be read from the log.
func (r *Redis) Listen(ctx context.Context, deliver func([]byte)) {
	ps := r.client.Subscribe(ctx, r.channel)
	defer ps.Close()
	ch := ps.ChannelWithSubscriptions(redis.WithChannelSize(1024))
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-ch:
			if !ok {
				return
			}
			switch m := m.(type) {
			case *redis.Subscription:
				if m.Kind == "subscribe" {
					deliver(nil)
				}
			case *redis.Message:
				deliver([]byte(m.Payload))
			}
		}
	}
}

func (r *Redis) String() string { return "redis pub/sub channel " + r.channel }
