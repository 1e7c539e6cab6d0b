package console

import (
	"strings"
	"testing"
)

// In training mode every page, even one that has nothing to do with
// alerts, says so in the test colour; out of it, no page does.
func TestTrainingBannerOnEveryPage(t *testing.T) {
	tc, fa := startAlertConsole(t)
	an := browser(t)
	login(t, tc, an, "an", "mật-khẩu-dài-4")
	for _, training := range []bool{true, false} {
		fa.mu.Lock()
		fa.training = training
		fa.mu.Unlock()
		for _, path := range []string{"/library", "/", "/alerts"} {
			code, _, page := do(t, an, "GET", tc.srv.URL+path, nil, nil)
			if code != 200 {
				t.Fatalf("%s: %d", path, code)
			}
			has := strings.Contains(page, `class="training-banner"`) && strings.Contains(page, "Chế độ tập huấn — cảnh báo mặc định là thử nghiệm")
			if has != training {
				t.Fatalf("training %v: banner on %s is %v\n%s", training, path, has, page)
			}
		}
	}
}
