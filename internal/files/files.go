// Package files keeps the photos and documents of a request: a resident's
// photo of the leak, a technician's before and after. Files are checked by
// their content (JPEG, PNG, PDF), bounded in size and count, stripped of
// the location a phone writes into photos, kept in a Storage (a gocloud.dev
// bucket: local disk by default, S3-compatible or GCS by URL), and served
// through short-lived signed links to those who may see them.
package files

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/clock"
	"github.com/kproperty/onestop/internal/request"
)

// Bounds on what one message may carry.
const (
	// MaxSize is the largest file accepted: a phone's full-size photo fits.
	MaxSize = 10 << 20
	// MaxCount is the most files one message carries.
	MaxCount = 5
	// MaxRequestFiles is the most files a request lists at once: its
	// latest.
	MaxRequestFiles = 100
	// LinkTTL is how long a signed link works.
	LinkTTL = 10 * time.Minute
)

// File is one stored file of a request.
type File struct {
	ID          string `db:"id"`
	RequestID   string `db:"request_id"`
	UploadedBy  string `db:"uploaded_by"`
	Name        string `db:"name"`
	ContentType string `db:"content_type"`
	Size        int64  `db:"size"`
	// Internal files came with a staff-only message: the household never
	// gets them or a link to them.
	Internal  bool      `db:"internal"`
	CreatedAt time.Time `db:"created_at"`
}

// Upload is a file as a client sent it.
type Upload struct {
	Name string
	Size int64
	Body io.Reader
}

// Storage is where file contents live; the database holds what they are.
type Storage interface {
	Put(ctx context.Context, key string, data []byte, contentType string) error
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	Delete(ctx context.Context, key string) error
}

// Store is the files' rows.
type Store interface {
	// Tx gives the writes made inside a request's transaction.
	Tx(request.Tx) Tx
	// File returns one file, or apperr.ErrNotFound.
	File(ctx context.Context, id string) (*File, error)
	// Many returns the files with the given ids, in the order given.
	Many(ctx context.Context, ids []string) ([]File, error)
	// OfRequest lists a request's latest MaxRequestFiles files, oldest
	// first; staff-only ones only when staff.
	OfRequest(ctx context.Context, requestID string, staff bool) ([]File, error)
}

// Tx writes file rows in a request's transaction.
type Tx interface {
	InsertFiles(ctx context.Context, fs []File) error
}

// Service checks, stores and serves files.
type Service struct {
	store   Store
	storage Storage
	clock   clock.Clock
	key     []byte
}

// NewService returns the file service; secret signs the links (the
// server's own secret, so every instance accepts the others' links).
func NewService(store Store, storage Storage, clk clock.Clock, secret string) *Service {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("onestop file links"))
	return &Service{store: store, storage: storage, clock: clk, key: m.Sum(nil)}
}

// Prepared is a checked upload whose contents are already in storage,
// waiting for its row.
type Prepared struct{ File }

// Prepare reads, checks and cleans uploads and puts their contents in
// storage; their rows are written by Attach in the request's transaction.
// A refusal names the file. Discard removes what was put when the
// transaction does not commit.
func (s *Service) Prepare(ctx context.Context, uploaderID string, ups []Upload) ([]Prepared, error) {
	if len(ups) > MaxCount {
		return nil, apperr.Invalid("files", "at most %d files at once", MaxCount)
	}
	out := make([]Prepared, 0, len(ups))
	for i, u := range ups {
		field := fmt.Sprintf("files.%d", i)
		if u.Size > MaxSize {
			s.Discard(context.WithoutCancel(ctx), out)
			return nil, apperr.Invalid(field, "%s is larger than %d MB", displayName(u.Name), MaxSize>>20)
		}
		data, err := io.ReadAll(io.LimitReader(u.Body, MaxSize+1))
		if err != nil {
			s.Discard(context.WithoutCancel(ctx), out)
			return nil, err
		}
		if len(data) > MaxSize {
			s.Discard(context.WithoutCancel(ctx), out)
			return nil, apperr.Invalid(field, "%s is larger than %d MB", displayName(u.Name), MaxSize>>20)
		}
		clean, kind, err := Clean(data)
		if err != nil {
			s.Discard(context.WithoutCancel(ctx), out)
			return nil, apperr.Invalid(field, "%s: %v", displayName(u.Name), err)
		}
		f := File{ID: uuid.NewString(), UploadedBy: uploaderID, Name: displayName(u.Name), ContentType: kind,
			Size: int64(len(clean)), CreatedAt: s.clock.Now().UTC().Truncate(time.Microsecond)}
		if err := s.storage.Put(ctx, f.ID, clean, kind); err != nil {
			s.Discard(context.WithoutCancel(ctx), out)
			return nil, err
		}
		out = append(out, Prepared{f})
	}
	return out, nil
}

