package library

import (
	"context"
	"os/exec"
	"time"
)

// childCommand is exec.CommandContext for the programs loa-city runs (ffmpeg,
// ffprobe, espeak-ng): the child is killed when ctx ends, and with
// loa-city itself when the city dies (see tieToParent), so no transcode
// outlives the city that wanted it.
func childCommand(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	tieToParent(cmd)
	// After a kill, do not wait long for output pipes a grandchild holds.
	cmd.WaitDelay = 5 * time.Second
	return cmd
}
