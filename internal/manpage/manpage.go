// Package manpage writes a command's manual page (roff, man(7)) from the
// help the command prints, so that the page and --help cannot disagree.
// The packages install one page per program (scripts/package.sh).
package manpage

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Page is one program's manual page.
type Page struct {
	Name    string // the program: loa-agent
	Summary string // one line for NAME (whatis)
	Version string
	Usage   string // the program's own --help
	// Commands are the help of each command, in order.
	Commands []Command
	// SeeAlso names other pages and documents.
	SeeAlso string
}

// Command is one command's --help.
type Command struct {
	Name, Help string
}

// AddCommands adds to p, in name order, the help of every command named in
// titles (a program's command → Vietnamese title map), as help prints it
// for the command's words followed by --help.
func (p *Page) AddCommands(titles map[string]string, help func(args []string) string) {
	names := make([]string, 0, len(titles))
	for n := range titles {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p.Commands = append(p.Commands, Command{Name: n, Help: help(append(strings.Fields(n), "--help"))})
	}
}

// Write writes p as a section 1 manual page. Its date is
// SOURCE_DATE_EPOCH's when set (reproducible packages), else today's.
func Write(w io.Writer, p Page) error {
	date := time.Now().UTC()
	if s, err := strconv.ParseInt(os.Getenv("SOURCE_DATE_EPOCH"), 10, 64); err == nil {
		date = time.Unix(s, 0).UTC()
	}
	var b strings.Builder
	fmt.Fprintf(&b, ".TH %s 1 %s %s %s\n", quote(strings.ToUpper(p.Name)), quote(date.Format("2006-01-02")), quote("loa "+p.Version), quote("loa"))
	fmt.Fprintf(&b, ".SH NAME\n%s \\- %s\n", escape(p.Name), escape(p.Summary))
	b.WriteString(".SH SYNOPSIS\n")
	verbatim(&b, p.Usage)
	if len(p.Commands) > 0 {
		b.WriteString(".SH COMMANDS\n")
		for _, c := range p.Commands {
			fmt.Fprintf(&b, ".SS %s\n", quote(p.Name+" "+c.Name))
			verbatim(&b, c.Help)
		}
	}
	b.WriteString(".SH \"EXIT STATUS\"\n0: ok; 1: failure; 2: bad input (a file, flag or argument).\n")
	if p.SeeAlso != "" {
		fmt.Fprintf(&b, ".SH \"SEE ALSO\"\n%s\n", escape(p.SeeAlso))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// verbatim writes text as it is printed on a terminal: no filling, no
// hyphenation.
func verbatim(b *strings.Builder, text string) {
	b.WriteString(".nf\n.nh\n")
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		line = strings.ReplaceAll(line, "\t", "        ")
		if line == "" {
			b.WriteString(".sp\n")
			continue
		}
		b.WriteString(escape(line) + "\n")
	}
	b.WriteString(".fi\n.hy\n")
}

// escape makes a line of text safe as roff text: backslashes, and a
// leading dot or quote that roff would take for a request.
func escape(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// quote makes a request's argument.
func quote(s string) string {
	return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\e`), `"`, `\(dq`) + `"`
}

// requestLine is what a roff line starting with a dot may be in a page
// Write makes: the requests it writes, nothing from the help text.
var requestLine = regexp.MustCompile(`^\.(TH|SH|SS|nf|fi|nh|hy|sp)( |$)`)

// Problems lists what is wrong with roff, a page of program written by
// Write with commands titled as in titles: a bad header, a command or
// title missing, a help line roff would take for a request. The programs'
// tests check their own pages with it.
func Problems(roff, program string, titles map[string]string) []string {
	var bad []string
	if !strings.HasPrefix(roff, `.TH "`+strings.ToUpper(program)+`" 1 `) || !strings.Contains(roff, "\n.SH NAME\n"+escape(program)+` \- `) {
		bad = append(bad, fmt.Sprintf("manpage header:\n%.300s", roff))
	}
	for name, title := range titles {
		if !strings.Contains(roff, ".SS \""+program+" "+name+"\"\n") || !strings.Contains(roff, strings.ReplaceAll(title, "-", `\-`)) {
			bad = append(bad, fmt.Sprintf("manpage lacks %q (%s)", name, title))
		}
	}
	for _, line := range strings.Split(roff, "\n") {
		if strings.HasPrefix(line, ".") && !requestLine.MatchString(line) {
			bad = append(bad, fmt.Sprintf("a line roff takes for a request: %q", line))
		}
	}
	return bad
}
