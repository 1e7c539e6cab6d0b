package programs

import (
	"context"

	"loa/manifest"
	"loa/schedule"
)

// WardFile is what a ward plays, as one program file: the effective
// programs of its targets written as its manifest carries them (media
// referenced by SHA-256), with the names people know them by.
type WardFile struct {
	Body []byte
	// Media are the SHA-256 keys the file references.
	Media []string
	// Titles maps a program id to its title; Names a media key to its
	// name in the library.
	Titles map[string]string
	Names  map[string]string
}

// WardFile returns ward's effective programs as one program file, the way
// buildManifest encodes them for the ward.
func (s *Service) WardFile(ctx context.Context, ward string) (WardFile, error) {
	out := WardFile{Titles: map[string]string{}, Names: map[string]string{}}
	tx := s.Store.Read()
	w, err := tx.Ward(ctx, ward)
	if err != nil {
		return out, err
	}
	l := newSetLoader(ctx, tx)
	sets, err := l.effective(w)
	if err != nil {
		return out, err
	}
	for _, set := range sets {
		for _, p := range set.file.Programs {
			out.Titles[p.ID] = p.Title
			for _, ref := range programRefs(p) {
				if _, seen := out.Names[ref.Key]; seen || ref.Key == "" {
					continue
				}
				m, err := l.mediaInfo(ref.Key)
				if err != nil {
					return out, err
				}
				out.Names[ref.Key] = mediaName(m)
				out.Media = append(out.Media, ref.Key)
			}
		}
	}
	var progs []*schedule.Program
	for _, set := range sets {
		progs = append(progs, set.file.Programs...)
	}
	out.Body, err = manifest.EncodePrograms(s.Location, progs)
	return out, err
}
