package library

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"loa/sqlite"
)

// Editor is what changing the library's items needs of the database.
type Editor interface {
	SetMediaTitle(ctx context.Context, key, title string) error
	// DeleteMedia removes key unless something uses it; then it returns
	// the uses and removes nothing.
	DeleteMedia(ctx context.Context, key string) (uses []string, err error)
}

// InUseError: an item cannot be deleted while a program, a ward's
// manifest or an alert not yet expired uses it.
type InUseError struct {
	Key  string
	Uses []string
}

func (e *InUseError) Error() string {
	return fmt.Sprintf("đang được dùng, không xoá được: %s / in use, not deleted: %s", strings.Join(e.Uses, "; "), strings.Join(e.Uses, "; "))
}

// Retitle changes an item's title (its names, which program files use,
// stay).
func (s *Service) Retitle(ctx context.Context, key, title string) error {
	title = strings.TrimSpace(title)
	if err := CheckKey(key); err != nil {
		return err
	}
	if title == "" || utf8.RuneCountInString(title) > 200 || !utf8.ValidString(title) {
		return badInput("tiêu đề: cần 1 đến 200 ký tự / title: want 1 to 200 characters")
	}
	if s.Edit == nil {
		return errors.New("library: no editor")
	}
	err := s.Edit.SetMediaTitle(ctx, key, title)
	if errors.Is(err, sqlite.ErrNotFound) {
		return badInput("không có mục %s / no item %s", key, key)
	}
	return err
}

// Delete removes an item from the library and its file from the store,
// unless it is in use (InUseError) or is the built-in alert chime.
func (s *Service) Delete(ctx context.Context, key string) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	if s.Edit == nil {
		return errors.New("library: no editor")
	}
	if chime, err := s.DB.MediaByName(ctx, BuiltinChime); err == nil && chime == key {
		return &InUseError{Key: key, Uses: []string{"nhạc hiệu cảnh báo / the alert chime"}}
	}
	uses, err := s.Edit.DeleteMedia(ctx, key)
	switch {
	case errors.Is(err, sqlite.ErrNotFound):
		return badInput("không có mục %s / no item %s", key, key)
	case err != nil:
		return err
	case len(uses) > 0:
		return &InUseError{Key: key, Uses: uses}
	}
	if err := s.Files.Remove(key); err != nil {
		s.Log.Warn("deleted from the library, but its file stays", "media", key, "err", err)
	}
	s.Log.Info("media deleted", "media", key)
	return nil
}
