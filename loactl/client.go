package loactl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"loa/city/api"
)

// Client calls loa-city's HTTP API.
type Client struct {
	City  string // base URL
	Token string
	HTTP  *http.Client
}

// APIError is an error answer from the city.
type APIError struct {
	Status int
	Body   api.Error
}

func (e *APIError) Error() string {
	msg := e.Body.Error
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("%s (HTTP %d)", msg, e.Status)
}

// BadInput reports whether the city blamed the request (4xx).
func (e *APIError) BadInput() bool { return e.Status >= 400 && e.Status < 500 }

func newHTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 15 * time.Second}).DialContext,
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: 15 * time.Minute, // an upload's answer waits for its transcode
	}}
}

// do sends a request and decodes a JSON answer into out (if not nil).
func (c *Client) do(ctx context.Context, method, path string, body io.Reader, header http.Header, out any) (*http.Response, error) {
	u := strings.TrimRight(c.City, "/") + path
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	req.Header.Set("User-Agent", "loactl")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp, err
	}
	if resp.StatusCode >= 400 {
		e := &APIError{Status: resp.StatusCode}
		if json.Unmarshal(data, &e.Body) != nil || e.Body.Error == "" {
			e.Body.Error = strings.TrimSpace(string(data))
		}
		return resp, e
	}
	if out != nil {
		if b, ok := out.(*[]byte); ok {
			*b = data
			return resp, nil
		}
		if err := json.Unmarshal(data, out); err != nil {
			return resp, fmt.Errorf("%s %s: unreadable answer: %v", method, path, err)
		}
	}
	return resp, nil
}

func (c *Client) get(ctx context.Context, path string, out any) error {
	_, err := c.do(ctx, http.MethodGet, path, nil, nil, out)
	return err
}

// Media lists the library.
func (c *Client) Media(ctx context.Context) ([]api.Media, error) {
	var out []api.Media
	return out, c.get(ctx, "/api/v1/media", &out)
}

// Wards lists the wards.
func (c *Client) Wards(ctx context.Context) ([]api.Ward, error) {
	var out []api.Ward
	return out, c.get(ctx, "/api/v1/wards", &out)
}

// AlertProblems asks the city's /healthz why it cannot send alerts now:
// none when it can (or when it does not answer: the caller's own request
// says so).
func (c *Client) AlertProblems(ctx context.Context) []string {
	_, err := c.do(ctx, http.MethodGet, "/healthz", nil, nil, nil)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusServiceUnavailable {
		return nil
	}
	lines := strings.Split(strings.TrimSpace(ae.Body.Error), "\n")
	if len(lines) > 1 {
		lines = lines[1:] // the heading
	}
	return lines
}

// AsRun returns a ward's broadcast log for date ("" = today at the city).
func (c *Client) AsRun(ctx context.Context, ward, date string) (api.AsRunDay, error) {
	var out api.AsRunDay
	p := "/api/v1/wards/" + url.PathEscape(ward) + "/asrun"
	if date != "" {
		p += "?date=" + url.QueryEscape(date)
	}
	return out, c.get(ctx, p, &out)
}

// Timeline returns a ward's timeline for date ("" = today at the city).
func (c *Client) Timeline(ctx context.Context, ward, date string) (api.Timeline, error) {
	var out api.Timeline
	p := "/api/v1/wards/" + url.PathEscape(ward) + "/timeline"
	if date != "" {
		p += "?date=" + url.QueryEscape(date)
	}
	return out, c.get(ctx, p, &out)
}

// LoadPrograms sends a program file for target.
func (c *Client) LoadPrograms(ctx context.Context, target, file string, body []byte, check bool) (api.ProgramLoad, error) {
	var out api.ProgramLoad
	q := url.Values{"file": {file}}
	if check {
		q.Set("check", "true")
	}
	_, err := c.do(ctx, http.MethodPut, "/api/v1/programs/"+target+"?"+q.Encode(), strings.NewReader(string(body)),
		http.Header{"Content-Type": {"application/yaml"}}, &out)
	return out, err
}

// Upload sends a file with a resumable upload: if the connection breaks
// it asks the city how much arrived and sends the rest (up to 5 tries).
// open returns the file's content from an offset; progress, if not nil,
// is called with the bytes sent so far.
func (c *Client) Upload(ctx context.Context, name, title string, size int64, replace bool,
	open func(off int64) (io.ReadCloser, error), progress func(int64)) (api.Media, error) {
	q := url.Values{"name": {name}, "size": {fmt.Sprint(size)}}
	if title != "" {
		q.Set("title", title)
	}
	if replace {
		q.Set("replace", "true")
	}
	var up api.Upload
	if _, err := c.do(ctx, http.MethodPost, "/api/v1/uploads?"+q.Encode(), nil, nil, &up); err != nil {
		return api.Media{}, err
	}
	path := "/api/v1/uploads/" + up.ID
	var off int64
	var lastErr error
	for try := 0; try < 5; try++ {
		if try > 0 {
			select {
			case <-ctx.Done():
				return api.Media{}, ctx.Err()
			case <-time.After(time.Duration(try) * 2 * time.Second):
			}
			var st api.Upload
			if err := c.get(ctx, path, &st); err != nil {
				lastErr = err
				continue
			}
			off = st.Offset
		}
		r, err := open(off)
		if err != nil {
			return api.Media{}, err
		}
		body := &countingReader{r: r, n: off, progress: progress}
		var m api.Media
		h := http.Header{"Upload-Offset": {fmt.Sprint(off)}, "Content-Type": {"application/octet-stream"}}
		var raw []byte
		resp, err := c.do(ctx, http.MethodPatch, path, body, h, &raw)
		r.Close()
		var ae *APIError
		switch {
		case err == nil && resp.StatusCode == http.StatusOK && !strings.Contains(string(raw), `"sha256"`):
			lastErr = errors.New("the city did not receive the whole file")
			continue
		case err == nil:
			return m, json.Unmarshal(raw, &m)
		case errors.As(err, &ae) && ae.Status != http.StatusConflict && ae.Status < 500:
			return api.Media{}, err
		}
		lastErr = err
		if ctx.Err() != nil {
			return api.Media{}, ctx.Err()
		}
	}
	return api.Media{}, fmt.Errorf("upload failed after 5 tries: %w", lastErr)
}

type countingReader struct {
	r        io.Reader
	n        int64
	progress func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.progress != nil && n > 0 {
		c.progress(c.n)
	}
	return n, err
}
