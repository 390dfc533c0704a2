package main

import (
	"net/http"
	"strings"
	"time"

	"github.com/kproperty/onestop/internal/config"
)

// withDeadlines bounds each plain HTTP request: its body must arrive within
// BodyReadTimeout (a client trickling a byte every few seconds is cut off),
// and its answer must be written within the operation timeout and a margin.
// A websocket upgrade gets neither: it lives as long as its token, and its
// liveness is the ping/pong's business. This is why the http.Server itself
// has no ReadTimeout or WriteTimeout.
func withDeadlines(cfg config.Config, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isWebsocketUpgrade(r) {
			rc := http.NewResponseController(w)
			now := time.Now()
			if cfg.BodyReadTimeout > 0 {
				_ = rc.SetReadDeadline(now.Add(cfg.BodyReadTimeout))
			}
			if cfg.OperationTimeout > 0 {
				_ = rc.SetWriteDeadline(now.Add(cfg.BodyReadTimeout + cfg.OperationTimeout + 10*time.Second))
			}
		}
		next.ServeHTTP(w, r)
	})
}

func isWebsocketUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}
