package admin

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/kproperty/onestop/internal/apperr"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/notification"
	"github.com/kproperty/onestop/internal/person"
	"github.com/kproperty/onestop/internal/request"
)

// seniorRoles are granted by company admins only: a manager does not make
// managers.
func senior(r person.Role) bool { return r == person.Manager || r == person.Director }

func staffRole(r person.Role) error {
	for _, ok := range person.StaffRoles {
		if r == ok {
			return nil
		}
	}
	return apperr.Invalid("role", "role must be a staff role (AGENT, BUTLER, TECHNICIAN, CLEANER, GUARD, MANAGER, DIRECTOR)")
}

// mayStaff checks that a may give someone the role at the property.
func mayStaff(a *auth.Actor, propertyID string, role person.Role) error {
	if err := manages(a, propertyID); err != nil {
		return err
	}
	if senior(role) && !a.Admin {
		return apperr.New(apperr.Forbidden, "only a company admin appoints managers and directors")
	}
	return nil
}

// Hire is a new member of staff and the one-time code they set their
// password with.
type Hire struct {
	PersonID string
	Code     Issued
}

// HireStaff creates a staff member's account with a role at a property and
// a one-time code for their first password.
func (s *Service) HireStaff(ctx context.Context, a *auth.Actor, propertyID, username, nameEn, nameZh string, role person.Role) (*Hire, error) {
	if err := parseID(propertyID); err != nil {
		return nil, err
	}
	if err := staffRole(role); err != nil {
		return nil, err
	}
	if err := mayStaff(a, propertyID, role); err != nil {
		return nil, err
	}
	if !usernameRe.MatchString(username) {
		return nil, apperr.Invalid("username", "username must be 3-40 lower-case letters, digits, dots, dashes or underscores")
	}
	en, err := name("name", nameEn, true)
	if err != nil {
		return nil, err
	}
	zh, err := name("nameZh", nameZh, false)
	if err != nil {
		return nil, err
	}
	// Nobody knows this password: the code sets the real one.
	unusable, err := s.hash.HashPassword(uuid.NewString())
	if err != nil {
		return nil, err
	}
	now := s.req.Now()
	code, hash := newCode()
	out := &Hire{Code: Issued{Code: code, ExpiresAt: now.Add(CodeTTL)}}
	err = s.run(ctx, func(_ request.Tx, tx Tx) error {
		if taken, err := tx.UsernameTaken(ctx, username); err != nil {
			return err
		} else if taken {
			return apperr.Invalid("username", "that username is taken")
		}
		id, err := tx.InsertPerson(ctx, NewPerson{Username: username, Name: en, NameZh: zh, Hash: unusable})
		if err != nil {
			return err
		}
		out.PersonID = id
		if err := tx.SetStaffRole(ctx, id, propertyID, role); err != nil {
			return err
		}
		if err := tx.InsertCode(ctx, Code{Hash: hash, PersonID: &id, IssuedBy: a.PersonID, CreatedAt: now, ExpiresAt: out.Code.ExpiresAt}); err != nil {
			return err
		}
		return record(ctx, tx, a, now, &propertyID, "hireStaff", "person", id, nil,
			map[string]any{"username": username, "name": en, "nameZh": zh, "propertyId": propertyID, "role": role})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UpdateStaff changes a worker's role at a property, or (with toPropertyID)
// moves them to another property with that role. The worker's open jobs
// stay theirs; a move between properties cuts their sessions, so the next
// sign-in carries the new sight.
func (s *Service) UpdateStaff(ctx context.Context, a *auth.Actor, personID, propertyID string, role person.Role, toPropertyID *string) error {
	for _, id := range []*string{&personID, &propertyID, toPropertyID} {
		if id != nil {
			if err := parseID(*id); err != nil {
				return err
			}
		}
	}
	if err := staffRole(role); err != nil {
		return err
	}
	if err := manages(a, propertyID); err != nil {
		return err
	}
	to := propertyID
	if toPropertyID != nil {
		to = *toPropertyID
	}
	if err := mayStaff(a, to, role); err != nil {
		return err
	}
	now := s.req.Now()
	var sessions []string
	err := s.run(ctx, func(_ request.Tx, tx Tx) error {
		roles, err := tx.StaffRoles(ctx, personID)
		if err != nil {
			return err
		}
		old, ok := roles[propertyID]
		if !ok {
			return apperr.ErrNotFound
		}
		if senior(old) && !a.Admin {
			return apperr.New(apperr.Forbidden, "only a company admin changes a manager or director")
		}
		if to != propertyID {
			if err := tx.RemoveStaffRole(ctx, personID, propertyID); err != nil {
				return err
			}
			if sessions, err = tx.RevokeSessions(ctx, []string{personID}, now); err != nil {
				return err
			}
		}
		if err := tx.SetStaffRole(ctx, personID, to, role); err != nil {
			return err
		}
		return record(ctx, tx, a, now, &to, "updateStaff", "person", personID,
			map[string]any{"propertyId": propertyID, "role": old}, map[string]any{"propertyId": to, "role": role})
	})
	if err != nil {
		return err
	}
	if sessions != nil {
		s.cut.Cut([]string{personID}, sessions)
	}
	return nil
}

// Leave is what a leaver's departure moved.
type Leave struct {
	SentBack   int
	HandedOver int
}

// StaffLeaves ends a worker's employment at a property now. Their sessions
// and sockets are cut at once; each open job of theirs there goes back to
// the service center through the engine (a SENT_BACK event each, the
// table's Release row), and their butler portfolio to the named butler.
// Someone left with no job and no home can no longer sign in.
func (s *Service) StaffLeaves(ctx context.Context, a *auth.Actor, personID, propertyID string, successorID *string) (*Leave, error) {
	for _, id := range []*string{&personID, &propertyID, successorID} {
		if id != nil {
			if err := parseID(*id); err != nil {
				return nil, err
			}
		}
	}
	if err := manages(a, propertyID); err != nil {
		return nil, err
	}
	if successorID != nil && *successorID == personID {
		return nil, apperr.Invalid("butlerId", "the leaver cannot take over their own portfolio")
	}
	now := s.req.Now()
	out := &Leave{}
	var sessions []string
	err := s.run(ctx, func(rt request.Tx, tx Tx) error {
		roles, err := tx.StaffRoles(ctx, personID)
		if err != nil {
			return err
		}
		old, ok := roles[propertyID]
		if !ok {
			return apperr.ErrNotFound
		}
		if senior(old) && !a.Admin {
			return apperr.New(apperr.Forbidden, "only a company admin lets a manager or director go")
		}
		units, err := tx.PortfolioOf(ctx, personID)
		if err != nil {
			return err
		}
		if len(units) > 0 {
			if successorID == nil {
				return apperr.Invalid("butlerId", "name the butler who takes over %d households", len(units))
			}
			if r, ok, err := rt.StaffRoleAt(ctx, *successorID, propertyID); err != nil {
				return err
			} else if !ok || r != person.Butler {
				return apperr.Invalid("butlerId", "not a butler of this property")
			}
			for _, u := range units {
				if _, err := tx.HandOverPortfolio(ctx, u, *successorID, a.PersonID, now); err != nil {
					return err
				}
				out.HandedOver++
			}
		}
		jobs, err := tx.OpenJobsOf(ctx, personID)
		if err != nil {
			return err
		}
		for _, r := range jobs {
			if r.PropertyID != propertyID {
				continue
			}
			w := s.req.Work(rt, r, &a.PersonID, now)
			moved, err := w.System(ctx, request.Release, &a.PersonID, func(tx request.Tx, r *request.Request, c *request.Change) error {
				note := "left the company"
				c.Ev.Note = &note
				c.Free(personID)
				r.AssigneeID = nil
				center, err := tx.StaffWithRole(ctx, r.PropertyID, person.Agent, person.Manager, person.Director)
				if err != nil {
					return err
				}
				c.Notify(notification.StatusChanged, "Job "+r.Number+" was sent back: its worker left", center...)
				return nil
			})
			if err != nil {
				return err
			}
			if !moved {
				continue
			}
			if err := w.Save(ctx); err != nil {
				return err
			}
			out.SentBack++
		}
		if err := tx.RemoveStaffRole(ctx, personID, propertyID); err != nil {
			return err
		}
		if err := tx.DisableIdle(ctx, []string{personID}, now); err != nil {
			return err
		}
		if sessions, err = tx.RevokeSessions(ctx, []string{personID}, now); err != nil {
			return err
		}
		return record(ctx, tx, a, now, &propertyID, "staffLeaves", "person", personID,
			map[string]any{"propertyId": propertyID, "role": old, "households": units},
			map[string]any{"sentBack": out.SentBack, "handedOver": out.HandedOver, "successorId": successorID})
	})
	if err != nil {
		return nil, err
	}
	s.cut.Cut([]string{personID}, sessions)
	return out, nil
}

// StaffBoard lists a property's staff with their role, availability,
// skills, building, open jobs and today's shift, for its management and
// service center.
func (s *Service) StaffBoard(ctx context.Context, a *auth.Actor, propertyID string) ([]BoardRow, error) {
	if err := s.center(a, propertyID); err != nil {
		return nil, err
	}
	rows, err := s.store.StaffBoard(ctx, propertyID, nil)
	if err != nil {
		return nil, err
	}
	s.placeShifts(rows)
	return rows, nil
}

// ButlerPortfolios lists a property's butlers with their households and
// the visits of the last 30 days, and the households without a butler.
func (s *Service) ButlerPortfolios(ctx context.Context, a *auth.Actor, propertyID string) (*Portfolios, error) {
	if err := s.center(a, propertyID); err != nil {
		return nil, err
	}
	return s.store.Portfolios(ctx, propertyID, s.req.Now().Add(-30*24*time.Hour))
}

// center lets the property's service center (and admins) read its boards.
func (s *Service) center(a *auth.Actor, propertyID string) error {
	if err := parseID(propertyID); err != nil {
		return err
	}
	if a.IsCenterAt(propertyID) {
		return nil
	}
	if _, staff := a.RoleAt(propertyID); staff {
		return apperr.New(apperr.Forbidden, "for the property's service center")
	}
	return apperr.ErrNotFound
}

// AuditLog reads the audit log, newest first: a property's entries for its
// director, or (admins) every entry or one property's.
func (s *Service) AuditLog(ctx context.Context, a *auth.Actor, propertyID *string, before int64, limit int) ([]Entry, error) {
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	var props []string
	switch {
	case propertyID != nil:
		if err := parseID(*propertyID); err != nil {
			return nil, err
		}
		if !a.Admin {
			role, ok := a.RoleAt(*propertyID)
			if !ok {
				return nil, apperr.ErrNotFound
			}
			if role != person.Director {
				return nil, apperr.New(apperr.Forbidden, "the audit log is for the property's director and admins")
			}
		}
		props = []string{*propertyID}
	case !a.Admin:
		return nil, apperr.New(apperr.Forbidden, "name the property; the whole log is for admins")
	}
	return s.store.AuditLog(ctx, props, before, limit)
}
