package alerting

import (
	"context"

	"loa/alert"
)

// testPrefix makes a Test or Exercise alert sound different from a real
// one: the city speaks alert_rules.test_prefix ("Đây là bản tin thử
// nghiệm.") before its content, in the alert's voice, when the alert is
// built, so a ward plays what it receives and needs no change. A stream
// alert has no audio of the city's to prefix and is left as it is.
func (s *Service) testPrefix(ctx context.Context, a *alert.Alert, by string) error {
	if a.Status == alert.StatusActual || s.cfg.TestPrefix == "" || a.Content.Media == nil {
		return nil
	}
	voice, speed := a.Content.Voice, a.Content.Speed
	if voice == "" {
		voice = defaultVoice
	}
	if speed == 0 {
		speed = defaultSpeed
	}
	m, err := s.media.SpeakBefore(ctx, a.ID, s.cfg.TestPrefix, voice, speed, a.Content.Media.SHA256, by)
	if err != nil {
		return err
	}
	a.Content.Media = mediaRef(m)
	return nil
}
