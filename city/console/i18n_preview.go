package console

// Texts of the schedule's preview (Nghe thử), the month calendar and
// moving a block.
func init() {
	for k, m := range map[string]message{
		"preview":          {"Nghe thử", "Preview"},
		"preview.back":     {"← Lịch tuần", "← Week"},
		"preview.hint":     {"Nghe đúng những gì phường/xã sẽ phát trong khoảng giờ này (tối đa 2 giờ).", "Hear exactly what the ward will play in this window (at most 2 hours)."},
		"preview.date":     {"Ngày", "Date"},
		"preview.from":     {"Từ", "From"},
		"preview.to":       {"Đến", "To"},
		"preview.render":   {"Nghe thử", "Render"},
		"preview.timeline": {"Trình tự phát", "Timeline"},
		"preview.wave":     {"Dạng sóng âm thanh", "Waveform"},
		"preview.nothing":  {"Không có gì phát trong khoảng này.", "Nothing plays in this window."},
		"move.err.day":     {"Ngày kéo đến không hợp lệ.", "The day it was dropped on is not valid."},
		"move.err.cron":    {"Chương trình này viết bằng cron: hãy sửa trong ô nâng cao của biểu mẫu.", "This program is a cron line: change it in the form's advanced field."},
		"move.err.time":    {"Giờ không hợp lệ.", "Invalid time."},
		"move.hint":        {"Kéo một khối sang ngày/giờ khác để đổi giờ phát.", "Drag a block to another day or hour to change its time."},
		"move.label":       {"Chuyển đến", "Move to"},
		"month":            {"Lịch tháng", "Month"},
		"month.week":       {"Xem tuần", "Week"},
		"month.prev":       {"Tháng trước", "Previous month"},
		"month.next":       {"Tháng sau", "Next month"},
		"month.holiday":    {"Ngày lễ", "Holiday"},
		"month.once":       {"Chương trình một lần", "One-off program"},
		"month.legend":     {"Chương trình một lần và ngày lễ (Tết) trong tháng.", "One-off programs and holidays (Tết) this month."},
	} {
		messages[k] = m
	}
}
