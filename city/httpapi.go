package city

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"loa/city/api"
	"loa/city/console"
	"loa/city/httpapi"
	"loa/city/library"
	"loa/city/programs"
)

// The JSON API (city/httpapi) is the city's first face: it asks the
// services through the small interfaces it declares, met here by the
// services themselves or by the adapters below, which give it the API's
// shapes (api.Media, api.Ward) of the services' rows.

// newAPI builds the JSON API over c's services.
func (c *City) newAPI() *httpapi.Server {
	return httpapi.New(httpapi.Deps{
		Key:       c.key,
		Now:       func() time.Time { return c.Now() },
		Location:  c.loc,
		Log:       c.Log,
		Accounts:  c.Accounts,
		Wards:     apiWards{c},
		Joins:     apiJoins{c},
		Library:   apiLibrary{c},
		Programs:  apiPrograms{c.Programs},
		Board:     c.board,
		Alerting:  c.Alerting,
		Commands:  c.Commands,
		Approvals: c.Alerting,
		Sessions:  apiSessions{c},
		Metrics:   &metricsRegistry{c: c},
		Record:    c.Audit.Record,
		CAP:       c.CAP,
		Reports:   c.Reports,
		Notify:    c.notify.settings,
		Preview:   c.newPreview(),

		Repeats: c.Alerting,
		// Restreams: outside streams pulled once for the wards.
		Restreams: c.restreams(),
	})
}

// apiWards is the ward registry with the board's and the manifests' view.
type apiWards struct{ c *City }

func (a apiWards) Wards(ctx context.Context) ([]api.Ward, error) {
	wards, err := a.c.Accounts.Wards(ctx)
	if err != nil {
		return nil, err
	}
	return a.c.wardsJSON(ctx, wards), nil
}

func (a apiWards) Ward(ctx context.Context, id string) (api.Ward, error) {
	wd, err := a.c.Accounts.Ward(ctx, id)
	if err != nil {
		return api.Ward{}, err
	}
	out := a.c.wardJSON(ctx, wd)
	out.ReceiptKeyID = a.c.Accounts.ReceiptKeyID(ctx, wd.ID)
	return out, nil
}

// AddWard registers the ward and gives it its NATS key. Once the ward is
// added, a failure is the city's own (500), whatever its kind: the %v
// below keeps it from being read as the caller's.
func (a apiWards) AddWard(ctx context.Context, id string, groups []string) (api.Ward, error) {
	tok, err := a.c.Accounts.AddWard(ctx, id, groups)
	if err != nil {
		return api.Ward{}, err
	}
	wd, err := a.c.Accounts.Ward(ctx, id)
	if err != nil {
		return api.Ward{}, fmt.Errorf("ward %s added: %v", id, err)
	}
	out := a.c.wardJSON(ctx, wd)
	out.Token = tok
	if out.NATSSeed, err = a.c.IssueWardKey(ctx, id); err != nil {
		return api.Ward{}, fmt.Errorf("ward %s added, its NATS key: %v", id, err)
	}
	return out, nil
}

// apiLibrary is the media library with the API's shapes.
type apiLibrary struct{ c *City }

func (l apiLibrary) Media(ctx context.Context) ([]api.Media, error) {
	all, err := l.c.Library.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]api.Media, len(all))
	for i, m := range all {
		out[i] = mediaJSON(m, false)
	}
	return out, nil
}

func (l apiLibrary) CheckSize(n int64) error { return l.c.Library.CheckSize(n) }

func (l apiLibrary) Ingest(ctx context.Context, body io.Reader, up library.UploadInfo) (api.Media, bool, error) {
	m, created, err := l.c.Library.Ingest(ctx, body, up)
	if err != nil {
		return api.Media{}, false, err
	}
	return mediaJSON(m, created), created, nil
}

func (l apiLibrary) StartUpload(ctx context.Context, up library.UploadInfo, size int64) (api.Upload, error) {
	u, err := l.c.Library.StartUpload(ctx, up, size)
	return api.Upload{ID: u.ID, Name: u.Name, Size: u.Size}, err
}

func (l apiLibrary) Upload(ctx context.Context, id string, who library.Caller) (api.Upload, error) {
	u, off, err := l.c.Library.Upload(ctx, id, who)
	return api.Upload{ID: u.ID, Name: u.Name, Offset: off, Size: u.Size}, err
}

func (l apiLibrary) Append(ctx context.Context, id string, who library.Caller, at int64, body io.Reader) (httpapi.Progress, error) {
	pr, err := l.c.Library.Append(ctx, id, who, at, body)
	out := httpapi.Progress{Upload: api.Upload{ID: pr.Upload.ID, Name: pr.Upload.Name, Offset: pr.Offset, Size: pr.Upload.Size},
		Written: pr.Written, Done: pr.Done, Created: pr.Created}
	if pr.Done {
		out.Media = mediaJSON(pr.Media, pr.Created)
	}
	return out, err
}

func (l apiLibrary) DeleteUpload(ctx context.Context, id string, who library.Caller) error {
	return l.c.Library.DeleteUpload(ctx, id, who)
}

func (l apiLibrary) OpenFile(key string) (*os.File, error) { return l.c.Library.OpenFile(key) }

func (l apiLibrary) Retitle(ctx context.Context, key, title string) error {
	return l.c.Library.Retitle(ctx, key, title)
}

func (l apiLibrary) Rename(ctx context.Context, key, from, to string) error {
	return l.c.Library.Rename(ctx, key, from, to)
}

func (l apiLibrary) Delete(ctx context.Context, key string) error {
	return l.c.Library.Delete(ctx, key)
}

func (l apiLibrary) WardMayFetch(ctx context.Context, ward, key string) (bool, error) {
	return l.c.wardMayFetch(ctx, ward, key)
}

// apiPrograms is the programs service with a target's file as bytes.
type apiPrograms struct{ *programs.Service }

func (p apiPrograms) File(ctx context.Context, target string) (string, []byte, bool, error) {
	set, ok, err := p.Get(ctx, target)
	return set.File, set.Body, ok, err
}

// apiSessions is the console's session standing in for a token.
type apiSessions struct{ c *City }

func (s apiSessions) APISession(r *http.Request) (user, role string, err error) {
	if s.c.console == nil {
		return "", "", console.ErrNoSession
	}
	sess, err := s.c.console.APISession(r)
	if errors.Is(err, console.ErrCrossSite) {
		return "", "", httpapi.ErrCrossSite
	}
	if err != nil {
		return "", "", err
	}
	return sess.User, sess.Role, nil
}
