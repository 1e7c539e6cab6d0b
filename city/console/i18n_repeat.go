package console

// The words of the training banner, the repeat schedule and the compose
// page's map.
func init() {
	for k, v := range map[string]message{
		"training.banner": {"Chế độ tập huấn — cảnh báo mặc định là thử nghiệm", "Training mode — alerts default to Test"},
	} {
		messages[k] = v
	}
}
