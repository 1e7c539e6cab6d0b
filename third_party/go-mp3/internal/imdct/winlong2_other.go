//go:build (!amd64 && !arm64) || purego

package imdct

func winLong2(in *[36]float32, blockType int, out *[2][36]float32) {
	winLong2Go(in, blockType, out)
}
