package graph

import (
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/files"
)

// NewFileHandler serves GET /files/{id}?exp=...&sig=...: a file through the
// signed link the API handed to someone who may see it. The link is the
// permission, so the handler needs no token (an <img> tag sends none); a
// link that was not made by the server, or whose time is up, is refused
// with 403.
func NewFileHandler(svc *files.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f, body, err := svc.Open(r.Context(), r.PathValue("id"), q.Get("exp"), q.Get("sig"))
		switch {
		case errors.Is(err, files.ErrLink):
			http.Error(w, "FORBIDDEN: "+err.Error(), http.StatusForbidden)
			return
		case apperr.CodeOf(err) == apperr.NotFound:
			http.Error(w, "NOT_FOUND: no such file", http.StatusNotFound)
			return
		case err != nil:
			log.ErrorContext(r.Context(), "serve file", "err", err)
			http.Error(w, "INTERNAL: the file could not be read", http.StatusInternalServerError)
			return
		}
		defer body.Close()
		h := w.Header()
		h.Set("Content-Type", f.ContentType)
		h.Set("Content-Length", strconv.FormatInt(f.Size, 10))
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "private, max-age=300")
		h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
		disposition := "inline"
		if f.ContentType == files.PDF {
			disposition = "attachment"
		}
		h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": f.Name}))
		_, _ = io.Copy(w, body)
	})
}
