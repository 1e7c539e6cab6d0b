package console

import (
	"net/http"
	"strings"
)

// Lang is the language of a page: Vietnamese first, English on request.
type Lang string

const (
	Vietnamese Lang = "vi"
	English    Lang = "en"
)

// langCookie keeps the reader's choice of language for a year.
const langCookie = "loa_lang"

// langOf is the page's language: the reader's choice if they made one,
// else Vietnamese. The browser's Accept-Language is not consulted: a
// commune official's phone is often set to English while she reads the
// station in Vietnamese.
func langOf(r *http.Request) Lang {
	if c, err := r.Cookie(langCookie); err == nil && c.Value == string(English) {
		return English
	}
	return Vietnamese
}

// message is one text of the console in both languages.
type message struct{ vi, en string }

// messages are the console's words (GLOSSARY.md). A key missing here is a
// bug that TestEveryTemplateKeyTranslated catches.
var messages = map[string]message{
	"console":                {"Bảng điều khiển", "Console"},
	"station":                {"Đài truyền thanh", "Broadcast station"},
	"login":                  {"Đăng nhập", "Log in"},
	"logout":                 {"Đăng xuất", "Log out"},
	"logout.all":             {"Đăng xuất mọi nơi", "Log out everywhere"},
	"user":                   {"Tên đăng nhập", "User name"},
	"password":               {"Mật khẩu", "Password"},
	"login.failed":           {"Sai tên đăng nhập hoặc mật khẩu.", "Wrong user name or password."},
	"login.locked":           {"Đăng nhập sai quá nhiều lần. Thử lại sau %d phút.", "Too many failed log-ins. Try again in %d min."},
	"login.hint":             {"Tài khoản do quản trị viên tạo (loa-city user add).", "Accounts are created by an administrator (loa-city user add)."},
	"nav.home":               {"Tổng quan", "Overview"},
	"nav.library":            {"Thư viện", "Library"},
	"nav.programs":           {"Chương trình", "Programs"},
	"nav.alerts":             {"Cảnh báo", "Alerts"},
	"nav.fleet":              {"Trạm phát", "Stations"},
	"nav.audit":              {"Nhật ký thao tác", "Audit log"},
	"lang.switch":            {"English", "Tiếng Việt"},
	"role":                   {"Vai trò", "Role"},
	"forbidden":              {"Bạn không có quyền làm việc này.", "You may not do this."},
	"csrf":                   {"Yêu cầu không hợp lệ (trang đã cũ hoặc đến từ trang khác). Hãy tải lại trang.", "Invalid request (the page is old or came from another site). Reload the page."},
	"notfound":               {"Không có trang này.", "No such page."},
	"error.internal":         {"Lỗi máy chủ; xem nhật ký của loa-city.", "Server error; see loa-city's log."},
	"skip":                   {"Bỏ qua đến nội dung", "Skip to content"},
	"library.edit":           {"Sửa / xoá", "Edit / delete"},
	"library.delete":         {"Xoá khỏi thư viện", "Delete from the library"},
	"library.delete.hint":    {"Không xoá được khi chương trình hay cảnh báo còn dùng.", "Refused while a program or an alert uses it."},
	"library.retitled":       {"Đã đổi tiêu đề.", "Title changed."},
	"library.deleted":        {"Đã xoá.", "Deleted."},
	"home.wards":             {"Các đài phường/xã", "Ward stations"},
	"home.unknown":           {"Chưa có tín hiệu", "Not heard yet"},
	"home.insync":            {"đã đồng bộ", "in sync"},
	"home.outsync":           {"Chưa đồng bộ", "out of sync"},
	"home.seen":              {"lần cuối", "last seen"},
	"home.quick":             {"Việc thường làm", "Common tasks"},
	"ago.now":                {"vừa xong", "just now"},
	"ago.min":                {"phút trước", "min ago"},
	"ago.hour":               {"giờ trước", "h ago"},
	"ago.day":                {"ngày trước", "days ago"},
	"nav.users":              {"Tài khoản", "Accounts"},
	"role.admin":             {"Quản trị viên", "Administrator"},
	"role.operator":          {"Biên tập viên", "Operator"},
	"role.alerter":           {"Người soạn cảnh báo", "Alert issuer"},
	"role.technician":        {"Kỹ thuật viên", "Technician"},
	"users.add":              {"Thêm tài khoản", "Add an account"},
	"users.onetime":          {"Mật khẩu dùng một lần cho", "One-time password for"},
	"users.onetime.hint":     {"Chỉ hiện một lần. Người dùng phải đổi mật khẩu này khi đăng nhập lần đầu.", "Shown once. The user must change it at the first log-in."},
	"users.disabled":         {"đã khoá", "disabled"},
	"users.nopassword":       {"chưa có mật khẩu", "no password"},
	"users.reset":            {"Cấp lại mật khẩu", "Reset password"},
	"users.disable":          {"Khoá", "Disable"},
	"users.enable":           {"Mở khoá", "Enable"},
	"users.err.self":         {"Không thể tự khoá tài khoản của mình. / You cannot disable yourself.", "You cannot disable yourself. / Không thể tự khoá tài khoản của mình."},
	"password.change":        {"Đổi mật khẩu", "Change password"},
	"password.old":           {"Mật khẩu hiện tại", "Current password"},
	"password.new":           {"Mật khẩu mới", "New password"},
	"password.again":         {"Nhập lại mật khẩu mới", "New password again"},
	"password.hint":          {"Ít nhất 10 ký tự; nên dùng một câu dễ nhớ.", "At least 10 characters; a memorable sentence is best."},
	"password.done":          {"Đã đổi mật khẩu.", "Password changed."},
	"password.err.again":     {"Hai lần nhập mật khẩu mới không khớp.", "The two new passwords differ."},
	"password.err.old":       {"Mật khẩu hiện tại không đúng.", "The current password is wrong."},
	"audit.actor":            {"Người thực hiện", "Who"},
	"audit.action":           {"Thao tác (đầu chuỗi)", "Action (prefix)"},
	"audit.since":            {"Từ ngày", "From"},
	"audit.until":            {"Đến ngày", "To"},
	"audit.none":             {"Không có thao tác nào.", "No changes."},
	"audit.more":             {"Cũ hơn", "Older"},
	"cancel":                 {"Huỷ", "Cancel"},
	"day.mon":                {"Thứ Hai", "Monday"},
	"day.tue":                {"Thứ Ba", "Tuesday"},
	"day.wed":                {"Thứ Tư", "Wednesday"},
	"day.thu":                {"Thứ Năm", "Thursday"},
	"day.fri":                {"Thứ Sáu", "Friday"},
	"day.sat":                {"Thứ Bảy", "Saturday"},
	"day.sun":                {"Chủ nhật", "Sunday"},
	"day.mon.short":          {"T2", "Mon"},
	"day.tue.short":          {"T3", "Tue"},
	"day.wed.short":          {"T4", "Wed"},
	"day.thu.short":          {"T5", "Thu"},
	"day.fri.short":          {"T6", "Fri"},
	"day.sat.short":          {"T7", "Sat"},
	"day.sun.short":          {"CN", "Sun"},
	"day.every":              {"Hằng ngày", "Every day"},
	"target.all":             {"Toàn thành phố", "Whole city"},
	"target.group":           {"Nhóm", "Group"},
	"target.ward":            {"Phường/xã", "Ward"},
	"schedule.ward":          {"Phường/xã", "Ward"},
	"schedule.show":          {"Xem", "Show"},
	"schedule.week":          {"Tuần từ", "Week of"},
	"schedule.prev":          {"Tuần trước", "Previous week"},
	"schedule.next":          {"Tuần sau", "Next week"},
	"schedule.files":         {"Tệp chương trình áp dụng cho phường này", "Program files this ward plays"},
	"schedule.nofile":        {"Chưa có chương trình.", "No programs yet."},
	"schedule.nowards":       {"Chưa có phường/xã nào (loa-city ward add).", "No wards yet (loa-city ward add)."},
	"program.form":           {"Chương trình", "Program"},
	"program.add":            {"Thêm chương trình", "Add a program"},
	"program.edit":           {"Sửa", "Edit"},
	"program.delete":         {"Xoá", "Delete"},
	"program.save":           {"Lưu", "Save"},
	"program.title":          {"Tên chương trình", "Title"},
	"program.target":         {"Áp dụng cho", "Applies to"},
	"program.when":           {"Thời gian phát", "When"},
	"program.weekly":         {"Hằng tuần", "Weekly"},
	"program.once":           {"Một lần (theo ngày)", "Once (on a date)"},
	"program.cron":           {"Nâng cao (cron)", "Advanced (cron)"},
	"program.days":           {"Các ngày trong tuần", "Days of the week"},
	"program.at":             {"Giờ bắt đầu", "Start time"},
	"program.date":           {"Ngày (phát một lần)", "Date (once)"},
	"program.cron.field":     {"Dòng cron (chỉ khi chọn Nâng cao)", "Cron line (Advanced only)"},
	"program.items":          {"Các bản tin, theo thứ tự (mỗi dòng một tên trong thư viện)", "Items, in order (one library name per line)"},
	"program.items.hint":     {"Tên như trong Thư viện, ví dụ ban-tin-sang.mp3.", "Names as in the Library, e.g. ban-tin-sang.mp3."},
	"program.chime":          {"Nhạc hiệu (không bắt buộc)", "Chime (optional)"},
	"program.volume":         {"Âm lượng % (không bắt buộc)", "Volume % (optional)"},
	"program.priority":       {"Mức ưu tiên", "Priority"},
	"priority.normal":        {"Bản tin thông thường", "Normal bulletin"},
	"priority.urgent":        {"Bản tin ưu tiên", "Priority bulletin"},
	"program.relay.section":  {"Tiếp sóng (VOV, đài tỉnh)", "Relay (VOV, provincial radio)"},
	"program.relay":          {"Địa chỉ luồng", "Stream URL"},
	"program.duration":       {"Thời lượng (ví dụ 30m)", "Duration (e.g. 30m)"},
	"program.fallback":       {"Phát thay khi mất sóng (mỗi dòng một tên)", "Fallback when the stream fails (one name per line)"},
	"program.export":         {"Tải tệp YAML", "Download the YAML file"},
	"program.import":         {"Nạp tệp YAML (thay cả tệp)", "Load a YAML file (replaces the whole file)"},
	"program.import.send":    {"Nạp", "Load"},
	"program.imported":       {"Đã nạp", "Loaded"},
	"program.err.title":      {"Cần tên chương trình.", "A title is needed."},
	"program.err.target":     {"Nơi áp dụng không hợp lệ.", "Not a target of this ward."},
	"program.err.days":       {"Chọn ít nhất một ngày.", "Choose at least one day."},
	"program.err.at":         {"Giờ không hợp lệ (HH:MM, ví dụ 05:30).", "Not a time (HH:MM, e.g. 05:30)."},
	"program.err.date":       {"Ngày không hợp lệ.", "Not a date."},
	"program.err.cron":       {"Cần dòng cron.", "A cron line is needed."},
	"program.err.kind":       {"Chọn cách phát.", "Choose when it plays."},
	"program.err.items":      {"Cần ít nhất một bản tin (hoặc một luồng tiếp sóng).", "At least one item is needed (or a relay)."},
	"program.err.relayitems": {"Tiếp sóng thì không kèm bản tin; dùng ô Phát thay.", "A relay has no items; use the fallback field."},
	"program.err.duration":   {"Cần thời lượng hợp lệ (ví dụ 30m, 1h30m).", "A valid duration is needed (e.g. 30m, 1h30m)."},
	"program.err.volume":     {"Âm lượng từ 1 đến 100.", "Volume is 1 to 100."},
	"program.err.priority":   {"Mức ưu tiên không hợp lệ.", "Unknown priority."},
	"program.err.overlap":    {"Trùng giờ với chương trình khác; không lưu gì. /", "Overlaps another program; nothing saved. /"},
	"program.err.media":      {"Không tìm thấy trong thư viện. /", "Not in the library. /"},
	"program.err.file":       {"Tệp chương trình có lỗi; không lưu gì. /", "The program file has problems; nothing saved. /"},
	"program.err.import":     {"Chưa chọn tệp, hoặc nơi áp dụng không hợp lệ.", "No file chosen, or not a target of this ward."},
	"speak":                  {"Đọc văn bản", "Text to speech"},
	"speak.text":             {"Văn bản", "Text"},
	"speak.text.hint":        {"Dán hoặc gõ bản tin, ví dụ: UBND P. Bến Nghé thông báo lúc 5h30 ngày 14/9…", "Paste or type the bulletin, e.g. UBND P. Bến Nghé thông báo lúc 5h30 ngày 14/9…"},
	"speak.voice":            {"Giọng đọc", "Voice"},
	"speak.voice.north":      {"Giọng Bắc", "Northern voice"},
	"speak.voice.central":    {"Giọng Trung", "Central voice"},
	"speak.voice.south":      {"Giọng Nam", "Southern voice"},
	"speak.speed":            {"Tốc độ", "Speed"},
	"speak.speed.slow":       {"Chậm (130 từ/phút)", "Slow (130 words/min)"},
	"speak.speed.normal":     {"Vừa (150 từ/phút)", "Normal (150 words/min)"},
	"speak.speed.fast":       {"Nhanh (170 từ/phút)", "Fast (170 words/min)"},
	"speak.preview":          {"Nghe thử", "Preview"},
	"speak.spoken":           {"Sẽ đọc là", "Will be read as"},
	"speak.expanded":         {"Các từ đã được đọc thành chữ", "Words expanded"},
	"speak.save":             {"Lưu vào thư viện", "Save to the library"},
	"speak.title":            {"Tiêu đề (cần để lưu)", "Title (needed to save)"},
	"speak.name":             {"Tên tệp (để trống: lấy theo tiêu đề)", "File name (empty: from the title)"},
	"speak.err.empty":        {"Chưa có văn bản. / No text.", "No text. / Chưa có văn bản."},
	"speak.err.long":         {"Văn bản quá dài (tối đa 20.000 ký tự). / Text too long (at most 20,000 characters).", "Text too long (at most 20,000 characters). / Văn bản quá dài (tối đa 20.000 ký tự)."},
	"speak.err.voice":        {"Giọng đọc không hợp lệ. / Unknown voice.", "Unknown voice. / Giọng đọc không hợp lệ."},
	"speak.err.speed":        {"Tốc độ không hợp lệ. / Unknown speed.", "Unknown speed. / Tốc độ không hợp lệ."},
	"speak.err.title":        {"Cần tiêu đề để lưu vào thư viện. / A title is needed to save.", "A title is needed to save. / Cần tiêu đề để lưu vào thư viện."},
	"speak.err.gone":         {"Bản nghe thử đã hết hạn; bấm Nghe thử lần nữa. / The preview expired; preview again.", "The preview expired; preview again. / Bản nghe thử đã hết hạn; bấm Nghe thử lần nữa."},
	"library.upload":         {"Tải lên", "Upload"},
	"library.pick":           {"Chọn tệp âm thanh hoặc kéo thả vào đây (được chọn nhiều tệp)", "Choose audio files or drop them here (several at once)"},
	"library.title":          {"Tiêu đề (không bắt buộc)", "Title (optional)"},
	"library.title.hint":     {"Bản tin sáng thứ Hai", "Monday morning bulletin"},
	"library.send":           {"Tải lên", "Upload"},
	"library.search":         {"Tìm trong thư viện", "Search the library"},
	"library.find":           {"Tìm", "Search"},
	"library.items":          {"mục", "items"},
	"library.listen":         {"Nghe thử", "Preview"},
	"library.empty":          {"Chưa có mục nào.", "Nothing here yet."},
	"library.silent":         {"im lặng", "silent"},
	"library.added":          {"đã thêm", "added"},
	"library.same":           {"đã có sẵn (cùng nội dung)", "already there (same content)"},
	"library.uploading":      {"Đang tải lên", "Uploading"},
	"library.transcoding":    {"Đang chuyển mã và đo âm lượng…", "Transcoding and measuring loudness…"},
	"library.retrying":       {"Mất kết nối, thử lại sau", "Connection lost, retrying in"},
	"library.nofile":         {"Chưa chọn tệp nào.", "No file chosen."},
}

// T returns the text of key in lang; an unknown key is shown as itself so
// that a missing translation is visible, never blank.
func T(lang Lang, key string) string {
	m, ok := messages[key]
	switch {
	case !ok:
		return key
	case lang == English:
		return m.en
	default:
		return m.vi
	}
}

// setLang answers the language switch: remember the choice, go back.
func setLang(w http.ResponseWriter, r *http.Request) {
	l := Vietnamese
	if r.FormValue("lang") == string(English) {
		l = English
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: string(l), Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	back := r.FormValue("back")
	if !strings.HasPrefix(back, "/") || strings.HasPrefix(back, "//") {
		back = "/"
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}
