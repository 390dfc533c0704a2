package postgres

import (
	"context"
	"encoding/json"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/kproperty/onestop/internal/files"
	"github.com/kproperty/onestop/internal/request"
)

// FileStore keeps the rows of request files.
type FileStore struct{ db *DB }

// NewFileStore returns the file rows' store.
func NewFileStore(db *DB) *FileStore { return &FileStore{db: db} }

var _ files.Store = (*FileStore)(nil)

const fileCols = `id, request_id, uploaded_by, name, content_type, size, internal, created_at`

// Tx gives the file writes of a request transaction.
func (s *FileStore) Tx(tx request.Tx) files.Tx { return tx.(requestTx) }

// InsertFiles writes file rows in the request's transaction.
func (t requestTx) InsertFiles(ctx context.Context, fs []files.File) error {
	type row struct {
		ID          string `json:"id"`
		RequestID   string `json:"request_id"`
		UploadedBy  string `json:"uploaded_by"`
		Name        string `json:"name"`
		ContentType string `json:"content_type"`
		Size        int64  `json:"size"`
		Internal    bool   `json:"internal"`
		CreatedAt   string `json:"created_at"`
	}
	rows := make([]row, len(fs))
	for i, f := range fs {
		rows[i] = row{f.ID, f.RequestID, f.UploadedBy, f.Name, f.ContentType, f.Size, f.Internal, f.CreatedAt.Format("2006-01-02T15:04:05.999999Z07:00")}
	}
	b, err := json.Marshal(rows)
	if err != nil {
		return err
	}
	_, err = t.q.ExecContext(ctx, `INSERT INTO request_files (`+fileCols+`)
SELECT x.id, x.request_id, x.uploaded_by, x.name, x.content_type, x.size, x.internal, x.created_at
FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, request_id uuid, uploaded_by uuid, name text, content_type text,
	size bigint, internal boolean, created_at timestamptz)`, string(b))
	return mapErr(err)
}

// File returns one file row.
func (s *FileStore) File(ctx context.Context, id string) (*files.File, error) {
	var f files.File
	err := get(ctx, s.db, &f, `SELECT `+fileCols+` FROM request_files WHERE id = $1`, id)
	return &f, err
}

// Many returns the files with the given ids, in the order given.
func (s *FileStore) Many(ctx context.Context, ids []string) ([]files.File, error) {
	out := []files.File{}
	err := sqlx.SelectContext(ctx, s.db, &out, `SELECT f.id, f.request_id, f.uploaded_by, f.name, f.content_type, f.size, f.internal, f.created_at
FROM unnest($1::uuid[]) WITH ORDINALITY AS w(id, n) JOIN request_files f ON f.id = w.id ORDER BY w.n`, pq.Array(ids))
	return out, mapErr(err)
}

// OfRequest lists a request's latest files, oldest first; staff-only
// ones only for staff.
func (s *FileStore) OfRequest(ctx context.Context, requestID string, staff bool) ([]files.File, error) {
	out := []files.File{}
	err := sqlx.SelectContext(ctx, s.db, &out, `SELECT `+fileCols+` FROM (
	SELECT `+fileCols+` FROM request_files WHERE request_id = $1 AND ($2 OR NOT internal)
	ORDER BY created_at DESC, id DESC LIMIT $3) latest
ORDER BY created_at, id`, requestID, staff, files.MaxRequestFiles)
	return out, mapErr(err)
}
