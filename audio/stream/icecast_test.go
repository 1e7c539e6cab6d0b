package stream

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"loa/internal/icecasttest"
	"loa/internal/testwait"
)

// These tests relay a real Icecast2 server fed by ffmpeg in real time, and
// pull the relay in real time like a sound card (by the wall clock, in
// 10 ms blocks). Their deadlines are generous multiples of the timeouts.

// puller pulls a source at the sample rate by the wall clock and keeps the
// left channel of what it pulled.
type puller struct {
	t    testing.TB
	src  *Source
	rate int
	mu   sync.Mutex
	out  []float64
	stop chan struct{}
	done chan struct{}
}

func startPuller(t testing.TB, src *Source, rate int) *puller {
	p := &puller{t: t, src: src, rate: rate, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		t0 := time.Now()
		pulled := 0
		buf := make([][2]float64, rate)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-tick.C:
			}
			// At most 100 ms at a time, like a card's period; if this
			// goroutine was held up longer (a loaded machine, -race),
			// the card would have underrun: that time is skipped, it is
			// not the relay's to make up.
			due := int(time.Since(t0).Seconds()*float64(rate)) - pulled
			want := min(due, rate/10)
			n, ok := src.Stream(buf[:want])
			pulled += due
			p.mu.Lock()
			for _, v := range buf[:n] {
				p.out = append(p.out, v[0])
			}
			p.mu.Unlock()
			if !ok {
				return
			}
		}
	}()
	t.Cleanup(func() { close(p.stop); <-p.done })
	return p
}

// record returns the next d of audio pulled.
func (p *puller) record(d time.Duration) []float64 {
	p.mu.Lock()
	from := len(p.out)
	p.mu.Unlock()
	need := int(d.Seconds() * float64(p.rate))
	var x []float64
	// The puller pulls at a sound card's pace: d of audio takes d, and a
	// stalled relay gives silence, not less; the limit bounds a hang.
	testwait.For(p.t, "audio recorded", d+30*time.Second, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		if len(p.out)-from < need {
			return false
		}
		x = append([]float64(nil), p.out[from:from+need]...)
		return true
	})
	return x
}

// recordSteady returns the first d of audio pulled during which the relay
// reports no skip and no underrun, trying up to five times: after a
// connection the relay may still be taking in the server's burst (a VBR
// stream's ffmpeg hands its probed seconds over at once), and the skip to
// the live edge that follows is right (package jitter judges it) but is
// not what a tone check judges. A recording the relay calls continuous
// must then be the clean tone; five in a row with a skip or an underrun
// fail the test.
func (p *puller) recordSteady(src *Source, d time.Duration) []float64 {
	p.t.Helper()
	for range 5 {
		before := src.Stats()
		x := p.record(d)
		after := src.Stats()
		if after.Skips == before.Skips && after.Underruns == before.Underruns {
			return x
		}
		p.t.Logf("a skip or an underrun while recording, recording again: %+v", after)
	}
	p.t.Fatalf("five recordings of %s in a row had a skip or an underrun: %+v", d, src.Stats())
	return nil
}

func checkIcecastTone(t *testing.T, src *Source, x []float64, rate int) {
	t.Helper()
	defer func() {
		if t.Failed() {
			t.Logf("stats %+v", src.Stats())
		}
	}()
	f := toneFrequency(x, float64(rate))
	if math.Abs(f-1000) > 5 {
		t.Fatalf("tone at %.2f Hz, want 1000 Hz", f)
	}
	// Every 100 ms window is the tone; a few may carry the servo's ratio
	// moving while the machine is loaded (the puller is a real-time
	// goroutine, like a card): at least 30 dB, and 35 dB in 9 of 10.
	w := rate / 10
	clean, n := 0, 0
	for at := 0; at+w <= len(x); at += w {
		amp, snr := fitSine(x[at:at+w], f, float64(rate))
		n++
		if snr < 30 || amp < 0.05 {
			t.Fatalf("window at %.1f s: amplitude %.3f, SNR %.1f dB: not a clean 1 kHz tone", float64(at)/float64(rate), amp, snr)
		}
		if snr >= 35 {
			clean++
		}
	}
	if clean*10 < n*9 {
		t.Fatalf("%d of %d windows at 35 dB SNR or better", clean, n)
	}
}

