package soundcard

/*
#cgo pkg-config: alsa
#include <alsa/asoundlib.h>
#include <stdarg.h>
#include <stdio.h>

extern void loaALSAMessage(char *msg);

static void loa_alsa_error(const char *file, int line, const char *function, int err, const char *fmt, ...) {
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	loaALSAMessage(buf);
}

static void loa_quiet_alsa(void) {
	snd_lib_error_set_handler(loa_alsa_error);
}
*/
import "C"

import (
	"sync"
)

// alsa-lib prints its errors straight to stderr: on a failing device that
// is a few lines per attempt, forever, into the journal. Its messages are
// kept here instead (the last few, and a count); the daemon reports the
// device failure once, with the reason oto gives.
var alsaLog struct {
	sync.Mutex
	count int
	last  []string
}

//export loaALSAMessage
func loaALSAMessage(msg *C.char) {
	s := C.GoString(msg)
	alsaLog.Lock()
	defer alsaLog.Unlock()
	alsaLog.count++
	alsaLog.last = append(alsaLog.last, s)
	if len(alsaLog.last) > 5 {
		alsaLog.last = alsaLog.last[1:]
	}
}

var quietOnce sync.Once

func quietALSA() { quietOnce.Do(func() { C.loa_quiet_alsa() }) }

// ALSAMessages returns how many messages alsa-lib has emitted and the last
// few of them.
func ALSAMessages() (int, []string) {
	alsaLog.Lock()
	defer alsaLog.Unlock()
	return alsaLog.count, append([]string(nil), alsaLog.last...)
}
