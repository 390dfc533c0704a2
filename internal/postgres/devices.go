package postgres

import (
	"context"

	"github.com/kproperty/onestop/internal/device"
)

// DeviceStore keeps push devices and people's languages.
type DeviceStore struct{ db *DB }

// NewDeviceStore returns the device store.
func NewDeviceStore(db *DB) *DeviceStore { return &DeviceStore{db: db} }

var _ device.Store = (*DeviceStore)(nil)

// Register stores a device; a token already known moves to this person and
// session (the phone changed hands or signed in again).
func (s *DeviceStore) Register(ctx context.Context, d device.Device) error {
	var session *string
	if d.Session != "" {
		session = &d.Session
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO devices (token, person_id, platform, session_id, created_at) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (token) DO UPDATE SET person_id = EXCLUDED.person_id, platform = EXCLUDED.platform,
	session_id = EXCLUDED.session_id, created_at = EXCLUDED.created_at`, d.Token, d.PersonID, string(d.Platform), session, d.CreatedAt)
	return mapErr(err)
}

// Unregister forgets one of the person's devices.
func (s *DeviceStore) Unregister(ctx context.Context, personID, token string) (bool, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM devices WHERE token = $1 AND person_id = $2`, token, personID)
	if err != nil {
		return false, mapErr(err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// EndSession forgets the devices of a session.
func (s *DeviceStore) EndSession(ctx context.Context, personID, session string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM devices WHERE person_id = $1 AND session_id = $2`, personID, session)
	return mapErr(err)
}

// SetLanguage sets a person's language.
func (s *DeviceStore) SetLanguage(ctx context.Context, personID, language string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE people SET language = $2 WHERE id = $1`, personID, language)
	return mapErr(err)
}

// Language returns a person's language.
func (s *DeviceStore) Language(ctx context.Context, personID string) (string, error) {
	var l string
	err := get(ctx, s.db, &l, `SELECT language FROM people WHERE id = $1`, personID)
	return l, err
}
