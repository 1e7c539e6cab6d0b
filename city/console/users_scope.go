package console

import (
	"slices"
	"sort"
	"strings"

	"loa/city/api"
)

// scopeRow adds a user's scope to their row of the users page: the text
// the list shows, and the boxes of the editor (every group and every
// ward, ticked when in the scope). An admin has no editor: always
// city-wide.
func scopeRow(l Lang, row userRow, wards []api.Ward) userRow {
	sc := row.Scope
	if sc.CityWide() {
		row.ScopeText = T(l, "scope.all")
	} else {
		var parts []string
		if len(sc.Groups) > 0 {
			parts = append(parts, T(l, "scope.groups")+": "+strings.Join(sc.Groups, ", "))
		}
		if len(sc.Wards) > 0 {
			var names []string
			for _, id := range sc.Wards {
				names = append(names, wardLabel(id, wards))
			}
			parts = append(parts, T(l, "scope.wards")+": "+strings.Join(names, ", "))
		}
		row.ScopeText = strings.Join(parts, " · ")
	}
	if row.Role == "admin" {
		return row
	}
	groups := map[string]bool{}
	for _, w := range wards {
		for _, g := range w.Groups {
			groups[g] = true
		}
		row.ScopeWards = append(row.ScopeWards, option{w.ID, wardName(w), slices.Contains(sc.Wards, w.ID)})
	}
	names := make([]string, 0, len(groups))
	for g := range groups {
		names = append(names, g)
	}
	sort.Strings(names)
	for _, g := range names {
		row.ScopeGroups = append(row.ScopeGroups, option{g, g, slices.Contains(sc.Groups, g)})
	}
	return row
}

// wardLabel is a ward's name as people write it, else its id.
func wardLabel(id string, wards []api.Ward) string {
	for _, w := range wards {
		if w.ID == id {
			return wardName(w)
		}
	}
	return id
}
