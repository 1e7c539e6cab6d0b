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
	} {
		messages[k] = m
	}
}
