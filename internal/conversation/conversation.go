// Package conversation is the talk about a request: its message thread
// between the household and the staff who handle it, each message public
// or for staff only, and how far each person has read it. A message is a
// request event of type MESSAGE (its note the text), so it is written by
// the engine's outbox and reaches phones through the same live
// subscriptions and resume cursor as every other event.
package conversation

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/google/uuid"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/files"
	"github.com/kproperty/onestop/internal/notification"
	"github.com/kproperty/onestop/internal/person"
	"github.com/kproperty/onestop/internal/request"
)

// Store is the thread as this noun reads it; the messages themselves are
// written through the request engine.
type Store interface {
	// Messages returns up to limit messages of a request with id < before
	// (0: from the newest), newest first; staff-only ones only when staff.
	Messages(ctx context.Context, requestID string, staff bool, before int64, limit int) ([]request.Event, error)
	// MessageByKey finds the message its writer's step tagged with key.
	MessageByKey(ctx context.Context, requestID, key string) (request.Event, error)
	// Unread counts the messages of a request after the person's last read
	// one, not written by them; staff-only ones only when staff.
	Unread(ctx context.Context, personID, requestID string, staff bool) (int, error)
	// MarkRead records that the person has read the request's thread up to
	// upTo (never moving backwards).
	MarkRead(ctx context.Context, personID, requestID string, upTo int64) error
}

// Service runs the thread.
type Service struct {
	engine   *request.Engine
	requests request.Reader
	store    Store
	files    *files.Service
}

// NewService returns the conversation service.
func NewService(engine *request.Engine, requests request.Reader, store Store, fs *files.Service) *Service {
	return &Service{engine: engine, requests: requests, store: store, files: fs}
}

// Message is one message as its writer sends it: text, photos or both.
type Message struct {
	Text     string
	Internal bool
	Files    []files.Upload
}

// Data is what a message event carries besides its note.
type Data struct {
	Key   string   `json:"key"`
	Files []string `json:"files,omitempty"`
}

// Add writes a message on a request the actor may see. Only staff may
// write a staff-only one. A resident's message is told to the first-asker
// and the assignee (the service center when nobody holds it yet); a public
// one by staff to the household and to the first-asker and assignee; a
// staff-only one to the first-asker and assignee.
func (s *Service) Add(ctx context.Context, a *auth.Actor, requestID string, m Message) (request.Event, error) {
	text, err := request.Text("text", m.Text, len(m.Files) == 0)
	if err != nil {
		return request.Event{}, err
	}
	if _, err := uuid.Parse(requestID); err != nil {
		return request.Event{}, apperr.ErrNotFound
	}
	// Photos are checked and stored before the transaction, which only
	// writes their rows; if it does not commit, they are removed.
	prepared, err := s.files.Prepare(ctx, a.PersonID, m.Files)
	if err != nil {
		return request.Event{}, err
	}
	key := uuid.NewString()
	_, err = s.engine.Move(ctx, a, requestID, request.Message, func(tx request.Tx, r *request.Request, c *request.Change) error {
		staff := request.SeesInternal(a, r.Audience)
		if m.Internal && !staff {
			return apperr.New(apperr.Forbidden, "only staff may write an internal message")
		}
		d := Data{Key: key}
		var err error
		if d.Files, err = s.files.Attach(ctx, tx, r, prepared, m.Internal); err != nil {
			return err
		}
		raw, err := json.Marshal(d)
		if err != nil {
			return err
		}
		c.Ev.Note, c.Ev.Internal, c.Ev.Data = text, m.Internal, raw
		title := "New message on " + r.Number
		owners := []string{}
		for _, p := range []*string{r.FirstResponderID, r.AssigneeID} {
			if p != nil {
				owners = append(owners, *p)
			}
		}
		if !staff && len(owners) == 0 {
			center, err := tx.StaffWithRole(ctx, r.PropertyID, person.Agent, person.Manager, person.Director)
			if err != nil {
				return err
			}
			owners = center
		}
		c.Notify(notification.Message, title, owners...)
		if staff && !m.Internal {
			c.Notify(notification.Message, title, r.RequesterID)
		}
		return nil
	})
	if err != nil {
		s.files.Discard(context.WithoutCancel(ctx), prepared)
		return request.Event{}, err
	}
	return s.store.MessageByKey(ctx, requestID, key)
}

// MaxPage is the most messages one page answers.
const MaxPage = 100

// Page returns up to first messages of a request the actor may see, newest
// first, before the cursor (a message id), as the actor may read them, and
// whether older ones follow.
func (s *Service) Page(ctx context.Context, a *auth.Actor, r *request.Request, first int, before *string) ([]request.Event, bool, error) {
	if first < 0 || first > MaxPage {
		return nil, false, apperr.Invalid("first", "first must be between 0 and %d", MaxPage)
	}
	var from int64
	if before != nil {
		n, err := strconv.ParseInt(*before, 10, 64)
		if err != nil || n <= 0 {
			return nil, false, apperr.Invalid("after", "after must be a cursor this list gave")
		}
		from = n
	}
	rows, err := s.store.Messages(ctx, r.ID, request.SeesInternal(a, r.Audience), from, first+1)
	if err != nil {
		return nil, false, err
	}
	more := len(rows) > first
	if more {
		rows = rows[:first]
	}
	return request.ViewAll(a, r.Audience, rows), more, nil
}

// Unread counts the messages on a request the actor has not read.
func (s *Service) Unread(ctx context.Context, a *auth.Actor, r *request.Request) (int, error) {
	return s.store.Unread(ctx, a.PersonID, r.ID, request.SeesInternal(a, r.Audience))
}

// MarkRead records that the actor has read a request's thread up to its
// newest message they may see.
func (s *Service) MarkRead(ctx context.Context, a *auth.Actor, requestID string) (*request.Request, error) {
	r, err := s.requests.Visible(ctx, a, requestID)
	if err != nil {
		return nil, err
	}
	newest, err := s.store.Messages(ctx, r.ID, request.SeesInternal(a, r.Audience), 0, 1)
	if err != nil || len(newest) == 0 {
		return r, err
	}
	return r, s.store.MarkRead(ctx, a.PersonID, r.ID, newest[0].ID)
}

// FilesOf returns the files a message carries.
func (s *Service) FilesOf(ctx context.Context, e request.Event) ([]files.File, error) {
	var d Data
	if len(e.Data) == 0 || json.Unmarshal(e.Data, &d) != nil || len(d.Files) == 0 {
		return []files.File{}, nil
	}
	return s.files.Many(ctx, d.Files)
}

// Files lists the files of a request the actor may see, as they may see
// them: the household never gets a staff-only one.
func (s *Service) Files(ctx context.Context, a *auth.Actor, r *request.Request) ([]files.File, error) {
	return s.files.OfRequest(ctx, r.ID, request.SeesInternal(a, r.Audience))
}

// Link is a signed link to a file.
func (s *Service) Link(f files.File) string { return s.files.Link(f) }
