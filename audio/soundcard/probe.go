package soundcard

/*
#cgo pkg-config: alsa
#include <alsa/asoundlib.h>

// loa_probe opens the default PCM for playback without blocking and asks
// it for what oto will ask (interleaved float32 frames, the channel count,
// the rate, resampling allowed), without applying anything. It returns 0,
// or the negative ALSA error and, in *step, the call that failed.
static int loa_probe(unsigned int rate, unsigned int channels, int *step) {
	snd_pcm_t *h;
	snd_pcm_hw_params_t *p;
	unsigned int r = rate;
	int err;
	*step = 0;
	err = snd_pcm_open(&h, "default", SND_PCM_STREAM_PLAYBACK, SND_PCM_NONBLOCK);
	if (err < 0) return err;
	snd_pcm_hw_params_alloca(&p);
	if ((err = snd_pcm_hw_params_any(h, p)) < 0) { *step = 1; goto out; }
	if ((err = snd_pcm_hw_params_set_access(h, p, SND_PCM_ACCESS_RW_INTERLEAVED)) < 0) { *step = 2; goto out; }
	if ((err = snd_pcm_hw_params_set_format(h, p, SND_PCM_FORMAT_FLOAT_LE)) < 0) { *step = 3; goto out; }
	if ((err = snd_pcm_hw_params_set_channels(h, p, channels)) < 0) { *step = 4; goto out; }
	if ((err = snd_pcm_hw_params_set_rate_resample(h, p, 1)) < 0) { *step = 5; goto out; }
	if ((err = snd_pcm_hw_params_set_rate_near(h, p, &r, NULL)) < 0) { *step = 6; goto out; }
out:
	snd_pcm_close(h);
	return err;
}
*/
import "C"

import (
	"fmt"
	"os"
)

// DeviceError is a sound card that Probe found unusable. oto was not
// touched, so the same process may probe again and open the card once it
// is there.
type DeviceError struct {
	Call   string // the ALSA call that failed
	Reason string // ALSA's words
}

func (e *DeviceError) Error() string {
	return fmt.Sprintf("sound card: the default ALSA device: %s: %s", e.Call, e.Reason)
}

var probeSteps = []string{"snd_pcm_open", "snd_pcm_hw_params_any", "snd_pcm_hw_params_set_access",
	"snd_pcm_hw_params_set_format FLOAT_LE", "snd_pcm_hw_params_set_channels", "snd_pcm_hw_params_set_rate_resample",
	"snd_pcm_hw_params_set_rate_near"}

// Probe checks that the default ALSA device opens for playback and takes
// what Open will ask of it.
//
// Why before oto: when the default device does not open, oto tries every
// PCM alsa-lib knows of, one after the other — jack, pulse, oss, upmix... —
// and the jack plugin's libjack prints five lines to standard error that
// no ALSA error handler catches ("Cannot connect to server socket", "jack
// server is not running or cannot be started", ...), at every start. It
// may also open a device nobody chose. And oto's one context per process
// would be spent: only a new process could try again. Probing first keeps
// oto to the device the station is configured for, keeps the journal
// quiet, and lets the daemon wait for a card in the same process.
func Probe(rate, channels int) error {
	quietALSA()
	// Should the default device be JACK after all, its client must not
	// start a JACK server of its own as the loa user.
	if os.Getenv("JACK_NO_START_SERVER") == "" {
		os.Setenv("JACK_NO_START_SERVER", "1")
	}
	var step C.int
	if err := C.loa_probe(C.uint(rate), C.uint(channels), &step); err < 0 {
		return &DeviceError{Call: probeSteps[int(step)], Reason: C.GoString(C.snd_strerror(err))}
	}
	return nil
}
