package city_test

import (
	"context"
	"strings"
	"testing"

	"loa/city"
	"loa/city/audit"
)

// TestUserScopeCommands: a user added scoped, re-scoped and made
// city-wide again; bad names refused with an error naming the field, in
// Vietnamese and English, and nothing changed; every change audited.
func TestUserScopeCommands(t *testing.T) {
	cfg := writeConfig(t, "data: DIR/data\nlisten: 127.0.0.1:0\nlog:\n  level: warn\n")
	for _, w := range [][]string{{"ben-nghe", "quan-1"}, {"da-kao", "quan-1"}, {"vo-thi-sau", "quan-3"}} {
		if code, _, errs := runMain(t, "ward", "add", w[0], "--group", w[1], "--config", cfg); code != 0 {
			t.Fatalf("ward add %s: %s", w[0], errs)
		}
	}
	if code, _, errs := runMain(t, "user", "add", "lan", "--role", "operator", "--groups", "quan-1", "--config", cfg); code != 0 {
		t.Fatalf("user add --groups: %s", errs)
	}
	_, out, _ := runMain(t, "user", "list", "--config", cfg)
	if !strings.Contains(out, "SCOPE") || !strings.Contains(out, "groups quan-1") {
		t.Errorf("user list: %q", out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"user", "add", "mai", "--role", "operator", "--wards", "ben-nghe,nowhere"}, "--wards"},
		{[]string{"user", "add", "mai", "--role", "technician", "--groups", "quan-9"}, "--groups"},
		{[]string{"user", "add", "boss", "--role", "admin", "--groups", "quan-1"}, "admin"},
		{[]string{"user", "scope", "lan", "--wards", "Ben Nghe"}, "--wards"},
		{[]string{"user", "scope", "lan"}, "--all"},
		{[]string{"user", "scope", "lan", "--all", "--groups", "quan-3"}, "--all"},
		{[]string{"user", "scope", "nobody", "--groups", "quan-3"}, "nobody"},
	} {
		code, _, errs := runMain(t, append(tc.args, "--config", cfg)...)
		if code != 2 || !strings.Contains(errs, tc.want) || !strings.Contains(errs, " / ") {
			t.Errorf("%v: exit %d, stderr %q; want 2 with %q in both languages", tc.args, code, errs, tc.want)
		}
	}
	_, out, _ = runMain(t, "user", "list", "--json", "--config", cfg)
	if strings.Contains(out, "mai") || strings.Contains(out, "boss") || !strings.Contains(out, `"quan-1"`) || strings.Contains(out, "ben-nghe") {
		t.Errorf("after refusals: %s", out)
	}
	if code, out, errs := runMain(t, "user", "scope", "lan", "--wards", "vo-thi-sau,ben-nghe", "--config", cfg); code != 0 || !strings.Contains(out, "ben-nghe,vo-thi-sau") {
		t.Fatalf("user scope: %d %q %s", code, out, errs)
	}
	if code, out, _ := runMain(t, "user", "scope", "lan", "--all", "--config", cfg); code != 0 || !strings.Contains(out, "whole city") {
		t.Fatalf("user scope --all: %q", out)
	}

	ctx := context.Background()
	conf, err := city.LoadConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := city.Open(ctx, conf, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rows, err := c.Audit.List(ctx, audit.Filter{Action: "user."})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range rows {
		got = append(got, e.Action+" "+e.Target+" "+e.Detail)
	}
	want := []string{"user.scope lan all", "user.scope lan wards ben-nghe,vo-thi-sau", "user.add lan role operator scope groups quan-1"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("audit:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
