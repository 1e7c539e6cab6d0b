package library

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"loa/mediastore"
	"loa/sqlite"
)

// Renaming one of an item's names. Program files refer to items by name,
// so a name a program file refers to is not renamed: the refusal names the
// files (NameInUseError), to be changed first (the console's program form,
// or the YAML loaded again).
//
// Why refuse rather than rewrite the files: a program file is the
// operator's text, loaded from a file on someone's disk or exported and
// imported again byte for byte. Rewriting it at the city would make the
// city's copy differ from theirs, and the next load of theirs would then
// fail on the old name, or bring it back; editing YAML text would also
// break the exact round-trip of comments and layout. A refusal changes
// nothing, says which files to change, and cannot half-succeed.

// NameInUseError: a name program files refer to is not renamed.
type NameInUseError struct {
	Name  string
	Files []string
}

func (e *NameInUseError) Error() string {
	f := strings.Join(e.Files, "; ")
	return fmt.Sprintf("tên %q đang được tệp chương trình dùng, chưa đổi: %s; sửa các tệp đó trước / the name %q is used by program files, not renamed: %s; change those files first",
		e.Name, f, e.Name, f)
}

// Renamer is what renaming needs of the database (the city's adapter
// implements it with Editor).
type Renamer interface {
	// RenameMedia gives key's name from the name to, unless program files
	// refer to from (then it returns them and changes nothing);
	// sqlite.ErrNotFound when from is not key's name, sqlite.ErrExists
	// when to is another item's.
	RenameMedia(ctx context.Context, key, from, to string) (uses []string, err error)
}

// CheckName says what is wrong with a media name, naming the field, in
// Vietnamese and English; nil when it is a good name (a file name, as
// uploads are named).
func CheckName(field, n string) error {
	switch {
	case n == "" || n == "." || n == "..":
		return badInput("%s: cần tên tệp, ví dụ ban-tin-sang.mp3 / %s: want a file name, e.g. ban-tin-sang.mp3", field, field)
	case len(n) > 255 || !utf8.ValidString(n):
		return badInput("%s: tên dài quá 255 byte hoặc không phải UTF-8 / %s: longer than 255 bytes or not UTF-8", field, field)
	case strings.ContainsAny(n, "/\\"):
		return badInput("%s: tên tệp, không có thư mục (/ hay \\) / %s: a file name, without folders (/ or \\)", field, field)
	case mediastore.ValidKey(n):
		return badInput("%s: trông như mã sha256, chọn tên khác / %s: looks like a sha256 key, choose another name", field, field)
	}
	for _, r := range n {
		if r < 0x20 || r == 0x7f {
			return badInput("%s: có ký tự điều khiển / %s: control characters", field, field)
		}
	}
	return nil
}

// Rename gives the item key's name from the name to: refused with
// NameInUseError while a program file refers to from, with ErrNameTaken
// when another item has to, and for the alert chime's name (alerts refer
// to it by name). Nothing changes on a refusal.
func (s *Service) Rename(ctx context.Context, key, from, to string) error {
	to = strings.TrimSpace(to)
	if err := CheckKey(key); err != nil {
		return err
	}
	if err := CheckName("name", to); err != nil {
		return err
	}
	if from == BuiltinChime || (s.Config.Chime != "" && from == s.Config.Chime) {
		return &NameInUseError{Name: from, Files: []string{"nhạc hiệu cảnh báo (alerts.chime) / the alert chime (alerts.chime)"}}
	}
	r, ok := s.Edit.(Renamer)
	if !ok {
		return errors.New("library: no renamer")
	}
	uses, err := r.RenameMedia(ctx, key, from, to)
	switch {
	case errors.Is(err, sqlite.ErrNotFound):
		return badInput("from: mục %s không có tên %q / from: item %s has no name %q", key, from, key, from)
	case errors.Is(err, sqlite.ErrExists):
		return fmt.Errorf("%w: name: tên %q đã có mục khác dùng / name: %q is another item's name", ErrNameTaken, to, to)
	case err != nil:
		return err
	case len(uses) > 0:
		return &NameInUseError{Name: from, Files: uses}
	}
	s.Log.Info("media renamed", "media", key, "from", from, "to", to)
	return nil
}
