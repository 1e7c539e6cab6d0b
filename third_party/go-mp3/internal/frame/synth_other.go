//go:build (!amd64 && !arm64) || purego

package frame

// synthWindow is synthWindowGo where there is no vector version (or with
// the purego build tag).
func synthWindow(v, w *[16][32]float32, o *[128]byte, set uint32) {
	synthWindowGo(v, w, o, set)
}

// dct32x4 is dct32x4Go where there is no vector version (or with the
// purego build tag).
func dct32x4(d *[576]float32, ss int, y *[32][4]float32) {
	dct32x4Go(d, ss, y)
}
