package city

import (
	"context"
	"fmt"
	"io"
)

// cmdNATS is `loa-city nats config`.
func cmdNATS(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "config" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprint(stdout, usage)
			return exitOK
		}
		fmt.Fprintf(stderr, "loa-city nats: want config\n\n%s", usage)
		return exitBadArgs
	}
	c := newCommand("nats config", "[--config FILE]", "Print the authorization block of an external NATS server or cluster (nats.url):\nthe city's user with every right, and each ward's user bound to its own subjects\n(docs/nats.md). Include it in nats-server.conf and reload the server after adding\na ward or re-issuing its key.", stdout, stderr)
	if _, code, ok := c.parse(args[1:], 0); !ok {
		return code
	}
	city, code := c.open(ctx, stderr)
	if city == nil {
		return code
	}
	defer city.Close()
	conf, err := city.NATSAuthorization(ctx)
	if err != nil {
		return failed(stderr, "nats config", err)
	}
	fmt.Fprint(stdout, conf)
	return exitOK
}

// cmdWardKey is `loa-city ward key ID`.
func cmdWardKey(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCommand("ward key", "ID", "Give a ward a new NATS key and print it, once (a lost or stolen ward): the old\nkey stops working. Put it in the ward's configuration (city.nats_key). With an\nexternal NATS server, run loa-city nats config again and reload the server.", stdout, stderr)
	pos, city, code := c.parseAndOpen(ctx, args, 1, stderr)
	if city == nil {
		return code
	}
	defer city.Close()
	seed, err := city.IssueWardKey(ctx, pos[0])
	if err != nil {
		return failed(stderr, "ward key", err)
	}
	fmt.Fprintf(stdout, "ward %s: its new NATS key (city.nats_key; shown only this once):\n%s\n", pos[0], seed)
	return exitOK
}