// TestIcecastRelay: ffmpeg sends a 1 kHz sine to Icecast; the relay plays
// it at 1000 Hz (at the engine's 48 kHz, too), with the stream title set
// through Icecast's admin interface.
func TestIcecastRelay(t *testing.T) {
	ice := icecasttest.Start(t)
	ice.Feed(t, "/live.mp3", "sine=f=1000:sample_rate=44100")
	ice.WaitMount(t, "/live.mp3", 10*time.Second)
	ice.SetTitle(t, "/live.mp3", "Tiếp sóng VOV1")
	for _, rate := range []int{44100, 48000} {
		t.Run(fmt.Sprint(rate), func(t *testing.T) { relayIcecastTone(t, ice, rate) })
	}
}

// relayIcecastTone relays the mount at rate and checks its tone, title
// and codec.
func relayIcecastTone(t *testing.T, ice *icecasttest.Server, rate int) {
	src := Open(context.Background(), Config{URL: ice.URL("/live.mp3"), Rate: rate, Log: testLog(t)})
	defer src.Close()
	p := startPuller(t, src, rate)
	waitStats(t, src, 10*time.Second, "playing", func(s Stats) bool { return s.State == Playing })
	// Icecast sends a 64 KB burst on connect, faster than real time:
	// the buffer skips to the newest audio while it comes in (a click
	// where it skips). The tone is judged once the burst is in and the
	// stream arrives at its own pace.
	waitStats(t, src, 10*time.Second, "the connect burst taken", func(s Stats) bool { return s.State == Playing && s.BytesIn >= 96<<10 })
	p.record(500 * time.Millisecond) // the encoder's start, if the relay joined that early
	checkIcecastTone(t, src, p.record(2*time.Second), rate)
	st := src.Stats()
	if st.Underruns != 0 || st.Title != "Tiếp sóng VOV1" || !strings.HasPrefix(st.Codec, "MP3 (MPEG-1 layer III) 128 kbps 44100 Hz") {
		t.Errorf("stats %+v", st)
	}
}

// TestIcecastSourceDies: the encoder is killed; the relay goes stalled or
// failed within the stall timeout, FailingFor grows while the mount is
// gone; the encoder comes back, and the relay reconnects by itself and
// plays the tone again.
func TestIcecastSourceDies(t *testing.T) {
	ice := icecasttest.Start(t)
	feed := ice.Feed(t, "/live.mp3", "sine=f=1000:sample_rate=44100")
	ice.WaitMount(t, "/live.mp3", 10*time.Second)
	src := Open(context.Background(), Config{URL: ice.URL("/live.mp3"),
		StallTimeout: 2 * time.Second, RetryMax: time.Second, Log: testLog(t)})
	defer src.Close()
	p := startPuller(t, src, 44100)
	waitStats(t, src, 10*time.Second, "playing", func(s Stats) bool { return s.State == Playing })
	p.record(time.Second)

	feed.Kill()
	killed := time.Now()
	st := waitStats(t, src, 2*time.Second+3*time.Second, "stalled or failed", func(s Stats) bool {
		return s.State == Stalled || s.State == Failed
	})
	t.Logf("%v after the kill: %s (%s)", time.Since(killed).Round(time.Millisecond), st.State, st.LastError)
	st1 := waitStats(t, src, 5*time.Second, "failed", func(s Stats) bool { return s.State == Failed })
	// FailingFor keeps growing while it stays failed (the encoder stays
	// down): wait until it has grown by a second, in the failed state.
	st2 := st1
	testwait.Poll(5*time.Second, func() bool {
		st2 = src.Stats()
		return st2.State != Failed || st2.FailingFor >= st1.FailingFor+time.Second
	})
	if st2.State != Failed || st2.FailingFor < st1.FailingFor+900*time.Millisecond || st2.LastError == "" {
		t.Fatalf("while the encoder is down: %+v, then %+v", st1, st2)
	}
	if err := src.Err(); err == nil {
		t.Error("Err() = nil while failing")
	}

	ice.Feed(t, "/live.mp3", "sine=f=1000:sample_rate=44100")
	ice.WaitMount(t, "/live.mp3", 10*time.Second)
	st = waitStats(t, src, 10*time.Second, "playing again", func(s Stats) bool { return s.State == Playing })
	if st.Reconnects < 1 || st.FailingFor != 0 {
		t.Errorf("after the encoder came back: %+v", st)
	}
	p.record(500 * time.Millisecond) // the new encoder's start
	checkIcecastTone(t, src, p.record(2*time.Second), 44100)
}

