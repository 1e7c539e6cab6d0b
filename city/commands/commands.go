// Package commands is the city's side of the signed commands to wards
// (package command; docs/commands.md): a request is checked and resolved
// to wards, signed with the city's key, recorded, and published on the
// command stream (its own, apart from the alerts); the wards' signed acks
// (done, failed, refused with the reason) are recorded and make a
// command's status per ward. It knows NATS and SQLite only through the
// small interfaces below; city/httpapi and loactl call Send and Status.
package commands

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"loa/alert"
	"loa/command"
	"loa/internal/cmdkit"
	"loa/sqlite"
)

// Errors.
var (
	// ErrNotFound: no command has that id and no ward acked one (404).
	ErrNotFound = errors.New("no such command")
	// ErrNoNATS: the city's NATS is not running (503).
	ErrNoNATS = errors.New("commands are not available: the city's NATS is not running")
	// ErrNotPublished: recorded and signed, but JetStream did not take it
	// yet; the city keeps trying until it expires (503).
	ErrNotPublished = errors.New("command not published yet")
)

// Store is the city's database as commands use it.
type Store interface {
	AddCommand(ctx context.Context, c sqlite.CityCommand) error
	MarkCommandPublished(ctx context.Context, id string, at time.Time) error
	Command(ctx context.Context, id string) (sqlite.CityCommand, error)
	UnpublishedCommands(ctx context.Context, now time.Time) ([]sqlite.CityCommand, error)
	AddCommandAck(ctx context.Context, a sqlite.CommandAck) error
	CommandAcks(ctx context.Context, id string) ([]sqlite.CommandAck, error)
	WardIDs(ctx context.Context) ([]string, error)
	Ward(ctx context.Context, id string) error
	WardsInGroup(ctx context.Context, group string) ([]string, error)
}

// Publisher publishes a signed command on the command stream, once per
// subject (msgID deduplicates a retry), and waits for JetStream's ack.
type Publisher interface {
	PublishCommand(ctx context.Context, subjects []string, msgID string, envelope []byte) error
}

// ReceiptKeys gives a ward's own key (nil: it registered none).
type ReceiptKeys interface {
	ReceiptKey(ctx context.Context, ward string) (ed25519.PublicKey, error)
}

// Subjects names a command's subjects (natsbus.CommandSubjects).
type Subjects func(all bool, recipients []string) []string

// Options configure a Service.
type Options struct {
	Key      ed25519.PrivateKey
	Store    Store
	Bus      Publisher // nil: no NATS
	Subjects Subjects
	Keys     ReceiptKeys
	Now      func() time.Time
	Log      *slog.Logger
}

// Service sends commands and records their acks.
type Service struct {
	o  Options
	mu sync.Mutex
}

// SetBus sets the publisher once the city's NATS is up.
func (s *Service) SetBus(p Publisher) {
	s.mu.Lock()
	s.o.Bus = p
	s.mu.Unlock()
}

func (s *Service) bus() Publisher {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.o.Bus
}

// New returns a Service.
func New(o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return &Service{o: o}
}

// MaxDiagnosticsWards bounds the wards of one diagnostics command: each
// answers with a bundle of up to command.MaxDiagnostics on the acks'
// stream, which must keep room for every other ack.
const MaxDiagnosticsWards = 50

// DefaultLifetime is how long a command is good for when the request
// says nothing: a ward offline longer refuses it as expired.
const DefaultLifetime = 10 * time.Minute

// Request is what an operator asks.
type Request struct {
	To   string       `json:"to"`
	Kind command.Kind `json:"kind"`
	Args command.Args `json:"args"`
	// Expires is how long the command is good for ("10m"; default
	// DefaultLifetime).
	Expires string `json:"expires,omitempty"`
	Sender  string `json:"-"`
}

// Plan checks a request and resolves its wards; it changes nothing. The
// wards are returned for the caller's scope check.
func (s *Service) Plan(ctx context.Context, r Request) (*command.Command, []string, error) {
	t, err := alert.ParseTargets(r.To)
	if err != nil {
		return nil, nil, cmdkit.BadInput("to: %v", err)
	}
	if _, err := command.ParseKind(string(r.Kind)); err != nil {
		return nil, nil, cmdkit.BadInput("%v", err)
	}
	life := DefaultLifetime
	if r.Expires != "" {
		if life, err = time.ParseDuration(r.Expires); err != nil || life <= 0 || life > command.MaxLifetime {
			return nil, nil, cmdkit.BadInput("expires: %q: a duration such as 10m, at most %s", r.Expires, command.MaxLifetime)
		}
	}
	wards, recipients, err := s.resolve(ctx, t)
	if err != nil {
		return nil, nil, err
	}
	if r.Kind == command.Diagnostics && len(wards) > MaxDiagnosticsWards {
		return nil, nil, cmdkit.BadInput("to: chẩn đoán gửi tối đa %d phường một lần, không phải %d / diagnostics go to at most %d wards at once, not %d",
			MaxDiagnosticsWards, len(wards), MaxDiagnosticsWards, len(wards))
	}
	now := s.o.Now().UTC().Truncate(time.Millisecond)
	c := &command.Command{ID: newID(now), To: t, Recipients: recipients, Kind: r.Kind, Args: r.Args,
		Issued: now, Expires: now.Add(life), Sender: r.Sender}
	if err := c.Check(); err != nil {
		return nil, nil, cmdkit.BadInput("%v", err)
	}
	return c, wards, nil
}

