// Package person holds the people the system serves and employs: residents
// linked to households, staff with a role at each property, and admins.
package person

// Role is what a person is to a property. RESIDENT and ADMIN are not stored
// as staff roles: a resident is someone linked to a unit, an admin is
// company-wide.
type Role string

// The roles the manual names.
const (
	Resident   Role = "RESIDENT"
	Agent      Role = "AGENT"
	Butler     Role = "BUTLER"
	Technician Role = "TECHNICIAN"
	Cleaner    Role = "CLEANER"
	Guard      Role = "GUARD"
	Manager    Role = "MANAGER"
	Director   Role = "DIRECTOR"
	Admin      Role = "ADMIN"
)

// StaffRoles lists the roles that can be held at a property, in the order
// the console shows them.
var StaffRoles = []Role{Agent, Butler, Technician, Cleaner, Guard, Manager, Director}

// IsServiceCenter reports whether the role staffs the service center, which
// owns every request of its property: it accepts, dispatches, cancels and
// calls back.
func (r Role) IsServiceCenter() bool {
	return r == Agent || r == Manager || r == Director
}

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case Resident, Agent, Butler, Technician, Cleaner, Guard, Manager, Director, Admin:
		return true
	}
	return false
}

// Relation is how a resident is linked to a household.
type Relation string

// The links a resident can have to a unit.
const (
	Owner  Relation = "OWNER"
	Tenant Relation = "TENANT"
	Family Relation = "FAMILY"
)

// Person is anyone with an account: resident, staff member or admin.
type Person struct {
	ID       string `db:"id"`
	Username string `db:"username"`
	Name     string `db:"name"`
	IsAdmin  bool   `db:"is_admin"`
	// NameZh is the name in Traditional Chinese; Name is the English
	// (or romanised) one. Either may be empty for older accounts.
	NameZh string `db:"name_zh"`
}

// StaffRole is a person's role at one property.
type StaffRole struct {
	PersonID   string `db:"person_id"`
	PropertyID string `db:"property_id"`
	Role       Role   `db:"role"`
}

// Residency links a resident to a household.
type Residency struct {
	PersonID string   `db:"person_id"`
	UnitID   string   `db:"unit_id"`
	Relation Relation `db:"relation"`
}
