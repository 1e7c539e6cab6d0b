package imdct

//go:generate python3 genimdct2.py

// WinLong2 is Win of two subbands of the same long block type (0, 1 or
// 3): in[0:18] into out[0] and in[18:36] into out[1]. On amd64 and arm64
// the two are computed at once, one per vector lane, with the same
// results as Win (TestWinLong2MatchesWin).
func WinLong2(in *[36]float32, blockType int, out *[2][36]float32) {
	winLong2(in, blockType, out)
}

// winLong2W[bt][p] is the window of long block type bt at output p, with
// winStore's sign: negative for p >= 9 (the outputs -lo w and hi w with
// hi = -z), twice (one per lane).
var winLong2W [4][36][2]float32

func fillWinLong2W() {
	for bt := range winLong2W {
		for p := range winLong2W[bt] {
			v := imdctWinData[bt][p]
			if p >= 9 {
				v = -v
			}
			winLong2W[bt][p] = [2]float32{v, v}
		}
	}
}

// winLong2Go is WinLong2 in Go: Win of each subband.
func winLong2Go(in *[36]float32, blockType int, out *[2][36]float32) {
	Win(in[:18], blockType, &out[0])
	Win(in[18:], blockType, &out[1])
}
