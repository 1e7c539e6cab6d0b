// Package agentrender gives the city's preview the agent's offline
// renderer (agent.Render, `loa-agent render`). It lives apart from the
// city package, which cannot import the agent (the agent's tests run a
// city); cmd/loa-city wires it in.
package agentrender

import (
	"context"
	"log/slog"

	"loa/agent"
	"loa/city/preview"
)

// Render renders j with agent.Render, mono.
func Render(ctx context.Context, j preview.Job, log *slog.Logger) error {
	return agent.Render(ctx, agent.RenderOptions{Program: j.Program, From: j.From, Duration: j.Duration, Out: j.Out,
		Rate: j.Rate, Channels: 1, AsRunCSV: j.AsRunCSV, Cache: j.Cache}, log)
}
