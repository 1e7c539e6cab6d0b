package player

import "time"

// MutePrograms keeps scheduled programs (and the streams they relay) off
// the air until `until` (the city's mute and stop_all commands); a zero
// or past time ends a mute. Alerts and live announcements still play:
// they are what a mute must never silence.
func (p *Player) MutePrograms(until time.Time) {
	p.post(func() { p.muteUntil = until })
}

// programsMuted reports whether programs are muted at now.
func (p *Player) programsMuted(now time.Time) bool {
	return now.Before(p.muteUntil)
}
