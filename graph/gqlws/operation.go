package gqlws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// operation is one subscribe of the client, running until its results
// end, the client completes it, or the socket ends.
type operation struct {
	s      *Socket
	id     string
	cancel context.CancelFunc
	// stopped is set, under s.mu, when the client completed the operation:
	// the server then sends nothing more for the id.
	stopped bool
	// errs end the operation with an error message instead of complete.
	errs []*gqlerror.Error
}

type operationKey struct{}

// OverWebsocket reports whether ctx is an operation's sent over a socket.
func OverWebsocket(ctx context.Context) bool {
	_, ok := ctx.Value(operationKey{}).(*operation)
	return ok
}

// AddSubscriptionError makes a subscription end with an error message
// carrying err rather than with complete. The resolver adds it before it
// closes its channel. Outside a socket's operation it does nothing.
func AddSubscriptionError(ctx context.Context, err *gqlerror.Error) {
	op, ok := ctx.Value(operationKey{}).(*operation)
	if !ok {
		return
	}
	op.s.mu.Lock()
	op.errs = append(op.errs, err)
	op.s.mu.Unlock()
}

// subscribe starts an operation. The id is claimed here, in the reader,
// so that a second subscribe of a running id is caught however quickly it
// follows.
func (s *Socket) subscribe(id string, payload json.RawMessage) {
	start := graphql.Now()
	s.mu.Lock()
	acked := s.acked
	s.mu.Unlock()
	if !acked {
		s.Close(CloseUnauthorized, "Unauthorized")
		return
	}
	params := &graphql.RawParams{}
	if id == "" || len(payload) == 0 || payload[0] != '{' || decode(payload, params) != nil {
		s.Close(CloseBadMessage, "Invalid message received")
		return
	}
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return
	}
	if s.find(id) != nil {
		s.mu.Unlock()
		s.Close(CloseDuplicateID, "Subscriber for "+id+" already exists")
		return
	}
	ctx, cancel := context.WithCancel(s.opCtx)
	op := &operation{s: s, id: id, cancel: cancel}
	s.ops = append(s.ops, op)
	s.mu.Unlock()
	go op.run(context.WithValue(ctx, operationKey{}, op), params)
}

// decode reads a subscribe payload as gqlgen's HTTP transports read a
// body: numbers stay json.Number, for the variables' Int and Float.
func decode(b []byte, params *graphql.RawParams) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(params)
}

// run executes the operation and sends its results. Setting it up
// (parsing, validating, the resolver's reads of the database) takes a deep
// stack, and a goroutine's stack does not shrink back at once; so the
// goroutine that waits for the results is a fresh one, with a stack the
// size results need, and this one exits.
func (op *operation) run(ctx context.Context, params *graphql.RawParams) {
	s := op.s
	ctx = graphql.StartOperationTrace(ctx)
	rc, errs := s.exec.CreateOperationContext(ctx, params)
	if errs != nil {
		resp := s.exec.DispatchError(graphql.WithOperationContext(ctx, rc), errs)
		// A request that is not GraphQL at all is an error message; one
		// that does not validate is a result with errors, as over HTTP.
		if errcode.GetErrorKind(errs) == errcode.KindProtocol {
			op.sendErrors(resp.Errors)
		} else {
			op.sendNext(&graphql.Response{Errors: errs})
		}
		op.finish(false)
		return
	}
	ctx = graphql.WithOperationContext(ctx, rc)
	handed := false
	defer func() {
		if !handed {
			op.recovered(ctx, rc, recover())
			op.finish(true)
		}
	}()
	responses, ctx := s.exec.DispatchOperation(ctx, rc)
	handed = true
	go op.wait(ctx, rc, responses)
}

// wait sends the results as they come. Its goroutine exits when they end:
// the resolver's channel closed, the client completed the operation, or
// the socket ended.
func (op *operation) wait(ctx context.Context, rc *graphql.OperationContext, responses graphql.ResponseHandler) {
	defer func() {
		op.recovered(ctx, rc, recover())
		op.finish(true)
	}()
	for {
		resp := responses(ctx)
		if resp == nil {
			return
		}
		op.sendNext(resp)
	}
}

// recovered sends a panic of the operation as its error, as gqlgen's
// recover function words it.
func (op *operation) recovered(ctx context.Context, rc *graphql.OperationContext, r any) {
	if r == nil {
		return
	}
	err := rc.Recover(ctx, r)
	var gqlerr *gqlerror.Error
	if !errors.As(err, &gqlerr) {
		gqlerr = &gqlerror.Error{}
		if err != nil {
			gqlerr.Message = err.Error()
		}
	}
	op.sendErrors(gqlerror.List{gqlerr})
}

// finish ends the operation: the errors it was ended with, or complete,
// unless the client stopped it or the socket is closing; then its context
// ends, only after that message is out, which is when a subscription
// counts as ended.
func (op *operation) finish(withErrors bool) {
	s := op.s
	s.mu.Lock()
	errs, stopped := op.errs, op.stopped
	s.mu.Unlock()
	switch {
	case stopped:
	case withErrors && len(errs) > 0:
		op.sendErrors(errs)
	case s.opCtx.Err() == nil:
		s.write(frame("complete", op.id, nil))
	}
	s.mu.Lock()
	s.remove(op)
	s.mu.Unlock()
	op.cancel()
}

func (op *operation) sendNext(resp *graphql.Response) {
	b, err := json.Marshal(resp)
	if err != nil {
		// A response is built of JSON values; gqlgen's own transport
		// treats this as impossible too.
		panic(err)
	}
	op.s.write(frame("next", op.id, b))
}

func (op *operation) sendErrors(errs gqlerror.List) {
	b, err := json.Marshal(errs)
	if err != nil {
		panic(err)
	}
	op.s.write(frame("error", op.id, b))
}
