package console

// The compose page's recording block (templates/alert_new.html,
// static/record.js). The messages shown when the block cannot record
// carry both languages whatever the page's: the person must understand
// why the microphone is not working.
func init() {
	for k, v := range map[string]message{
		"alert.kind.record":  {"Ghi âm", "Recording"},
		"record":             {"Ghi âm", "Record"},
		"record.title":       {"Ghi âm", "Recording"},
		"record.hint":        {"Ghi âm lời cảnh báo bằng micrô của máy này, nghe lại rồi dùng làm nội dung.", "Record the alert with this device's microphone, listen back, then use it as the content."},
		"record.start":       {"Bắt đầu ghi", "Start recording"},
		"record.stop":        {"Dừng", "Stop"},
		"record.again":       {"Ghi lại", "Record again"},
		"record.elapsed":     {"Thời gian ghi", "Recorded time"},
		"record.level":       {"Mức âm thanh micrô", "Microphone level"},
		"record.play":        {"Nghe lại bản ghi", "Listen back"},
		"record.file":        {"Tệp ghi âm", "Recording file"},
		"record.recording":   {"Đang ghi…", "Recording…"},
		"record.ready":       {"Đã ghi %s. Nghe lại, rồi bấm «Kiểm tra và nghe thử»: bản ghi sẽ là nội dung cảnh báo.", "Recorded %s. Listen back, then press «Check and listen»: the recording will be the alert's content."},
		"record.nojs":        {"Cần bật JavaScript để ghi âm / Recording needs JavaScript. Các cách khác vẫn dùng được. / The other sources still work.", "Recording needs JavaScript / Cần bật JavaScript để ghi âm. The other sources still work. / Các cách khác vẫn dùng được."},
		"record.unsupported": {"Trình duyệt này không ghi âm được (không có MediaRecorder hoặc micrô; trang phải mở qua HTTPS) / This browser cannot record (no MediaRecorder or microphone; the page must be opened over HTTPS). Các cách khác vẫn dùng được / The other sources still work.", "This browser cannot record (no MediaRecorder or microphone; the page must be opened over HTTPS) / Trình duyệt này không ghi âm được (không có MediaRecorder hoặc micrô; trang phải mở qua HTTPS). The other sources still work / Các cách khác vẫn dùng được."},
		"record.denied":      {"Không được phép dùng micrô: hãy cho phép micrô cho trang này trong trình duyệt / Microphone permission was refused: allow the microphone for this page in the browser. ", "Microphone permission was refused: allow the microphone for this page in the browser / Không được phép dùng micrô: hãy cho phép micrô cho trang này trong trình duyệt. "},
		"record.nomic":       {"Không mở được micrô / Cannot open the microphone: ", "Cannot open the microphone / Không mở được micrô: "},
		"record.failed":      {"Ghi âm bị lỗi / The recording failed: ", "The recording failed / Ghi âm bị lỗi: "},
		"record.err.none":    {"Chưa có bản ghi: bấm «Bắt đầu ghi», nói, rồi bấm «Dừng». / No recording yet: press Start recording, speak, then Stop.", "No recording yet: press Start recording, speak, then Stop. / Chưa có bản ghi: bấm «Bắt đầu ghi», nói, rồi bấm «Dừng»."},
	} {
		messages[k] = v
	}
}
