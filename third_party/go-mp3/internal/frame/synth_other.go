//go:build (!amd64 && !arm64) || purego

package frame

// synthWindow is synthWindowGo where there is no vector version (or with
// the purego build tag).
func synthWindow(v, w *[16][32]float32, out *[32]int16) {
	synthWindowGo(v, w, out)
}
