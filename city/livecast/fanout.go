package livecast

import (
	"bufio"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"loa/audio"
)

// Fanout hands one MP3 stream to many HTTP listeners, each through a
// bounded queue of whole frames: a listener that falls that far behind is
// dropped (its relay reconnects to the live edge), so one slow ward never
// delays the others. The browser's live broadcast and the city's
// re-streams of outside stations (city/restream) share it.
type Fanout struct {
	queue     int
	log       *slog.Logger
	batch     time.Duration
	first     chan struct{}
	firstOnce sync.Once

	mu        sync.Mutex
	listeners map[*listener]struct{}
	ended     bool
	frames    int64
	dropped   int64
	// OnChange, if set, is called (without the lock held) each time a
	// listener joins or leaves, with how many remain.
	onChange func(listeners int)
}

type listener struct {
	frames chan []byte
	relay  bool // a ward's relay (not the city's own probe)
}

// NewFanout makes a Fanout whose listeners may lag queue frames (26 ms
// each at 44.1 kHz) before they are dropped.
func NewFanout(queue int, log *slog.Logger) *Fanout {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Fanout{queue: queue, log: log, first: make(chan struct{}), listeners: map[*listener]struct{}{}}
}

// OnChange sets a function called (without the Fanout's lock) each time a
// listener joins or leaves, with how many listeners remain. Set it before
// the first Serve.
func (f *Fanout) OnChange(fn func(listeners int)) { f.onChange = fn }

// SetBatch makes Pump hand the listeners d of audio at a time instead of
// each frame as it comes: each listener then wakes and writes a few times
// a second, not 38 (the cost of a ward grows with its writes). A queued
// item is then a batch, not a frame. Set it before Pump.
func (f *Fanout) SetBatch(d time.Duration) { f.batch = d }

// First is closed at the first frame.
func (f *Fanout) First() <-chan struct{} { return f.first }

// Pump cuts r into whole MP3 frames and hands each to every listener,
// until r ends. Bytes that are not a frame header are skipped.
func (f *Fanout) Pump(r io.Reader) {
	br := bufio.NewReaderSize(r, 16<<10)
	var pending []byte // frames held for the batch
	var n int
	var held time.Duration
	for {
		hdr, err := br.Peek(4)
		if err != nil {
			return
		}
		h, ok := audio.ParseMPEGFrame(hdr)
		if !ok || h.Size() < 4 {
			br.Discard(1) // not a frame header: scan on
			continue
		}
		if f.batch > 0 {
			pending = slices.Grow(pending, h.Size())
			frame := pending[len(pending) : len(pending)+h.Size()]
			if _, err := io.ReadFull(br, frame); err != nil {
				return
			}
			pending = pending[:len(pending)+h.Size()]
			f.firstOnce.Do(func() { close(f.first) })
			n++
			held += time.Duration(h.Samples()) * time.Second / time.Duration(max(h.Rate(), 1))
			if held >= f.batch {
				f.send(pending, n)
				pending, n, held = nil, 0, 0
			}
			continue
		}
		frame := make([]byte, h.Size())
		if _, err := io.ReadFull(br, frame); err != nil {
			return
		}
		f.firstOnce.Do(func() { close(f.first) })
		f.Send(frame)
	}
}

// Send hands one whole MP3 frame to every listener.
func (f *Fanout) Send(frame []byte) { f.send(frame, 1) }

// send hands whole MP3 frames (n of them) to every listener.
func (f *Fanout) send(frame []byte, n int) {
	f.mu.Lock()
	f.frames += int64(n)
	n, dropped := len(f.listeners), 0
	for l := range f.listeners {
		select {
		case l.frames <- frame:
		default: // too far behind: dropped, never waited for
			delete(f.listeners, l)
			close(l.frames)
			dropped++
		}
	}
	f.dropped += int64(dropped)
	f.mu.Unlock()
	if dropped > 0 {
		f.log.Warn("a slow listener was dropped", "dropped", dropped)
		f.changed(n - dropped)
	}
}

func (f *Fanout) changed(n int) {
	if f.onChange != nil {
		f.onChange(n)
	}
}

// Listeners is how many listeners are connected; Relays how many of them
// are wards' relays (User-Agent loa-agent…).
func (f *Fanout) Listeners() (all, relays int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for l := range f.listeners {
		all++
		if l.relay {
			relays++
		}
	}
	return all, relays
}

// Frames is how many frames have been sent.
func (f *Fanout) Frames() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.frames
}

// Dropped is how many listeners were dropped for lagging.
func (f *Fanout) Dropped() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dropped
}

// Close ends every listener's response; later Serve calls are 404.
func (f *Fanout) Close() {
	f.mu.Lock()
	if f.ended {
		f.mu.Unlock()
		return
	}
	f.ended = true
	for l := range f.listeners {
		delete(f.listeners, l)
		close(l.frames)
	}
	f.mu.Unlock()
	f.changed(0)
}

// Serve streams the MP3 frames from the moment of the request on, until
// the Fanout closes, the listener lags too far, or the client goes.
// name goes into the icy-name header.
func (f *Fanout) Serve(w http.ResponseWriter, r *http.Request, name string) {
	w.Header().Set("Content-Type", "audio/mpeg")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("icy-name", name)
	if r.Method == http.MethodHead {
		return
	}
	l := &listener{frames: make(chan []byte, f.queue), relay: strings.HasPrefix(r.UserAgent(), "loa-agent")}
	f.mu.Lock()
	if f.ended {
		f.mu.Unlock()
		http.Error(w, "the stream ended", http.StatusNotFound)
		return
	}
	f.listeners[l] = struct{}{}
	n := len(f.listeners)
	f.mu.Unlock()
	f.changed(n)
	defer func() {
		f.mu.Lock()
		_, ok := f.listeners[l]
		if ok {
			delete(f.listeners, l)
			close(l.frames)
		}
		n := len(f.listeners)
		f.mu.Unlock()
		if ok {
			f.changed(n)
		}
	}()
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	rc.Flush()
	for {
		select {
		case <-r.Context().Done():
			return
		case fr, ok := <-l.frames:
			if !ok {
				return
			}
			rc.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if _, err := w.Write(fr); err != nil {
				return
			}
			// Send what is queued in one go, then flush.
			for more := true; more; {
				select {
				case fr, ok := <-l.frames:
					if !ok {
						rc.Flush()
						return
					}
					if _, err := w.Write(fr); err != nil {
						return
					}
				default:
					more = false
				}
			}
			if err := rc.Flush(); err != nil {
				return
			}
		}
	}
}
