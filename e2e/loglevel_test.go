package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A bad log.level stops both programs before they do anything, with exit
// status 2 and the field named in Vietnamese and English: the agent used to
// read it as info without a word, while the city refused it.
func TestBadLogLevelRefused(t *testing.T) {
	for _, tc := range []struct {
		prog, conf string
		args       []string
	}{
		{"loa-agent", "log:\n  level: verbose\n", []string{"run", "--config"}},
		{"loa-city", "log:\n  level: verbose\n", []string{"run", "--config"}},
	} {
		t.Run(tc.prog, func(t *testing.T) {
			dir := t.TempDir()
			data := filepath.Join(dir, "data")
			path := filepath.Join(dir, "conf.yaml")
			os.WriteFile(path, []byte("data: "+data+"\n"+tc.conf), 0o600)
			cmd := exec.Command(filepath.Join(bin, tc.prog), append(tc.args, path)...)
			cmd.Env = append(os.Environ(), "LOA_AGENT_CONFIG=")
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 {
				t.Fatalf("exit %v, want status 2; output:\n%s", err, out)
			}
			for _, want := range []string{path, `log.level: "verbose"`, "không phải debug, info, warn hay error", "is not debug, info, warn or error"} {
				if !strings.Contains(string(out), want) {
					t.Errorf("output does not say %q:\n%s", want, out)
				}
			}
			if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the refused start made its data folder: %v", err)
			}
		})
	}
}
