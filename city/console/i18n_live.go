package console

func init() {
	for k, m := range map[string]message{
		"nav.live":       {"Phát trực tiếp", "Live"},
		"live":           {"Phát trực tiếp", "Live broadcast"},
		"live.intro":     {"Nói vào micrô của điện thoại hoặc máy tính; các phường đã chọn phát tiếng của bạn ngay, chương trình đang phát được hạ nhỏ hoặc tắt.", "Speak into your phone's or computer's microphone; the chosen wards play your voice at once, over their program (lowered or muted)."},
		"live.wards":     {"Phường", "Wards"},
		"live.groups":    {"Nhóm", "Groups"},
		"live.all":       {"Tất cả các phường", "All wards"},
		"live.mode":      {"Cách phát", "Mode"},
		"live.duck":      {"Chèn vào (hạ nhỏ chương trình)", "Duck (program lowered)"},
		"live.exclusive": {"Phát riêng (tắt chương trình)", "Exclusive (program muted)"},
		"live.duckdb":    {"Hạ chương trình (dB)", "Lower the program by (dB)"},
		"live.start":     {"Bắt đầu phát", "Start broadcasting"},
		"live.stop":      {"Dừng phát", "Stop"},
		"live.level":     {"Mức micrô", "Microphone level"},
		"live.idle":      {"Chưa phát.", "Not on air."},
		"live.starting":  {"Đang kết nối…", "Connecting…"},
		"live.onair":     {"Đang phát tới %d/%d phường", "On air to %d/%d wards"},
		"live.ended":     {"Đã dừng phát.", "Broadcast ended."},
		"live.nomic":     {"Không mở được micrô: ", "Cannot open the microphone: "},
		"live.https":     {"Trình duyệt chỉ cho dùng micrô qua HTTPS.", "Browsers allow the microphone over HTTPS only."},
		"live.notarget":  {"Chọn ít nhất một phường hoặc nhóm.", "Choose at least one ward or group."},
		"live.forbidden": {"Tài khoản của bạn không được phát trực tiếp.", "Your account may not broadcast live."},
		"live.bad":       {"Yêu cầu phát không hợp lệ.", "Bad live request."},
		"live.bad.to":    {"Trường to (phường/nhóm) không hợp lệ.", "Field to (wards/groups) is not valid."},
		"live.bad.mode":  {"Trường mode: chọn chèn vào hoặc phát riêng.", "Field mode: duck or exclusive."},
		"live.bad.duck":  {"Trường duck_db: từ -60 đến -1 dB.", "Field duck_db: from -60 to -1 dB."},
		"live.failed":    {"Không phát được: %s", "Cannot broadcast: %s"},
		"live.lost":      {"Mất kết nối tới thành phố: đã dừng phát.", "Connection to the city lost: broadcast ended."},
	} {
		messages[k] = m
	}
}