func newID(now time.Time) string {
	var b [4]byte
	rand.Read(b[:])
	return "cmd-" + now.Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

func (s *Service) resolve(ctx context.Context, t alert.Targets) (wards, recipients []string, err error) {
	if t.All {
		all, err := s.o.Store.WardIDs(ctx)
		if err != nil {
			return nil, nil, err
		}
		if len(all) == 0 {
			return nil, nil, cmdkit.BadInput("to all: no ward is registered")
		}
		return all, nil, nil
	}
	set := map[string]bool{}
	for _, id := range t.Wards {
		if err := s.o.Store.Ward(ctx, id); errors.Is(err, sqlite.ErrNotFound) {
			return nil, nil, cmdkit.BadInput("to: ward %s does not exist", id)
		} else if err != nil {
			return nil, nil, err
		}
		set[id] = true
	}
	for _, g := range t.Groups {
		ws, err := s.o.Store.WardsInGroup(ctx, g)
		if err != nil {
			return nil, nil, err
		}
		if len(ws) == 0 {
			return nil, nil, cmdkit.BadInput("to: group %s has no ward", g)
		}
		for _, w := range ws {
			set[w] = true
		}
	}
	for w := range set {
		recipients = append(recipients, w)
	}
	sort.Strings(recipients)
	return recipients, recipients, nil
}

// Send signs, records and publishes a planned command. A command recorded
// but not taken by JetStream is ErrNotPublished (the city retries it
// until it expires: PublishPending).
func (s *Service) Send(ctx context.Context, c *command.Command) error {
	if s.bus() == nil {
		return ErrNoNATS
	}
	env, err := command.Sign(s.o.Key, c)
	if err != nil {
		return cmdkit.BadInput("%v", err)
	}
	args, _ := json.Marshal(c.Args)
	rcpt, _ := json.Marshal(c.Recipients)
	if rcpt == nil || string(rcpt) == "null" {
		rcpt = []byte("[]")
	}
	rec := sqlite.CityCommand{ID: c.ID, Kind: string(c.Kind), Args: string(args), Targets: c.To.String(),
		Recipients: string(rcpt), Sender: c.Sender, Issued: c.Issued, Expires: c.Expires, Envelope: env}
	if err := s.o.Store.AddCommand(ctx, rec); err != nil {
		return err
	}
	s.o.Log.Info("command sent", "command", c.ID, "kind", c.Kind, "to", c.To.String(), "sender", c.Sender)
	if err := s.publish(ctx, rec, c.To.All, c.Recipients); err != nil {
		return fmt.Errorf("%w: %s: %v (the city keeps trying until %s)", ErrNotPublished, c.ID, err, c.Expires.Format(time.RFC3339))
	}
	return nil
}

func (s *Service) publish(ctx context.Context, rec sqlite.CityCommand, all bool, recipients []string) error {
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := s.bus().PublishCommand(pctx, s.o.Subjects(all, recipients), rec.ID, rec.Envelope); err != nil {
		return err
	}
	return s.o.Store.MarkCommandPublished(context.WithoutCancel(ctx), rec.ID, s.o.Now())
}

// PublishPending publishes the recorded commands JetStream has not taken
// and that have not expired (the city's bus calls it every few seconds).
func (s *Service) PublishPending(ctx context.Context) {
	if s.bus() == nil {
		return
	}
	cs, err := s.o.Store.UnpublishedCommands(ctx, s.o.Now())
	if err != nil {
		s.o.Log.Error("unpublished commands", "err", err)
		return
	}
	for _, c := range cs {
		var rcpt []string
		json.Unmarshal([]byte(c.Recipients), &rcpt)
		if err := s.publish(ctx, c, c.Targets == "all", rcpt); err != nil {
			s.o.Log.Warn("command not published yet", "command", c.ID, "err", err)
			return
		}
	}
}

// Forged reports whether err (of RecordAck) means the ack was not signed
// by the ward's own key.
var errForged = errors.New("ack not signed by the ward's key")

// RecordAck reads and records an ack ward sent (data as taken from the
// bus, seq its stream sequence). A refusal is logged as a warning: it is
// how the city hears of a forged or replayed command.
func (s *Service) RecordAck(ctx context.Context, ward string, data []byte, seq uint64) error {
	var key ed25519.PublicKey
	if s.o.Keys != nil {
		k, err := s.o.Keys.ReceiptKey(ctx, ward)
		if err != nil {
			return err
		}
		key = k
	}
	a, signed, err := command.OpenAck(data, key)
	if err != nil {
		s.o.Log.Warn("command ack refused", "ward", ward, "err", err)
		return fmt.Errorf("%w: %v", errForged, err)
	}
	if a.Ward != ward {
		s.o.Log.Warn("command ack names another ward", "subject_ward", ward, "ack_ward", a.Ward)
	}
	detail, _ := json.Marshal(struct {
		Kind        command.Kind    `json:"kind,omitempty"`
		LevelDBFS   *float64        `json:"level_dbfs,omitempty"`
		VolumeDB    *float64        `json:"volume_db,omitempty"`
		Diagnostics json.RawMessage `json:"diagnostics,omitempty"`
	}{a.Kind, a.LevelDBFS, a.VolumeDB, validJSON(a.Diagnostics)})
	if a.State == command.Refused {
		s.o.Log.Warn("a ward refused a command", "ward", ward, "command", a.Command, "verified", a.Verified, "reason", a.Reason)
	}
	return s.o.Store.AddCommandAck(ctx, sqlite.CommandAck{Command: a.Command, Ward: ward, Verified: a.Verified, Signed: signed,
		State: string(a.State), Reason: a.Reason, At: a.At, Detail: string(detail), StreamSeq: seq, Received: s.o.Now()})
}

// validJSON is raw if it is a JSON value, else nil (a bundle that does
// not parse is not kept: the API embeds it as it is).
func validJSON(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || !json.Valid(raw) {
		return nil
	}
	return raw
}

// Ack is one ward's answer, as the API shows it.
type Ack struct {
	Ward      string          `json:"ward"`
	State     string          `json:"state"`
	Reason    string          `json:"reason,omitempty"`
	Verified  bool            `json:"verified"`
	Signed    bool            `json:"signed"`
	At        time.Time       `json:"at"`
	Detail    json.RawMessage `json:"detail,omitempty"`
	Received  time.Time       `json:"received_at"`
	Addressed bool            `json:"addressed"`
}

// Status is a command with its acks.
type Status struct {
	ID string `json:"id"`
	// Known is false for an id the city never sent (acks of a forged
	// command: refusals only).
	Known     bool            `json:"known"`
	Kind      string          `json:"kind,omitempty"`
	Args      json.RawMessage `json:"args,omitempty"`
	To        string          `json:"to,omitempty"`
	Wards     []string        `json:"wards,omitempty"`
	Sender    string          `json:"sender,omitempty"`
	Issued    *time.Time      `json:"issued,omitempty"`
	Expires   *time.Time      `json:"expires,omitempty"`
	Published *time.Time      `json:"published_at,omitempty"`
	Acks      []Ack           `json:"acks"`
	Done      int             `json:"done"`
	Failed    int             `json:"failed"`
	Refused   int             `json:"refused"`
	NoAnswer  []string        `json:"no_answer,omitempty"`
}

// Status returns command id with its acks; wards is every ward it was for
// (for "all": every ward now). ErrNotFound: neither sent nor acked.
func (s *Service) Status(ctx context.Context, id string) (*Status, error) {
	st := &Status{ID: id, Acks: []Ack{}}
	c, err := s.o.Store.Command(ctx, id)
	switch {
	case errors.Is(err, sqlite.ErrNotFound):
	case err != nil:
		return nil, err
	default:
		st.Known, st.Kind, st.Args, st.To, st.Sender = true, c.Kind, json.RawMessage(c.Args), c.Targets, c.Sender
		st.Issued, st.Expires = &c.Issued, &c.Expires
		if !c.Published.IsZero() {
			st.Published = &c.Published
		}
		if c.Targets == "all" {
			st.Wards, err = s.o.Store.WardIDs(ctx)
			if err != nil {
				return nil, err
			}
		} else {
			json.Unmarshal([]byte(c.Recipients), &st.Wards)
		}
	}
	acks, err := s.o.Store.CommandAcks(ctx, id)
	if err != nil {
		return nil, err
	}
	if !st.Known && len(acks) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	for_ := map[string]bool{}
	for _, w := range st.Wards {
		for_[w] = true
	}
	answered := map[string]bool{}
	for _, a := range acks {
		st.Acks = append(st.Acks, Ack{Ward: a.Ward, State: a.State, Reason: a.Reason, Verified: a.Verified, Signed: a.Signed,
			At: a.At, Detail: json.RawMessage(a.Detail), Received: a.Received, Addressed: for_[a.Ward]})
		if !for_[a.Ward] || answered[a.Ward] {
			continue
		}
		answered[a.Ward] = true
		switch command.State(a.State) {
		case command.Done:
			st.Done++
		case command.Failed:
			st.Failed++
		case command.Refused:
			st.Refused++
		}
	}
	for _, w := range st.Wards {
		if !answered[w] {
			st.NoAnswer = append(st.NoAnswer, w)
		}
	}
	return st, nil
}
