package callback

import (
	"time"

	"github.com/kproperty/onestop/internal/request"
)

// Method is how the service center reached (or tried to reach) the
// customer.
type Method string

// The methods.
const (
	ByPhone Method = "PHONE"
	ByVisit Method = "VISIT"
	ByApp   Method = "APP"
)

// Outcome is what one callback attempt came to.
type Outcome string

// The outcomes. Only REACHED carries a satisfaction score.
const (
	Reached  Outcome = "REACHED"
	NoAnswer Outcome = "NO_ANSWER"
	Declined Outcome = "DECLINED"
)

// TaskStatus is where a callback task stands.
type TaskStatus string

// The task statuses: OPEN until the customer is reached (DONE), the attempts
// run out (UNREACHABLE), or the request no longer needs it (CANCELLED).
const (
	TaskOpen        TaskStatus = "OPEN"
	TaskDone        TaskStatus = "DONE"
	TaskUnreachable TaskStatus = "UNREACHABLE"
	TaskCancelled   TaskStatus = "CANCELLED"
)

// Task is a callback the service center owes a customer after the
// work was confirmed; agents work through them due first.
type Task struct {
	ID         string `db:"id"`
	RequestID  string `db:"request_id"`
	PropertyID string `db:"property_id"`
	// Reason is CONFIRMED or AUTO_CONFIRMED: how the request got there.
	Reason    request.EventType `db:"reason"`
	Status    TaskStatus        `db:"status"`
	Attempts  int               `db:"attempts"`
	DueAt     time.Time         `db:"due_at"`
	CreatedAt time.Time         `db:"created_at"`
	ClosedAt  *time.Time        `db:"closed_at"`
}

// TaskCursor is a position in the due-first callback queue.
type TaskCursor struct {
	DueAt time.Time
	ID    string
}

// Attempt is one service-center callback (回訪) attempt.
type Attempt struct {
	TaskID       *string
	RequestID    string
	AgentID      string
	Method       Method
	Outcome      Outcome
	Satisfaction *int
	Note         *string
	At           time.Time
}
