package cmdkit

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestLogConfigCheck(t *testing.T) {
	for _, tc := range []struct {
		cfg  LogConfig
		want []string // "" = accepted; else every part must be in the error
	}{
		{DefaultLog(), nil},
		{LogConfig{Format: "json", Level: "debug"}, nil},
		{LogConfig{Format: "text", Level: "warn"}, nil},
		{LogConfig{Format: "text", Level: "ERROR"}, nil},
		{LogConfig{Format: "text", Level: "info+2"}, nil},
		{LogConfig{Format: "text", Level: "loud"}, []string{"log.level", `"loud"`, "không phải", "is not debug, info, warn or error"}},
		{LogConfig{Format: "text", Level: ""}, []string{"log.level", `""`}},
		{LogConfig{Format: "xml", Level: "info"}, []string{"log.format", `"xml"`, "phải là text hoặc json", "must be text or json"}},
	} {
		err := tc.cfg.Check()
		if tc.want == nil {
			if err != nil {
				t.Errorf("%+v: %v", tc.cfg, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%+v: accepted", tc.cfg)
			continue
		}
		if !IsBadInput(err) {
			t.Errorf("%+v: %v is not bad input", tc.cfg, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: error %q does not say %q", tc.cfg, err, w)
			}
		}
		if _, lerr := NewLogger(tc.cfg, &bytes.Buffer{}); lerr == nil {
			t.Errorf("%+v: NewLogger accepts it", tc.cfg)
		}
	}
}

func TestNewLoggerFormatAndLevel(t *testing.T) {
	var buf bytes.Buffer
	log, err := NewLogger(LogConfig{Format: "json", Level: "warn"}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("shown", "ward", "p1")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("one JSON record: %v: %q", err, buf.String())
	}
	if rec["msg"] != "shown" || rec["ward"] != "p1" || rec["level"] != "WARN" {
		t.Fatalf("%v", rec)
	}
	buf.Reset()
	MustLogger(DefaultLog(), &buf).Debug("hidden")
	MustLogger(DefaultLog(), &buf).Info("text", "k", "v")
	if got := buf.String(); strings.Contains(got, "hidden") || !strings.Contains(got, "level=INFO msg=text k=v") {
		t.Fatalf("%q", got)
	}
}

func TestMustLoggerPanicsOnBadLevel(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	MustLogger(LogConfig{Format: "text", Level: "loud"}, &bytes.Buffer{})
}
