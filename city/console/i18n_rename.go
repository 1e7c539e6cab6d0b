package console

// Texts of renaming a library item's names (Đổi tên).
func init() {
	for k, m := range map[string]message{
		"library.rename":       {"Đổi tên", "Rename"},
		"library.rename.label": {"Tên tệp (chương trình gọi mục bằng tên này)", "File name (programs refer to the item by it)"},
		"library.rename.hint":  {"Không đổi được khi tệp chương trình còn dùng tên này: sửa chương trình trước.", "Refused while a program file uses this name: change the program first."},
		"library.renamed":      {"Đã đổi tên.", "Renamed."},
	} {
		messages[k] = m
	}
}
