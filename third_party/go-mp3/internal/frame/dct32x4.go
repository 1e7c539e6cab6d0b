package frame

//go:generate python3 gendct32x4.py

// dct32x4Go is dct32x4 in Go: dct32Flat of the four time samples
// ss..ss+3 of the 32 subbands in d, y[k][lane] = X[k].
func dct32x4Go(d *[576]float32, ss int, y *[32][4]float32) {
	for l := 0; l < 4; l++ {
		var x, X [32]float32
		for j := range x {
			x[j] = d[j*18+ss+l]
		}
		dct32Flat(&x, &X)
		for k, v := range X {
			y[k][l] = v
		}
	}
}
