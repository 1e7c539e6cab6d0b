package city_test

import (
	"fmt"
	"strings"
	"testing"

	"loa/schedule"
)

// The city takes program files with the limits the wards have
// (schedule.MaxPrograms and the others), reported the same way; a file
// over the size limit is refused before it is read.
func TestProgramLoadLimits(t *testing.T) {
	c, _ := programCity(t)
	var many strings.Builder
	many.WriteString("programs:\n")
	for i := 0; i <= schedule.MaxPrograms; i++ {
		fmt.Fprintf(&many, "  - id: p%d\n    cron: \"%d %d * * *\"\n    items: [ban-tin.wav]\n", i, i%60, (i/60)%24)
	}
	long := "programs:\n  - id: dai\n    cron: \"0 6 * * *\"\n    items:\n" + strings.Repeat("      - ban-tin.wav\n", schedule.MaxItems+1)
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"too many programs", many.String(), []string{fmt.Sprintf("nhieu.yaml:%d: quá nhiều chương trình / too many programs: %d, at most %d in a file",
			2+3*schedule.MaxPrograms, schedule.MaxPrograms+1, schedule.MaxPrograms)}},
		{"too many items", long, []string{fmt.Sprintf("nhieu.yaml:%d: items: quá nhiều tệp / too many media: %d, at most %d in a program",
			5+schedule.MaxItems, schedule.MaxItems+1, schedule.MaxItems)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sameStrings(t, "errors", loadErrors(t, c, "all", "nhieu.yaml", tc.yaml), tc.want)
		})
	}
	big := "programs:\n" + strings.Repeat("#"+strings.Repeat("x", 1023)+"\n", schedule.MaxFileSize/1024)
	if status, body := c.LoadPrograms(t, "all", "lon.yaml", big); status != 413 {
		t.Errorf("a file over %d bytes: %d %s, want 413", schedule.MaxFileSize, status, body)
	}
	if status, _, _ := c.Do(t, "GET", "/api/v1/programs/all", c.Operator, nil); status != 404 {
		t.Errorf("programs of all after refused loads: %d", status)
	}
}
