package console

// Texts of the notifications page (Thông báo).
func init() {
	for k, m := range map[string]message{
		"notify.title":    {"Thông báo của tôi", "My notifications"},
		"notify.intro":    {"Nhận tin khi một trạm phát trong phạm vi của bạn gặp sự cố, và tin đã khắc phục khi trạm trở lại bình thường.", "Be told when a ward in your scope goes wrong, and again when it has recovered."},
		"notify.rules":    {"Báo khi", "Tell me when"},
		"notify.channels": {"Gửi đến", "Send to"},
		"notify.email":    {"Thư điện tử (e-mail)", "E-mail"},
		"notify.telegram": {"Telegram (mã cuộc trò chuyện hoặc @kênh)", "Telegram (chat id or @channel)"},
		"notify.webhook":  {"Webhook (địa chỉ https://, ví dụ cầu nối Zalo OA)", "Webhook (an https:// URL, e.g. a Zalo OA bridge)"},
		"notify.off":      {"Máy chủ chưa cấu hình kênh này.", "This channel is not configured on the server."},
		"notify.save":     {"Lưu", "Save"},
		"notify.saved":    {"Đã lưu.", "Saved."},
	} {
		messages[k] = m
	}
}
