package graph

import (
	"context"

	"github.com/kproperty/onestop/internal/admin"
	"github.com/kproperty/onestop/internal/auth"
	"github.com/kproperty/onestop/internal/billing"
	"github.com/kproperty/onestop/internal/booking"
	"github.com/kproperty/onestop/internal/callback"
	"github.com/kproperty/onestop/internal/conversation"
	"github.com/kproperty/onestop/internal/device"
	"github.com/kproperty/onestop/internal/dispatch"
	"github.com/kproperty/onestop/internal/duty"
	"github.com/kproperty/onestop/internal/frontdesk"
	"github.com/kproperty/onestop/internal/notification"
	"github.com/kproperty/onestop/internal/person"
	"github.com/kproperty/onestop/internal/portfolio"
	"github.com/kproperty/onestop/internal/property"
	"github.com/kproperty/onestop/internal/pubsub"
	"github.com/kproperty/onestop/internal/request"
	"github.com/kproperty/onestop/internal/stats"
	"github.com/kproperty/onestop/internal/visitor"
)

// Directory looks up the nouns a request refers to, in batches.
type Directory interface {
	Properties(ctx context.Context, ids []string) ([]property.Property, error)
	Units(ctx context.Context, ids []string) ([]property.Unit, error)
	Buildings(ctx context.Context, ids []string) ([]property.Building, error)
	People(ctx context.Context, ids []string) ([]person.Person, error)
	Categories(ctx context.Context, ids []string) ([]property.Category, error)
	CategoriesOf(ctx context.Context, propertyIDs []string) ([]property.Category, error)
	PropertiesOfUnits(ctx context.Context, unitIDs []string) ([]string, error)
	AllPropertyIDs(ctx context.Context) ([]string, error)
}

// EventFeed starts live event subscriptions.
type EventFeed interface {
	Subscribe(ctx context.Context, a *auth.Actor, requestID, since *string, end func(error)) (*pubsub.Subscription, error)
	SubscribeNotifications(ctx context.Context, personID string, since *string, end func(error)) (*pubsub.InboxSubscription, error)
}

// Deps are the services behind the API.
type Deps struct {
	AuthService         *auth.Service
	RequestService      *request.Service
	CallbackService     *callback.Service
	PortfolioService    *portfolio.Service
	DispatchService     *dispatch.Service
	NotificationService *notification.Service
	StatsService        *stats.Service
	SettingsService     *property.SettingsService
	CatalogueService    *property.CatalogueService
	Directory           Directory
	Events              EventFeed
	// The front desk: visitors, posts and greeting duty, and its figures.
	VisitorService      *visitor.Service
	DutyService         *duty.Service
	FrontDeskService    *frontdesk.Service
	ConversationService *conversation.Service
	DeviceService       *device.Service
	AdminService        *admin.Service
	BookingService      *booking.Service
	BillingService      *billing.Service
}
