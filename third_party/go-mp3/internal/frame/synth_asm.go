//go:build (amd64 || arm64) && !purego

package frame

// synthWindow is synthWindowGo with vector instructions: SSE2 on amd64
// (the amd64 baseline: no feature check), NEON on arm64 (part of the
// arm64 baseline). Same bits as synthWindowGo (TestSynthWindowMatchesGo).
//
//go:noescape
func synthWindow(v, w *[16][32]float32, out *[32]int16)
