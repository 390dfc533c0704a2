package postgres

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/person"
)

// AuthStore implements auth.Store.
type AuthStore struct{ db *DB }

// NewAuthStore returns the auth store.
func NewAuthStore(db *DB) *AuthStore { return &AuthStore{db: db} }

var _ auth.Store = (*AuthStore)(nil)

// Credentials returns the person and password hash for a username.
func (s *AuthStore) Credentials(ctx context.Context, username string) (person.Person, string, error) {
	var row struct {
		person.Person
		Hash string `db:"password_hash"`
	}
	err := get(ctx, s.db, &row, `SELECT id, username, name, is_admin, password_hash FROM people WHERE lower(username) = lower($1) AND disabled_at IS NULL`, username)
	return row.Person, row.Hash, err
}

// Actor loads a person with their staff roles and households.
// Every call reads its viewer: the statement is prepared, so that it is
// parsed and planned once per connection rather than on every call.
func (s *AuthStore) Actor(ctx context.Context, personID string) (*auth.Actor, error) {
	var row actorRow
	if err := s.db.getPrepared(ctx, &row, actorByIDSQL, personID); err != nil {
		return nil, err
	}
	return row.actor(), nil
}

// actorRow is a person with their sight, as actorSQL reads it.
type actorRow struct {
	person.Person
	Roles     pq.StringArray `db:"roles"`
	Units     pq.StringArray `db:"units"`
	Portfolio pq.StringArray `db:"portfolio"`
	// Household lists "<unit>:<person>" for every current resident of
	// the units the person lives in.
	Household pq.StringArray `db:"household"`
}

// actorSQL selects people with their staff roles, households and butler
// portfolio; the caller adds the WHERE clause.
const actorSQL = `
SELECT p.id, p.username, p.name, p.is_admin,
       COALESCE((SELECT array_agg(s.property_id::text || ':' || s.role) FROM staff_roles s WHERE s.person_id = p.id), '{}') AS roles,
       COALESCE((SELECT array_agg(r.unit_id::text ORDER BY r.unit_id) FROM residencies r WHERE r.person_id = p.id AND r.moved_out_at IS NULL), '{}') AS units,
       COALESCE((SELECT array_agg(h.unit_id::text || ':' || h.person_id::text) FROM residencies r
                 JOIN residencies h ON h.unit_id = r.unit_id AND h.moved_out_at IS NULL
                 WHERE r.person_id = p.id AND r.moved_out_at IS NULL), '{}') AS household,
       COALESCE((SELECT array_agg(b.unit_id::text ORDER BY b.unit_id) FROM butler_assignments b
                 WHERE b.butler_id = p.id AND b.to_at IS NULL), '{}') AS portfolio
FROM people p `

// activeSQL limits actorSQL to people who may still sign in.
const activeSQL = ` AND p.disabled_at IS NULL`

func (row *actorRow) actor() *auth.Actor {
	a := &auth.Actor{PersonID: row.ID, Username: row.Username, Name: row.Name, Admin: row.IsAdmin,
		Staff: map[string]person.Role{}, Units: []string(row.Units), Portfolio: []string(row.Portfolio)}
	a.Household = map[string][]string{}
	for _, up := range row.Household {
		a.Household[up[:36]] = append(a.Household[up[:36]], up[37:])
	}
	for _, pr := range row.Roles {
		// "<uuid>:<ROLE>": a uuid is 36 characters.
		a.Staff[pr[:36]] = person.Role(pr[37:])
	}
	return a
}

// actorByIDSQL reads one person who may sign in, with their sight.
const actorByIDSQL = actorSQL + `WHERE p.id = $1` + activeSQL

// loadActors loads several people at once; those that do not exist are
// missing from the answer.
func loadActors(ctx context.Context, q sqlx.QueryerContext, personIDs []string) (map[string]*auth.Actor, error) {
	rows := []actorRow{}
	if err := sqlx.SelectContext(ctx, q, &rows, actorSQL+`WHERE p.id = ANY($1::uuid[])`+activeSQL, pq.Array(personIDs)); err != nil {
		return nil, mapErr(err)
	}
	out := make(map[string]*auth.Actor, len(rows))
	for i := range rows {
		out[rows[i].ID] = rows[i].actor()
	}
	return out, nil
}

// SaveRefreshToken stores a new refresh token's hash.
func (s *AuthStore) SaveRefreshToken(ctx context.Context, t auth.RefreshToken) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO refresh_tokens (person_id, family_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		t.PersonID, t.FamilyID, t.Hash, t.CreatedAt, t.ExpiresAt)
	return mapErr(err)
}

// RotateRefreshToken spends a refresh token and stores its successor.
func (s *AuthStore) RotateRefreshToken(ctx context.Context, oldHash []byte, now time.Time, grace time.Duration, next auth.RefreshToken) (string, error) {
	var personID string
	reused, justUsed := false, false
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		var old struct {
			PersonID  string     `db:"person_id"`
			FamilyID  string     `db:"family_id"`
			ExpiresAt time.Time  `db:"expires_at"`
			RevokedAt *time.Time `db:"revoked_at"`
		}
		err := get(ctx, tx, &old, `SELECT person_id, family_id, expires_at, revoked_at FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE`, oldHash)
		if apperr.CodeOf(err) == apperr.NotFound {
			return auth.ErrRefreshInvalid
		}
		if err != nil {
			return err
		}
		if old.RevokedAt != nil {
			if now.Sub(*old.RevokedAt) < grace {
				// Traded moments ago and the session is still open: the
				// same phone asking twice, not a copy.
				var open bool
				if err := get(ctx, tx, &open, `SELECT EXISTS (SELECT 1 FROM refresh_tokens WHERE family_id = $1 AND revoked_at IS NULL)`, old.FamilyID); err != nil {
					return err
				}
				if open {
					justUsed = true
					return nil
				}
			}
			// A spent token came back: someone kept a copy. End the
			// whole session family so neither copy works.
			reused = true
			_, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL`, old.FamilyID, now)
			return err
		}
		if !old.ExpiresAt.After(now) || old.FamilyID != next.FamilyID {
			return auth.ErrRefreshInvalid
		}
		if _, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET revoked_at = $2 WHERE token_hash = $1`, oldHash, now); err != nil {
			return err
		}
		next.PersonID = old.PersonID
		personID = old.PersonID
		_, err = tx.ExecContext(ctx, `INSERT INTO refresh_tokens (person_id, family_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
			next.PersonID, next.FamilyID, next.Hash, next.CreatedAt, next.ExpiresAt)
		return err
	})
	if err == nil && reused {
		return "", auth.ErrRefreshInvalid
	}
	if err == nil && justUsed {
		return "", auth.ErrRefreshJustUsed
	}
	return personID, mapErr(err)
}

// SessionOpen reports whether the family still has a live refresh token.
func (s *AuthStore) SessionOpen(ctx context.Context, familyID string, now time.Time) (bool, error) {
	var open bool
	err := get(ctx, s.db, &open, `SELECT EXISTS (SELECT 1 FROM refresh_tokens WHERE family_id = $1 AND revoked_at IS NULL AND expires_at > $2)`, familyID, now)
	return open, err
}

// RevokeRefreshToken ends the session family of one of the person's tokens.
func (s *AuthStore) RevokeRefreshToken(ctx context.Context, personID string, hash []byte, now time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, `
UPDATE refresh_tokens SET revoked_at = $3
WHERE revoked_at IS NULL AND family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = $1 AND person_id = $2)`,
		hash, personID, now)
	if err != nil {
		return false, mapErr(err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}