// Discard removes prepared contents whose rows were never written.
func (s *Service) Discard(ctx context.Context, ps []Prepared) {
	for _, p := range ps {
		_ = s.storage.Delete(ctx, p.ID)
	}
}

// Attach writes the rows of prepared files on a request, in its
// transaction, and returns their ids.
func (s *Service) Attach(ctx context.Context, tx request.Tx, r *request.Request, ps []Prepared, internal bool) ([]string, error) {
	fs := make([]File, len(ps))
	ids := make([]string, len(ps))
	for i, p := range ps {
		fs[i] = p.File
		fs[i].RequestID, fs[i].Internal = r.ID, internal
		ids[i] = p.ID
	}
	if len(fs) == 0 {
		return nil, nil
	}
	return ids, s.store.Tx(tx).InsertFiles(ctx, fs)
}

// Many returns files by id, for a message that names them.
func (s *Service) Many(ctx context.Context, ids []string) ([]File, error) {
	return s.store.Many(ctx, ids)
}

// OfRequest lists the files of a request the caller already may see.
func (s *Service) OfRequest(ctx context.Context, requestID string, staff bool) ([]File, error) {
	return s.store.OfRequest(ctx, requestID, staff)
}

// Link is a signed path to a file, good for LinkTTL. Only a viewer who
// may see the file is ever handed one: the GraphQL field that makes it is
// reached only through a request they may see, and a staff-only file is
// left out of the household's answers.
func (s *Service) Link(f File) string {
	exp := s.clock.Now().Add(LinkTTL).Unix()
	q := url.Values{"exp": {strconv.FormatInt(exp, 10)}, "sig": {s.sign(f.ID, exp)}}
	return "/files/" + f.ID + "?" + q.Encode()
}

func (s *Service) sign(id string, exp int64) string {
	m := hmac.New(sha256.New, s.key)
	fmt.Fprintf(m, "%s\n%d", id, exp)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// ErrLink is a link that is not one the server made, or has expired.
var ErrLink = errors.New("the link is not valid or has expired")

// Open checks a signed link and opens its file.
func (s *Service) Open(ctx context.Context, id, exp, sig string) (*File, io.ReadCloser, error) {
	n, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || !hmac.Equal([]byte(sig), []byte(s.sign(id, n))) || s.clock.Now().Unix() > n {
		return nil, nil, ErrLink
	}
	f, err := s.store.File(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	body, err := s.storage.Open(ctx, f.ID)
	if err != nil {
		return nil, nil, err
	}
	return f, body, nil
}

// displayName is the client's file name, trimmed to something safe to show
// (and to put in a Content-Disposition header).
func displayName(name string) string {
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' || r == '\\' || r == '/' {
			return -1
		}
		return r
	}, name)
	if !utf8.ValidString(name) {
		name = strings.ToValidUTF8(name, "")
	}
	if r := []rune(name); len(r) > 120 {
		name = string(r[:120])
	}
	if strings.TrimSpace(name) == "" {
		return "file"
	}
	return name
}

// Bytes is an Upload of data in memory.
func Bytes(name string, data []byte) Upload {
	return Upload{Name: name, Size: int64(len(data)), Body: bytes.NewReader(data)}
}
