package console

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"loa/command"
)

// The technicians' controls (Điều khiển) are built from this table: a
// kind of command the console offers is one line here, with the form of
// its arguments (one of the argForms below) and whether sending it to
// more than one ward asks for a confirmation first. Its button and its
// one-line explanation are "control.kind.<kind>" and "control.what.<kind>"
// in i18n_control.go (without them the kind's name shows). A kind that
// package command does not know (yet) is not offered.
var controlKinds = []controlKind{
	{Kind: command.Volume, Arg: argVolume, Confirm: true},
	{Kind: command.Mute, Arg: argMute, Confirm: true},
	{Kind: command.Unmute, Arg: argNone},
	{Kind: command.SyncNow, Arg: argNone},
	{Kind: command.TestTone, Arg: argTone},
	{Kind: command.Amplifier, Arg: argAmplifier, Confirm: true},
	{Kind: command.Diagnostics, Arg: argNone},
	{Kind: command.Restart, Arg: argNone, Confirm: true},
}

type controlKind struct {
	Kind command.Kind
	Arg  argForm
	// Confirm: to more than one ward, the console asks "are you sure"
	// (a wrong volume or a mute on a whole commune is heard by everyone).
	Confirm bool
}

// argForm is how a kind's arguments are asked and read back from a form.
type argForm struct {
	// Field is the form field the template draws ("" none, "db", "mute",
	// "seconds").
	Field string
	// Parse reads the field into the command's arguments; its error is
	// the page's message (both languages are in i18n_control.go).
	Parse func(l Lang, f url.Values) (command.Args, error)
}

// The master volume's range on the console: −30…+6 dB, within what the
// ward accepts (command.MinVolumeDB…MaxVolumeDB).
var (
	volumeMin = math.Max(-30, command.MinVolumeDB)
	volumeMax = math.Min(6, command.MaxVolumeDB)
)

// controlMutes are the times a mute may last.
var controlMutes = []string{"15m", "30m", "1h", "2h", "6h", "24h"}

// toneDefault is a test tone's length unless changed.
const toneDefault = 5

// fieldError is a bad field: the message names it in the reader's
// language, and nothing is sent.
type fieldError struct{ msg string }

func (e *fieldError) Error() string { return e.msg }

func badField(l Lang, key string, args ...any) error {
	return &fieldError{fmt.Sprintf(T(l, key), args...)}
}

var (
	argNone = argForm{Parse: func(Lang, url.Values) (command.Args, error) { return command.Args{}, nil }}

	argVolume = argForm{Field: "db", Parse: func(l Lang, f url.Values) (command.Args, error) {
		s := strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(f.Get("db"), "−", "-"), ",", "."))
		db, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(db) || db < volumeMin || db > volumeMax {
			return command.Args{}, badField(l, "control.err.db", f.Get("db"), volumeMin, volumeMax)
		}
		return command.Args{DB: &db}, nil
	}}

	argMute = argForm{Field: "mute", Parse: func(l Lang, f url.Values) (command.Args, error) {
		m := f.Get("mute")
		d, err := time.ParseDuration(m)
		if err != nil || !slices.Contains(controlMutes, m) {
			return command.Args{}, badField(l, "control.err.mute", m)
		}
		return command.Args{MuteSeconds: int64(d / time.Second)}, nil
	}}

	argTone = argForm{Field: "seconds", Parse: func(l Lang, f url.Values) (command.Args, error) {
		n, err := strconv.ParseInt(strings.TrimSpace(f.Get("seconds")), 10, 64)
		if err != nil || n < 1 || n > command.MaxToneSeconds {
			return command.Args{}, badField(l, "control.err.seconds", f.Get("seconds"), command.MaxToneSeconds)
		}
		return command.Args{Seconds: n}, nil
	}}
)

// argAmplifier forces the amplifier on or off for one of the mute
// lengths; an alert still powers it when forced off (the ward decides).
var argAmplifier = argForm{Field: "amp", Parse: func(l Lang, f url.Values) (command.Args, error) {
	var on bool
	switch f.Get("amp") {
	case "on":
		on = true
	case "off":
	default:
		return command.Args{}, badField(l, "control.err.amp", f.Get("amp"))
	}
	m := f.Get("mute")
	d, err := time.ParseDuration(m)
	if err != nil || !slices.Contains(controlMutes, m) {
		return command.Args{}, badField(l, "control.err.mute", m)
	}
	return command.Args{On: &on, Seconds: int64(d / time.Second)}, nil
}}

// offeredKinds are the table's kinds that package command knows.
func offeredKinds() []controlKind {
	var out []controlKind
	for _, k := range controlKinds {
		if _, err := command.ParseKind(string(k.Kind)); err == nil {
			out = append(out, k)
		}
	}
	return out
}

func kindOf(name string) (controlKind, bool) {
	for _, k := range offeredKinds() {
		if string(k.Kind) == name {
			return k, true
		}
	}
	return controlKind{}, false
}

// kindLabel is a kind's button in the reader's language (its name when
// no text is written for it yet).
func kindLabel(l Lang, k command.Kind) string {
	if _, ok := messages["control.kind."+string(k)]; ok {
		return T(l, "control.kind."+string(k))
	}
	return string(k)
}

func kindWhat(l Lang, k command.Kind) string {
	if _, ok := messages["control.what."+string(k)]; ok {
		return T(l, "control.what."+string(k))
	}
	return ""
}
