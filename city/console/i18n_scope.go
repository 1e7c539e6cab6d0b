package console

// Texts of scoped users: the refusal page and the users page's scope
// editor.
func init() {
	for k, m := range map[string]message{
		"scope.refused":       {"Phường/xã này ngoài phạm vi được giao cho bạn. Không có gì thay đổi.", "This ward is outside the scope you were given. Nothing changed."},
		"scope":               {"Phạm vi", "Scope"},
		"scope.refused.title": {"Ngoài phạm vi", "Outside your scope"},
		"scope.all":           {"Cả thành phố", "The whole city"},
		"scope.wards":         {"Phường/xã", "Wards"},
		"scope.groups":        {"Nhóm", "Groups"},
		"scope.edit":          {"Đặt phạm vi", "Set the scope"},
		"scope.save":          {"Lưu phạm vi", "Save the scope"},
		"scope.hint":          {"Không chọn gì: cả thành phố. Quản trị viên luôn quản lý cả thành phố.", "Nothing ticked: the whole city. An admin is always city-wide."},
		"scope.of":            {"Phạm vi của", "Scope of"},
		"scope.saved":         {"Đã lưu phạm vi của", "Saved the scope of"},
		"scope.noplaces":      {"Chưa có phường/xã nào.", "No wards yet."},
	} {
		messages[k] = m
	}
}
