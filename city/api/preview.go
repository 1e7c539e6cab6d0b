package api

import "time"

// Preview is what a ward would play over a window, rendered by the
// station's own renderer (Nghe thử).
type Preview struct {
	Ward string    `json:"ward"`
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Rate is the WAV's sample rate (mono, 16-bit).
	Rate int `json:"rate"`
	// Items are what went on air, in order.
	Items []PreviewItem `json:"items"`
	// Peaks are the peak levels (0–1) of PeakCount equal slices of the
	// window, for a waveform.
	Peaks []float64 `json:"peaks"`
	// WAV is the audio itself (not in the JSON: fetched as audio/wav).
	WAV []byte `json:"-"`
	// MP3 is the same audio as MP3 (mono, preview.MP3Bitrate) for a
	// browser on a phone (not in the JSON: fetched as audio/mpeg); nil
	// when the city has no ffmpeg for it.
	MP3 []byte `json:"-"`
}

// PreviewItem is one item of the window's as-run.
type PreviewItem struct {
	Program string    `json:"program"`
	Title   string    `json:"title"`
	Item    string    `json:"item"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Result  string    `json:"result"`
}

// PreviewWindowError is a bad preview window, naming the field (date,
// from, to), in Vietnamese and English.
type PreviewWindowError struct {
	Field  string
	Vi, En string
}

func (e *PreviewWindowError) Error() string { return e.Field + ": " + e.Vi + " (" + e.En + ")" }
