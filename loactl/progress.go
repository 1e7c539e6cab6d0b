package loactl

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// progressBar draws "name [#####.....]  45%  1.2/2.6 MB" on a terminal,
// at most ten times a second.
type progressBar struct {
	mu    sync.Mutex
	w     io.Writer
	name  string
	total int64
	last  time.Time
	cur   int64
}

func newProgressBar(w io.Writer, name string, total int64) *progressBar {
	b := &progressBar{w: w, name: name, total: total}
	b.draw()
	return b
}

func (b *progressBar) set(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cur = n
	if time.Since(b.last) >= 100*time.Millisecond || n >= b.total {
		b.draw()
	}
}

func (b *progressBar) draw() {
	b.last = time.Now()
	frac := 1.0
	if b.total > 0 {
		frac = min(1, float64(b.cur)/float64(b.total))
	}
	const width = 30
	fill := int(frac * width)
	fmt.Fprintf(b.w, "\r%s [%s%s] %3.0f%%  %.1f/%.1f MB", b.name, strings.Repeat("#", fill), strings.Repeat(".", width-fill),
		frac*100, float64(b.cur)/1e6, float64(b.total)/1e6)
}

// done ends the bar's line.
func (b *progressBar) done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.draw()
	fmt.Fprintln(b.w)
}
