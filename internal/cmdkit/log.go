package cmdkit

import (
	"fmt"
	"io"
	"log/slog"
)

// LogConfig is the log section of every loa configuration file.
type LogConfig struct {
	Format string `yaml:"format"` // text | json
	Level  string `yaml:"level"`  // debug | info | warn | error
}

// DefaultLog is the log section's default: text, info.
func DefaultLog() LogConfig { return LogConfig{Format: "text", Level: "info"} }

// ParseLevel reads a log level: debug, info, warn or error (as slog writes
// them, also with an offset like info+2).
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return l, BadInput("log.level: %q: không phải debug, info, warn hay error / is not debug, info, warn or error", s)
	}
	return l, nil
}

// Check reports the first bad field of the section, named (log.format,
// log.level), as a BadInputError.
func (c LogConfig) Check() error {
	if c.Format != "text" && c.Format != "json" {
		return BadInput("log.format: %q: phải là text hoặc json / must be text or json", c.Format)
	}
	_, err := ParseLevel(c.Level)
	return err
}

// NewLogger builds the logger a configuration asks for, writing to w. A bad
// format or level is an error (Check), never a silent default.
func NewLogger(c LogConfig, w io.Writer) (*slog.Logger, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	level, _ := ParseLevel(c.Level)
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

// MustLogger is NewLogger for a section the program wrote itself (a
// command's fixed text/warn logger); it panics on a bad one.
func MustLogger(c LogConfig, w io.Writer) *slog.Logger {
	l, err := NewLogger(c, w)
	if err != nil {
		panic(fmt.Sprintf("cmdkit.MustLogger: %v", err))
	}
	return l
}