// TestIcecastSilence: an encoder that sends digital silence keeps the
// relay connected, but after SilenceAfter it reports silent, and
// FailingFor counts from the start.
func TestIcecastSilence(t *testing.T) {
	ice := icecasttest.Start(t)
	ice.Feed(t, "/quiet.mp3", "anullsrc=r=44100:cl=stereo")
	ice.WaitMount(t, "/quiet.mp3", 10*time.Second)
	src := Open(context.Background(), Config{URL: ice.URL("/quiet.mp3"), Buffer: 300 * time.Millisecond,
		SilenceAfter: 2 * time.Second, Log: testLog(t)})
	defer src.Close()
	startPuller(t, src, 44100)
	st := waitStats(t, src, 10*time.Second, "silent", func(s Stats) bool { return s.State == Silent })
	if st.FailingFor < 2*time.Second || st.LastError != "" || st.BytesIn == 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestIcecastAACAndOgg: the provincial stations' kinds of Icecast mount,
// AAC (ADTS) and Ogg Vorbis/Opus fed by ffmpeg -re, play the tone through
// the ffmpeg decoder, with the stream title; the encoder dies and the
// relay goes failed, then plays again when it is back.
func TestIcecastAACAndOgg(t *testing.T) {
	needFFmpeg(t)
	ice := icecasttest.Start(t)
	for _, c := range []struct{ enc, mount, codec string }{
		{"aac", "/tinh.aac", "aac"},
		{"vorbis", "/tinh.ogg", "vorbis"},
		{"opus", "/tinh.opus", "opus"},
	} {
		t.Run(c.enc, func(t *testing.T) {
			feed := ice.FeedAs(t, c.mount, "sine=f=1000:sample_rate=48000", c.enc)
			ice.WaitMount(t, c.mount, 10*time.Second)
			src := Open(context.Background(), Config{URL: ice.URL(c.mount), StallTimeout: 2 * time.Second,
				RetryMax: time.Second, Log: testLog(t)})
			defer src.Close()
			p := startPuller(t, src, 44100)
			waitStats(t, src, 10*time.Second, "playing", func(s Stats) bool { return s.State == Playing })
			// Icecast's burst on connect is 64 KB: for a pure tone in
			// Vorbis/Opus (VBR, a few kB/s) that is many seconds, more
			// than the buffer holds, and the buffer skips to the newest
			// audio while it comes in; the tone is checked after it.
			p.record(500 * time.Millisecond) // the encoder's start, if the relay joined that early
			checkIcecastTone(t, src, p.recordSteady(src, 2*time.Second), 44100)
			// The codec is read from ffmpeg's report, which comes in
			// beside the audio: wait for it.
			waitStats(t, src, 10*time.Second, "the codec named", func(s Stats) bool { return strings.Contains(s.Codec, c.codec) && s.BytesIn > 0 })
			if c.enc != "aac" {
				return
			}
			feed.Kill()
			waitStats(t, src, 10*time.Second, "failed", func(s Stats) bool { return s.State == Failed && s.FailingFor > 0 })
			if err := src.Err(); err == nil {
				t.Error("Err() = nil while failing")
			}
			ice.FeedAs(t, c.mount, "sine=f=1000:sample_rate=48000", c.enc)
			ice.WaitMount(t, c.mount, 10*time.Second)
			waitStats(t, src, 10*time.Second, "playing again", func(s Stats) bool { return s.State == Playing && s.Reconnects >= 1 })
			// The tone is checked once the jitter buffer is full again: a
			// loaded machine may refill it slower than the puller drains.
			waitStats(t, src, 10*time.Second, "the buffer refilled", func(s Stats) bool { return s.State == Playing && s.BufferDepth >= 900*time.Millisecond })
			p.record(500 * time.Millisecond)
			checkIcecastTone(t, src, p.record(2*time.Second), 44100)
		})
	}
}
