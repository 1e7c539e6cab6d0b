// Package audio is the station's sound: media in, samples out.
//
// Media enters a station once and is decoded once (Prepare: MP3, WAV,
// FLAC, checked and resampled) into a 16-bit PCM WAV at the station's
// output rate; playout only reads PCM (PCMFile, Sequence). Probe reads
// headers only, to reject bad uploads early and cheaply; Verify decodes
// without writing, for the city's ingest checks.
//
// The Engine mixes clips on the buses of the priority ladder (Bus: a clip
// on a higher bus ducks or mutes those below), with fades, the loudness
// follower of live streams (LevelFollower) and a limiter, and pulls them
// to an Output (sound card, WAV file, nothing) whose sample clock is the
// truth for timing (ClockAnchor). What plays when is the player's
// (player/); the sound card itself is audio/soundcard, relays audio/stream,
// line-in audio/capture, and the DSP and loudness meter audio/dsp,
// audio/loudness.
package audio
