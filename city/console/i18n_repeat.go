package console

// The words of the training banner, the repeat schedule and the compose
// page's map.
func init() {
	for k, v := range map[string]message{
		"training.banner":          {"Chế độ tập huấn — cảnh báo mặc định là thử nghiệm", "Training mode — alerts default to Test"},
		"alert.repeat.until.title": {"Lặp lại đến khi thay thế hoặc huỷ", "Repeat until replaced or cancelled"},
		"alert.repeat.every":       {"Lặp lại mỗi (giờ)", "Repeat every (hours)"},
		"alert.repeat.until":       {"Đến (ngày, giờ)", "Until (date, time)"},
		"alert.repeat.hint":        {"Theo QĐ 18/2021: phát lại mỗi N giờ cho đến thời điểm kết thúc, khi bị huỷ hoặc có bản tin thay thế. Để trống nếu chỉ phát một lần.", "As QĐ 18/2021 asks: sent again every N hours until the end time, a cancel or an update that replaces it. Leave empty to send once."},
		"alert.repeat.every.text":  {"Lặp lại mỗi {n} giờ đến {until}, hoặc đến khi huỷ / thay thế", "Repeated every {n} hours until {until}, or until cancelled / replaced"},
		"alert.err.every":          {"Lặp lại mỗi: nhập số giờ (từ 0,25 đến 24) / Repeat every: give a number of hours (0.25 to 24)", "Repeat every: give a number of hours (0.25 to 24)"},
		"alert.err.until":          {"Đến: chọn ngày và giờ kết thúc việc lặp lại / Until: choose the date and time the repeats end", "Until: choose the date and time the repeats end"},
		"alert.repeating":          {"Đang lặp lại (huỷ bản tin mới nhất để dừng)", "Repeating (cancel the latest alert to stop)"},
		"alert.repeat.every.short": {"mỗi", "every"},
		"alert.repeat.sent":        {"đã phát", "sent"},
		"alert.repeat.next":        {"lần tới", "next"},
		"alert.series":             {"Thuộc chuỗi lặp lại", "Part of the repeat series"},
		"alert.series.hours":       {"giờ", "h"},
		"alert.series.last":        {"bản mới nhất", "latest"},
		"alert.series.active":      {"đang lặp lại", "repeating"},
		"alert.series.ended":       {"đã kết thúc", "ended"},
		"alert.series.stopped":     {"đã dừng", "stopped"},
		"alert.series.failed":      {"lỗi", "failed"},
		"alert.map":                {"Bản đồ phường", "Map of wards"},
		"alert.map.hint":           {"Bấm vào một điểm để chọn hoặc bỏ chọn phường đó.", "Click a point to tick or untick that ward."},
	} {
		messages[k] = v
	}
}
