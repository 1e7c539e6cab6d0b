package cap

import (
	"strings"
)

// Policy says which CAP messages the city acts on (capin.policy in the
// city's configuration; docs/cap.md).
type Policy struct {
	// TrustedSenders are CAP sender ids (alert/sender) the city takes
	// alerts from.
	TrustedSenders []string
	// TrustedCerts are SHA-256 fingerprints (hex) of signing certificates
	// the city takes alerts from, whoever the sender. When it is not
	// empty, a signed message must be signed by one of them.
	TrustedCerts []string
	// AcceptUnsigned takes messages without a signature from a trusted
	// sender. Off by default: an unsigned message is refused.
	AcceptUnsigned bool
	// PlayTest and PlayExercise put status Test and Exercise on air;
	// Actual always plays, System and Draft never.
	PlayTest, PlayExercise bool
}

// Admit says whether a (read by Read, its signature verified if it had
// one) may be acted on: nil, or an *Error saying why not.
func (p Policy) Admit(a *Alert) error {
	switch a.Status {
	case "Actual":
	case "Test":
		if !p.PlayTest {
			return errf("alert/status", "bản tin thử (Test) không phát (capin.play_test tắt)", "status Test is not played (capin.play_test is off)")
		}
	case "Exercise":
		if !p.PlayExercise {
			return errf("alert/status", "bản tin diễn tập (Exercise) không phát (capin.play_exercise tắt)", "status Exercise is not played (capin.play_exercise is off)")
		}
	default:
		return errf("alert/status", "trạng thái %s không bao giờ phát", "status %s is never played", a.Status)
	}
	switch a.MsgType {
	case "Alert", "Update", "Cancel":
	default:
		return errf("alert/msgType", "loại %s không phải cảnh báo để phát", "msgType %s is not an alert to broadcast", a.MsgType)
	}
	if a.Scope == "Private" {
		return errf("alert/scope", "bản tin riêng (Private) không phát lên loa công cộng", "a Private message is not broadcast on public loudspeakers")
	}
	certOK := a.Signed && contains(p.TrustedCerts, a.Signer)
	if a.Signed && len(p.TrustedCerts) > 0 && !certOK {
		return errf("signature", "chữ ký hợp lệ nhưng chứng thư %s (%s) không nằm trong danh sách tin cậy",
			"the signature verifies but certificate %s (%s) is not trusted", a.Signer, a.SignerName)
	}
	if !a.Signed && !p.AcceptUnsigned {
		return errf("signature", "bản tin không có chữ ký: không nhận (capin.accept_unsigned tắt)",
			"the message is not signed: refused (capin.accept_unsigned is off)")
	}
	if !certOK && !contains(p.TrustedSenders, a.Sender) {
		return errf("alert/sender", "người gửi %q không nằm trong danh sách tin cậy", "sender %q is not trusted", a.Sender)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
