package console

// Texts of the stop-everything page (stopall.go).
func init() {
	for k, v := range map[string]message{
		"stopall":               {"Dừng tất cả", "Stop everything"},
		"stopall.what":          {"Huỷ mọi cảnh báo và phát trực tiếp trên các phường đã chọn, và tắt chương trình trong một khoảng thời gian. Lệnh được ký và gửi theo đường riêng, kể cả khi đường cảnh báo bị nghẽn.", "Cancels every alert and live announcement on the chosen wards and mutes their programs for a while. The command is signed and goes its own way, even when the alert stream is backed up."},
		"stopall.to":            {"Phường nhận lệnh", "Wards"},
		"stopall.mute":          {"Tắt chương trình trong", "Mute programs for"},
		"stopall.nomute":        {"Không tắt chương trình", "Do not mute programs"},
		"stopall.sure":          {"Tôi xác nhận dừng tất cả trên các phường đã chọn", "I confirm: stop everything on the chosen wards"},
		"stopall.go":            {"Dừng tất cả", "Stop everything"},
		"stopall.sent":          {"Đã gửi lệnh dừng", "Stop sent"},
		"stopall.wards":         {"phường", "wards"},
		"stopall.done":          {"đã dừng:", "stopped:"},
		"stopall.answer":        {"Trả lời", "Answer"},
		"stopall.waiting":       {"Chờ trả lời", "Waiting"},
		"stopall.refresh":       {"Cập nhật", "Refresh"},
		"stopall.state.done":    {"Đã dừng", "Stopped"},
		"stopall.state.failed":  {"Lỗi", "Failed"},
		"stopall.state.refused": {"Từ chối", "Refused"},
		"stopall.err.sure":      {"Hãy đánh dấu ô xác nhận trước khi dừng tất cả. Chưa gửi gì.", "Tick the confirmation box first. Nothing was sent."},
		"stopall.err.mute":      {"Trường mute: chọn một thời gian trong danh sách. Chưa gửi gì.", "Field mute: pick a time from the list. Nothing was sent."},
		"stopall.err.send":      {"KHÔNG gửi được lệnh dừng / the stop was NOT sent:", "The stop was NOT sent:"},
	} {
		messages[k] = v
	}
}
