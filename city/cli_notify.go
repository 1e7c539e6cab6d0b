package city

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"loa/city/notify"
)

// loa-city notify show|set: a user's notifications from the command line,
// as GET/PUT /api/v1/me/notifications change them (audited alike).

func cmdNotify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "loa-city notify: want show or set\n\n%s", usage)
		return exitBadArgs
	}
	switch args[0] {
	case "show":
		return cmdNotifyShow(ctx, args[1:], stdout, stderr)
	case "set":
		return cmdNotifySet(ctx, args[1:], stdout, stderr)
	case "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "loa-city notify: unknown command %q\n\n%s", args[0], usage)
	return exitBadArgs
}

func cmdNotifyShow(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCommand("notify show", "USER [--json]", "Where a user is told when a ward in their scope goes wrong, and of what.", stdout, stderr)
	asJSON := c.fs.Bool("json", false, "JSON output")
	pos, city, code := c.parseAndOpen(ctx, args, 1, stderr)
	if city == nil {
		return code
	}
	defer city.Close()
	sub, err := city.NotifySettings().Get(ctx, pos[0])
	if err != nil {
		return failed(stderr, "notify show", err)
	}
	printNotify(stdout, sub, city.NotifySettings().Available(), *asJSON)
	return exitOK
}

func printNotify(w io.Writer, sub notify.Subscription, available []string, asJSON bool) {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(sub)
		return
	}
	none := func(s string) string {
		if s == "" {
			return "—"
		}
		return s
	}
	fmt.Fprintf(w, "người dùng / user:  %s\n", sub.User)
	fmt.Fprintf(w, "e-mail:             %s\n", none(sub.Email))
	fmt.Fprintf(w, "telegram:           %s\n", none(sub.Telegram))
	fmt.Fprintf(w, "webhook:            %s\n", none(sub.Webhook))
	var rules []string
	for _, r := range sub.Rules {
		vi, en := notify.RuleText(r)
		rules = append(rules, fmt.Sprintf("%s (%s / %s)", r, vi, en))
	}
	fmt.Fprintf(w, "quy tắc / rules:    %s\n", none(strings.Join(rules, ", ")))
	fmt.Fprintf(w, "kênh có / channels: %s\n", none(strings.Join(available, ", ")))
}

func cmdNotifySet(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := newCommand("notify set", "USER [--email ADDR] [--telegram CHAT] [--webhook URL] [--rules R,R]",
		"Change where a user is told and of what; a flag not given keeps its value, an empty\none (--email \"\") removes it. Rules: "+strings.Join(notify.Rules, ", ")+" (--rules all: every one;\n--rules \"\": none). The server must be configured for each channel used (notify: in the\nconfiguration file).", stdout, stderr)
	email := c.fs.String("email", "", "e-mail address")
	telegram := c.fs.String("telegram", "", "Telegram chat id (-1001234567 or @channel)")
	webhook := c.fs.String("webhook", "", "webhook URL (http:// or https://)")
	rules := c.fs.String("rules", "", "comma-separated rules, or all")
	pos, city, code := c.parseAndOpen(ctx, args, 1, stderr)
	if city == nil {
		return code
	}
	defer city.Close()
	st := city.NotifySettings()
	sub, err := st.Get(ctx, pos[0])
	if err != nil {
		return failed(stderr, "notify set", err)
	}
	c.fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "email":
			sub.Email = *email
		case "telegram":
			sub.Telegram = *telegram
		case "webhook":
			sub.Webhook = *webhook
		case "rules":
			if strings.TrimSpace(*rules) == "all" {
				sub.Rules = notify.Rules
			} else {
				sub.Rules = splitList(*rules)
			}
		}
	})
	sub, err = st.Put(ctx, pos[0], sub)
	if err != nil {
		return failed(stderr, "notify set", err)
	}
	city.Audit.Record(ctx, "loa-city", "notify.set", pos[0], strings.Join(sub.Rules, ","))
	printNotify(stdout, sub, st.Available(), false)
	return exitOK
}
